import type { TrustProxy } from '@wsauth/core';

/** The Koa settings that decide which forwarded headers count. */
export interface ProxySettings {
  proxy: boolean;
  maxIpsCount: number;
  proxyIpHeader: string;
}

/**
 * Builds the core's trust rule from Koa's: with `app.proxy` every hop is trusted, and with
 * `app.maxIpsCount` only that many hops from the socket peer, which yields the same client
 * address as `ctx.ip`. The settings are read at call time, so a later `app.proxy = true` applies.
 */
export function trustProxyOf(app: ProxySettings): TrustProxy {
  return (_address, hop) => {
    if (app.proxy !== true) {
      return false;
    }
    const max = app.maxIpsCount;
    return !(Number.isInteger(max) && max > 0) || hop < max;
  };
}

/** Returns the header Koa reads the forwarded client address from, at call time. */
export function forwardedForHeaderOf(app: ProxySettings): () => string {
  return () => app.proxyIpHeader;
}
