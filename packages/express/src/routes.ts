import type { Application } from 'express';

/** Marks the middleware that `WsAuthExpress.upgrade` returns, so routes can be found. */
export const kUpgradeHandler = Symbol.for('wsauth.express.upgrade');

// The parts of Express 4 and Express 5 (router 2) layers that route matching reads.
interface Layer {
  // Express 4 returns a boolean and stores the matched prefix in `path`; router 2 returns it.
  match(path: string): boolean | { path: string } | undefined;
  path?: string;
  method?: string;
  route?: { stack: Layer[]; methods: Record<string, boolean> };
  handle: ((...args: never[]) => unknown) & { stack?: Layer[]; [kUpgradeHandler]?: true };
}

/**
 * Tells whether `pathname` reaches a route that ends in an upgrade handler, by walking the
 * app's router stack the way Express dispatches a GET, without running any middleware.
 */
export function hasUpgradeRoute(app: Application, pathname: string): boolean {
  const stack = routerStack(app);
  return stack !== undefined && stackMatches(stack, pathname);
}

function routerStack(app: Application): Layer[] | undefined {
  // Express 4 keeps `app._router`, created by the first route, and its `app.router` getter throws.
  // Express 5 exposes `app.router`.
  const holder = app as unknown as { router?: { stack?: Layer[] }; _router?: { stack?: Layer[] } };
  if (holder._router !== undefined) {
    return holder._router.stack;
  }
  try {
    return holder.router?.stack;
  } catch {
    return undefined;
  }
}

function stackMatches(stack: Layer[], pathname: string): boolean {
  for (const layer of stack) {
    const matched = safeMatch(layer, pathname);
    if (matched === false) {
      continue;
    }

    if (layer.route !== undefined) {
      const methods = layer.route.methods;
      if ((methods.get === true || methods._all === true) && containsUpgrade(layer.route.stack)) {
        return true;
      }
      continue;
    }

    if (layer.handle[kUpgradeHandler] === true) {
      return true;
    }

    const nested = layer.handle.stack;
    if (Array.isArray(nested) && stackMatches(nested, stripPrefix(pathname, matched))) {
      return true;
    }
  }
  return false;
}

function containsUpgrade(stack: Layer[]): boolean {
  return stack.some((layer) => layer.handle[kUpgradeHandler] === true);
}

/** Returns the prefix the layer matched, or `false`. */
function safeMatch(layer: Layer, pathname: string): string | false {
  let result: ReturnType<Layer['match']>;
  try {
    result = layer.match(pathname);
  } catch {
    // Express throws on malformed percent-encoding in a path parameter; such a path has no route.
    return false;
  }
  if (typeof result === 'object') {
    return result.path;
  }
  return result === true ? (layer.path ?? '') : false;
}

function stripPrefix(pathname: string, prefix: string): string {
  const rest = pathname.slice(prefix.length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}
