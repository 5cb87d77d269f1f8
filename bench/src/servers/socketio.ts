// Peer: socket.io with the Express session and passport run through `io.engine.use`, the pattern
// of the socket.io documentation, only on the handshake request (no `sid` yet).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Server } from 'socket.io';
import { type BenchUser, counters, type ScenarioServer } from './common.js';
import { createExpressApp } from './express-auth.js';

/** The path of socket.io's WebSocket transport that the generator requests. */
export const SOCKET_IO_PATH = '/socket.io/?EIO=4&transport=websocket';

type EngineMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

function onlyForHandshake(middleware: RequestHandler): EngineMiddleware {
  return (req, res, next) => {
    const query = (req as IncomingMessage & { _query?: { sid?: string } })._query;
    if (query?.sid === undefined) {
      middleware(req as Request, res as Response, next as NextFunction);
    } else {
      next();
    }
  };
}

export function createSocketIoServer(): ScenarioServer {
  const { app, auth } = createExpressApp();

  const server = createServer(app);
  const io = new Server(server, { serveClient: false });
  io.engine.use(onlyForHandshake(auth.session));
  io.engine.use(onlyForHandshake(auth.passportSession));
  io.engine.use(
    onlyForHandshake((req, res, next) => {
      if (req.user === undefined) {
        res.writeHead(401).end();
        return;
      }
      next();
    }),
  );
  io.on('connection', (socket) => {
    counters.openSockets++;
    const user = (socket.request as Request).user as BenchUser | undefined;
    socket.emit('welcome', user?.id ?? null);
    socket.on('disconnect', () => {
      counters.openSockets--;
    });
  });
  return { server, loginPath: '/login' };
}
