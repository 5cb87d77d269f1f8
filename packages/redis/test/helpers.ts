import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { getHandshake, getRevalidation, type WsAuthOptions, WsAuthServer } from '@wsauth/core';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';

/** Returns a key prefix that no other test run uses, so keys and channels never collide. */
export function uniquePrefix(): string {
  return `wsauth-test:${randomUUID()}:`;
}

export interface Instance {
  port: number;
  core: WsAuthServer;
  close(): Promise<void>;
}

/**
 * Starts a wsauth server whose chain accepts a `sid` cookie found in `sessions`, the way a
 * session middleware backed by a shared store would.
 */
export async function startInstance(
  sessions: Map<string, string>,
  options: WsAuthOptions,
): Promise<Instance> {
  const core = new WsAuthServer(options);
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  const decide = (
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
  ) => {
    const sid = /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const userId = sid === undefined ? undefined : sessions.get(sid);
    if (userId === undefined) {
      res.writeHead(401).end();
      return;
    }
    const input = { userId, sessionId: sid, credential: 'cookie' as const };
    const handshake = getHandshake(req);
    if (handshake !== undefined) {
      handshake.accept(input, () => {});
    } else {
      getRevalidation(req)?.accept(input);
    }
  };
  core.attach(server, {
    matches: (req) => req.url === '/ws',
    dispatch: (handshake) => decide(handshake.req, handshake.res),
    revalidate: (revalidation) => decide(revalidation.req, revalidation.res),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as AddressInfo).port,
    core,
    close: async () => {
      await core.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens a socket with a `sid` cookie and resolves once it is open. */
export function connect(port: number, sid: string): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, {
    headers: { cookie: `sid=${sid}`, origin: `http://127.0.0.1:${port}` },
  });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with the close code and how long after the call the close came. */
export function closeOf(socket: WebSocket): Promise<{ code: number; afterMs: number }> {
  const start = performance.now();
  return new Promise((resolve) => {
    socket.once('close', (code) => resolve({ code, afterMs: performance.now() - start }));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Connects to the shared test Redis, failing fast instead of queueing when it is down. */
export function testRedis(url = 'redis://127.0.0.1:6379'): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  return redis;
}

/** Deletes every key that starts with `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) {
    await redis.del(...keys);
  }
}

/** A redis-server child process on a free loopback port, which a test may stop and restart. */
export class PrivateRedis {
  port = 0;
  #process: ChildProcess | undefined;

  async start(): Promise<void> {
    if (this.port === 0) {
      this.port = await freePort();
    }
    this.#process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await waitForPing(this.port);
  }

  /** Kills the server at once, as a crash would. */
  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) {
      return;
    }
    await sleep(50);
  }
  throw new Error(`redis-server did not answer PING on port ${port} within 5 s`);
}
