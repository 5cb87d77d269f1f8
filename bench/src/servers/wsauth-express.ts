// S2 (Express): wsauth runs the app's own chain (session, passport, a route guard) on the upgrade.
// Destroying a session (logout) revokes its sockets. With BENCH_REDIS_PREFIX set, sessions and
// revocations go through Redis at 127.0.0.1:6379, so several processes act as one app.
import { createServer } from 'node:http';
import { revokeOnDestroy } from '@wsauth/core';
import { createWsAuth } from '@wsauth/express';
import { RedisRevocationBus } from '@wsauth/redis';
import { Redis } from 'ioredis';
import { type BenchUser, onSocket, type ScenarioServer } from './common.js';
import { createExpressApp, type SessionStorage } from './express-auth.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

export async function createWsAuthExpressServer(): Promise<ScenarioServer> {
  const prefix = process.env.BENCH_REDIS_PREFIX;
  const storage: SessionStorage | undefined =
    prefix === undefined ? undefined : { redis: new Redis(REDIS_URL), prefix };
  const bus =
    storage === undefined
      ? undefined
      : new RedisRevocationBus({ redis: storage.redis, prefix: storage.prefix });
  await bus?.ready();

  const { app, auth } = createExpressApp(storage);
  const wsauth = createWsAuth(app, { lifecycle: { bus } });
  revokeOnDestroy(auth.store, wsauth.core);
  app.get(
    '/ws',
    auth.requireUser,
    wsauth.upgrade((socket, req) => onSocket(socket, req.user as BenchUser | undefined)),
  );

  const server = createServer(app);
  wsauth.attach(server);
  return {
    server,
    loginPath: '/login',
    lifecycle: {
      revalidateAll: () => wsauth.core.lifecycle.revalidateAll(),
      pendingRevalidations: () => wsauth.core.lifecycle.pendingRevalidations,
    },
  };
}
