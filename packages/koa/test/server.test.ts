import diagnosticsChannel from 'node:diagnostics_channel';
import Router from '@koa/router';
import { channelNames, type HandshakeEvent } from '@wsauth/core';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createWsAuth } from '../src/index.js';
import { startFixture } from './fixture.js';
import {
  delay,
  handshakeHeaders,
  koaVersions,
  listen,
  nextMessage,
  onCleanup,
  openSocket,
  rawRequest,
  runCleanups,
  sendRequest,
} from './helpers.js';

afterEach(runCleanups);

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

describe.each(koaVersions)('%s beside other upgrade listeners', (_name, Koa) => {
  it('leaves other paths to another upgrade listener', async () => {
    const fixture = await startFixture(Koa);
    const other = new WebSocketServer({ noServer: true });
    onCleanup(() => {
      other.close();
    });
    fixture.server.on('upgrade', (req, socket, head) => {
      if (req.url === '/other') {
        other.handleUpgrade(req, socket, head, (ws) => ws.send('"from the other listener"'));
      }
    });

    const foreign = await openSocket(`ws://127.0.0.1:${fixture.port}/other`);
    expect(await nextMessage(foreign)).toBe('from the other listener');
    const own = await openSocket(`ws://127.0.0.1:${fixture.port}/ws/echo`);
    expect(await nextMessage(own)).toEqual({ type: 'welcome', visits: null });
    expect(fixture.chainRuns).toBe(1);
  });
});

describe.each(koaVersions)('%s absolute-form beside other listeners', (_name, Koa) => {
  it('leaves the target unchanged for them', async () => {
    const fixture = await startFixture(Koa);
    const urls: Array<string | undefined> = [];
    fixture.server.on('upgrade', (req, socket) => {
      urls.push(req.url);
      socket.destroy();
    });
    const target = `http://127.0.0.1:${fixture.port}/other?a=1`;

    await rawRequest(fixture.port, target, handshakeHeaders(fixture.port));

    expect(urls).toEqual([target]);
    expect(fixture.chainRuns).toBe(0);
  });
});

describe.each(koaVersions)('%s client reset', (_name, Koa) => {
  it('leaves no handler call, timer or pending handshake', async () => {
    let enteredSlowAuth: () => void = () => {};
    const entered = new Promise<void>((resolve) => {
      enteredSlowAuth = resolve;
    });
    let finishSlowAuth: () => void = () => {};
    const slowAuth = new Promise<void>((resolve) => {
      finishSlowAuth = resolve;
    });
    let handlerCalls = 0;

    const fixture = await startFixture(Koa, {}, ({ router, wsauth }) => {
      router.get(
        '/ws/slow',
        wsauth.route,
        async (_ctx, next) => {
          enteredSlowAuth();
          await slowAuth;
          await next();
        },
        async (ctx) => {
          await ctx.ws();
          handlerCalls++;
        },
      );
    });
    const timersBefore = activeTimers();
    const listenersBefore = fixture.server.listenerCount('upgrade');

    const client = sendRequest(fixture.port, '/ws/slow', handshakeHeaders(fixture.port));
    let received = '';
    client.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    await entered;
    expect(fixture.wsauth.core.pendingHandshakes).toBe(1);
    client.resetAndDestroy();

    await delay(50);
    expect(fixture.wsauth.core.pendingHandshakes).toBe(0);
    finishSlowAuth();
    await delay(100);

    expect(received).toBe('');
    expect(handlerCalls).toBe(0);
    expect(fixture.sockets).toHaveLength(0);
    expect(activeTimers()).toBeLessThanOrEqual(timersBefore);
    expect(fixture.server.listenerCount('upgrade')).toBe(listenersBefore);
    // Koa reports the reset socket (ECONNRESET) as it does on HTTP. The route's ctx.ws() call
    // fails because the handshake is over. Nothing else may be reported.
    for (const error of fixture.appErrors) {
      const code = (error as { code?: string }).code;
      expect(['ECONNRESET', 'WSAUTH_ERR_UPGRADE_FAILED']).toContain(code);
    }
  });
});

/** Collects the accept events published until the test ends. */
function acceptEvents(): HandshakeEvent[] {
  const events: HandshakeEvent[] = [];
  const onAccept = (message: unknown) => events.push(message as HandshakeEvent);
  diagnosticsChannel.subscribe(channelNames.accept, onAccept);
  onCleanup(() => {
    diagnosticsChannel.unsubscribe(channelNames.accept, onAccept);
  });
  return events;
}

describe.each(koaVersions)('%s trust proxy', (_name, Koa) => {
  const forwarded = {
    Origin: 'https://app.example',
    Cookie: 'sid=unknown',
    'X-Forwarded-Proto': 'https',
    'X-Forwarded-Host': 'app.example',
    'X-Forwarded-For': '203.0.113.7, 198.51.100.2',
  };

  it('ignores forwarded headers unless app.proxy is set', async () => {
    const fixture = await startFixture(Koa);
    const response = await rawRequest(fixture.port, '/ws/echo', {
      ...handshakeHeaders(fixture.port),
      ...forwarded,
    });

    expect(response.status).toBe(403);
  });

  it('follows app.proxy and app.maxIpsCount like ctx.ip', async () => {
    const ips: string[] = [];
    const events = acceptEvents();

    const fixture = await startFixture(Koa, {}, ({ app, router, wsauth }) => {
      app.proxy = true;
      app.maxIpsCount = 1;
      router.get('/ws/ip', wsauth.route, async (ctx) => {
        ips.push(ctx.ip);
        await ctx.ws();
      });
    });
    const response = await rawRequest(fixture.port, '/ws/ip', {
      ...handshakeHeaders(fixture.port),
      ...forwarded,
    });

    expect(response.status).toBe(101);
    expect(ips).toEqual(['198.51.100.2']);
    expect(events.map((event) => event.ip)).toEqual(['198.51.100.2']);
  });
  it('reads the client address from app.proxyIpHeader', async () => {
    const ips: string[] = [];
    const events = acceptEvents();

    const fixture = await startFixture(Koa, {}, ({ app, router, wsauth }) => {
      app.proxy = true;
      app.proxyIpHeader = 'X-Real-IP';
      router.get('/ws/ip', wsauth.route, async (ctx) => {
        ips.push(ctx.ip);
        await ctx.ws();
      });
    });
    const response = await rawRequest(fixture.port, '/ws/ip', {
      ...handshakeHeaders(fixture.port),
      // A client-supplied X-Forwarded-For that the proxy passed through must not count.
      'X-Forwarded-For': '192.0.2.66',
      'X-Real-IP': '203.0.113.9',
    });

    expect(response.status).toBe(101);
    expect(ips).toEqual(['203.0.113.9']);
    expect(events.map((event) => event.ip)).toEqual(['203.0.113.9']);
  });
});

describe.each(koaVersions)('%s route declaration', (_name, Koa) => {
  it('finds marked routes in prefixed and nested routers', async () => {
    const fixture = await startFixture(Koa, {}, ({ app, wsauth }) => {
      const rooms = new Router();
      rooms.get('/:room/socket', wsauth.route, async (ctx) => {
        const socket = await ctx.ws();
        socket.send(JSON.stringify({ room: ctx.params.room }));
      });
      const api = new Router({ prefix: '/api' });
      api.use('/rooms', rooms.routes());
      app.use(api.routes());
    });

    const socket = await openSocket(`ws://127.0.0.1:${fixture.port}/api/rooms/blue/socket`);
    expect(await nextMessage(socket)).toEqual({ room: 'blue' });

    const unmarked = await rawRequest(fixture.port, '/api/rooms', handshakeHeaders(fixture.port));
    expect(unmarked.status).toBe(404);
    expect(fixture.chainRuns).toBe(1);
  });

  it('accepts paths declared in options without a router', async () => {
    const app = new Koa();
    const wsauth = createWsAuth(app, {
      paths: ['/exact', /^\/pattern\/\d+$/, (pathname) => pathname.startsWith('/fn/')],
    });
    app.use(wsauth.middleware);
    app.use(async (ctx) => {
      const socket = await ctx.ws();
      socket.send(JSON.stringify({ path: ctx.path }));
    });
    const { server, port } = await listen(app);
    wsauth.attach(server);

    for (const path of ['/exact', '/pattern/12', '/fn/x']) {
      const socket = await openSocket(`ws://127.0.0.1:${port}${path}`);
      expect(await nextMessage(socket)).toEqual({ path });
    }
    for (const path of ['/exact/', '/pattern/x', '/other']) {
      const response = await rawRequest(port, path, handshakeHeaders(port));
      expect(response.status, path).toBe(404);
    }
  });

  it('rejects a non-array paths option at setup', () => {
    expect(() => createWsAuth(new Koa(), { paths: '/ws' as unknown as string[] })).toThrow(
      /Invalid option "paths"/,
    );
  });

  it('answers 500 when the middleware is not registered', async () => {
    const app = new Koa();
    const wsauth = createWsAuth(app, { paths: ['/ws'] });
    const router = new Router();
    router.get('/ws', async (ctx) => {
      await ctx.ws();
    });
    app.use(router.routes());
    const { server, port } = await listen(app);
    wsauth.attach(server);

    const response = await rawRequest(port, '/ws', handshakeHeaders(port));
    expect(response.status).toBe(500);
    expect(response.closed).toBe(true);
  });
});

describe.each(koaVersions)('%s revalidation', (_name, Koa) => {
  it("re-runs the app's chain and closes a socket whose session is gone", async () => {
    let opened = 0;
    const fixture = await startFixture(Koa, {}, ({ router, wsauth }) => {
      router.post('/login', (ctx) => {
        if (ctx.session !== null) {
          ctx.session.member = 'alice';
        }
        ctx.status = 204;
      });
      router.get('/ws/member', wsauth.route, async (ctx) => {
        const member = ctx.session?.member;
        if (typeof member !== 'string') {
          ctx.throw(401, 'login required');
        }
        ctx.state.user = { id: member } as typeof ctx.state.user;
        await ctx.ws();
        opened++;
      });
    });
    const login = await fetch(`${fixture.origin}/login`, { method: 'POST' });
    const cookie = login.headers
      .getSetCookie()
      .map((value) => value.split(';')[0])
      .join('; ');
    const socket = await openSocket(`ws://127.0.0.1:${fixture.port}/ws/member`, {
      headers: { cookie, origin: fixture.origin },
    });
    const closed = new Promise<number>((resolve) => socket.once('close', resolve));
    expect(opened).toBe(1);

    fixture.wsauth.core.lifecycle.revalidateAll();
    await delay(100);
    expect(socket.readyState).toBe(socket.OPEN);
    expect(opened).toBe(1);

    fixture.store.sessions.clear();
    fixture.wsauth.core.lifecycle.revalidateAll();
    expect(await closed).toBe(4401);
  });
});

describe.each(koaVersions)('%s tickets', (_name, Koa) => {
  it('sets ctx.state.user from a redeemed ticket, once', async () => {
    const fixture = await startFixture(Koa, {}, ({ router, wsauth }) => {
      router.post('/ticket', async (ctx) => {
        ctx.state.user = { id: 'alice' } as typeof ctx.state.user;
        ctx.body = await wsauth.mintTicket(ctx);
      });
      router.get('/ws/ticketed', wsauth.route, async (ctx) => {
        if (ctx.state.user === undefined) {
          ctx.throw(401, 'login required');
        }
        const socket = await ctx.ws();
        socket.send(JSON.stringify({ user: ctx.state.user }));
      });
    });
    const minted = await fetch(`${fixture.origin}/ticket`, {
      method: 'POST',
      headers: { origin: fixture.origin },
    });
    const { ticket } = (await minted.json()) as { ticket: string };

    const socket = await openSocket(`ws://127.0.0.1:${fixture.port}/ws/ticketed?ticket=${ticket}`, {
      headers: { origin: fixture.origin },
    });
    expect(await nextMessage(socket)).toEqual({ user: { id: 'alice' } });

    const replay = await rawRequest(fixture.port, `/ws/ticketed?ticket=${ticket}`, {
      ...handshakeHeaders(fixture.port),
      Origin: fixture.origin,
    });
    expect(replay.status).toBe(401);
  });
});

describe.each(koaVersions)('%s close-code rejections', (_name, Koa) => {
  it('sends ctx.throw(401) as close code 4401', async () => {
    const fixture = await startFixture(Koa, { rejections: 'close' });
    const socket = await openSocket(`ws://127.0.0.1:${fixture.port}/ws/throw`);
    const code = await new Promise<number>((resolve) => socket.once('close', resolve));

    expect(code).toBe(4401);
    expect(fixture.sockets).toHaveLength(0);
  });
});

describe.each(koaVersions)('%s logging', (_name, Koa) => {
  it('logs no cookie or key value', async () => {
    const lines: string[] = [];
    const record = (fields: Record<string, unknown>, message: string) => {
      lines.push(
        `${message} ${JSON.stringify(fields, (_key, value) => (value instanceof Error ? value.message : value))}`,
      );
    };
    const logger = { debug: record, info: record, warn: record, error: record };
    const fixture = await startFixture(Koa, { logger });
    const secrets = {
      Cookie: 'sid=cookie-secret-value; sid.sig=signature-secret',
      Authorization: 'Bearer bearer-secret-value',
      'X-Api-Key': 'api-key-secret-value',
    };

    for (const path of ['/ws/crash', '/ws/throw', '/ws/echo?token=query-secret-value']) {
      await rawRequest(fixture.port, path, {
        ...handshakeHeaders(fixture.port),
        ...secrets,
        Origin: fixture.origin,
      });
    }
    await delay(50);

    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      expect(line).not.toMatch(/secret-value|signature-secret/);
    }
  });
});
