// S1: the same express-session + passport auth written by hand in an `upgrade` listener, as in
// the "Client authentication" example of the ws README: run the session parser (and here
// passport's session strategy) against the request with a stand-in response, then handleUpgrade.
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, Response } from 'express';
import { WebSocketServer } from 'ws';
import { type BenchUser, onSocket, type ScenarioServer } from './common.js';
import { createExpressApp } from './express-auth.js';

/** Writes a bodiless response with `statusLine` and closes the socket. */
export function rejectUpgrade(socket: Duplex, statusLine: string): void {
  socket.write(`HTTP/1.1 ${statusLine}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/** Keeps a socket error during the handshake from crashing the process. */
export function onSocketError(): void {}

export function createHandwrittenServer(): ScenarioServer {
  const { app, auth } = createExpressApp();

  const server = createServer(app);
  const wss = new WebSocketServer({ noServer: true });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', onSocketError);
    // The same-origin check a careful hand-written listener adds for cookie auth.
    if (req.headers.origin !== `http://${req.headers.host}`) {
      rejectUpgrade(socket, '403 Forbidden');
      return;
    }

    const request = req as Request;
    const response = {} as Response;
    auth.session(request, response, () => {
      auth.passportSession(request, response, () => {
        const user = request.user as BenchUser | undefined;
        if (user === undefined) {
          rejectUpgrade(socket, '401 Unauthorized');
          return;
        }
        socket.removeListener('error', onSocketError);
        wss.handleUpgrade(req, socket, head, (ws) => onSocket(ws, user));
      });
    });
  });
  return { server, loginPath: '/login' };
}
