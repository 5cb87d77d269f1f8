import type { IncomingMessage } from 'node:http';
import { pathnameOf } from '@wsauth/core';
import type { Middleware } from 'koa';

/** Marks the middleware that `WsAuthKoa.route` returns, so router layers can be recognised. */
export const kWebSocketRoute = Symbol.for('wsauth.koa.route');

/** A WebSocket path given in the `paths` option: an exact pathname, a pattern or a test. */
export type WebSocketPath = string | RegExp | ((pathname: string) => boolean);

// The parts of @koa/router that matching reads (checked against version 15): `router.routes()` carries `router`,
// and `router.match` returns the layers a GET reaches, prefixes and nested routers included.
interface RouterLayer {
  methods: string[];
  stack: readonly unknown[];
}

interface KoaRouter {
  match(path: string, method: string): { pathAndMethod: RouterLayer[]; route: boolean };
}

/** Creates the route marker: a middleware that only calls `next`, carrying the marker symbol. */
export function createRouteMarker(): Middleware {
  const marker: Middleware = (_ctx, next) => next();
  return Object.assign(marker, { [kWebSocketRoute]: true as const });
}

/** Tells which requests target a WebSocket route, before any middleware runs. */
export class RouteTable {
  readonly #paths: readonly WebSocketPath[];
  readonly #middleware: readonly Middleware[];

  /** `middleware` is the app's live `app.middleware` array, read on every match. */
  constructor(paths: readonly WebSocketPath[], middleware: readonly Middleware[]) {
    this.#paths = [...paths];
    this.#middleware = middleware;
  }

  matches(req: IncomingMessage): boolean {
    const pathname = pathnameOf(req.url);
    return this.#matchesPaths(pathname) || this.#matchesRouters(pathname);
  }

  #matchesPaths(pathname: string): boolean {
    for (const path of this.#paths) {
      if (typeof path === 'string' ? path === pathname : testPath(path, pathname)) {
        return true;
      }
    }
    return false;
  }

  #matchesRouters(pathname: string): boolean {
    for (const middleware of this.#middleware) {
      const router = (middleware as { router?: Partial<KoaRouter> }).router;
      if (
        typeof router?.match === 'function' &&
        routerHasSocketRoute(router as KoaRouter, pathname)
      ) {
        return true;
      }
    }
    return false;
  }
}

function testPath(path: RegExp | ((pathname: string) => boolean), pathname: string): boolean {
  if (typeof path === 'function') {
    return path(pathname);
  }
  // A global or sticky RegExp keeps lastIndex between calls; start each test from the beginning.
  path.lastIndex = 0;
  return path.test(pathname);
}

function routerHasSocketRoute(router: KoaRouter, pathname: string): boolean {
  let matched: ReturnType<KoaRouter['match']>;
  try {
    matched = router.match(pathname, 'GET');
  } catch {
    // A malformed percent-encoding in a path parameter throws while decoding; no route matches.
    return false;
  }
  if (!matched.route) {
    return false;
  }
  return matched.pathAndMethod.some(
    (layer) =>
      layer.methods.length > 0 &&
      layer.stack.some(
        (fn) => (fn as { [kWebSocketRoute]?: true } | undefined)?.[kWebSocketRoute] === true,
      ),
  );
}
