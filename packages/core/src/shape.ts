import type { IncomingMessage } from 'node:http';
import { ErrorCodes } from './errors.js';
import { type Rejection, rejection } from './rejection.js';
import { parseSubprotocols } from './subprotocol.js';

const KEY_PATTERN = /^[+/0-9A-Za-z]{22}==$/;
const SUPPORTED_VERSIONS = new Set(['13', '8']);
// An IP literal in brackets or a registered name (RFC 3986 section 3.2.2), then an optional port.
const HOST_PATTERN = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::([0-9]{0,5}))?$/;
const MAX_PORT = 65_535;
// A DNS name is at most 253 characters; a port adds up to 6.
const MAX_HOST_LENGTH = 260;

/** Limits applied to the shape of a handshake before any middleware runs. */
export interface ShapeLimits {
  readonly maxHeaderCount: number;
  readonly maxSubprotocolHeaderLength: number;
}

/**
 * Checks that the request is a well-formed WebSocket handshake (RFC 6455 section 4.2.1).
 * Every header is treated as possibly absent, and no check runs a regex over an unbounded value.
 */
export function checkShape(req: IncomingMessage, limits: ShapeLimits): Rejection | undefined {
  if (req.method !== 'GET') {
    return rejection(405, ErrorCodes.METHOD_NOT_ALLOWED, 'WebSocket handshakes must use GET.', {
      Allow: 'GET',
    });
  }

  if (req.rawHeaders.length / 2 > limits.maxHeaderCount) {
    return rejection(
      431,
      ErrorCodes.TOO_MANY_HEADERS,
      `The handshake has more than ${limits.maxHeaderCount} headers.`,
    );
  }

  // After the header count check, which bounds the scan for a repeated Host.
  const invalid = checkRequestBasics(req);
  if (invalid !== undefined) {
    return invalid;
  }

  const upgrade = req.headers.upgrade;
  if (typeof upgrade !== 'string' || upgrade.toLowerCase() !== 'websocket') {
    return rejection(400, ErrorCodes.NOT_WEBSOCKET, 'The Upgrade header must be "websocket".');
  }

  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || key.length !== 24 || !KEY_PATTERN.test(key)) {
    return rejection(
      400,
      ErrorCodes.INVALID_KEY,
      'Sec-WebSocket-Key is missing or is not 16 bytes in base64.',
    );
  }

  const version = req.headers['sec-websocket-version'];
  if (typeof version !== 'string' || !SUPPORTED_VERSIONS.has(version)) {
    return rejection(
      426,
      ErrorCodes.UNSUPPORTED_VERSION,
      'Unsupported Sec-WebSocket-Version; use version 13.',
      { 'Sec-WebSocket-Version': '13' },
    );
  }

  return checkSubprotocolHeader(req, limits.maxSubprotocolHeaderLength);
}

// RFC 6455 section 4.1 requires HTTP/1.1 and a Host header. RFC 9112 section 3.2 requires 400
// for a missing, repeated or invalid Host. Node passes all of these to 'upgrade' listeners and
// keeps only the first of several Host lines, which the origin check would then trust.
function checkRequestBasics(req: IncomingMessage): Rejection | undefined {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor < 1) {
    return rejection(
      400,
      ErrorCodes.INVALID_REQUEST,
      `WebSocket handshakes need HTTP/1.1, not HTTP/${req.httpVersion}.`,
    );
  }

  // RFC 9112 section 3.2 has no fragment in a request target, and routers disagree on one.
  if (req.url?.includes('#') === true) {
    return rejection(
      400,
      ErrorCodes.INVALID_REQUEST,
      'The request target contains a fragment (#); send only the path and query.',
    );
  }

  const host = req.headers.host;
  if (host === undefined || host === '') {
    return rejection(
      400,
      ErrorCodes.INVALID_REQUEST,
      'The handshake has no Host header; send the server authority in Host.',
    );
  }
  if (countHeader(req.rawHeaders, 'host') > 1) {
    return rejection(
      400,
      ErrorCodes.INVALID_REQUEST,
      'The handshake has more than one Host header.',
    );
  }
  const match = host.length > MAX_HOST_LENGTH ? null : HOST_PATTERN.exec(host);
  const port = match?.[1];
  if (match === null || (port !== undefined && Number(port) > MAX_PORT)) {
    return rejection(
      400,
      ErrorCodes.INVALID_REQUEST,
      'The Host header is not a valid host[:port] authority with a port of at most 65535.',
    );
  }
  return undefined;
}

function countHeader(rawHeaders: readonly string[], lowerCaseName: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name?.length === lowerCaseName.length && name.toLowerCase() === lowerCaseName) {
      count++;
    }
  }
  return count;
}

function checkSubprotocolHeader(req: IncomingMessage, maxLength: number): Rejection | undefined {
  const header = req.headers['sec-websocket-protocol'];
  if (header === undefined) {
    return undefined;
  }

  if (header.length > maxLength) {
    return rejection(
      400,
      ErrorCodes.INVALID_SUBPROTOCOL,
      `Sec-WebSocket-Protocol is longer than ${maxLength} characters.`,
    );
  }

  if (parseSubprotocols(header) === undefined) {
    return rejection(400, ErrorCodes.INVALID_SUBPROTOCOL, 'Sec-WebSocket-Protocol is malformed.');
  }

  return undefined;
}
