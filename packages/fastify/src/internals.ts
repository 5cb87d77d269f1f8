import proxyAddr from '@fastify/proxy-addr';
import { ErrorCodes, type TrustProxy, WsAuthError } from '@wsauth/core';
import type { FastifyInstance } from 'fastify';

// Fastify 5 keeps two things wsauth needs behind private symbols: the `trustProxy` option, which
// `initialConfig` leaves out, and the hook lists, which have no public way to put a hook first.
// Both are read here only, at register time, and a missing one fails registration loudly.

type HookName = 'onRoute' | 'onResponse' | 'preClose';

/**
 * Puts `hook` in front of the instance's hooks of that name. Used when @fastify/websocket was
 * registered before wsauth, because its `onRoute` hook must not see WebSocket routes first.
 */
export function prependHook(instance: FastifyInstance, name: HookName, hook: unknown): void {
  const hooks = readInternal(instance, 'fastify.hooks') as Record<string, unknown> | undefined;
  const list = hooks?.[name];
  if (!Array.isArray(list)) {
    throw unsupported('hook lists');
  }
  list.unshift(hook);
}

/** Compiles the app's `trustProxy` option into a trust function, the way Fastify 5.12 does. */
export function fastifyTrustProxy(instance: FastifyInstance): TrustProxy {
  const options = readInternal(instance, 'fastify.options') as { trustProxy?: unknown } | undefined;
  if (options === undefined) {
    throw unsupported('options');
  }
  return compileTrustProxy(options.trustProxy);
}

/** Mirrors Fastify's `getTrustProxyFn` for the values its `trustProxy` option accepts. */
export function compileTrustProxy(setting: unknown): TrustProxy {
  if (setting === undefined || setting === false || setting === null) {
    return () => false;
  }
  if (typeof setting === 'function') {
    return setting as TrustProxy;
  }
  if (setting === true) {
    return () => true;
  }
  if (typeof setting === 'number') {
    // Fastify 5.12 trusts no peer for a hop count, because a count cannot validate the peer.
    return () => false;
  }
  if (typeof setting === 'string') {
    return proxyAddr.compile(setting.split(',').map((entry) => entry.trim()));
  }
  return proxyAddr.compile(setting as string[]);
}

function readInternal(instance: FastifyInstance, description: string): unknown {
  for (let owner: object | null = instance; owner !== null; owner = Object.getPrototypeOf(owner)) {
    const symbol = Object.getOwnPropertySymbols(owner).find(
      (candidate) => candidate.description === description,
    );
    if (symbol !== undefined) {
      return (instance as unknown as Record<symbol, unknown>)[symbol];
    }
  }
  return undefined;
}

function unsupported(what: string): WsAuthError {
  return new WsAuthError(
    ErrorCodes.UNSUPPORTED_FRAMEWORK,
    `@wsauth/fastify could not read Fastify's internal ${what}; this Fastify version is not ` +
      'supported. Use Fastify 5.',
  );
}
