// S2 (Express): wsauth runs the app's own chain (session, passport, a route guard) on the upgrade.
// Destroying a session (logout) revokes its sockets. With BENCH_REDIS_PREFIX set, sessions and
// revocations go through Redis at 127.0.0.1:6379, so several processes act as one app.
import { createServer } from 'node:http';
import { revokeOnDestroy } from '@wsauth/core';
import { createWsAuth } from '@wsauth/express';
import { type BenchUser, lifecycleOf, onSocket, type ScenarioServer } from './common.js';
import { createExpressApp } from './express-auth.js';
import { revocationBus, storageFromEnv } from './sessions.js';

export async function createWsAuthExpressServer(): Promise<ScenarioServer> {
  const storage = storageFromEnv();
  const bus = await revocationBus(storage);

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
  return { server, loginPath: '/login', lifecycle: lifecycleOf(wsauth.core) };
}
