// S1b: the same Express app as the wsauth server, run by hand in an `upgrade` listener: the app
// handles the upgrade request with a stand-in response, and its route upgrades with ws. This is
// the Express chain without wsauth's pipeline, so wsauth's own cost is the difference.
import { createServer, type IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';
import { WebSocketServer } from 'ws';
import { type BenchUser, onSocket, type ScenarioServer } from './common.js';
import { createExpressApp } from './express-auth.js';
import { onSocketError, rejectUpgrade } from './handwritten.js';

// The raw socket and first bytes of an upgrade, for the route that completes it.
const upgrades = new WeakMap<IncomingMessage, { socket: Duplex; head: Buffer }>();

export function createHandwrittenAppServer(): ScenarioServer {
  const { app } = createExpressApp();
  const wss = new WebSocketServer({ noServer: true });

  app.get('/ws', (req: Request, _res: Response, next: NextFunction) => {
    const upgrade = upgrades.get(req);
    if (upgrade === undefined) {
      next();
      return;
    }
    const user = req.user as BenchUser | undefined;
    if (user === undefined) {
      rejectUpgrade(upgrade.socket, '401 Unauthorized');
      return;
    }
    upgrade.socket.removeListener('error', onSocketError);
    wss.handleUpgrade(req, upgrade.socket, upgrade.head, (ws) => onSocket(ws, user));
  });

  const server = createServer(app);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', onSocketError);
    // The same-origin check a careful hand-written listener adds for cookie auth.
    if (req.headers.origin !== `http://${req.headers.host}`) {
      rejectUpgrade(socket, '403 Forbidden');
      return;
    }
    upgrades.set(req, { socket, head });
    app(req as Request, new ServerResponse(req) as Response, () => {
      rejectUpgrade(socket, '404 Not Found');
    });
  });
  return { server, loginPath: '/login' };
}
