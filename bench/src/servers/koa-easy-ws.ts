// Koa with koa-session (on the shared bench store) and koa-passport; the last middleware throws
// 401 when passport restored no user. Once through koa-easy-ws (the peer), once through wsauth.
// With BENCH_REDIS_PREFIX set, sessions and wsauth's revocations go through Redis, so several
// processes act as one app.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { revokeOnDestroy } from '@wsauth/core';
import { createWsAuth, type WsAuthKoa } from '@wsauth/koa';
import Koa from 'koa';
import passport from 'koa-passport';
import session from 'koa-session';
import type { WebSocket } from 'ws';
import {
  ALICE,
  type BenchUser,
  lifecycleOf,
  onSocket,
  type ScenarioServer,
  SESSION_SECRET,
  withLatency,
} from './common.js';
import { BenchSessions, revocationBus, storageFromEnv } from './sessions.js';

// koa-easy-ws is CommonJS (`module.exports = fn`) but its types declare a default export.
const websocket = createRequire(import.meta.url)('koa-easy-ws') as () => Koa.Middleware;

passport.serializeUser((user, done) => {
  done(null, (user as BenchUser).id);
});
passport.deserializeUser((id: string, done) => {
  withLatency(() => done(null, id === ALICE.id ? ALICE : false));
});

/** Builds the app; `upgradeMiddleware` gets the app and returns the middleware that goes first. */
function createKoaApp(store: BenchSessions, upgradeMiddleware: (app: Koa) => Koa.Middleware): Koa {
  const app = new Koa();
  app.keys = [SESSION_SECRET];
  app.use(upgradeMiddleware(app));
  app.use(session({ store }, app as never));
  app.use(passport.initialize() as never);
  app.use(passport.session() as never);

  app.use(async (ctx) => {
    if (ctx.method === 'POST' && ctx.path === '/login') {
      await ctx.login(ALICE);
      ctx.status = 204;
      return;
    }
    if (ctx.method === 'POST' && ctx.path === '/logout') {
      await ctx.logout();
      ctx.session = null;
      ctx.status = 204;
      return;
    }
    const upgradable = ctx as unknown as { ws?: () => Promise<WebSocket> };
    if (ctx.path === '/ws' && upgradable.ws !== undefined) {
      const user = ctx.state.user as BenchUser | undefined;
      if (user === undefined) {
        ctx.throw(401);
      }
      onSocket(await upgradable.ws(), user);
      return;
    }
    ctx.status = 404;
  });
  return app;
}

export function createKoaEasyWsServer(): ScenarioServer {
  const app = createKoaApp(new BenchSessions(), () => websocket());
  return { server: createServer(app.callback()), loginPath: '/login' };
}

export async function createWsAuthKoaServer(): Promise<ScenarioServer> {
  const storage = storageFromEnv();
  const bus = await revocationBus(storage);
  const store = new BenchSessions(storage);
  let wsauth: WsAuthKoa | undefined;
  const app = createKoaApp(store, (koa) => {
    wsauth = createWsAuth(koa, { paths: ['/ws'], lifecycle: { bus } });
    return wsauth.middleware as Koa.Middleware;
  });
  if (wsauth === undefined) {
    throw new Error('The Koa bench app was built without its wsauth middleware.');
  }
  revokeOnDestroy(store, wsauth.core);

  const server = createServer(app.callback());
  wsauth.attach(server);
  return { server, loginPath: '/login', lifecycle: lifecycleOf(wsauth.core) };
}
