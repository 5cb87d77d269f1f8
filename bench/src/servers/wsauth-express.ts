// S2 (Express): wsauth runs the app's own chain (session, passport, a route guard) on the upgrade.
import { createServer } from 'node:http';
import { createWsAuth } from '@wsauth/express';
import { type BenchUser, onSocket, type ScenarioServer } from './common.js';
import { createExpressApp } from './express-auth.js';

export function createWsAuthExpressServer(): ScenarioServer {
  const { app, auth } = createExpressApp();

  const wsauth = createWsAuth(app);
  app.get(
    '/ws',
    auth.requireUser,
    wsauth.upgrade((socket, req) => onSocket(socket, req.user as BenchUser | undefined)),
  );

  const server = createServer(app);
  wsauth.attach(server);
  return { server, loginPath: '/login' };
}
