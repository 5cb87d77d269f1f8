import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type AuthContext,
  ErrorCodes,
  InProcessBus,
  type Revalidation,
  revokeOnDestroy,
  WsAuthServer,
} from '../src/index.js';
import {
  activeTimers,
  closeOf,
  connect,
  type LifecycleServer,
  newApp,
  sleep,
  startLifecycleServer,
  staysOpen,
} from './lifecycle-helpers.js';

const servers: LifecycleServer[] = [];
const sockets: WebSocket[] = [];

async function start(...args: Parameters<typeof startLifecycleServer>) {
  const server = await startLifecycleServer(...args);
  servers.push(server);
  return server;
}

async function open(server: LifecycleServer, sid: string, path?: string) {
  const socket = await connect(server.port, sid, path);
  sockets.push(socket);
  return socket;
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) {
    socket.terminate();
  }
  for (const server of servers.splice(0)) {
    await server.close();
  }
});

describe('registry', () => {
  it('indexes sockets by user and session and forgets them on close', async () => {
    const server = await start();
    server.app.sessions.set('s1', { userId: 'alice' });
    server.app.sessions.set('s2', { userId: 'alice' });
    server.app.sessions.set('s3', { userId: 'bob' });

    const first = await open(server, 's1');
    const second = await open(server, 's1');
    await open(server, 's2');
    await open(server, 's3');
    expect(server.core.connections).toEqual({ sockets: 4, users: 2, sessions: 3 });

    const closed = closeOf(first);
    first.close(1000);
    await closed;
    await sleep(20);
    expect(server.core.connections).toEqual({ sockets: 3, users: 2, sessions: 3 });

    // The session that had two sockets still finds the one left.
    const secondClosed = closeOf(second);
    await expect(server.core.revoke({ sessionId: 's1' })).resolves.toBe(1);
    expect((await secondClosed).code).toBe(4401);
    expect(server.core.connections).toEqual({ sockets: 2, users: 2, sessions: 2 });
  });
});

describe('revoke', () => {
  it('closes the sockets of one session with 4401', async () => {
    const server = await start();
    server.app.sessions.set('s1', { userId: 'alice' });
    server.app.sessions.set('s2', { userId: 'alice' });
    const target = await open(server, 's1');
    const other = await open(server, 's2');

    const closed = closeOf(target);
    await expect(server.core.revoke({ sessionId: 's1' })).resolves.toBe(1);
    const { code, reason, afterMs } = await closed;

    expect(code).toBe(4401);
    expect(reason).toBe('Unauthorized');
    expect(afterMs).toBeLessThan(1000);
    expect(await staysOpen(other, 50)).toBe(true);
    expect(server.core.connections.sessions).toBe(1);
  });

  it('closes every socket of a user with the given code and reason', async () => {
    const server = await start();
    server.app.sessions.set('s1', { userId: 'alice' });
    server.app.sessions.set('s2', { userId: 'alice' });
    server.app.sessions.set('s3', { userId: 'bob' });
    const first = closeOf(await open(server, 's1'));
    const second = closeOf(await open(server, 's2'));
    const bob = await open(server, 's3');

    await expect(
      server.core.revoke({ userId: 'alice' }, { code: 4403, reason: 'Account locked' }),
    ).resolves.toBe(2);

    expect(await first).toMatchObject({ code: 4403, reason: 'Account locked' });
    expect(await second).toMatchObject({ code: 4403, reason: 'Account locked' });
    expect(await staysOpen(bob, 50)).toBe(true);
  });

  it('rejects a target without a user or session and an invalid code', async () => {
    const core = new WsAuthServer();
    const invalid = { code: ErrorCodes.INVALID_REVOCATION };
    await expect(core.revoke({} as { userId: string })).rejects.toMatchObject(invalid);
    await expect(
      core.revoke({ userId: 'a', sessionId: 'b' } as unknown as { userId: string }),
    ).rejects.toMatchObject(invalid);
    await expect(core.revoke({ userId: 'a' }, { code: 1006 })).rejects.toMatchObject(invalid);
    await expect(core.revoke({ userId: 'a' }, { reason: 'x'.repeat(124) })).rejects.toMatchObject(
      invalid,
    );
    await core.close();
  });

  it('reaches another server through a shared bus', async () => {
    const bus = new InProcessBus();
    const a = await start({ lifecycle: { bus } });
    const b = await start({ lifecycle: { bus } });
    b.app.sessions.set('s1', { userId: 'alice' });
    const onB = closeOf(await open(b, 's1'));

    await expect(a.core.revoke({ sessionId: 's1' })).resolves.toBe(0);

    const { code, afterMs } = await onB;
    expect(code).toBe(4401);
    expect(afterMs).toBeLessThan(1000);
  });

  it('closes a socket whose handshake was in the chain during the revocation', async () => {
    const server = await start();
    server.app.sessions.set('s1', { userId: 'alice' });
    server.app.handshakeDelayMs = 150;

    const opening = connect(server.port, 's1');
    await sleep(50);
    await server.core.revoke({ sessionId: 's1' });
    const socket = await opening;
    sockets.push(socket);

    expect((await closeOf(socket)).code).toBe(4401);
    expect(server.core.connections.sockets).toBe(0);
  });
});

describe('revalidation', () => {
  it('closes a socket whose session was deleted within one interval', async () => {
    const server = await start({ lifecycle: { revalidateIntervalMs: 300 } });
    server.app.sessions.set('s1', { userId: 'alice' });
    const socket = await open(server, 's1');
    const closed = closeOf(socket);

    server.app.sessions.delete('s1');
    const { code, afterMs } = await closed;

    expect(code).toBe(4401);
    // Below two intervals, with room for a busy machine.
    expect(afterMs).toBeLessThan(2 * 300);
  });

  it('replays only the credential headers and the path without its query', async () => {
    const server = await start({ lifecycle: { revalidateIntervalMs: 100 } });
    server.app.sessions.set('s1', { userId: 'alice' });
    await open(server, 's1', '/ws/room?token=secret');
    await sleep(250);

    const req = server.app.revalidations[0];
    expect(req?.url).toBe('/ws/room');
    expect(req?.headers.cookie).toBe('sid=s1');
    expect(req?.headers['x-other']).toBeUndefined();
    expect(req?.headers.origin).toBeUndefined();
    expect(req?.headers.upgrade).toBe('websocket');
  });

  it('replays only the named credential cookies', async () => {
    const server = await start({
      credentialCookies: ['sid'],
      lifecycle: { revalidateIntervalMs: 100 },
    });
    server.app.sessions.set('s1', { userId: 'alice' });
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, {
      headers: {
        cookie: `_ga=GA1.2.${'9'.repeat(200)}; sid=s1; theme=dark`,
        origin: `http://127.0.0.1:${server.port}`,
      },
    });
    sockets.push(socket);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    await sleep(250);

    expect(server.app.revalidations[0]?.headers.cookie).toBe('sid=s1');
    expect(socket.readyState).toBe(WebSocket.OPEN);
  });

  it('does not touch the session unless touch is enabled', async () => {
    const plain = await start({ lifecycle: { revalidateIntervalMs: 100 } });
    const touching = await start({ lifecycle: { revalidateIntervalMs: 100, touch: true } });
    for (const server of [plain, touching]) {
      server.app.sessions.set('s1', { userId: 'alice' });
      await open(server, 's1');
    }
    const touchesAtHandshake = plain.app.touches;
    await sleep(350);

    expect(plain.app.revalidations.length).toBeGreaterThanOrEqual(2);
    expect(plain.app.touches).toBe(touchesAtHandshake);
    expect(touching.app.touches).toBeGreaterThan(touchesAtHandshake + 1);
  });

  it('closes a socket with 4401 when the session changed user', async () => {
    const server = await start({ lifecycle: { revalidateIntervalMs: 100 } });
    server.app.sessions.set('s1', { userId: 'alice' });
    const closed = closeOf(await open(server, 's1'));
    server.app.sessions.set('s1', { userId: 'bob' });
    expect((await closed).code).toBe(4401);
  });
});

describe('expiry', () => {
  it('closes a socket at its known expiry without revalidation', async () => {
    const server = await start({}, false);
    server.app.sessions.set('s1', { userId: 'alice', expiresAt: Date.now() + 300 });
    const socket = await open(server, 's1');
    const { code, reason, afterMs } = await closeOf(socket);

    expect(code).toBe(4401);
    expect(reason).toBe('Session expired');
    expect(afterMs).toBeGreaterThan(150);
    expect(afterMs).toBeLessThan(600);
  });

  it('keeps a socket whose session was extended before the expiry', async () => {
    const server = await start();
    server.app.sessions.set('s1', { userId: 'alice', expiresAt: Date.now() + 200 });
    const socket = await open(server, 's1');
    server.app.sessions.set('s1', { userId: 'alice', expiresAt: Date.now() + 400 });

    expect(await staysOpen(socket, 300)).toBe(true);
    const { code } = await closeOf(socket);
    expect(code).toBe(4401);
    expect(server.app.revalidations.length).toBe(2);
  });
});

describe('store errors', () => {
  it('keeps a socket for one interval of grace, then closes it with 1013', async () => {
    const server = await start({ lifecycle: { revalidateIntervalMs: 300, revalidateJitter: 0 } });
    server.app.sessions.set('s1', { userId: 'alice' });
    const socket = await open(server, 's1');
    const closed = closeOf(socket);
    server.app.store = 'fail';

    // The first check fails at 300 ms, the second at 600 ms.
    expect(await staysOpen(socket, 450)).toBe(true);
    expect(server.app.revalidations.length).toBe(1);
    const { code, reason } = await closed;
    expect(code).toBe(1013);
    expect(reason).toBe('Try again later');
    expect(server.app.revalidations.length).toBe(2);
  });

  it('forgives an error when the next check succeeds', async () => {
    const server = await start({ lifecycle: { revalidateIntervalMs: 300, revalidateJitter: 0 } });
    server.app.sessions.set('s1', { userId: 'alice' });
    const socket = await open(server, 's1');
    const closed = closeOf(socket);

    // Checks run at 300 (fails), 600 (succeeds), 900 (fails, forgiven) and 1200 ms (fails).
    server.app.store = 'fail';
    await sleep(450);
    server.app.store = 'up';
    await sleep(300);
    server.app.store = 'fail';

    expect(await staysOpen(socket, 300)).toBe(true);
    expect(server.app.revalidations.length).toBe(3);
    expect((await closed).code).toBe(1013);
    expect(server.app.revalidations.length).toBe(4);
  });

  it('closes at the first error with the close policy', async () => {
    const server = await start({
      lifecycle: { revalidateIntervalMs: 300, onRevalidationError: 'close' },
    });
    server.app.sessions.set('s1', { userId: 'alice' });
    const closed = closeOf(await open(server, 's1'));
    server.app.store = 'fail';

    const { code, afterMs } = await closed;
    expect(code).toBe(1013);
    // The grace policy would close only after the second interval.
    expect(afterMs).toBeLessThan(2 * 300);
  });

  it('counts a chain that never decides as an error', async () => {
    const server = await start({
      lifecycle: {
        revalidateIntervalMs: 100,
        revalidateTimeoutMs: 100,
        onRevalidationError: 'close',
      },
    });
    server.app.sessions.set('s1', { userId: 'alice' });
    const closed = closeOf(await open(server, 's1'));
    server.app.store = 'hang';

    expect((await closed).code).toBe(1013);
  });
});

class FakeSocket extends EventEmitter {
  closedWith: number | undefined;

  close(code?: number): void {
    this.closedWith = code;
    this.emit('close');
  }
}

describe('shared timer', () => {
  it('revalidates 10,000 fake registered sockets with one timer', async () => {
    const core = new WsAuthServer({
      lifecycle: { revalidateIntervalMs: 200, revalidateJitter: 0.5, revalidateConcurrency: 16 },
    });
    let checks = 0;
    let maxTimers = 0;
    const router = {
      revalidate(revalidation: Revalidation) {
        checks++;
        maxTimers = Math.max(maxTimers, activeTimers());
        setImmediate(() => revalidation.accept({ userId: 'user' }));
      },
    };
    const baseline = activeTimers();
    const fakes: FakeSocket[] = [];

    for (let i = 0; i < 10_000; i++) {
      const socket = new FakeSocket();
      fakes.push(socket);
      const context: AuthContext = {
        user: undefined,
        userId: 'user',
        sessionId: `session-${i}`,
        expiresAt: undefined,
        credential: 'cookie',
        protocol: undefined,
      };
      core.lifecycle.register(
        socket,
        context,
        { headers: { cookie: 'sid=x' }, url: '/ws' },
        0,
        router,
      );
    }

    expect(core.connections.sockets).toBe(10_000);
    expect(activeTimers()).toBe(baseline + 1);

    const deadline = Date.now() + 10_000;
    while (checks < 10_000 && Date.now() < deadline) {
      await sleep(20);
    }
    expect(checks).toBeGreaterThanOrEqual(10_000);
    // One schedule timer plus at most one deadline timer per running revalidation.
    expect(maxTimers).toBeLessThanOrEqual(baseline + 1 + 16);
    expect(fakes.every((socket) => socket.closedWith === undefined)).toBe(true);

    await core.revoke({ userId: 'user' });
    expect(core.connections.sockets).toBe(0);
    expect(fakes.every((socket) => socket.closedWith === 4401)).toBe(true);
    await core.close();
    // Revalidations in flight at the revocation settle on the next turn and clear their deadline.
    await sleep(20);
    expect(activeTimers()).toBeLessThanOrEqual(baseline);
  });
});

describe('logging', () => {
  it('logs a failed revalidation without command arguments', async () => {
    const lines: string[] = [];
    const log = (fields: Record<string, unknown>, message: string) => {
      lines.push(`${message} ${JSON.stringify(fields)}`);
    };
    const core = new WsAuthServer({
      logger: { debug: log, info: log, warn: log, error: log },
      lifecycle: { revalidateIntervalMs: 50, onRevalidationError: 'close' },
    });
    const router = {
      revalidate(revalidation: Revalidation) {
        const error = Object.assign(new Error('Connection is closed.'), {
          command: { name: 'get', args: ['sess:secret-session-id'] },
        });
        revalidation.fail(error);
      },
    };
    const socket = new FakeSocket();
    const context: AuthContext = {
      user: undefined,
      userId: 'alice',
      sessionId: 'secret-session-id',
      expiresAt: undefined,
      credential: 'cookie',
      protocol: undefined,
    };
    core.lifecycle.register(
      socket,
      context,
      { headers: { cookie: 'sid=secret-cookie' }, url: '/ws' },
      0,
      router,
    );
    await sleep(120);
    await core.close();

    expect(socket.closedWith).toBe(1013);
    expect(lines.some((line) => line.startsWith('WebSocket revalidation failed'))).toBe(true);
    expect(lines.some((line) => line.includes('Connection is closed.'))).toBe(true);
    expect(lines.join('\n')).not.toContain('secret');
  });
});

describe('close', () => {
  it('arms no timer for a check that finishes after close', async () => {
    const core = new WsAuthServer({ lifecycle: { revalidateIntervalMs: 50, revalidateJitter: 0 } });
    let finish: (() => void) | undefined;
    const router = {
      revalidate(revalidation: Revalidation) {
        finish = () => revalidation.accept({ userId: 'user' });
      },
    };
    const context: AuthContext = {
      user: undefined,
      userId: 'user',
      sessionId: 'session',
      expiresAt: undefined,
      credential: 'cookie',
      protocol: undefined,
    };
    core.lifecycle.register(
      new FakeSocket(),
      context,
      { headers: { cookie: 'sid=x' }, url: '/ws' },
      0,
      router,
    );
    await sleep(100);
    expect(finish).toBeDefined();

    await core.close();
    // The running check still has its deadline timer; accepting it clears that one.
    const afterClose = activeTimers();
    finish?.();
    await sleep(10);

    expect(activeTimers()).toBe(afterClose - 1);
  });
});

describe('bus resync', () => {
  it('revalidates every socket when the bus reports missed messages', async () => {
    let resync: (() => void) | undefined;
    const bus = {
      publish: async () => {},
      subscribe: (subscriber: { resync(): void }) => {
        resync = () => subscriber.resync();
        return () => {};
      },
    };
    const server = await start({ lifecycle: { bus, revalidateIntervalMs: 60_000 } });
    server.app.sessions.set('s1', { userId: 'alice' });
    const closed = closeOf(await open(server, 's1'));
    server.app.sessions.delete('s1');

    resync?.();
    const { code, afterMs } = await closed;
    expect(code).toBe(4401);
    expect(afterMs).toBeLessThan(500);
  });
});

describe('revokeOnDestroy', () => {
  function revoker() {
    const calls: unknown[] = [];
    return { calls, revoke: async (target: unknown) => calls.push(target) };
  }

  it('revokes after a callback store destroyed the session', async () => {
    const spy = revoker();
    const order: string[] = [];
    const store = {
      destroy(sid: string, callback: (error?: Error) => void) {
        setTimeout(() => {
          order.push(`destroyed ${sid}`);
          callback();
        }, 10);
      },
    };
    revokeOnDestroy(store, spy);
    revokeOnDestroy(store, spy);

    await new Promise<void>((resolve) => store.destroy('s1', () => resolve()));
    expect(order).toEqual(['destroyed s1']);
    expect(spy.calls).toEqual([{ sessionId: 's1' }]);
  });

  it('revokes after a promise store settles, even when it fails', async () => {
    const spy = revoker();
    const store = {
      async destroy(sid: string) {
        if (sid === 'bad') {
          throw new Error('store down');
        }
      },
    };
    revokeOnDestroy(store, spy);

    await store.destroy('s1');
    await expect(store.destroy('bad')).rejects.toThrow('store down');
    expect(spy.calls).toEqual([{ sessionId: 's1' }, { sessionId: 'bad' }]);
  });

  it('closes the sockets of a destroyed session with 4401', async () => {
    const server = await start();
    server.app.sessions.set('s1', { userId: 'alice' });
    const closed = closeOf(await open(server, 's1'));
    const store = {
      destroy(sid: string, callback: () => void) {
        server.app.sessions.delete(sid);
        callback();
      },
    };
    revokeOnDestroy(store, server.core);

    store.destroy('s1', () => {});
    expect((await closed).code).toBe(4401);
  });

  it('rejects an object without destroy', () => {
    expect(() => revokeOnDestroy({}, revoker())).toThrow(/destroy/);
  });
});

it('keeps unrelated servers apart by default', async () => {
  const a = await start();
  const b = await start({}, true, newApp());
  b.app.sessions.set('s1', { userId: 'alice' });
  const socket = await open(b, 's1');
  await a.core.revoke({ sessionId: 's1' });
  expect(await staysOpen(socket, 50)).toBe(true);
});
