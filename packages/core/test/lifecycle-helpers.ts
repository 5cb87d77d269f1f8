import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import {
  type AcceptInput,
  getHandshake,
  getRevalidation,
  type Handshake,
  type WsAuthOptions,
  WsAuthServer,
} from '../src/index.js';

/** A session of the test app. */
export interface TestSession {
  userId: string;
  expiresAt?: number;
}

/** The test app's session store and switches; tests change them between checks. */
export interface TestApp {
  sessions: Map<string, TestSession>;
  /** 'fail' responds with 500 as an app's error handler does when the store is down. */
  store: 'up' | 'fail' | 'hang';
  /** Milliseconds the chain waits before deciding a handshake. */
  handshakeDelayMs: number;
  /** Requests the chain saw on revalidation. */
  revalidations: IncomingMessage[];
  /** Responses the chain finished with `end()` after accepting (touches). */
  touches: number;
}

export interface LifecycleServer {
  port: number;
  core: WsAuthServer;
  app: TestApp;
  close(): Promise<void>;
}

/**
 * Starts a server whose chain authenticates by a `sid` cookie against `app.sessions`, the way a
 * session middleware would, on handshakes and on revalidations alike.
 */
export async function startLifecycleServer(
  options: WsAuthOptions = {},
  withRevalidate = true,
  app: TestApp = newApp(),
): Promise<LifecycleServer> {
  const core = new WsAuthServer(options);
  const server: Server = createServer((_req, res) => res.writeHead(404).end());

  core.attach(server, {
    matches: (req) => req.url?.startsWith('/ws') === true,
    dispatch: (handshake) => {
      setTimeout(
        () => runChain(app, handshake.req, handshake.res, handshake),
        app.handshakeDelayMs,
      );
    },
    ...(withRevalidate
      ? {
          revalidate: (revalidation) => {
            app.revalidations.push(revalidation.req);
            runChain(app, revalidation.req, revalidation.res, undefined);
          },
        }
      : {}),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as AddressInfo).port,
    core,
    app,
    close: async () => {
      await core.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function newApp(): TestApp {
  return {
    sessions: new Map(),
    store: 'up',
    handshakeDelayMs: 0,
    revalidations: [],
    touches: 0,
  };
}

function runChain(
  app: TestApp,
  req: IncomingMessage,
  res: ServerResponse,
  handshake: Handshake | undefined,
): void {
  if (app.store === 'hang') {
    return;
  }
  if (app.store === 'fail') {
    res.writeHead(500).end('store down');
    return;
  }

  const sid = /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  const session = sid === undefined ? undefined : app.sessions.get(sid);
  if (sid === undefined || session === undefined) {
    res.writeHead(401).end('unauthorized');
    return;
  }

  const input: AcceptInput = {
    userId: session.userId,
    sessionId: sid,
    expiresAt: session.expiresAt,
    credential: 'cookie',
  };
  const originalEnd = res.end.bind(res);
  res.end = ((...args: Parameters<typeof res.end>) => {
    app.touches++;
    return originalEnd(...args);
  }) as typeof res.end;

  if (handshake !== undefined && getHandshake(req) === handshake) {
    handshake.accept(input, () => {});
  } else {
    const revalidation = getRevalidation(req);
    revalidation?.accept(input);
    if (revalidation?.touch === true) {
      res.end();
    }
  }
}

/** Opens a socket with a `sid` cookie and resolves once it is open. */
export function connect(port: number, sid: string, path = '/ws'): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, {
    headers: { cookie: `sid=${sid}`, origin: `http://127.0.0.1:${port}`, 'x-other': 'kept-out' },
  });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) =>
      reject(new Error(`unexpected status ${res.statusCode}`)),
    );
  });
}

/** Resolves with the close code and reason, and how long after the call the close came. */
export function closeOf(
  socket: WebSocket,
): Promise<{ code: number; reason: string; afterMs: number }> {
  const start = performance.now();
  return new Promise((resolve) => {
    socket.once('close', (code, reason) =>
      resolve({ code, reason: reason.toString(), afterMs: performance.now() - start }),
    );
  });
}

/** Resolves true if the socket is still open after `ms`. */
export async function staysOpen(socket: WebSocket, ms: number): Promise<boolean> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return socket.readyState === WebSocket.OPEN;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Counts the active timers of the process. */
export function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}
