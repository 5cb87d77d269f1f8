import type { IncomingMessage } from 'node:http';
import { ErrorCodes } from './errors.js';
import { type Rejection, rejection } from './rejection.js';

// The schemes a client may name in an absolute-form target of a WebSocket handshake.
const ABSOLUTE_FORM = /^(?:https?|wss?):\/\/([^/?#]*)([^#]*)$/i;

/** An absolute-form request target (RFC 9112 section 3.2.2), split into its parts. */
export interface AbsoluteTarget {
  /** The original target, as the client sent it. */
  readonly url: string;
  /** The authority, `host[:port]`, as sent. */
  readonly authority: string;
  /** The same target in origin form: path and query. */
  readonly originForm: string;
}

/**
 * Rewrites an absolute-form target to origin form in `req.url`, so that route lookup and the app
 * see `/ws?a=1` as they would for `GET /ws?a=1`. Returns the original target, or undefined when
 * the target was in origin form already.
 */
export function toOriginForm(req: IncomingMessage): AbsoluteTarget | undefined {
  const target = absoluteTarget(req.url);
  if (target !== undefined) {
    req.url = target.originForm;
  }
  return target;
}

/**
 * Restores the original target of a rewritten request, for other `upgrade` listeners or for a
 * handshake that runs again once a pipelined response has finished.
 */
export function restoreTarget(req: IncomingMessage, target: AbsoluteTarget | undefined): void {
  if (target !== undefined) {
    req.url = target.url;
  }
}

/** Splits an absolute-form target such as `http://host/ws?a=1`. Returns undefined for any other form. */
function absoluteTarget(url: string | undefined): AbsoluteTarget | undefined {
  if (url === undefined || url.startsWith('/')) {
    return undefined;
  }
  const match = ABSOLUTE_FORM.exec(url);
  if (match === null) {
    return undefined;
  }

  const authority = match[1] ?? '';
  const rest = match[2] ?? '';
  const originForm = rest.startsWith('/') ? rest : `/${rest}`;
  return { url, authority, originForm };
}

/** Returns the path of an origin-form request target, without the query. */
export function pathnameOf(url: string | undefined): string {
  if (url === undefined) {
    return '/';
  }
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Rejects an absolute-form target whose authority differs from the Host header. RFC 9112
 * section 3.2.2 has a server use the target's authority in place of Host. The origin check
 * compares Origin with Host, so a target that disagrees with Host is rejected, not trusted.
 */
export function checkAuthority(
  req: IncomingMessage,
  target: AbsoluteTarget | undefined,
): Rejection | undefined {
  if (target === undefined || target.authority.toLowerCase() === req.headers.host?.toLowerCase()) {
    return undefined;
  }
  return rejection(
    400,
    ErrorCodes.INVALID_REQUEST,
    'The authority of the absolute-form request target differs from the Host header; send the same host and port in both, or send the target in origin form (/path).',
  );
}
