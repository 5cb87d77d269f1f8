import { createHash } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifySession, { MemoryStore, type SessionStore } from '@fastify/session';
import { revokeOnDestroy } from '@wsauth/core';
import {
  clientScript,
  clientScriptType,
  type DemoConfig,
  type DemoUser,
  demoPage,
  demoRejections,
} from '@wsauth/demo-kit';
import { type FastifyWsAuthOptions, wsAuth } from '@wsauth/fastify';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import { createPassport, passwordLogin, requireUser } from './auth.js';

/** The session cookie; the origin check applies to handshakes that carry it. */
export const SESSION_COOKIE = 'wsauth.sid';

/** The demo app and the parts tests inspect. */
export interface FastifyDemo {
  app: FastifyInstance;
  sessionStore: SessionStore;
}

/** Parts a caller may swap: the session store, Fastify's server options and wsauth's options. */
export interface DemoOptions {
  sessionStore?: SessionStore;
  fastify?: FastifyServerOptions;
  wsauth?: FastifyWsAuthOptions;
}

/**
 * Builds the Fastify demo: REST and WebSocket routes behind one session and passport setup.
 * The app is ready to `listen`.
 */
export async function buildApp(
  config: DemoConfig,
  options: DemoOptions = {},
): Promise<FastifyDemo> {
  const sessionStore = options.sessionStore ?? new MemoryStore();
  const app = Fastify(options.fastify);
  const passport = createPassport();
  const guard = requireUser(passport);

  await app.register(fastifyFormbody);
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    cookieName: SESSION_COOKIE,
    secret: sessionKey(config.sessionSecret),
    store: sessionStore,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: 24 * 60 * 60 * 1000 },
  });
  await app.register(passport.initialize());
  await app.register(passport.secureSession());
  await app.register(wsAuth, {
    ...options.wsauth,
    allowedOrigins: config.allowedOrigins,
    credentialCookies: [SESSION_COOKIE],
    rejections: demoRejections,
  });
  // Destroying a session (logout, passport's regeneration on login) closes its sockets with 4401.
  revokeOnDestroy(sessionStore, app.wsauth);
  app.setErrorHandler(jsonErrors);

  app.get('/', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(demoPage('Fastify')),
  );

  app.get('/client.js', async (_request, reply) =>
    reply.type(clientScriptType).send(clientScript()),
  );

  app.post('/login', { preValidation: passwordLogin(passport) }, async (request) => ({
    user: publicUser(request.user),
  }));

  app.post('/logout', async (request, reply) => {
    await request.logOut();
    await request.session.destroy();
    return reply.clearCookie(SESSION_COOKIE, { path: '/' }).code(204).send();
  });

  app.get('/api/me', { preValidation: guard }, async (request) => ({
    user: publicUser(request.user),
  }));

  app.post('/api/ws-ticket', { preValidation: guard }, (request) => app.mintWsTicket(request));

  app.get('/ws', { websocket: true, preValidation: guard }, (socket, request) => {
    socket.send(JSON.stringify({ type: 'welcome', user: publicUser(request.user) }));
    socket.on('message', (data, isBinary) => {
      if (!isBinary) {
        socket.send(JSON.stringify({ type: 'echo', data: data.toString() }));
      }
    });
  });

  return { app, sessionStore };
}

// @fastify/session requires a secret of at least 32 characters; hashing lets the demo accept any
// SESSION_SECRET, including the short development default.
function sessionKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function publicUser(user: DemoUser | undefined | null): DemoUser | null {
  return user ? { id: user.id, name: user.name } : null;
}

function jsonErrors(
  this: FastifyInstance,
  error: FastifyError,
  request: Parameters<Parameters<FastifyInstance['setErrorHandler']>[0]>[1],
  reply: Parameters<Parameters<FastifyInstance['setErrorHandler']>[0]>[2],
) {
  const status = error.statusCode ?? 500;
  if (status >= 500) {
    request.log.error({ err: error }, 'Request failed');
    return reply.code(500).send({ error: 'internal_error', message: 'Internal Server Error' });
  }
  return reply.code(status).send({ error: 'bad_request', message: error.message });
}
