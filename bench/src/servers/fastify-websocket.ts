// Fastify with @fastify/session and @fastify/passport and a preValidation hook as the guard:
// once through plain @fastify/websocket (the peer), once through the wsauth plugin.
import fastifyCookie from '@fastify/cookie';
import fastifyPassport from '@fastify/passport';
import fastifySession from '@fastify/session';
import fastifyWebsocket from '@fastify/websocket';
import { wsAuth } from '@wsauth/fastify';
import Fastify from 'fastify';
import {
  ALICE,
  type BenchUser,
  onSocket,
  type ScenarioServer,
  SESSION_SECRET,
  withLatency,
} from './common.js';

async function createFastifyServer(withWsAuth: boolean): Promise<ScenarioServer> {
  const app = Fastify({ logger: false });
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: SESSION_SECRET,
    saveUninitialized: false,
    cookie: { secure: false },
  });
  await app.register(fastifyPassport.initialize());
  await app.register(fastifyPassport.secureSession());
  fastifyPassport.registerUserSerializer(async (user: BenchUser) => user.id);
  fastifyPassport.registerUserDeserializer(
    (id: string) =>
      new Promise((resolve) => withLatency(() => resolve(id === ALICE.id ? ALICE : null))),
  );
  await app.register(withWsAuth ? wsAuth : fastifyWebsocket);

  app.post('/login', async (request, reply) => {
    await request.logIn(ALICE);
    return reply.code(204).send();
  });
  app.get(
    '/ws',
    {
      websocket: true,
      preValidation: async (request, reply) => {
        if (request.user === undefined || request.user === null) {
          await reply.code(401).send({ error: 'unauthorized' });
        }
      },
    },
    (socket, request) => onSocket(socket, request.user as BenchUser | undefined),
  );

  await app.ready();
  return { server: app.server, loginPath: '/login' };
}

export function createFastifyWebsocketServer(): Promise<ScenarioServer> {
  return createFastifyServer(false);
}

export function createWsAuthFastifyServer(): Promise<ScenarioServer> {
  return createFastifyServer(true);
}
