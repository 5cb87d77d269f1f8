import fastifyWebsocket from '@fastify/websocket';
import {
  type AcceptInput,
  ErrorCodes,
  getHandshake,
  getRevalidation,
  type MintedTicket,
  rejection,
  type UpgradeRouter,
  WsAuthServer,
} from '@wsauth/core';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import fp from 'fastify-plugin';
import type { WebSocket, WebSocketServer } from 'ws';
import { acceptThroughReply } from './accept.js';
import { defaultContext } from './context.js';
import { fastifyTrustProxy, prependHook } from './internals.js';
import { acceptRevalidation, revalidateThroughFastify } from './lifecycle.js';
import { type FastifyWsAuthOptions, type SplitOptions, splitOptions } from './options.js';
import {
  isUpgrade,
  markUpgrade,
  type RouteHandler,
  type RouterMatchOptions,
  reachedWebSocketRoute,
  takeOverWebSocketRoutes,
  type WebSocketHandler,
  WebSocketRoutes,
} from './routes.js';

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
// ws's own default (100 MiB); an app that registered @fastify/websocket without setting
// maxPayload gets wsauth's 1 MiB instead.
const WS_DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;

// How the upgrade is routed. @fastify/websocket adds its own `upgrade` listener that runs
// `fastify.routing()` with a ServerResponse bound to the socket, and its route handler hijacks
// the reply and upgrades without the `onSend` hooks. wsauth removes that listener and lets the
// core own the `upgrade` event instead: the core checks shape and origin before any hook,
// enforces the deadline and watches for a client reset, and then calls `fastify.routing()` with
// its own socket-bound response. Every hook of the route runs as on HTTP, and the route handler
// that wsauth installs accepts through `reply.send()`, so `onSend` hooks (session save, cookies)
// complete before the 101. @fastify/websocket stays registered for its route types,
// `request.ws` and `fastify.websocketServer`, which is the server sockets are upgraded with.

async function wsAuthPlugin(
  fastify: FastifyInstance,
  options: FastifyWsAuthOptions,
): Promise<void> {
  const split = splitOptions(options);
  const trustProxy = fastifyTrustProxy(fastify);
  const routes = new WebSocketRoutes(routerOptionsOf(fastify));
  let core: WsAuthServer | undefined;
  let detach: (() => void) | undefined;

  const onRoute = takeOverWebSocketRoutes(routes, (socketHandler, httpHandler) =>
    createRouteHandler(socketHandler, httpHandler, split.context ?? defaultContext),
  );
  const preClose = async (): Promise<void> => {
    detach?.();
    await core?.close();
  };
  await registerAroundWebsocket(fastify, { onRoute, onResponse: clearWsFlag, preClose });
  fastify.addHook('onRequest', guardUpgrade);

  const wss = fastify.websocketServer;
  applySocketLimits(wss, split.socketLimits);
  core = new WsAuthServer({ ...split.core, trustProxy, wsServer: wss });
  fastify.decorate('wsauth', core);
  const pipeline = core;
  const context = split.context ?? defaultContext;
  fastify.decorate('mintWsTicket', (request: FastifyRequest) =>
    mintTicket(pipeline, request, context),
  );

  const router: UpgradeRouter = {
    matches: (req) => routes.matches(req.url),
    dispatch: (handshake) => {
      markUpgrade(handshake.req);
      fastify.routing(handshake.req, handshake.res);
    },
    revalidate: (revalidation) => revalidateThroughFastify(fastify, revalidation),
  };
  detach = core.attach(fastify.server, router);
}

interface OrderedHooks {
  onRoute: (route: never) => void;
  onResponse: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;
  preClose: () => Promise<void>;
}

/**
 * Registers @fastify/websocket when the app has not, and puts wsauth's `onRoute`, `onResponse`
 * and `preClose` hooks before its hooks either way. Its `upgrade` listener is removed.
 */
async function registerAroundWebsocket(
  fastify: FastifyInstance,
  hooks: OrderedHooks,
): Promise<void> {
  const server = fastify.server;

  if (fastify.hasDecorator('websocketServer')) {
    for (const [name, hook] of Object.entries(hooks)) {
      prependHook(fastify, name as keyof OrderedHooks, hook);
    }
    // The listener @fastify/websocket 11 adds is its function `onUpgrade`.
    for (const listener of server.listeners('upgrade')) {
      if (listener.name === 'onUpgrade') {
        server.off('upgrade', listener as (...args: unknown[]) => void);
      }
    }
    return;
  }

  fastify.addHook('onRoute', hooks.onRoute as (route: unknown) => void);
  fastify.addHook('onResponse', hooks.onResponse);
  fastify.addHook('preClose', hooks.preClose);
  const before = new Set(server.listeners('upgrade'));
  await fastify.register(fastifyWebsocket);
  for (const listener of server.listeners('upgrade')) {
    if (!before.has(listener)) {
      server.off('upgrade', listener as (...args: unknown[]) => void);
    }
  }
}

function applySocketLimits(wss: WebSocketServer, limits: SplitOptions['socketLimits']): void {
  const current = wss.options.maxPayload;
  if (limits.maxPayload !== undefined) {
    wss.options.maxPayload = limits.maxPayload;
  } else if (current === undefined || current === WS_DEFAULT_MAX_PAYLOAD) {
    wss.options.maxPayload = DEFAULT_MAX_PAYLOAD;
  }
  if (limits.perMessageDeflate !== undefined) {
    wss.options.perMessageDeflate = limits.perMessageDeflate;
  }
}

// Runs after @fastify/websocket's onRequest hook, which sets `request.ws` from its own marker.
function guardUpgrade(
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

function mintTicket(
  core: WsAuthServer,
  request: FastifyRequest,
  context: (request: FastifyRequest) => AcceptInput,
): Promise<MintedTicket> {
  const { user, userId } = context(request);
  return core.tickets.mint({
    userId: userId ?? '',
    user,
    ip: request.ip,
    origin: request.headers.origin,
  });
}

// @fastify/websocket's onResponse hook destroys `request.raw[its symbol]` when `request.ws` is
// true; the symbol is unset on requests wsauth routes, so the flag is cleared first.
function clearWsFlag(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
  if (request.ws && isUpgrade(request.raw)) {
    request.ws = false;
  }
  done();
}

function createRouteHandler(
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
      // The client left or the deadline passed while the hooks ran; nothing is left to answer.
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
  // ws emits 'error' for protocol violations before it closes with 1002; an unhandled one
  // would crash the process.
  const log = instance.log;
  socket.on('error', (error) => log.debug({ err: error }, 'WebSocket error'));
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

function routerOptionsOf(fastify: FastifyInstance): RouterMatchOptions {
  const config = fastify.initialConfig as RouterMatchOptions & {
    routerOptions?: RouterMatchOptions;
  };
  return { ...config, ...config.routerOptions };
}

/** The wsauth Fastify plugin. Register it once with `await app.register(wsAuth, options)`. */
export const wsAuth = fp(wsAuthPlugin, { fastify: '5.x', name: '@wsauth/fastify' });
