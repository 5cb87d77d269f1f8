import type { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  type AcceptInput,
  credentialKindOf,
  ErrorCodes,
  type MintedTicket,
  type RevocationTarget,
  type RevokeOptions,
  type UpgradeRouter,
  WsAuthError,
  type WsAuthLogger,
  type WsAuthOptions,
  WsAuthServer,
  type WsAuthUser,
} from '@wsauth/core';
import type Koa from 'koa';
import type { Middleware, ParameterizedContext } from 'koa';
import type { WebSocket } from 'ws';
import { forwardedForHeaderOf, trustProxyOf } from './proxy.js';
import { createRouteMarker, RouteTable, type WebSocketPath } from './routes.js';
import { type ContextReader, KoaUpgrade } from './upgrade.js';

declare module 'koa' {
  interface DefaultState {
    /** The authenticated user, as koa-passport and most auth middleware leave it. */
    user?: WsAuthUser;
  }

  interface ExtendableContext {
    /**
     * True when the request is a WebSocket handshake that wsauth runs through the chain.
     * Set by the wsauth middleware.
     */
    isWebSocket: boolean;
    /**
     * Accepts the WebSocket handshake, so Koa writes no response for this request. Once every
     * middleware has returned (sessions committed, cookies set), the 101 is written and the
     * promise resolves with the socket. Code after `await ctx.ws()` runs outside the chain.
     * Throws a 426 HTTP error on a request that is not a handshake.
     * Set by the wsauth middleware.
     */
    ws(overrides?: AcceptInput): Promise<WebSocket>;
  }
}

type Context = ParameterizedContext;

/**
 * Options of {@link createWsAuth}. The proxy rules follow `app.proxy`, `app.maxIpsCount` and
 * `app.proxyIpHeader`.
 */
export interface KoaWsAuthOptions extends Omit<WsAuthOptions, 'trustProxy' | 'forwardedForHeader'> {
  /**
   * WebSocket paths besides the @koa/router routes marked with `wsauth.route`: an exact
   * pathname, a RegExp tested against the pathname, or a function of the pathname.
   * Handshakes for any other path never reach the app's middleware.
   * @default []
   */
  paths?: readonly WebSocketPath[];
  /**
   * Derives the auth context from `ctx` once the chain has returned.
   * @default reads `ctx.state.user`, its `id`, koa-session's external key and expiry
   */
  context?: (ctx: Context) => AcceptInput;
}

/** wsauth bound to one Koa app. */
export interface WsAuthKoa {
  /** The framework-free pipeline, for extensions, revocation and metrics. */
  readonly core: WsAuthServer;
  /**
   * The middleware that gives `ctx` its `ws()` and `isWebSocket`. Register it with `app.use`
   * before any middleware that calls `ctx.ws()`.
   */
  readonly middleware: Middleware;
  /**
   * Marks a @koa/router route as a WebSocket route: `router.get('/ws', wsauth.route, ...)`.
   * Only marked routes and the `paths` option receive handshakes.
   */
  readonly route: Middleware;
  /**
   * Mints a one-time ticket for the user the request's auth middleware authenticated, for a REST
   * route such as `POST /api/ws-ticket`. Rejects with `WSAUTH_ERR_TICKET_WITHOUT_USER` (status
   * 401) when the request has no user. The ticket is bound to the request's `Origin`.
   */
  mintTicket(ctx: Context): Promise<MintedTicket>;
  /** Listens for upgrades on the HTTP server. Returns a function that stops listening. */
  attach(server: Server): () => void;
  /**
   * Closes every socket of a user or session with 4401 (or `options.code`) on every instance
   * that shares the lifecycle bus. Resolves with the number of sockets closed on this instance.
   */
  revoke(target: RevocationTarget, options?: RevokeOptions): Promise<number>;
  /** Closes every socket with 1001 and releases the ws server. */
  close(): Promise<void>;
}

// Koa 2.16 and 3 have these members; @types/koa leaves `handleRequest` out.
interface KoaInternals {
  middleware: Middleware[];
  ctxStorage?: AsyncLocalStorage<unknown> | undefined;
  createContext(req: IncomingMessage, res: unknown): Context;
  handleRequest(ctx: Context, fn: (ctx: Context) => Promise<void>): Promise<void>;
  callback(): unknown;
}

const upgrades = new WeakMap<IncomingMessage, KoaUpgrade>();

/** Creates wsauth for a Koa 2 or Koa 3 app. */
export function createWsAuth<StateT, ContextT>(
  app: Koa<StateT, ContextT>,
  options: KoaWsAuthOptions = {},
): WsAuthKoa {
  const { paths = [], context = defaultContext, ...coreOptions } = options;
  if (!Array.isArray(paths)) {
    throw new WsAuthError(
      ErrorCodes.INVALID_OPTION,
      'Invalid option "paths": expected an array of pathnames, RegExps or functions.',
    );
  }
  const core = new WsAuthServer({
    ...coreOptions,
    trustProxy: trustProxyOf(app),
    forwardedForHeader: forwardedForHeaderOf(app),
  });
  const internals = app as unknown as KoaInternals;
  const middleware = createMiddleware();
  const routes = new RouteTable(paths, internals.middleware);

  const router = createUpgradeRouter(internals, routes, middleware, context, core.options.logger);

  return {
    core,
    middleware,
    route: createRouteMarker(),
    mintTicket: (ctx) => mintTicket(core, ctx, context),
    attach: (server) => core.attach(server, router),
    revoke: (target, revokeOptions) => core.revoke(target, revokeOptions),
    close: () => core.close(),
  };
}

function createUpgradeRouter(
  app: KoaInternals,
  routes: RouteTable,
  middleware: Middleware,
  context: ContextReader,
  logger: WsAuthLogger | undefined,
): UpgradeRouter {
  return {
    matches: (req) => routes.matches(req),
    dispatch: (handshake) =>
      runChain(
        app,
        handshake.req,
        handshake.res,
        middleware,
        () => KoaUpgrade.forHandshake(handshake, app.middleware, context, logger),
        (error) => handshake.fail(error),
        (ctx) => {
          // A redeemed ticket stands for its user, so guards that check `ctx.state.user` or
          // `ctx.isAuthenticated()` accept it unchanged.
          const carried = handshake.credential;
          if (carried?.kind === 'ticket') {
            ctx.state.user = carried.user;
          }
        },
      ),
    revalidate: (revalidation) =>
      runChain(
        app,
        revalidation.req,
        revalidation.res,
        middleware,
        () => KoaUpgrade.forRevalidation(revalidation, app.middleware, context, logger),
        (error) => revalidation.fail(error),
      ),
  };
}

function mintTicket(
  core: WsAuthServer,
  ctx: Context,
  context: ContextReader,
): Promise<MintedTicket> {
  return core.tickets.mintFor(context(ctx), { ip: ctx.ip, origin: ctx.get('origin') || undefined });
}

function createMiddleware(): Middleware {
  return (ctx, next) => {
    const upgrade = upgrades.get(ctx.req);
    ctx.isWebSocket = upgrade !== undefined;
    ctx.ws =
      upgrade === undefined
        ? rejectPlainRequest
        : (overrides?: AcceptInput) => upgrade.request(ctx, overrides);
    return next();
  };
}

function rejectPlainRequest(this: Context): never {
  return this.throw(426, 'This route accepts WebSocket connections only.', {
    headers: { Upgrade: 'websocket', Connection: 'Upgrade' },
  });
}

const errorListenerChecked = new WeakSet<object>();

// NOTE: a custom `compose` given to the Koa 3 constructor is not used here, because the chain
// is composed by ReleasableChain so that `ctx.ws()` can release it.
/** Runs the app's chain for a handshake or a revalidation, with `ctx.ws()` bound to it. */
function runChain(
  app: KoaInternals,
  req: IncomingMessage,
  res: ServerResponse,
  middleware: Middleware,
  createUpgrade: () => KoaUpgrade,
  fail: (error: unknown) => void,
  prepare?: (ctx: Context) => void,
): void {
  if (!app.middleware.includes(middleware)) {
    fail(
      new WsAuthError(
        ErrorCodes.INVALID_OPTION,
        'The wsauth middleware is not registered: call app.use(wsauth.middleware).',
      ),
    );
    return;
  }
  ensureErrorListener(app);

  const upgrade = createUpgrade();
  upgrades.set(req, upgrade);
  const ctx = app.createContext(req, res);
  prepare?.(ctx);
  const run = (): Promise<void> => app.handleRequest(ctx, (c) => upgrade.chain.run(c));

  const done = app.ctxStorage === undefined ? run() : app.ctxStorage.run(ctx, run);
  done.then(
    () => upgrade.finish(ctx),
    (error: unknown) => upgrade.abandon(error),
  );
}

// `app.callback()` installs Koa's default error listener when the app has none; handshakes do
// not go through it, so the same happens here once per app.
function ensureErrorListener(app: KoaInternals): void {
  if (!errorListenerChecked.has(app)) {
    errorListenerChecked.add(app);
    app.callback();
  }
}

/** Reads the user, session and credential kind that koa-session and koa-passport leave. */
export function defaultContext(ctx: Context): AcceptInput {
  const user = ctx.state.user as WsAuthUser | undefined;
  const id = (user as { id?: unknown } | undefined)?.id;
  const session = sessionOf(ctx);

  return {
    user,
    userId: typeof id === 'string' || typeof id === 'number' ? String(id) : undefined,
    sessionId: session?.externalKey,
    expiresAt: typeof session?._expire === 'number' ? session._expire : undefined,
    credential: credentialKindOf(ctx.req.headers),
  };
}

// koa-session creates `ctx.session` lazily on first read; reading it here after the commit
// allocates an empty session at most, which is never saved.
function sessionOf(ctx: Context): { externalKey?: string; _expire?: number } | undefined {
  const session = (ctx as { session?: unknown }).session;
  return typeof session === 'object' && session !== null
    ? (session as { externalKey?: string; _expire?: number })
    : undefined;
}

export type { AuthContext, WsAuthUser } from '@wsauth/core';
export type { WebSocketPath } from './routes.js';
