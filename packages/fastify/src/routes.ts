import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import FindMyWay from 'find-my-way';

/** Marks the `config` of a route whose handler wsauth took over. */
export const kWebSocketRoute = Symbol.for('wsauth.fastify.route');

/** A route handler in Fastify's `(request, reply)` shape, called with the instance as `this`. */
export type RouteHandler = (
  this: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
) => unknown;

/** The WebSocket handler of a route: `(socket, request)`, like @fastify/websocket's. */
export type WebSocketHandler = (
  this: FastifyInstance,
  socket: import('ws').WebSocket,
  request: FastifyRequest,
) => unknown;

/**
 * Route options as `onRoute` hooks see them. @fastify/websocket's types add `websocket` and
 * `wsHandler`; Fastify adds `routePath`, the path without the prefix.
 */
export type WebSocketRouteOptions = RouteOptions & { routePath?: string };

/** Router options that decide which paths match, read from Fastify's `initialConfig`. */
export interface RouterMatchOptions {
  caseSensitive?: boolean;
  ignoreTrailingSlash?: boolean;
  ignoreDuplicateSlashes?: boolean;
  maxParamLength?: number;
  allowUnsafeRegex?: boolean;
  useSemicolonDelimiter?: boolean;
}

/**
 * The paths of the app's WebSocket routes, matched with find-my-way (Fastify's own router) and
 * the app's router options, so that an upgrade is routed before any hook runs. Constraints are
 * left out, so this set is a superset; the route the request really reaches is checked again
 * in an `onRequest` hook.
 */
export class WebSocketRoutes {
  readonly #router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>;

  constructor(options: RouterMatchOptions) {
    this.#router = FindMyWay({
      caseSensitive: options.caseSensitive ?? true,
      ignoreTrailingSlash: options.ignoreTrailingSlash ?? false,
      ignoreDuplicateSlashes: options.ignoreDuplicateSlashes ?? false,
      maxParamLength: options.maxParamLength ?? 100,
      allowUnsafeRegex: options.allowUnsafeRegex ?? false,
      ...(options.useSemicolonDelimiter === undefined
        ? {}
        : { useSemicolonDelimiter: options.useSemicolonDelimiter }),
    } as FindMyWay.Config<FindMyWay.HTTPVersion.V1>);
  }

  /** Adds the path of a route that `onRoute` saw, plus the one Fastify adds for a prefix. */
  add(route: WebSocketRouteOptions): void {
    const url = route.url;
    this.#on(url);
    // For `/` under a prefix Fastify also registers `prefix/` without running onRoute again.
    const trailing = route.prefixTrailingSlash ?? 'both';
    if (route.routePath === '' && url !== '' && trailing === 'both') {
      this.#on(`${url}/`);
    }
  }

  /** Tells whether the request target is the path of a WebSocket route. */
  matches(url: string | undefined): boolean {
    return this.#router.find('GET', url ?? '/') !== null;
  }

  #on(path: string): void {
    try {
      this.#router.on('GET', path, noop);
    } catch (error) {
      // Two WebSocket routes may share a path with different constraints. With
      // ignoreTrailingSlash, `/a` and `/a/` are one path. Either way the path is already known.
      if (!(error instanceof Error) || !error.message.includes('already declared')) {
        throw error;
      }
    }
  }
}

function noop(): void {}

const upgradeRequests = new WeakSet<IncomingMessage>();

/** Records that a request arrived as an upgrade and is routed through Fastify by wsauth. */
export function markUpgrade(req: IncomingMessage): void {
  upgradeRequests.add(req);
}

/**
 * Tells whether the request arrived as an upgrade. It stays true after the handshake settled,
 * so a request whose client left is not mistaken for a plain GET.
 */
export function isUpgrade(req: IncomingMessage): boolean {
  return upgradeRequests.has(req);
}

/** Tells whether the request reached a route whose handler wsauth took over. */
export function reachedWebSocketRoute(request: FastifyRequest): boolean {
  const config = request.routeOptions.config as unknown as Record<symbol, unknown> | undefined;
  return config?.[kWebSocketRoute] === true;
}

/**
 * Returns the `onRoute` hook that takes over WebSocket routes: a `websocket: true` route or one
 * with a `wsHandler`. The handler becomes `createHandler(socketHandler, httpHandler)`, and the
 * @fastify/websocket fields are removed so that its own `onRoute` hook leaves the route alone.
 */
export function takeOverWebSocketRoutes(
  routes: WebSocketRoutes,
  createHandler: (socketHandler: WebSocketHandler, httpHandler: RouteHandler) => RouteHandler,
): (route: WebSocketRouteOptions) => void {
  return (route) => {
    const isWebSocket = route.websocket === true;
    const socketHandler = isWebSocket
      ? (route.handler as unknown as WebSocketHandler)
      : (route.wsHandler as WebSocketHandler | undefined);
    if (socketHandler === undefined || !isGetRoute(route)) {
      // HEAD and invalid methods stay with @fastify/websocket, which sends 404 to HEAD and
      // rejects the others at startup.
      return;
    }

    const httpHandler = isWebSocket ? answerNotFound : (route.handler as RouteHandler);
    delete route.websocket;
    delete route.wsHandler;
    route.config = { ...route.config, [kWebSocketRoute]: true };
    if (isWebSocket) {
      route.schema = { ...route.schema, hide: true } as RouteOptions['schema'];
    }
    route.handler = createHandler(socketHandler, httpHandler) as RouteOptions['handler'];
    routes.add(route);
  };
}

function isGetRoute(route: RouteOptions): boolean {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  return (
    methods.includes('GET') && methods.every((method) => method === 'GET' || method === 'HEAD')
  );
}

// A plain GET to a `websocket: true` route gets 404, as with @fastify/websocket alone.
function answerNotFound(
  this: FastifyInstance,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  reply.code(404).send();
}
