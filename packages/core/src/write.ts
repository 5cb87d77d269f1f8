import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Rejection } from './rejection.js';

/**
 * Writes a complete HTTP response for a rejected handshake and closes the connection once the
 * bytes are flushed: status line, `Connection: close`, `Content-Length` and a text body.
 */
export function writeRejection(socket: Duplex, rejected: Rejection): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }

  const body = `${rejected.message}\n`;
  const lines = [
    `HTTP/1.1 ${rejected.status} ${STATUS_CODES[rejected.status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  for (const [name, value] of Object.entries(rejected.headers ?? {})) {
    lines.push(`${name}: ${value}`);
  }

  endAfterFlush(socket, `${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** Ends the socket after `data` (if any) is flushed, then destroys it. */
export function endAfterFlush(socket: Duplex, data?: string): void {
  if (socket.writableEnded) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  if (data === undefined) {
    socket.end();
  } else {
    socket.end(data);
  }
}
