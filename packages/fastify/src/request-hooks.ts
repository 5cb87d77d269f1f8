import {
  type AcceptInput,
  ErrorCodes,
  getHandshake,
  getRevalidation,
  rejection,
} from '@wsauth/core';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import type { WebSocket } from 'ws';
import { acceptThroughReply } from './accept.js';
import { acceptRevalidation } from './lifecycle.js';
import {
  isUpgrade,
  type RouteHandler,
  reachedWebSocketRoute,
  type WebSocketHandler,
} from './routes.js';

// Runs after @fastify/websocket's onRequest hook, which sets `request.ws` from its own marker.
export function guardUpgrade(
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
): void {
  if (!isUpgrade(request.raw)) {
    done();
    return;
  }

  // The path matched a WebSocket route, but Fastify routed it elsewhere (a constraint, or a
  // more specific plain route): that route's hooks and handler must not run for an upgrade.
  if (!reachedWebSocketRoute(request)) {
    reply.hijack();
    getHandshake(request.raw)?.reject(rejection(404, ErrorCodes.ROUTE_NOT_FOUND, 'Not Found'));
    getRevalidation(request.raw)?.reject(404);
    return;
  }

  request.ws = true;
  // A redeemed ticket stands for its user, so guards that check `request.user` or
  // `request.isAuthenticated()` accept it unchanged; the session strategy keeps a user it did
  // not set.
  const carried = getHandshake(request.raw)?.credential;
  if (carried?.kind === 'ticket') {
    request.user = carried.user;
  }
  done();
}

// @fastify/websocket's onResponse hook destroys `request.raw[its symbol]` when `request.ws` is
// true. That symbol is unset on the requests wsauth routes, so the flag is cleared first.
export function clearWsFlag(
  request: FastifyRequest,
  _reply: FastifyReply,
  done: HookHandlerDoneFunction,
) {
  if (request.ws && isUpgrade(request.raw)) {
    request.ws = false;
  }
  done();
}

export function createRouteHandler(
  socketHandler: WebSocketHandler,
  httpHandler: RouteHandler,
  context: (request: FastifyRequest) => AcceptInput,
): RouteHandler {
  return function handleWebSocketRoute(request, reply) {
    if (!isUpgrade(request.raw)) {
      return httpHandler.call(this, request, reply);
    }
    if (acceptRevalidation(request, reply, context)) {
      return undefined;
    }

    const handshake = getHandshake(request.raw);
    if (handshake === undefined || handshake.settled) {
      // The client left or the deadline passed while the hooks ran, so no one awaits a reply.
      reply.hijack();
      return undefined;
    }

    acceptThroughReply(handshake, reply, context(request), (socket) => {
      openSocket(this, socketHandler, socket, request);
    });
    return undefined;
  };
}

function openSocket(
  instance: FastifyInstance,
  handler: WebSocketHandler,
  socket: WebSocket,
  request: FastifyRequest,
): void {
  // The core already listens for the socket's 'error' events. A listener made here would share
  // this function's closure context and keep `request` alive for the socket's whole life.
  // clearWsFlag ran when the response finished, just before the 101.
  request.ws = true;
  instance.websocketServer.emit('connection', socket, request.raw);

  const onError = (error: unknown): void => {
    request.log.error({ err: error }, 'WebSocket handler failed');
    socket.close(1011, 'Internal error');
  };
  try {
    const result = handler.call(instance, socket, request);
    if (result instanceof Promise) {
      result.catch(onError);
    }
  } catch (error) {
    onError(error);
  }
}
