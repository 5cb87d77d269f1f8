import type { IncomingMessage } from 'node:http';
import { ErrorCodes } from '../errors.js';
import { type Rejection, rejection } from '../rejection.js';
import { parseSubprotocols } from '../subprotocol.js';

/** The protocol a client offers next to a token when it speaks no app protocol of its own. */
export const PROTOCOL_MARKER = 'wsauth';

/** Prefix of the offered protocol that carries a bearer token in base64url. */
export const BEARER_PROTOCOL_PREFIX = 'wsauth.bearer.';

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The result of the carrier step on `Sec-WebSocket-Protocol`. */
export interface BearerProtocolResult {
  /** True when a token was moved into `Authorization`. */
  readonly carried: boolean;
  /** Set when the carrier is malformed; the handshake gets this 400. */
  readonly rejection?: Rejection;
}

const NOT_CARRIED: BearerProtocolResult = { carried: false };

/**
 * Moves a `wsauth.bearer.<base64url>` subprotocol into `Authorization: Bearer <token>`, in both
 * `req.headers` and `req.rawHeaders`, and removes it from `Sec-WebSocket-Protocol` so that ws
 * neither reads nor echoes it. The header was already checked by the shape step.
 */
export function takeBearerProtocol(req: IncomingMessage): BearerProtocolResult {
  const header = req.headers['sec-websocket-protocol'];
  if (header === undefined || !header.includes(BEARER_PROTOCOL_PREFIX)) {
    return NOT_CARRIED;
  }

  const offered = parseSubprotocols(header) ?? [];
  const carriers = offered.filter((name) => name.startsWith(BEARER_PROTOCOL_PREFIX));
  const others = offered.filter((name) => !name.startsWith(BEARER_PROTOCOL_PREFIX));
  if (carriers.length === 0) {
    return NOT_CARRIED;
  }

  const token = carriers.length === 1 ? decodeToken(carriers[0] ?? '') : undefined;
  if (token === undefined) {
    return invalid('The wsauth.bearer subprotocol must appear once with a base64url token.');
  }
  if (others.length === 0) {
    // Browsers fail the connection when the 101 echoes none of the offered protocols.
    return invalid('Offer "wsauth" or an app protocol next to the wsauth.bearer subprotocol.');
  }
  if (req.headers.authorization !== undefined) {
    return invalid('Send the bearer token either in Authorization or as a subprotocol, not both.');
  }

  setHeader(req, 'Sec-WebSocket-Protocol', others.join(', '));
  setHeader(req, 'Authorization', `Bearer ${token}`);
  return { carried: true };
}

/**
 * Picks the subprotocol the 101 echoes: the first protocol the app declares that the client
 * offered, else the `wsauth` marker when the client sent it with a token.
 */
export function selectProtocol(
  req: IncomingMessage,
  declared: readonly string[],
  carried: boolean,
): string | undefined {
  const header = req.headers['sec-websocket-protocol'];
  if (header === undefined) {
    return undefined;
  }

  const offered = new Set(parseSubprotocols(header));
  const chosen = declared.find((name) => offered.has(name));
  if (chosen !== undefined) {
    return chosen;
  }
  return carried && offered.has(PROTOCOL_MARKER) ? PROTOCOL_MARKER : undefined;
}

// Tokens are restricted to visible ASCII, so the Authorization value can hold no CR, LF or space.
function decodeToken(entry: string): string | undefined {
  const encoded = entry.slice(BEARER_PROTOCOL_PREFIX.length);
  if (encoded.length === 0 || encoded.length % 4 === 1 || !BASE64URL.test(encoded)) {
    return undefined;
  }

  const token = Buffer.from(encoded, 'base64url').toString('latin1');
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) {
      return undefined;
    }
  }
  return token;
}

function setHeader(req: IncomingMessage, name: string, value: string): void {
  const lower = name.toLowerCase();
  req.headers[lower] = value;

  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === lower) {
      raw[i + 1] = value;
      // Repeated header lines were joined into one value above; drop the later lines.
      for (let j = raw.length - 2; j > i; j -= 2) {
        if (raw[j]?.toLowerCase() === lower) {
          raw.splice(j, 2);
        }
      }
      return;
    }
  }
  raw.push(name, value);
}

function invalid(message: string): BearerProtocolResult {
  return {
    carried: false,
    rejection: rejection(400, ErrorCodes.INVALID_CREDENTIAL_CARRIER, message),
  };
}
