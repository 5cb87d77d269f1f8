import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AcceptInput, Handshake, SocketHandler } from '@wsauth/core';
import type { FastifyReply } from 'fastify';

type WriteHead = ServerResponse['writeHead'];

/**
 * Accepts the handshake through a real `reply.send()` with status 101, so that the route's
 * `onSend` hooks run as for any response. @fastify/websocket skips `onSend` on WebSocket routes,
 * which is why @fastify/session never saves a created, rolled or regenerated session there and
 * its `Set-Cookie` is lost. Here the session's `onSend` hook saves it and sets the cookie. When
 * Fastify then writes the head, the reply headers are copied onto the socket-bound response,
 * and `handshake.accept` turns that response into the 101 that carries them.
 *
 * An `onSend` hook that fails makes Fastify respond with its error handler's status instead of
 * 101, and that response reaches the client unchanged.
 */
export function acceptThroughReply(
  handshake: Handshake,
  reply: FastifyReply,
  input: AcceptInput,
  onOpen: SocketHandler,
): void {
  const res = handshake.res;
  const writeHead = res.writeHead;

  const interceptHead = function (this: ServerResponse, statusCode: number, ...rest: unknown[]) {
    res.writeHead = writeHead;
    if (statusCode !== 101) {
      return (writeHead as (...args: unknown[]) => ServerResponse).call(this, statusCode, ...rest);
    }
    // The auth deadline or a client reset can settle the handshake while onSend hooks run.
    if (handshake.settled) {
      return this;
    }

    copyHeaders(res, rest);
    handshake.accept(input, onOpen);
    return this;
  };
  res.writeHead = interceptHead as WriteHead;

  reply.code(101).send();
}

// Fastify passes its reply headers to writeHead as an object, not through setHeader.
function copyHeaders(res: ServerResponse, writeHeadArgs: unknown[]): void {
  const headers = writeHeadArgs.find(
    (value): value is OutgoingHttpHeaders =>
      typeof value === 'object' && value !== null && !Array.isArray(value),
  );
  if (headers === undefined) {
    return;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) {
      res.setHeader(name, value);
    }
  }
}
