import fastifyCookie from '@fastify/cookie';
import { Authenticator } from '@fastify/passport';
import fastifySession, { MemoryStore } from '@fastify/session';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { Strategy as LocalStrategy } from 'passport-local';
import { type FastifyWsAuthOptions, wsAuth } from '../src/index.js';

declare module '@wsauth/core' {
  interface WsAuthUser {
    id: string;
    name: string;
  }
}

export const SECRET = 'a-test-secret-that-is-at-least-32-characters';
export const unauthorized = { error: 'unauthorized', message: 'Log in first.' };

const users = new Map([
  ['alice', { id: 'alice', name: 'Alice', password: 'alice-password' }],
  ['bob', { id: 'bob', name: 'Bob', password: 'bob-password' }],
]);

type StoreGetCallback = Parameters<MemoryStore['get']>[1];
type StoreSetCallback = Parameters<MemoryStore['set']>[2];
type StoredSession = Parameters<MemoryStore['set']>[1];

/** @fastify/session's memory store, counting reads and writes and able to fail writes. */
export class CountingStore extends MemoryStore {
  gets = 0;
  sets = 0;
  failWrites = false;

  override get(sessionId: string, callback: StoreGetCallback): void {
    this.gets++;
    super.get(sessionId, callback);
  }

  override set(sessionId: string, session: StoredSession, callback: StoreSetCallback): void {
    this.sets++;
    if (this.failWrites) {
      callback(new Error('store is down'));
      return;
    }
    super.set(sessionId, session, callback);
  }

  /** Returns the session ids in the store. */
  ids(): string[] {
    return [...(this as unknown as { store: Map<string, unknown> }).store.keys()];
  }

  /** Returns the stored session with this id. */
  read(id: string): Record<string, unknown> | undefined {
    return (this as unknown as { store: Map<string, Record<string, unknown>> }).store.get(id);
  }
}

export interface SessionAppOptions {
  /** Registers @fastify/websocket before wsauth. */
  preRegister?: boolean;
  wsauth?: FastifyWsAuthOptions;
  fastify?: FastifyServerOptions;
}

export interface SessionApp {
  app: FastifyInstance;
  store: CountingStore;
  /** Calls of the `/ws` socket handler. */
  opened: Array<{ user: unknown; ws: boolean }>;
  /** Close codes and reasons that the `/ws/echo` socket handler received. */
  serverCloses: Array<{ code: number; reason: string }>;
}

/**
 * Builds an app with @fastify/cookie, @fastify/session, @fastify/passport (local strategy), a
 * `requireUser` guard on `/api/me`, `/ws` and `/ws/echo`, and routes that change the session
 * during the handshake.
 */
export async function buildSessionApp(options: SessionAppOptions = {}): Promise<SessionApp> {
  const app = Fastify(options.fastify);
  const store = new CountingStore();
  const opened: SessionApp['opened'] = [];
  const serverCloses: SessionApp['serverCloses'] = [];
  const passport = new Authenticator();

  if (options.preRegister === true) {
    await app.register(fastifyWebsocket);
  }
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: SECRET,
    store,
    cookie: { secure: false },
    saveUninitialized: false,
  });
  passport.use(
    'local',
    new LocalStrategy((username, password, done) => {
      const user = users.get(username);
      done(null, user?.password === password ? { id: user.id, name: user.name } : false);
    }),
  );
  passport.registerUserSerializer(async (user: { id: string }) => user.id);
  passport.registerUserDeserializer(async (id: string) => {
    const user = users.get(id);
    return user === undefined ? null : { id: user.id, name: user.name };
  });
  await app.register(passport.initialize());
  await app.register(passport.secureSession());
  await app.register(wsAuth, options.wsauth ?? {});

  app.post('/login', { preValidation: passport.authenticate('local') }, async (request) => ({
    user: request.user,
  }));
  app.get('/api/me', { preValidation: requireUser }, async (request) => ({ user: request.user }));
  app.get('/api/session', async (request) => ({ visits: request.session.get('visits') ?? null }));

  app.get('/ws', { websocket: true, preValidation: requireUser }, (socket, request) => {
    opened.push({ user: request.user, ws: request.ws });
    socket.send(JSON.stringify({ type: 'welcome', user: request.user }));
  });
  app.get('/ws/echo', { websocket: true, preValidation: requireUser }, (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    socket.on('close', (code, reason) => serverCloses.push({ code, reason: String(reason) }));
  });
  app.get('/ws/visit', { websocket: true, preHandler: countVisit }, (socket, request) => {
    socket.send(JSON.stringify({ visits: request.session.get('visits') }));
  });
  app.get('/ws/regenerate', { websocket: true, preHandler: regenerate }, (socket, request) => {
    socket.send(JSON.stringify({ sessionId: request.session.sessionId }));
  });

  return { app, store, opened, serverCloses };
}

async function requireUser(request: FastifyRequest, reply: FastifyReply) {
  if (!request.user) {
    return reply.code(401).send(unauthorized);
  }
  return undefined;
}

async function countVisit(request: FastifyRequest) {
  const visits = (request.session.get('visits') as number | undefined) ?? 0;
  request.session.set('visits', visits + 1);
}

async function regenerate(request: FastifyRequest) {
  await request.session.regenerate();
  request.session.set('visits', 100);
}

/** Logs in over HTTP and returns the session cookie pair (`name=value`). */
export async function login(
  baseUrl: string,
  username = 'alice',
  password = `${username}-password`,
) {
  const response = await fetch(`${baseUrl}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (response.status !== 200) {
    throw new Error(`login failed with ${response.status}`);
  }
  const setCookie = response.headers.get('set-cookie') ?? '';
  return setCookie.split(';')[0] ?? '';
}

/** Extracts the session id from a `sessionId=<id>.<signature>` cookie pair. */
export function sessionIdOf(cookiePair: string): string {
  const value = decodeURIComponent(cookiePair.slice(cookiePair.indexOf('=') + 1));
  return value.slice(0, value.lastIndexOf('.'));
}
