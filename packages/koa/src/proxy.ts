import type { TrustProxy } from '@wsauth/core';

/** The Koa settings that decide which forwarded headers count. */
export interface ProxySettings {
  proxy: boolean;
  maxIpsCount: number;
}

/**
 * Builds the core's trust rule from Koa's: with `app.proxy` every hop is trusted, and with
 * `app.maxIpsCount` only that many hops from the socket peer, which yields the same client
 * address as `ctx.ip`. The settings are read at call time, so a later `app.proxy = true` applies.
 */
// NOTE: `app.proxyIpHeader` is not followed. The core reads the client address from
// X-Forwarded-For only, so with another header it takes the proxy's address for the client's.
export function trustProxyOf(app: ProxySettings): TrustProxy {
  return (_address, hop) => {
    if (app.proxy !== true) {
      return false;
    }
    const max = app.maxIpsCount;
    return !(Number.isInteger(max) && max > 0) || hop < max;
  };
}
