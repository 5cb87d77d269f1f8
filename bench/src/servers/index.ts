// Every server the bench can start, by name. Each runs in its own process (see ../server.ts).
import type { ScenarioServer } from './common.js';
import { createExpressWsServer } from './express-ws.js';
import { createFastifyWebsocketServer, createWsAuthFastifyServer } from './fastify-websocket.js';
import { createHandwrittenServer } from './handwritten.js';
import { createHandwrittenAppServer } from './handwritten-app.js';
import { createKoaEasyWsServer, createWsAuthKoaServer } from './koa-easy-ws.js';
import { createRawServer } from './raw.js';
import { createSocketIoServer } from './socketio.js';
import { createWsAuthExpressServer } from './wsauth-express.js';

export const serverFactories = {
  raw: createRawServer,
  handwritten: createHandwrittenServer,
  'handwritten-express-app': createHandwrittenAppServer,
  'wsauth-express': createWsAuthExpressServer,
  'wsauth-fastify': createWsAuthFastifyServer,
  'wsauth-koa': createWsAuthKoaServer,
  'express-ws': createExpressWsServer,
  '@fastify/websocket': createFastifyWebsocketServer,
  'koa-easy-ws': createKoaEasyWsServer,
  'socket.io': createSocketIoServer,
} satisfies Record<string, () => ScenarioServer | Promise<ScenarioServer>>;

export type ServerKind = keyof typeof serverFactories;
