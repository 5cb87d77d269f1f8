import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import {
  type AcceptInput,
  type AuthContext,
  credentialKindOf,
  ErrorCodes,
  getHandshake,
  type Handshake,
  type MintedTicket,
  pathnameOf,
  type RevocationTarget,
  type RevokeOptions,
  rejection,
  type UpgradeRouter,
  type WsAuthOptions,
  WsAuthServer,
  type WsAuthUser,
} from '@wsauth/core';
import type { Application, NextFunction, Request, RequestHandler, Response } from 'express';
import type { WebSocket } from 'ws';
import { statusOf } from './errors.js';
import { acceptRevalidation, revalidate } from './lifecycle.js';
import { hasUpgradeRoute, kUpgradeHandler } from './routes.js';

declare global {
  namespace Express {
    // Passport types `req.user` as Express.User; merging WsAuthUser makes both one interface.
    interface User extends WsAuthUser {}
  }
}

/** The request a WebSocket handler receives: the Express request the chain ran on. */
export type UpgradeRequest = Request & { user?: Express.User };

/** Called with each accepted socket. */
export type ExpressSocketHandler = (
  socket: WebSocket,
  req: UpgradeRequest,
  auth: AuthContext,
) => void | Promise<void>;

/** Options of {@link createWsAuth}. */
export interface ExpressWsAuthOptions
  extends Omit<WsAuthOptions, 'trustProxy' | 'forwardedForHeader'> {
  /**
   * Derives the auth context from the request after the chain accepted it.
   * @default reads `req.user`, `req.user.id`, `req.sessionID` and the session cookie's expiry
   */
  context?: (req: UpgradeRequest) => AcceptInput;
}

/** wsauth bound to one Express app. */
export interface WsAuthExpress {
  /** The framework-free pipeline, for extensions and metrics. */
  readonly core: WsAuthServer;
  /**
   * Returns the last middleware of a WebSocket route. Declare the route with `app.get` or
   * `router.get` after the guards it needs; a plain GET passes through to the next route.
   */
  upgrade(handler: ExpressSocketHandler): RequestHandler;
  /**
   * Mints a one-time ticket for the user the request's auth middleware authenticated, for a REST
   * route such as `POST /api/ws-ticket`. Rejects with `WSAUTH_ERR_TICKET_WITHOUT_USER` (status
   * 401) when the request has no user. The ticket is bound to the request's `Origin`.
   */
  mintTicket(req: Request): Promise<MintedTicket>;
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

/** Creates wsauth for an Express 4 or Express 5 app. */
export function createWsAuth(app: Application, options: ExpressWsAuthOptions = {}): WsAuthExpress {
  const { context = defaultContext, ...coreOptions } = options;
  const core = new WsAuthServer({
    ...coreOptions,
    // Read at call time, so `app.set('trust proxy', ...)` after setup still applies.
    trustProxy: (address, hop) => {
      const trust = app.get('trust proxy fn') as ((a: string, i: number) => boolean) | undefined;
      return trust?.(address, hop) ?? false;
    },
  });

  const router: UpgradeRouter = {
    matches: (req) => hasUpgradeRoute(app, pathnameOf(req.url)),
    dispatch: (handshake) => dispatch(app, handshake),
    revalidate: (revalidation) => revalidate(app, revalidation),
  };

  return {
    core,
    upgrade: (handler) => upgradeMiddleware(core, handler, context),
    mintTicket: (req) => mintTicket(core, req, context),
    attach: (server) => core.attach(server, router),
    revoke: (target, revokeOptions) => core.revoke(target, revokeOptions),
    close: () => core.close(),
  };
}

function mintTicket(
  core: WsAuthServer,
  req: Request,
  context: (req: UpgradeRequest) => AcceptInput,
): Promise<MintedTicket> {
  return core.tickets.mintFor(context(req), { ip: req.ip, origin: req.headers.origin });
}

function dispatch(app: Application, handshake: Handshake): void {
  const handle = (app as unknown as { handle: AppHandle }).handle.bind(app);
  // A redeemed ticket stands for its user, so guards that check `req.user` or
  // `req.isAuthenticated()` accept it unchanged; passport keeps a user it did not set.
  const carried = handshake.credential;
  if (carried?.kind === 'ticket') {
    (handshake.req as UpgradeRequest).user = carried.user;
  }
  handle(handshake.req, handshake.res, (error?: unknown) => {
    if (handshake.settled || handshake.res.headersSent) {
      return;
    }
    if (error === undefined || error === null || error === 'route' || error === 'router') {
      handshake.reject(rejection(404, ErrorCodes.ROUTE_NOT_FOUND, 'Not Found'));
      return;
    }
    rejectWithError(handshake, error);
  });
}

type AppHandle = (req: IncomingMessage, res: unknown, done: (error?: unknown) => void) => void;

// Without an app error handler, Express's default responds with the error's status or 500, and
// the same happens here, with the status text as the body so nothing of the error leaks.
function rejectWithError(handshake: Handshake, error: unknown): void {
  const status = statusOf(error);
  if (status >= 500) {
    handshake.fail(error);
    return;
  }
  handshake.reject(rejection(status, ErrorCodes.CHAIN_REJECTED, statusText(status)));
}

function upgradeMiddleware(
  core: WsAuthServer,
  handler: ExpressSocketHandler,
  context: (req: UpgradeRequest) => AcceptInput,
): RequestHandler {
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const handshake = getHandshake(req);
    if (handshake === undefined) {
      // A revalidation of an open socket reached the route: the chain still accepts it.
      if (!acceptRevalidation(req, res, context)) {
        next();
      }
      return;
    }
    if (handshake.settled) {
      return;
    }

    handshake.accept(context(req), (socket, auth) => {
      runHandler(core, handler, socket, req, auth);
    });
  };
  return Object.assign(middleware, { [kUpgradeHandler]: true as const });
}

function runHandler(
  core: WsAuthServer,
  handler: ExpressSocketHandler,
  socket: WebSocket,
  req: UpgradeRequest,
  auth: AuthContext,
): void {
  const onError = (error: unknown): void => {
    core.options.logger?.error({ err: error, userId: auth.userId }, 'WebSocket handler failed');
    socket.close(1011, 'Internal error');
  };
  try {
    const result = handler(socket, req, auth);
    if (result instanceof Promise) {
      result.catch(onError);
    }
  } catch (error) {
    onError(error);
  }
}

/** Reads the user, session and credential kind that express-session and passport leave. */
export function defaultContext(req: UpgradeRequest): AcceptInput {
  const user = req.user;
  const id = (user as { id?: unknown } | undefined)?.id;
  const session = (req as { session?: { cookie?: { expires?: Date | null | boolean } } }).session;
  const expires = session?.cookie?.expires;

  return {
    user,
    userId: typeof id === 'string' || typeof id === 'number' ? String(id) : undefined,
    sessionId: (req as { sessionID?: string }).sessionID,
    expiresAt: expires instanceof Date ? expires.getTime() : undefined,
    credential: credentialKindOf(req.headers),
  };
}

function statusText(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

export type { AuthContext, WsAuthUser } from '@wsauth/core';
