// Fastify with @fastify/session and @fastify/passport and a preValidation hook as the guard:
// once through plain @fastify/websocket (the peer), once through the wsauth plugin. Sessions are
// in the shared bench store; with BENCH_REDIS_PREFIX set, they and wsauth's revocations go
// through Redis, so several processes act as one app.
import fastifyCookie from '@fastify/cookie';
import fastifyPassport from '@fastify/passport';
import fastifySession, { type SessionStore } from '@fastify/session';
import fastifyWebsocket from '@fastify/websocket';
import { revokeOnDestroy } from '@wsauth/core';
import { wsAuth } from '@wsauth/fastify';
import type { Session } from 'fastify';
import Fastify from 'fastify';
import {
  ALICE,
  type BenchUser,
  lifecycleOf,
  onSocket,
  type ScenarioServer,
  SESSION_SECRET,
  withLatency,
} from './common.js';
import { BenchSessions, revocationBus, type SessionStorage, storageFromEnv } from './sessions.js';

type Done = (error?: unknown) => void;

/** A @fastify/session store on the bench sessions. */
class FastifyBenchStore implements SessionStore {
  readonly #sessions: BenchSessions;

  constructor(storage?: SessionStorage) {
    this.#sessions = new BenchSessions(storage);
  }

  get(sid: string, callback: (error: unknown, session?: Session | null) => void): void {
    this.#sessions.get(sid).then(
      (session) => callback(null, (session as Session | undefined) ?? null),
      (error: unknown) => callback(error),
    );
  }

  set(sid: string, session: Session, callback: Done): void {
    this.#sessions.set(sid, session).then(() => callback(), callback);
  }

  destroy(sid: string, callback: Done): void {
    this.#sessions.destroy(sid).then(() => callback(), callback);
  }
}

async function createFastifyServer(withWsAuth: boolean): Promise<ScenarioServer> {
  const storage = storageFromEnv();
  const store = new FastifyBenchStore(storage);
  const app = Fastify({ logger: false });
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: SESSION_SECRET,
    store,
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
  if (withWsAuth) {
    await app.register(wsAuth, { lifecycle: { bus: await revocationBus(storage) } });
    revokeOnDestroy(store, app.wsauth);
  } else {
    await app.register(fastifyWebsocket);
  }

  app.post('/login', async (request, reply) => {
    await request.logIn(ALICE);
    return reply.code(204).send();
  });
  app.post('/logout', async (request, reply) => {
    await request.logOut();
    await request.session.destroy();
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
  return {
    server: app.server,
    loginPath: '/login',
    lifecycle: withWsAuth ? lifecycleOf(app.wsauth) : undefined,
  };
}

export function createFastifyWebsocketServer(): Promise<ScenarioServer> {
  return createFastifyServer(false);
}

export function createWsAuthFastifyServer(): Promise<ScenarioServer> {
  return createFastifyServer(true);
}
