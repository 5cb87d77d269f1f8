import type { AddressInfo } from 'node:net';
import { readConfig } from '@wsauth/demo-kit';
import type { Store } from 'express-session';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type DemoHarness,
  type DemoInstance,
  lifecycleSuite,
  touchSuite,
  twoProcessSuite,
} from '../../demo-kit/testing/lifecycle-suite.js';
import { buildApp } from '../src/app.js';
import { scaleOut } from '../src/scale.js';

const harness: DemoHarness = {
  name: 'Express',
  cookieName: 'wsauth.sid',
  async start({ redisPrefix, revalidateIntervalMs, touch }): Promise<DemoInstance> {
    const scale = await scaleOut(
      redisPrefix === undefined ? undefined : 'redis://127.0.0.1:6379',
      redisPrefix,
    );
    const lifecycle = { ...scale.wsauthOptions.lifecycle, revalidateIntervalMs, touch };
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
};

lifecycleSuite(harness);
touchSuite(harness);
twoProcessSuite('express', 'wsauth.sid');

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
