import type { AddressInfo } from 'node:net';
import { readConfig } from '@wsauth/demo-kit';
import {
  type DemoHarness,
  type DemoInstance,
  lifecycleSuite,
  touchSuite,
  twoProcessSuite,
} from '../../demo-kit/testing/lifecycle-suite.js';
import { buildApp } from '../src/app.js';
import type { ExternalSessionStore } from '../src/redis-session-store.js';
import { scaleOut } from '../src/scale.js';
import { MemorySessionStore } from '../src/session-store.js';

const harness: DemoHarness = {
  name: 'Koa',
  cookieName: 'wsauth.sid',
  async start({ redisPrefix, revalidateIntervalMs, touch }): Promise<DemoInstance> {
    const scale = await scaleOut(
      redisPrefix === undefined ? undefined : 'redis://127.0.0.1:6379',
      redisPrefix,
    );
    const demo = buildApp(
      readConfig({ SESSION_SECRET: 'lifecycle-test-secret' }),
      scale.sessionStore ?? new MemorySessionStore(),
      {
        ...scale.wsauthOptions,
        lifecycle: { ...scale.wsauthOptions.lifecycle, revalidateIntervalMs, touch },
      },
    );
    const server = await demo.listen(0, '127.0.0.1');

    return {
      address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
      failStoreReads: failableReads(demo.sessionStore),
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
// koa-session writes a session after the chain only when it changed or `rolling` is on, so the
// touch option cannot extend it; only the default (no extension) is checked.
touchSuite(harness, false);
twoProcessSuite('koa', 'wsauth.sid');

// Wraps the store's get so a test can make it fail the way a store that lost its backend does.
function failableReads(store: ExternalSessionStore): (failing: boolean) => void {
  let failing = false;
  const get = store.get.bind(store);
  store.get = async (key) => {
    if (failing) {
      throw new Error('session store unavailable');
    }
    return get(key);
  };
  return (value) => {
    failing = value;
  };
}
