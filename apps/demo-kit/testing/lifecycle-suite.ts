import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { setUserDeleted } from '../src/users.js';

/** One running demo instance. */
export interface DemoInstance {
  /** `host:port` of the instance. */
  readonly address: string;
  /** Makes every session-store read fail (`true`) or work again (`false`). */
  failStoreReads(failing: boolean): void;
  close(): Promise<void>;
}

/** Options a harness turns into the demo's configuration. */
export interface DemoStartOptions {
  /** Keep sessions, tickets and revocations in Redis under this key prefix. */
  redisPrefix?: string;
  /** Revalidation interval of the demo's wsauth, in milliseconds. */
  revalidateIntervalMs: number;
  /** The lifecycle's `touch` option. */
  touch?: boolean;
}

/** The starter of one framework's demo, used by the suite. */
export interface DemoHarness {
  readonly name: string;
  /** The session cookie's name; every cookie the login sets is sent back (signatures too). */
  readonly cookieName: string;
  start(options: DemoStartOptions): Promise<DemoInstance>;
}

const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Runs the lifecycle contract against a demo. Logout closes the socket with 4401 on the same
 * instance and, through Redis, on another, and the old cookie then gets 401. Revalidation closes
 * the sockets of an expired session and of a deleted user, and follows the store-error policy.
 */
export function lifecycleSuite(harness: DemoHarness): void {
  const instances: DemoInstance[] = [];
  const sockets: WebSocket[] = [];
  const prefix = `wsauth-test:${randomUUID()}:`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});

  async function start(options: DemoStartOptions): Promise<DemoInstance> {
    const instance = await harness.start(options);
    instances.push(instance);
    return instance;
  }

  async function open(instance: DemoInstance, cookie: string, path?: string): Promise<WebSocket> {
    const socket = await connect(instance.address, cookie, path);
    sockets.push(socket);
    return socket;
  }

  afterEach(async () => {
    setUserDeleted('alice', false);
    for (const socket of sockets.splice(0)) {
      socket.terminate();
    }
    for (const instance of instances.splice(0)) {
      await instance.close();
    }
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) {
      await redis.del(...keys);
    }
    redis.disconnect();
  });

  describe(`${harness.name} demo lifecycle`, () => {
    it('closes the socket on logout with 4401', async () => {
      const demo = await start({ revalidateIntervalMs: 60_000 });
      const cookie = await login(demo.address, harness.cookieName);
      const closed = closeOf(await open(demo, cookie));

      await logout(demo.address, cookie);
      const { code, afterMs } = await closed;

      expect(code).toBe(4401);
      expect(afterMs).toBeLessThan(1000);
      expect(await handshakeStatus(demo.address, cookie)).toBe(401);
    });

    it('closes ticket sockets on logout', async () => {
      const demo = await start({ revalidateIntervalMs: 60_000 });
      const cookie = await login(demo.address, harness.cookieName);
      const used = await mintTicket(demo.address, cookie);
      const unused = await mintTicket(demo.address, cookie);
      const closed = closeOf(await open(demo, '', `/ws?ticket=${used}`));

      await logout(demo.address, cookie);
      const { code, afterMs } = await closed;

      expect(code).toBe(4401);
      expect(afterMs).toBeLessThan(1000);
      expect(await handshakeStatus(demo.address, '', `/ws?ticket=${unused}`)).toBe(401);
    });

    it('closes the socket on another instance through Redis', async () => {
      const options = { redisPrefix: `${prefix}two:`, revalidateIntervalMs: 60_000 };
      const a = await start(options);
      const b = await start(options);
      const cookie = await login(a.address, harness.cookieName);
      const closed = closeOf(await open(b, cookie));

      await logout(a.address, cookie);
      const { code, afterMs } = await closed;

      expect(code).toBe(4401);
      expect(afterMs).toBeLessThan(1000);
      expect(await handshakeStatus(b.address, cookie)).toBe(401);
      expect(await handshakeStatus(a.address, cookie)).toBe(401);
    });

    it('closes an idle socket once the session TTL passed', async () => {
      const sessionPrefix = `${prefix}ttl:`;
      const demo = await start({ redisPrefix: sessionPrefix, revalidateIntervalMs: 300 });
      const cookie = await login(demo.address, harness.cookieName);
      const socket = await open(demo, cookie);
      const closed = closeOf(socket);

      // Shortens the stored session's TTL, as if it had been idle for its whole lifetime.
      const keys = await redis.keys(`${sessionPrefix}sess:*`);
      expect(keys).toHaveLength(1);
      await redis.pexpire(keys[0] as string, 100);
      const { code, afterMs } = await closed;

      expect(code).toBe(4401);
      expect(afterMs).toBeLessThan(100 + 300 + 200);
    });

    it('closes the socket of a deleted user', async () => {
      const demo = await start({ revalidateIntervalMs: 200 });
      const cookie = await login(demo.address, harness.cookieName);
      const closed = closeOf(await open(demo, cookie));

      setUserDeleted('alice', true);
      const { code, afterMs } = await closed;

      expect(code).toBe(4401);
      expect(afterMs).toBeLessThan(200 + 200);
    });

    it('keeps a socket for one interval when the store fails', async () => {
      const demo = await start({ revalidateIntervalMs: 400 });
      const cookie = await login(demo.address, harness.cookieName);
      const socket = await open(demo, cookie);
      const closed = closeOf(socket);

      // With the default jitter the first check fails within 320-400 ms, the second 320-400 ms
      // later; the socket is still open between the two.
      demo.failStoreReads(true);
      await sleep(450);
      expect(socket.readyState).toBe(WebSocket.OPEN);
      const { code } = await closed;

      expect(code).toBe(1013);
    });
  });
}

/**
 * Checks that revalidations leave the session's TTL in Redis alone, and, unless `touches` is
 * false, that with the `touch` option they extend it as a request would.
 */
export function touchSuite(harness: DemoHarness, touches = true): void {
  const prefix = `wsauth-test:${randomUUID()}:`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) {
      await cleanup();
    }
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) {
      await redis.del(...keys);
    }
    redis.disconnect();
  });

  // Returns the session's remaining TTL after about four revalidations of an open socket.
  async function ttlAfterRevalidations(touch: boolean): Promise<number> {
    const redisPrefix = `${prefix}${touch ? 'touch' : 'plain'}:`;
    const demo = await harness.start({ redisPrefix, revalidateIntervalMs: 100, touch });
    const cookie = await login(demo.address, harness.cookieName);
    const socket = await connect(demo.address, cookie);
    cleanups.push(async () => {
      socket.terminate();
      await demo.close();
    });

    const [key] = await redis.keys(`${redisPrefix}sess:*`);
    await redis.pexpire(key as string, 5000);
    await sleep(450);
    expect(socket.readyState).toBe(WebSocket.OPEN);
    return redis.pttl(key as string);
  }

  describe(`${harness.name} demo session touching`, () => {
    it('does not extend the session by revalidation', async () => {
      expect(await ttlAfterRevalidations(false)).toBeLessThan(4700);
    });

    if (touches) {
      it('extends the session with the touch option', async () => {
        expect(await ttlAfterRevalidations(true)).toBeGreaterThan(60_000);
      });
    }
  });
}

async function login(address: string, cookieName: string): Promise<string> {
  const response = await fetch(`http://${address}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
  });
  expect(response.status).toBe(200);
  const pairs = response.headers.getSetCookie().map((line) => line.split(';')[0] ?? '');
  expect(pairs.some((pair) => pair.startsWith(`${cookieName}=`))).toBe(true);
  return pairs.join('; ');
}

async function mintTicket(address: string, cookie: string): Promise<string> {
  const response = await fetch(`http://${address}/api/ws-ticket`, {
    method: 'POST',
    headers: { cookie, origin: `http://${address}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { ticket: string }).ticket;
}

async function logout(address: string, cookie: string): Promise<void> {
  const response = await fetch(`http://${address}/logout`, {
    method: 'POST',
    headers: { cookie, origin: `http://${address}` },
  });
  expect(response.status).toBe(204);
}

// An empty cookie sends none, as a page that connects with a ticket alone.
function handshakeHeaders(address: string, cookie: string): Record<string, string> {
  return cookie === '' ? { origin: `http://${address}` } : { cookie, origin: `http://${address}` };
}

function connect(address: string, cookie: string, path = '/ws'): Promise<WebSocket> {
  const socket = new WebSocket(`ws://${address}${path}`, {
    headers: handshakeHeaders(address, cookie),
  });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) =>
      reject(new Error(`handshake failed with status ${res.statusCode}`)),
    );
    socket.once('error', reject);
  });
}

function handshakeStatus(address: string, cookie: string, path = '/ws'): Promise<number> {
  const socket = new WebSocket(`ws://${address}${path}`, {
    headers: handshakeHeaders(address, cookie),
  });
  return new Promise((resolve) => {
    socket.once('open', () => {
      socket.terminate();
      resolve(101);
    });
    socket.once('unexpected-response', (req, res) => {
      req.destroy();
      resolve(res.statusCode ?? 0);
    });
    socket.once('error', () => resolve(0));
  });
}

function closeOf(socket: WebSocket): Promise<{ code: number; afterMs: number }> {
  const start = performance.now();
  return new Promise((resolve) => {
    socket.once('close', (code) => resolve({ code, afterMs: performance.now() - start }));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts `scripts/two-instances.mjs` for a demo and checks that a logout on instance A closes a
 * socket on instance B, the two being separate processes that share only Redis.
 */
export function twoProcessSuite(demo: 'express' | 'fastify' | 'koa', cookieName: string): void {
  const prefix = `wsauth-test:${randomUUID()}:`;
  let child: ChildProcess | undefined;

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) {
      await redis.del(...keys);
    }
    redis.disconnect();
  });

  it(`closes a socket across two ${demo} processes`, async () => {
    const script = fileURLToPath(new URL('../../../scripts/two-instances.mjs', import.meta.url));
    child = spawn(process.execPath, [script, demo, '--ports', '0,0'], {
      env: { ...process.env, REDIS_URL, REDIS_PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [a, b] = await listeningAddresses(child);
    const cookie = await login(a, cookieName);
    const closed = closeOf(await connect(b, cookie));
    await logout(a, cookie);
    const { code, afterMs } = await closed;

    expect(code).toBe(4401);
    expect(afterMs).toBeLessThan(1000);
    expect(await handshakeStatus(b, cookie)).toBe(401);
  }, 30_000);
}

// Reads the two `[A] listening on http://host:port` lines the script prints.
function listeningAddresses(child: ChildProcess): Promise<[string, string]> {
  return new Promise((resolve, reject) => {
    const found: Record<string, string> = {};
    let output = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      output += chunk;
      for (const match of output.matchAll(/\[([AB])\] listening on http:\/\/([^\s]+)/g)) {
        found[match[1] as string] = match[2] as string;
      }
      if (found.A !== undefined && found.B !== undefined) {
        resolve([found.A, found.B]);
      }
    });
    child.once('exit', (code) => reject(new Error(`two-instances.mjs exited with ${code}`)));
  });
}
