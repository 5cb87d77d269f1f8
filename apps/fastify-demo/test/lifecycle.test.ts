import type { SessionStore } from '@fastify/session';
import { readConfig } from '@wsauth/demo-kit';
import {
  type DemoHarness,
  type DemoInstance,
  lifecycleSuite,
  touchSuite,
  twoProcessSuite,
} from '../../demo-kit/testing/lifecycle-suite.js';
import { buildApp, SESSION_COOKIE } from '../src/app.js';
import { scaleOut } from '../src/scale.js';

const harness: DemoHarness = {
  name: 'Fastify',
  cookieName: SESSION_COOKIE,
  async start({ redisPrefix, revalidateIntervalMs, touch }): Promise<DemoInstance> {
    const scale = await scaleOut(
      redisPrefix === undefined ? undefined : 'redis://127.0.0.1:6379',
      redisPrefix,
    );
    const { app, sessionStore } = await buildApp(
      readConfig({ SESSION_SECRET: 'lifecycle-test-secret' }),
      {
        sessionStore: scale.sessionStore,
        wsauth: {
          ...scale.wsauthOptions,
          lifecycle: { ...scale.wsauthOptions.lifecycle, revalidateIntervalMs, touch },
        },
      },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };

    return {
      address: `127.0.0.1:${port}`,
      failStoreReads: failableReads(sessionStore),
      close: async () => {
        await app.close();
        await scale.close();
      },
    };
  },
};

lifecycleSuite(harness);
touchSuite(harness);
twoProcessSuite('fastify', SESSION_COOKIE);

// Wraps the store's get so a test can make it fail the way a store that lost its backend does.
function failableReads(store: SessionStore): (failing: boolean) => void {
  let failing = false;
  const get = store.get.bind(store);
  store.get = (sessionId, callback) => {
    if (failing) {
      callback(new Error('session store unavailable'), null);
      return;
    }
    get(sessionId, callback);
  };
  return (value) => {
    failing = value;
  };
}
