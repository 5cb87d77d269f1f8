import fastifyWebsocket from '@fastify/websocket';
import {
  type AcceptInput,
  ErrorCodes,
  type MintedTicket,
  type UpgradeRouter,
  WsAuthError,
  WsAuthServer,
} from '@wsauth/core';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import fp from 'fastify-plugin';
import type { WebSocketServer } from 'ws';
import { defaultContext } from './context.js';
import { createInjectWS } from './inject.js';
import { fastifyTrustProxy, prependHook } from './internals.js';
import { revalidateThroughFastify } from './lifecycle.js';
import { type FastifyWsAuthOptions, type SplitOptions, splitOptions } from './options.js';
import { clearWsFlag, createRouteHandler, guardUpgrade } from './request-hooks.js';
import {
  markUpgrade,
  type RouterMatchOptions,
  takeOverWebSocketRoutes,
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
  rejectOwnProtocolChoice(wss);
  applySocketLimits(wss, split.socketLimits);
  core = new WsAuthServer({ ...split.core, trustProxy, wsServer: wss });
  fastify.decorate('wsauth', core);
  // @fastify/websocket's injectWS emits a stand-in request object that the pipeline cannot read.
  fastify.injectWS = createInjectWS(fastify);
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

// The core chooses the subprotocol the 101 echoes and replaces ws's handleProtocols to do so.
function rejectOwnProtocolChoice(wss: WebSocketServer): void {
  if (typeof wss.options.handleProtocols === 'function') {
    throw new WsAuthError(
      ErrorCodes.INVALID_OPTION,
      'Invalid @fastify/websocket option "options.handleProtocols": wsauth chooses the ' +
        'subprotocol. List the subprotocols the app speaks in the wsauth option "protocols".',
    );
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

function mintTicket(
  core: WsAuthServer,
  request: FastifyRequest,
  context: (request: FastifyRequest) => AcceptInput,
): Promise<MintedTicket> {
  return core.tickets.mintFor(context(request), { ip: request.ip, origin: request.headers.origin });
}

function routerOptionsOf(fastify: FastifyInstance): RouterMatchOptions {
  const config = fastify.initialConfig as RouterMatchOptions & {
    routerOptions?: RouterMatchOptions;
  };
  return { ...config, ...config.routerOptions };
}

/** The wsauth Fastify plugin. Register it once with `await app.register(wsAuth, options)`. */
export const wsAuth = fp(wsAuthPlugin, { fastify: '5.x', name: '@wsauth/fastify' });
