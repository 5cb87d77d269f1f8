import type { IncomingMessage } from 'node:http';
import type { TrustProxy } from './types.js';

/**
 * Returns the client address by the same rule as Express's `req.ip`: walk from the socket peer
 * through `X-Forwarded-For` (or the lower-case `headerName` given) from right to left and stop at the
 * first address that is not a trusted proxy.
 */
export function clientAddress(
  req: IncomingMessage,
  trustProxy: TrustProxy,
  headerName = 'x-forwarded-for',
): string | undefined {
  const peer = req.socket.remoteAddress;
  if (peer === undefined) {
    return undefined;
  }

  const raw = req.headers[headerName];
  const header = Array.isArray(raw) ? raw.join(',') : raw;
  if (header === undefined || !trustProxy(peer, 0)) {
    return peer;
  }

  const forwarded = header
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .reverse();

  let address = peer;
  for (let hop = 0; hop < forwarded.length; hop++) {
    if (!trustProxy(address, hop)) {
      return address;
    }
    address = forwarded[hop] ?? address;
  }
  return address;
}
