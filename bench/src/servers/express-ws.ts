// Peer: express-ws. It upgrades first and then runs the Express chain with a stand-in response;
// a guard that answers 401 makes it close the already open socket.
import { createServer } from 'node:http';
import express from 'express';
import expressWs from 'express-ws';
import { type BenchUser, onSocket, type ScenarioServer } from './common.js';
import { createExpressAuth } from './express-auth.js';

export function createExpressWsServer(): ScenarioServer {
  const auth = createExpressAuth();
  const app = express();
  const server = createServer(app);
  const { app: wsApp } = expressWs(app, server);

  app.use(auth.session, auth.passportSession);
  app.post('/login', auth.login);
  // express-ws hands route middleware the open socket; a guard can only close it.
  wsApp.ws(
    '/ws',
    (socket, req, next) => {
      if (req.user === undefined) {
        socket.close(1008, 'Unauthorized');
        return;
      }
      next();
    },
    (socket, req) => {
      onSocket(socket, req.user as BenchUser | undefined);
    },
  );
  return { server, loginPath: '/login' };
}
