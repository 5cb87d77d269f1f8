import type { IncomingMessage } from 'node:http';
import { ErrorCodes } from './errors.js';
import { type Rejection, rejection } from './rejection.js';
import { parseSubprotocols } from './subprotocol.js';

const KEY_PATTERN = /^[+/0-9A-Za-z]{22}==$/;
const SUPPORTED_VERSIONS = new Set(['13', '8']);

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

  const invalid = checkRequestBasics(req);
  if (invalid !== undefined) {
    return invalid;
  }

  if (req.rawHeaders.length / 2 > limits.maxHeaderCount) {
    return rejection(
      431,
      ErrorCodes.TOO_MANY_HEADERS,
      `The handshake has more than ${limits.maxHeaderCount} headers.`,
    );
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

// RFC 6455 section 4.1 requires HTTP/1.1 or later and a Host header. Node passes an HTTP/1.0
// upgrade and a request without Host to 'upgrade' listeners.
function checkRequestBasics(req: IncomingMessage): Rejection | undefined {
  if (req.httpVersionMajor < 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor < 1)) {
    return rejection(
      400,
      ErrorCodes.INVALID_REQUEST,
      `WebSocket handshakes need HTTP/1.1 or later, not HTTP/${req.httpVersion}.`,
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
  return undefined;
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
