import type { Server } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import { revokeOnDestroy } from '@wsauth/core';
import {
  clientError,
  clientScript,
  clientScriptType,
  type DemoConfig,
  type DemoUser,
  demoPage,
  demoRejections,
} from '@wsauth/demo-kit';
import { createWsAuth, type KoaWsAuthOptions, type WsAuthKoa } from '@wsauth/koa';
import Koa, { type Middleware } from 'koa';
import session from 'koa-session';
import { createPassport, login, publicUser, requireUser } from './auth.js';
import type { ExternalSessionStore } from './redis-session-store.js';
import { MemorySessionStore } from './session-store.js';

/** The demo app and the parts tests inspect. */
export interface KoaDemo<Store extends ExternalSessionStore = MemorySessionStore> {
  app: Koa;
  wsauth: WsAuthKoa;
  sessionStore: Store;
  /** Starts listening and resolves with the server once it accepts connections. */
  listen(port: number, host: string): Promise<Server>;
}

const SESSION_COOKIE = 'wsauth.sid';

/**
 * Builds the Koa demo: REST and WebSocket routes behind one session and koa-passport setup.
 * `wsauthOptions` adds the lifecycle bus and ticket store of a scaled-out deployment.
 */
export function buildApp<Store extends ExternalSessionStore = MemorySessionStore>(
  config: DemoConfig,
  sessionStore: Store = new MemorySessionStore() as ExternalSessionStore as Store,
  wsauthOptions: KoaWsAuthOptions = {},
): KoaDemo<Store> {
  const app = new Koa();
  app.keys = [config.sessionSecret];
  const passport = createPassport();
  const guard = requireUser(passport);
  const wsauth = createWsAuth(app, {
    ...wsauthOptions,
    allowedOrigins: config.allowedOrigins,
    // koa-session signs its cookie with a companion `.sig` cookie, which revalidation needs too.
    credentialCookies: [SESSION_COOKIE, `${SESSION_COOKIE}.sig`],
    rejections: demoRejections,
  });
  // Destroying a session (logout, an admin deleting it) closes its sockets with 4401.
  revokeOnDestroy(sessionStore, wsauth.core);

  app.use(wsauth.middleware);
  app.use(jsonErrors);
  app.use(bodyParser({ enableTypes: ['json', 'form'] }));
  app.use(
    session(
      {
        key: SESSION_COOKIE,
        store: sessionStore,
        maxAge: 24 * 60 * 60 * 1000,
        httpOnly: true,
        sameSite: 'lax',
        signed: true,
      },
      app,
    ),
  );
  app.use(passport.initialize());
  app.use(passport.session());

  const router = routes(guard, login(passport), wsauth);
  app.use(router.routes());
  app.use(router.allowedMethods());

  return {
    app,
    wsauth,
    sessionStore,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        const server = app.listen(port, host);
        wsauth.attach(server);
        server.once('listening', () => resolve(server));
        server.once('error', reject);
      }),
  };
}

function routes(guard: Middleware, loginRoute: Middleware, wsauth: WsAuthKoa): Router {
  const router = new Router();

  router.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = demoPage('Koa');
  });

  router.get('/client.js', (ctx) => {
    ctx.type = clientScriptType;
    ctx.body = clientScript();
  });

  router.post('/login', loginRoute);

  router.post('/logout', async (ctx) => {
    await ctx.logout();
    ctx.session = null;
    ctx.status = 204;
  });

  router.get('/api/me', guard, (ctx) => {
    ctx.body = { user: publicUser(ctx.state.user as DemoUser) };
  });

  router.post('/api/ws-ticket', guard, async (ctx) => {
    ctx.body = await wsauth.mintTicket(ctx);
  });

  router.get('/ws', wsauth.route, guard, async (ctx) => {
    const socket = await ctx.ws();
    socket.send(JSON.stringify({ type: 'welcome', user: publicUser(ctx.state.user as DemoUser) }));
    socket.on('message', (data, isBinary) => {
      if (!isBinary) {
        socket.send(JSON.stringify({ type: 'echo', data: data.toString() }));
      }
    });
  });

  return router;
}

// Errors the routes do not handle become JSON. Client errors keep their status, and their message
// only when the app exposed it, because a parser's message quotes the body.
const jsonErrors: Middleware = async (ctx, next) => {
  try {
    await next();
  } catch (error) {
    const client = clientError(error);
    if (client !== undefined) {
      const exposed = (error as { expose?: unknown }).expose === true;
      ctx.set((error as { headers?: Record<string, string> }).headers ?? {});
      ctx.status = client.status;
      ctx.body = {
        error: 'bad_request',
        message: exposed ? (error as Error).message : client.message,
      };
      return;
    }
    console.error('Request failed:', error instanceof Error ? error.message : error);
    ctx.status = 500;
    ctx.body = { error: 'internal_error', message: 'Internal Server Error' };
  }
};
