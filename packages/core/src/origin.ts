import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ErrorCodes } from './errors.js';
import { memoize } from './memo.js';
import { type Rejection, rejection } from './rejection.js';
import type { TrustProxy } from './types.js';

/** The resolved origin policy for one WebSocket server. */
export interface OriginPolicy {
  /** Normalised origins accepted besides the request's own. */
  readonly allowedOrigins: ReadonlySet<string>;
  /** Accept cookie-credentialed handshakes that carry no Origin header. */
  readonly allowMissingOrigin: boolean;
  /** Skip the origin check entirely. */
  readonly disabled: boolean;
  /** Cookie names that carry credentials; `undefined` means any cookie does. */
  readonly credentialCookies: ReadonlySet<string> | undefined;
}

/**
 * Normalises an origin to `scheme://host[:port]` with a lower-case host and no default port.
 * Returns `undefined` for `null`, opaque origins, non-HTTP schemes and values with a path.
 * Results are cached because parsing a URL takes several microseconds per handshake, while a
 * server gets few distinct origins.
 */
export const normalizeOrigin: (value: string) => string | undefined = memoize(parseOrigin);

function parseOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }

  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return undefined;
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return undefined;
  }
  if (url.pathname !== '/' || value.endsWith('/')) {
    return undefined;
  }

  return url.origin;
}

/**
 * Computes the origin the request was addressed to, following the trust-proxy rule: the
 * forwarded scheme and host count only when the socket peer is a trusted proxy.
 */
export function requestOrigin(req: IncomingMessage, trustProxy: TrustProxy): string | undefined {
  const peer = req.socket.remoteAddress ?? '';
  const trusted = trustProxy(peer, 0);
  const encrypted = (req.socket as Partial<TLSSocket>).encrypted === true;

  let scheme = encrypted ? 'https' : 'http';
  let host = req.headers.host;

  if (trusted) {
    const forwardedProto = firstListValue(req.headers['x-forwarded-proto']);
    if (forwardedProto !== undefined) {
      scheme = forwardedProto.toLowerCase();
    }
    const forwardedHost = firstListValue(req.headers['x-forwarded-host']);
    if (forwardedHost !== undefined) {
      host = forwardedHost;
    }
  }

  if (host === undefined || host === '') {
    return undefined;
  }
  return normalizeOrigin(`${scheme}://${host}`);
}

/** Checks the origin of a cookie-credentialed handshake. */
export function checkOrigin(
  req: IncomingMessage,
  policy: OriginPolicy,
  trustProxy: TrustProxy,
): Rejection | undefined {
  if (policy.disabled || !carriesCredentialCookie(req, policy.credentialCookies)) {
    return undefined;
  }

  // Version 8 clients send Sec-WebSocket-Origin instead of Origin; version 13 clients must not.
  const offered =
    req.headers['sec-websocket-version'] === '8'
      ? (req.headers.origin ?? headerValue(req.headers['sec-websocket-origin']))
      : req.headers.origin;
  if (offered === undefined) {
    return policy.allowMissingOrigin
      ? undefined
      : rejection(403, ErrorCodes.ORIGIN_REJECTED, 'Origin header is required with cookies.');
  }

  const origin = normalizeOrigin(offered);
  if (origin !== undefined) {
    if (policy.allowedOrigins.has(origin) || origin === requestOrigin(req, trustProxy)) {
      return undefined;
    }
  }

  return rejection(403, ErrorCodes.ORIGIN_REJECTED, 'Origin not allowed.');
}

/** Tells whether the request carries a cookie that the app uses as a credential. */
export function carriesCredentialCookie(
  req: IncomingMessage,
  names: ReadonlySet<string> | undefined,
): boolean {
  const header = req.headers.cookie;
  if (header === undefined || header === '') {
    return false;
  }
  if (names === undefined) {
    return true;
  }

  for (const pair of header.split(';')) {
    if (names.has(cookieName(pair))) {
      return true;
    }
  }
  return false;
}

/** Returns the name of one `name=value` pair of a Cookie header, without surrounding spaces. */
export function cookieName(pair: string): string {
  const separator = pair.indexOf('=');
  return (separator === -1 ? pair : pair.slice(0, separator)).trim();
}

function firstListValue(value: string | string[] | undefined): string | undefined {
  const header = headerValue(value);
  if (header === undefined) {
    return undefined;
  }
  const comma = header.indexOf(',');
  const first = (comma === -1 ? header : header.slice(0, comma)).trim();
  return first === '' ? undefined : first;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
