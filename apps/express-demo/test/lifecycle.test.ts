import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { readConfig } from '@wsauth/demo-kit';
import type { Store } from 'express-session';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type DemoInstance,
  lifecycleSuite,
  twoProcessSuite,
} from '../../demo-kit/testing/lifecycle-suite.js';
import { buildApp } from '../src/app.js';
import { scaleOut } from '../src/scale.js';

lifecycleSuite({
  name: 'Express',
  cookieName: 'wsauth.sid',
  async start({ redisPrefix, revalidateIntervalMs }): Promise<DemoInstance> {
    const scale = await scaleOut(
      redisPrefix === undefined ? undefined : 'redis://127.0.0.1:6379',
      redisPrefix,
    );
    const lifecycle = { ...scale.wsauthOptions.lifecycle, revalidateIntervalMs };
    const demo = buildApp(
      readConfig({ SESSION_SECRET: 'lifecycle-test-secret' }),
      scale.sessionStore,
      {
        ...scale.wsauthOptions,
        lifecycle,
      },
    );
    const server = await demo.listen(0, '127.0.0.1');
    const failing = failableReads(demo.sessionStore);

    return {
      address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
      failStoreReads: failing,
      close: async () => {
        await demo.wsauth.close();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await scale.close();
      },
    };
  },
});

// Wraps the store's get so a test can make it fail the way a store that lost its backend does.
function failableReads(store: Store): (failing: boolean) => void {
  let failing = false;
  const get = store.get.bind(store);
  store.get = (sid, callback) => {
    if (failing) {
      callback(new Error('session store unavailable'));
      return;
    }
    get(sid, callback);
  };
  return (value) => {
    failing = value;
  };
}

twoProcessSuite('express', 'wsauth.sid');

describe('Express demo session touching', () => {
  const prefix = `wsauth-test:${randomUUID()}:`;
  const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
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

  // Returns the session's remaining TTL after three revalidations of an open socket.
  async function ttlAfterRevalidations(touch: boolean): Promise<number> {
    const runPrefix = `${prefix}${touch ? 'touch' : 'plain'}:`;
    const scale = await scaleOut('redis://127.0.0.1:6379', runPrefix);
    const demo = buildApp(readConfig({ SESSION_SECRET: 'touch-test-secret' }), scale.sessionStore, {
      ...scale.wsauthOptions,
      lifecycle: { ...scale.wsauthOptions.lifecycle, revalidateIntervalMs: 100, touch },
    });
    const server = await demo.listen(0, '127.0.0.1');
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const socket = await openWithLogin(address);
    cleanups.push(async () => {
      socket.terminate();
      await demo.wsauth.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await scale.close();
    });

    const [key] = await redis.keys(`${runPrefix}sess:*`);
    await redis.pexpire(key as string, 5000);
    await new Promise((resolve) => setTimeout(resolve, 450));
    return redis.pttl(key as string);
  }

  it('does not extend the session by revalidation', async () => {
    expect(await ttlAfterRevalidations(false)).toBeLessThan(4700);
  });

  it('extends the session with the touch option', async () => {
    expect(await ttlAfterRevalidations(true)).toBeGreaterThan(60_000);
  });
});

// Logs in as alice and opens a socket with the session cookie, which it keeps as `cookie`.
async function openWithLogin(address: string): Promise<WebSocket & { cookie: string }> {
  const response = await fetch(`http://${address}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
  });
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const socket = new WebSocket(`ws://${address}/ws`, {
    headers: { cookie, origin: `http://${address}` },
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return Object.assign(socket, { cookie });
}

describe('Express demo session regeneration', () => {
  it('closes the old session socket on a new login', async () => {
    const demo = buildApp(readConfig({ SESSION_SECRET: 'regenerate-test-secret' }));
    const server = await demo.listen(0, '127.0.0.1');
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const socket = await openWithLogin(address);
      const closed = new Promise<number>((resolve) => socket.once('close', resolve));
      const cookie = socket.cookie;

      // passport regenerates the session on login, which destroys the old session id.
      const response = await fetch(`http://${address}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie },
        body: JSON.stringify({ username: 'alice', password: 'alice-password' }),
      });
      expect(response.status).toBe(200);
      expect(await closed).toBe(4401);
    } finally {
      await demo.wsauth.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
