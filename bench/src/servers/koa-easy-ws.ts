// Peer: koa-easy-ws with koa-session (cookie sessions) and koa-passport; the middleware after
// them throws 401 when passport restored no user.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import Koa from 'koa';
import passport from 'koa-passport';
import session from 'koa-session';
import type { WebSocket } from 'ws';
import {
  ALICE,
  type BenchUser,
  onSocket,
  type ScenarioServer,
  SESSION_SECRET,
  withLatency,
} from './common.js';

// koa-easy-ws is CommonJS (`module.exports = fn`) but its types declare a default export.
const websocket = createRequire(import.meta.url)('koa-easy-ws') as () => Koa.Middleware;

passport.serializeUser((user, done) => {
  done(null, (user as BenchUser).id);
});
passport.deserializeUser((id: string, done) => {
  withLatency(() => done(null, id === ALICE.id ? ALICE : false));
});

export function createKoaEasyWsServer(): ScenarioServer {
  const app = new Koa();
  app.keys = [SESSION_SECRET];
  app.use(session({}, app as never));
  app.use(passport.initialize() as never);
  app.use(passport.session() as never);
  app.use(websocket() as never);

  app.use(async (ctx) => {
    if (ctx.method === 'POST' && ctx.path === '/login') {
      await ctx.login(ALICE);
      ctx.status = 204;
      return;
    }
    const upgrade = (ctx as unknown as { ws?: () => Promise<WebSocket> }).ws;
    if (ctx.path === '/ws' && upgrade !== undefined) {
      const user = ctx.state.user as BenchUser | undefined;
      if (user === undefined) {
        ctx.throw(401);
      }
      onSocket(await upgrade(), user);
      return;
    }
    ctx.status = 404;
  });
  return { server: createServer(app.callback()), loginPath: '/login' };
}
