import type { AddressInfo } from 'node:net';
import { readConfig } from '@wsauth/demo-kit';
import type { Store } from 'express-session';
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
