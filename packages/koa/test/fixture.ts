import type { ServerOptions } from 'node:http';
import Router from '@koa/router';
import type Koa from 'koa';
import session from 'koa-session';
import type WebSocket from 'ws';
import { createWsAuth, type KoaWsAuthOptions, type WsAuthKoa } from '../src/index.js';
import { CountingStore, type KoaClass, listen } from './helpers.js';

/** What a fixture app records while it runs. */
export interface Fixture {
  app: Koa;
  wsauth: WsAuthKoa;
  store: CountingStore;
  router: Router;
  /** How many requests reached the app's first middleware after wsauth's. */
  chainRuns: number;
  /** Sockets the routes received. */
  sockets: WebSocket[];
  /** Errors Koa reported through `app.on('error')`. */
  appErrors: unknown[];
  port: number;
  origin: string;
  server: Awaited<ReturnType<typeof listen>>['server'];
}

/**
 * Builds a Koa app with koa-session over a counting store and a set of WebSocket routes, each
 * showing one way a chain can end, and listens on a random port.
 */
export async function startFixture(
  Koa: KoaClass,
  options: KoaWsAuthOptions = {},
  configure?: (fixture: Fixture) => void,
  serverOptions: ServerOptions = {},
): Promise<Fixture> {
  const app = new Koa();
  app.keys = ['fixture-secret'];
  const store = new CountingStore();
  const wsauth = createWsAuth(app, options);
  const router = new Router();
  const fixture = {
    app,
    wsauth,
    store,
    router,
    chainRuns: 0,
    sockets: [],
    appErrors: [],
  } as unknown as Fixture;

  app.on('error', (error: unknown) => fixture.appErrors.push(error));
  app.use(wsauth.middleware);
  app.use(async (_ctx, next) => {
    fixture.chainRuns++;
    await next();
  });
  app.use(session({ key: 'sid', store, signed: true }, app));
  configure?.(fixture);
  addRoutes(fixture);
  app.use(router.routes());

  const { server, port, origin } = await listen(app, serverOptions);
  wsauth.attach(server);
  Object.assign(fixture, { server, port, origin });
  return fixture;
}

function addRoutes(fixture: Fixture): void {
  const { router, wsauth } = fixture;

  router.get('/ws/echo', wsauth.route, async (ctx) => {
    const socket = await ctx.ws();
    fixture.sockets.push(socket);
    socket.on('message', (data) => socket.send(String(data)));
    socket.send(JSON.stringify({ type: 'welcome', visits: ctx.session?.visits ?? null }));
  });

  router.get('/ws/session', wsauth.route, async (ctx) => {
    if (ctx.session !== null) {
      ctx.session.visits = Number(ctx.session.visits ?? 0) + 1;
    }
    const socket = await ctx.ws();
    fixture.sockets.push(socket);
    socket.send(JSON.stringify({ type: 'welcome', visits: ctx.session?.visits }));
  });

  router.get('/ws/throw', wsauth.route, (ctx) => {
    ctx.throw(401, 'login required');
  });

  router.get('/ws/forbidden', wsauth.route, (ctx) => {
    ctx.status = 403;
    ctx.body = { error: 'forbidden' };
  });

  router.get('/ws/redirect', wsauth.route, (ctx) => {
    ctx.redirect('/login');
  });

  router.get('/ws/crash', wsauth.route, () => {
    throw new Error('database is down');
  });

  router.get('/ws/silent', wsauth.route, () => {});

  router.get('/ws/no-respond', wsauth.route, (ctx) => {
    ctx.respond = false;
  });

  router.get('/ws/after-open-fails', wsauth.route, async (ctx) => {
    const socket = await ctx.ws();
    fixture.sockets.push(socket);
    throw new Error('handler failed after the upgrade');
  });
}
