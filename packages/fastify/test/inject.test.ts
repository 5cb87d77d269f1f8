import { execFileSync } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { channelNames, type HandshakeEvent, WsAuthError } from '@wsauth/core';
import Fastify, { type FastifyInstance, type InjectWSOption } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { UnexpectedResponseError, wsAuth } from '../src/index.js';
import { closed, connect, listen, nextMessage, queueMessages } from './helpers.js';
import {
  buildSessionApp,
  type SessionApp,
  type SessionAppOptions,
  sessionIdOf,
  unauthorized,
} from './session-app.js';

const ORIGIN = 'http://localhost';

/** An app `injectWS` can be called on, whatever server type it has. */
type InjectApp = Pick<FastifyInstance, 'injectWS'>;

let current: SessionApp | undefined;

async function start(options: SessionAppOptions = {}) {
  current = await buildSessionApp(options);
  return current;
}

afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

/** Logs in with `app.inject` and returns the session cookie pair (`name=value`). */
async function injectLogin(app: SessionApp['app'], username = 'alice'): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/login',
    payload: { username, password: `${username}-password` },
  });
  expect(response.statusCode).toBe(200);
  return String(response.headers['set-cookie']).split(';')[0] ?? '';
}

/** The socket `app.injectWS` resolved with, and the 101 response the client read. */
interface Injected {
  socket: WebSocket;
  upgrade: IncomingMessage;
}

/** Calls `app.injectWS` with a message queue for `nextMessage` and keeps the 101 response. */
async function inject(
  app: InjectApp,
  path: string,
  headers: Record<string, string> = {},
  options: InjectWSOption = {},
): Promise<Injected> {
  let upgrade: IncomingMessage | undefined;
  const socket = await app.injectWS(
    path,
    { headers },
    {
      ...options,
      onInit: (ws) => {
        queueMessages(ws);
        ws.on('upgrade', (response) => {
          upgrade = response;
        });
        options.onInit?.(ws);
      },
    },
  );
  if (upgrade === undefined) {
    throw new Error('the socket opened without an upgrade response');
  }
  return { socket, upgrade };
}

/** Calls `app.injectWS` and returns the error it rejected with. */
async function injectRejected(
  app: InjectApp,
  path: string,
  headers: Record<string, string> = {},
  options: InjectWSOption = {},
): Promise<UnexpectedResponseError> {
  const error: unknown = await app.injectWS(path, { headers }, options).then(
    (socket) => {
      socket.terminate();
      throw new Error(`the handshake to ${path} was accepted`);
    },
    (rejected: unknown) => rejected,
  );
  expect(error).toBeInstanceOf(UnexpectedResponseError);
  return error as UnexpectedResponseError;
}

function recordAccepts(): { events: HandshakeEvent[]; stop: () => void } {
  const events: HandshakeEvent[] = [];
  const onAccept = (event: unknown) => events.push(event as HandshakeEvent);
  diagnosticsChannel.subscribe(channelNames.accept, onAccept);
  return { events, stop: () => diagnosticsChannel.unsubscribe(channelNames.accept, onAccept) };
}

describe.each([
  { label: 'wsauth registers @fastify/websocket', preRegister: false },
  { label: '@fastify/websocket registered first', preRegister: true },
])('injectWS ($label)', ({ preRegister }) => {
  it('session cookie reaches the handler', async () => {
    const { app, store, opened } = await start({ preRegister });
    const cookie = await injectLogin(app);
    const writesBefore = store.sets;
    const accepts = recordAccepts();

    const { socket, upgrade } = await inject(app, '/ws', { cookie, origin: ORIGIN });
    accepts.stop();

    expect(await nextMessage(socket)).toEqual({
      type: 'welcome',
      user: { id: 'alice', name: 'Alice' },
    });
    expect(opened).toEqual([{ user: { id: 'alice', name: 'Alice' }, ws: true }]);
    expect(upgrade.statusCode).toBe(101);
    expect(String(upgrade.headers['set-cookie'])).toContain(cookie);
    expect(store.sets).toBe(writesBefore + 1);
    expect(accepts.events).toHaveLength(1);
    expect(accepts.events[0]?.userId).toBe('alice');
    expect(accepts.events[0]?.ip).toBe('127.0.0.1');
    socket.close();
  });

  it('new session saved before the 101', async () => {
    const { app, store } = await start({ preRegister });

    const { socket, upgrade } = await inject(app, '/ws/visit');
    expect(await nextMessage(socket)).toEqual({ visits: 1 });
    socket.close();

    const setCookie = String(upgrade.headers['set-cookie'] ?? '');
    expect(setCookie).toMatch(/^sessionId=[^;]+; Path=\//);
    const pair = setCookie.split(';')[0] ?? '';
    expect(store.ids()).toEqual([sessionIdOf(pair)]);
    const followUp = await app.inject({ url: '/api/session', headers: { cookie: pair } });
    expect(followUp.json()).toEqual({ visits: 1 });
  });

  it('no credentials rejects with the 401', async () => {
    const { app, opened } = await start({ preRegister });
    const http = await app.inject({ url: '/api/me' });

    const error = await injectRejected(app, '/ws');

    expect(error.message).toBe('Unexpected server response: 401');
    expect(error.statusCode).toBe(401);
    expect(error.body).toBe(http.body);
    expect(JSON.parse(error.body)).toEqual(unauthorized);
    expect(error.headers['content-type']).toBe(http.headers['content-type']);
    expect(error.headers.connection).toBe('close');
    expect(opened).toEqual([]);
  });

  it('foreign origin rejects with 403', async () => {
    const { app, store, opened } = await start({ preRegister });
    const cookie = await injectLogin(app);
    const readsBefore = store.gets;

    const error = await injectRejected(app, '/ws', { cookie, origin: 'https://evil.example' });

    expect(error.message).toBe('Unexpected server response: 403');
    expect(error.statusCode).toBe(403);
    expect(store.gets).toBe(readsBefore);
    expect(opened).toEqual([]);
  });

  it('non-WebSocket paths reject with 404', async () => {
    const { app, store } = await start({ preRegister });

    const plainRoute = await injectRejected(app, '/api/me');
    const noRoute = await injectRejected(app, '/nowhere');

    expect(plainRoute.statusCode).toBe(404);
    expect(noRoute.statusCode).toBe(404);
    expect(plainRoute.message).toBe('Unexpected server response: 404');
    expect(store.gets).toBe(0);
  });

  it('messages echo both ways', async () => {
    const { app } = await start({ preRegister });
    const cookie = await injectLogin(app);
    const { socket } = await inject(app, '/ws/echo', { cookie, origin: ORIGIN });

    socket.send(JSON.stringify({ text: 'hello' }));
    expect(await nextMessage(socket)).toEqual({ text: 'hello' });
    socket.send(JSON.stringify({ text: 'x'.repeat(70_000) }));
    expect(await nextMessage(socket)).toEqual({ text: 'x'.repeat(70_000) });
    socket.close();
  });

  it('client close reaches the handler', async () => {
    const { app, serverCloses } = await start({ preRegister });
    const cookie = await injectLogin(app);
    const { socket } = await inject(app, '/ws/echo', { cookie, origin: ORIGIN });

    socket.close(4000, 'client done');
    const clientSide = await closed(socket);

    expect(clientSide).toEqual({ code: 4000, reason: 'client done' });
    expect(serverCloses).toEqual([{ code: 4000, reason: 'client done' }]);
  });

  it('server close reaches the client', async () => {
    const { app, serverCloses } = await start({ preRegister });
    const cookie = await injectLogin(app);
    const serverSocket = new Promise<WebSocket>((resolve) => {
      app.websocketServer.once('connection', resolve);
    });
    const { socket } = await inject(app, '/ws/echo', { cookie, origin: ORIGIN });
    const clientSide = closed(socket);

    (await serverSocket).close(1000, 'server done');

    expect(await clientSide).toEqual({ code: 1000, reason: 'server done' });
    expect(serverCloses).toEqual([{ code: 1000, reason: 'server done' }]);
  });

  it('revoke closes the socket with 4401', async () => {
    const { app } = await start({ preRegister });
    const cookie = await injectLogin(app);
    const { socket } = await inject(app, '/ws/echo', { cookie, origin: ORIGIN });
    const clientSide = closed(socket);
    expect(app.wsauth.connections.sockets).toBe(1);

    expect(await app.wsauth.revoke({ userId: 'alice' })).toBe(1);

    expect((await clientSide).code).toBe(4401);
    expect(app.wsauth.connections.sockets).toBe(0);
  });

  it('onInit and onOpen run in order', async () => {
    const { app } = await start({ preRegister });
    const calls: Array<{ name: string; socket: WebSocket }> = [];

    const socket = await app.injectWS(
      '/ws/visit',
      {},
      {
        onInit: (ws) => calls.push({ name: 'init', socket: ws }),
        onOpen: (ws) => calls.push({ name: 'open', socket: ws }),
      },
    );
    socket.close();

    expect(calls.map((call) => call.name)).toEqual(['init', 'open']);
    expect(calls[0]?.socket).toBe(socket);
    expect(calls[1]?.socket).toBe(socket);
  });
});

describe('injectWS', () => {
  it('rejection matches the one over TCP', async () => {
    const { app } = await start();
    const urls = await listen(app);

    const overTcp = await connect(`${urls.ws}/ws`);
    const injected = await injectRejected(app, '/ws');

    expect(overTcp.kind).toBe('rejected');
    if (overTcp.kind !== 'rejected') return;
    expect(injected.statusCode).toBe(overTcp.status);
    expect(injected.body).toBe(overTcp.body);
    expect(injected.headers['content-type']).toBe(overTcp.headers['content-type']);
    expect(injected.headers['content-length']).toBe(overTcp.headers['content-length']);
  });

  it('remoteAddress sets the client address', async () => {
    const { app } = await start();
    const accepts = recordAccepts();

    const first = await inject(app, '/ws/visit', {}, { remoteAddress: '10.1.2.3' });
    const second = await inject(app, '/ws/visit', {}, { remoteAddress: '::1' });
    accepts.stop();
    first.socket.close();
    second.socket.close();

    expect(accepts.events.map((event) => event.ip)).toEqual(['10.1.2.3', '::1']);
  });

  it('trustProxy applies to remoteAddress', async () => {
    const { app } = await start({ fastify: { trustProxy: '10.0.0.0/8' } });
    const accepts = recordAccepts();
    const forwarded = { 'x-forwarded-for': '203.0.113.9' };

    const proxied = await inject(app, '/ws/visit', forwarded, { remoteAddress: '10.0.0.1' });
    const direct = await inject(app, '/ws/visit', forwarded);
    accepts.stop();
    proxied.socket.close();
    direct.socket.close();

    expect(accepts.events.map((event) => event.ip)).toEqual(['203.0.113.9', '127.0.0.1']);
  });

  it('onInit error rejects the call', async () => {
    const { app } = await start();
    const serverEnds: Duplex[] = [];
    app.server.on('connection', (socket: Duplex) => serverEnds.push(socket));
    const failure = new Error('onInit failed');

    const error: unknown = await app
      .injectWS(
        '/ws/visit',
        {},
        {
          onInit: () => {
            throw failure;
          },
        },
      )
      .catch((rejected: unknown) => rejected);

    expect(error).toBe(failure);
    expect(serverEnds).toEqual([]);
    expect(app.wsauth.pendingHandshakes).toBe(0);
  });

  it('invalid remoteAddress rejects', async () => {
    const { app } = await start();

    const error: unknown = await app
      .injectWS('/ws/visit', {}, { remoteAddress: 'localhost' })
      .catch((rejected: unknown) => rejected);

    expect(error).toBeInstanceOf(WsAuthError);
    expect((error as WsAuthError).code).toBe('WSAUTH_ERR_INVALID_OPTION');
    expect((error as WsAuthError).message).toContain('"localhost"');
  });

  it('per-client rate limit counts each address', async () => {
    const { app } = await start({ wsauth: { attemptsPerSecondPerClient: 1 } });

    const first = await inject(app, '/ws/visit');
    const limited = await injectRejected(app, '/ws/visit');
    const other = await inject(app, '/ws/visit', {}, { remoteAddress: '10.0.0.7' });
    first.socket.close();
    other.socket.close();

    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
  });

  it('offered subprotocol is echoed', async () => {
    const { app } = await start({ wsauth: { protocols: ['chat.v2', 'chat.v1'] } });

    const { socket, upgrade } = await inject(app, '/ws/visit', {
      'sec-websocket-protocol': 'chat.v1, chat.v2',
    });
    socket.close();

    expect(socket.protocol).toBe('chat.v2');
    expect(upgrade.headers['sec-websocket-protocol']).toBe('chat.v2');
  });

  it('malformed subprotocol offer rejects', async () => {
    const { app } = await start({ wsauth: { protocols: ['chat.v1'] } });

    const offered = app.injectWS('/ws/visit', {
      headers: { 'sec-websocket-protocol': 'chat.v1, chat.v1' },
    });

    await expect(offered).rejects.toThrow('An invalid or duplicated subprotocol was specified');
  });

  it('no handles leak after close or rejection', async () => {
    const { app } = await start();
    const timersBefore = countTimers();
    const serverEnds: Duplex[] = [];
    app.server.on('connection', (socket: Duplex) => serverEnds.push(socket));
    const cookie = await injectLogin(app);

    let clientEnd: Duplex | undefined;
    const { socket } = await inject(
      app,
      '/ws/echo',
      { cookie, origin: ORIGIN },
      { onInit: (ws) => ws.on('upgrade', (response) => (clientEnd = response.socket)) },
    );
    socket.close();
    await closed(socket);
    await injectRejected(app, '/ws');
    await injectRejected(app, '/nowhere');
    const leftOpen = await inject(app, '/ws/echo', { cookie, origin: ORIGIN });
    const leftOpenClosed = closed(leftOpen.socket);
    await app.close();
    current = undefined;

    expect((await leftOpenClosed).code).toBe(1001);
    expect(serverEnds).toHaveLength(4);
    expect(serverEnds.map((end) => end.destroyed)).toEqual([true, true, true, true]);
    expect(clientEnd?.destroyed).toBe(true);
    expect(leftOpen.upgrade.socket.destroyed).toBe(true);
    expect(app.wsauth.pendingHandshakes).toBe(0);
    expect(app.wsauth.connections.sockets).toBe(0);
    expect(app.server.listenerCount('upgrade')).toBe(0);
    expect(countTimers()).toBeLessThanOrEqual(timersBefore);
  });
});

// NOTE: the HTTPS test is skipped where no `openssl` command is installed.
const certificate = selfSignedCertificate();

describe('injectWS on HTTPS', () => {
  it.skipIf(certificate === undefined)('request is seen as https', async () => {
    const app = Fastify({ https: certificate ?? null });
    await app.register(wsAuth);
    app.get('/ws/scheme', { websocket: true }, (socket, request) => {
      socket.send(JSON.stringify({ protocol: request.protocol, ip: request.ip }));
    });

    try {
      const headers = { cookie: 'theme=dark', origin: 'https://localhost' };
      const { socket } = await inject(app, '/ws/scheme', headers);
      expect(await nextMessage(socket)).toEqual({ protocol: 'https', ip: '127.0.0.1' });
      socket.close();

      const plainOrigin = { cookie: 'theme=dark', origin: 'http://localhost' };
      const rejected = await injectRejected(app, '/ws/scheme', plainOrigin);
      expect(rejected.statusCode).toBe(403);
    } finally {
      await app.close();
    }
  });
});

/** Creates a one-day self-signed certificate for `localhost` with openssl. */
function selfSignedCertificate(): { key: string; cert: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'wsauth-inject-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  try {
    const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
    args.push('-nodes', '-subj', '/CN=localhost', '-days', '1');
    execFileSync('openssl', [...args, '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
    return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function countTimers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}
