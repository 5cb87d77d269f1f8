import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { clientAddress } from './address.js';
import { selectProtocol, takeBearerProtocol } from './carriers/bearer-protocol.js';
import { Tickets } from './carriers/tickets.js';
import { channels, type HandshakeEvent, redactUrl } from './diagnostics.js';
import { ErrorCodes } from './errors.js';
import { Handshake, type HandshakeHost, type HandshakeOutcome } from './handshake.js';
import { Lifecycle } from './lifecycle/lifecycle.js';
import type { RegistryCounts } from './lifecycle/registry.js';
import type { Revalidation } from './lifecycle/revalidation.js';
import type { RevocationTarget, RevokeOptions } from './lifecycle/types.js';
import { HandshakeLimiter } from './limits.js';
import { type ResolvedOptions, resolveOptions, type WsAuthOptions } from './options.js';
import { checkOrigin } from './origin.js';
import { type Rejection, rejection } from './rejection.js';
import { checkShape } from './shape.js';
import { checkAuthority, restoreTarget, toOriginForm } from './target.js';
import type { AuthContext } from './types.js';
import { writeRejection } from './write.js';

/** The adapter's part of the pipeline: route matching and running the framework chain. */
export interface UpgradeRouter {
  /** Tells whether the request targets one of the app's WebSocket routes. */
  matches(req: IncomingMessage): boolean;
  /**
   * Runs the framework chain for the handshake. The chain ends by calling
   * `handshake.accept(...)`, by writing a response to `handshake.res`, or by `handshake.reject`.
   */
  dispatch(handshake: Handshake): void;
  /**
   * Runs the framework chain for a revalidation of an open socket: `revalidation.req` and
   * `revalidation.res` go through the chain as a handshake would, and the route's upgrade handler
   * calls `revalidation.accept(...)` (found with `getRevalidation(req)`). Without it, sockets are
   * closed at their known expiry but never revalidated.
   */
  revalidate?(revalidation: Revalidation): void;
}

/** A step added to the pipeline: limits, credential carriers and the connection lifecycle. */
export interface HandshakeExtension {
  /** Runs after the origin check and before the chain; a rejection ends the handshake. */
  beforeChain?(handshake: Handshake): Rejection | undefined | Promise<Rejection | undefined>;
  /** Runs once a socket is open, before the route's handler. */
  onAccept?(socket: WebSocket, context: AuthContext, handshake: Handshake): void;
  /** Runs when the server closes. */
  close?(): void | Promise<void>;
}

const handshakes = new WeakMap<IncomingMessage, Handshake>();

/** Returns the handshake an upgrade request belongs to, or `undefined` for a plain request. */
export function getHandshake(req: IncomingMessage): Handshake | undefined {
  return handshakes.get(req);
}

// A rejected or aborted socket can still emit EPIPE or ECONNRESET; an unhandled one would crash
// the process. One shared function keeps no state alive per socket.
function ignoreSocketError(): void {}

/** The framework-free handshake pipeline. Adapters create one per app. */
export class WsAuthServer implements HandshakeHost {
  readonly options: ResolvedOptions;
  /** Mints and redeems one-time tickets; adapters expose `mint` to REST routes. */
  readonly tickets: Tickets;
  /** Open sockets by user and session, revocation and revalidation. */
  readonly lifecycle: Lifecycle;
  readonly #routers = new WeakMap<Handshake, UpgradeRouter>();
  readonly #extensions: HandshakeExtension[] = [];
  readonly #extraHeaders = new WeakMap<IncomingMessage, string[]>();
  readonly #protocols = new WeakMap<IncomingMessage, string | undefined>();
  #pending = 0;
  readonly #limiter: HandshakeLimiter;
  readonly #clients = new WeakMap<IncomingMessage, string>();

  constructor(options?: WsAuthOptions) {
    this.options = resolveOptions(options);
    this.#limiter = new HandshakeLimiter(this.options.limits);
    this.tickets = new Tickets(this.options.tickets, {
      addressOf: (req) => this.#clientAddressOf(req),
      revokedSince: (target, since) => this.lifecycle.revokedSince(target, since),
      bearerHeaders: this.options.lifecycle.credentialHeaders.filter((name) => name !== 'cookie'),
    });
    this.lifecycle = new Lifecycle({
      options: this.options.lifecycle,
      logger: this.options.logger,
      authTimeoutMs: this.options.authTimeoutMs,
      ticketTtlMs: this.tickets.enabled ? this.tickets.ttlMs : 0,
      credentialCookies: this.options.origin.credentialCookies,
    });
    const wss = this.options.wsServer;
    wss.on('headers', (headers, req) => {
      const extra = this.#extraHeaders.get(req);
      if (extra !== undefined) {
        this.#extraHeaders.delete(req);
        headers.push(...extra);
      }
    });
    wss.options.handleProtocols = (_offered, req) => this.#protocols.get(req) ?? false;
  }

  get authTimeoutMs(): number {
    return this.options.authTimeoutMs;
  }

  get rewriteRedirects(): boolean {
    return this.options.redirects === 'reject';
  }

  closesRejections(req: IncomingMessage): boolean {
    return this.options.closesRejections(req);
  }

  /** The `ws` server sockets are upgraded with. */
  get wss(): WebSocketServer {
    return this.options.wsServer;
  }

  /** Handshakes that have entered the chain and are not settled yet. */
  get pendingHandshakes(): number {
    return this.#pending;
  }

  /** Adds a pipeline step. */
  use(extension: HandshakeExtension): this {
    this.#extensions.push(extension);
    return this;
  }

  /**
   * Listens for upgrades on `server`. Requests for other paths are left to the server's other
   * `upgrade` listeners, or rejected with 404 when there are none. Returns a function that stops.
   */
  attach(server: Server, router: UpgradeRouter): () => void {
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      const shared = server.listenerCount('upgrade') > 1;
      this.handleUpgrade(req, socket as Socket, head, router, shared);
    };
    server.on('upgrade', onUpgrade);
    return () => {
      server.off('upgrade', onUpgrade);
    };
  }

  /** Runs the pipeline for one upgrade request. */
  handleUpgrade(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    router: UpgradeRouter,
    leaveUnknownPaths = false,
  ): void {
    const target = toOriginForm(req);
    const matched = router.matches(req);
    if (!matched && leaveUnknownPaths) {
      restoreTarget(req, target);
      return;
    }

    if (this.#waitForPipelinedResponse(req, socket, head, router, leaveUnknownPaths)) {
      restoreTarget(req, target);
      return;
    }

    if (!matched) {
      this.#rejectEarly(req, socket, rejection(404, ErrorCodes.ROUTE_NOT_FOUND, 'Not Found'));
      return;
    }

    const client = this.#clientAddressOf(req) ?? '';
    const early =
      checkShape(req, this.options) ??
      checkAuthority(req, target) ??
      this.#limiter.checkRate(client) ??
      checkOrigin(req, this.options.origin, this.options.trustProxy);
    if (early !== undefined) {
      this.#rejectEarly(req, socket, early);
      return;
    }

    const bearer = this.options.subprotocolCarrier ? takeBearerProtocol(req) : undefined;
    const carrierRejected =
      bearer?.rejection ?? this.tickets.extract(req) ?? this.#limiter.acquire(client);
    if (carrierRejected !== undefined) {
      this.#rejectEarly(req, socket, carrierRejected);
      return;
    }
    this.#clients.set(req, client);

    socket.on('error', ignoreSocketError);
    const handshake = new Handshake(this, req, socket, head);
    handshakes.set(req, handshake);
    this.#routers.set(handshake, router);
    this.#pending++;
    handshake.protocol = selectProtocol(req, this.options.protocols, bearer?.carried === true);
    if (bearer?.carried === true) {
      handshake.credential = { kind: 'subprotocol' };
    }
    this.#runChain(handshake, router);
  }

  /** Open sockets, users and sessions, for metrics. */
  get connections(): RegistryCounts {
    return this.lifecycle.counts;
  }

  /**
   * Closes every socket of a user or session on this instance (code 4401 unless given) and
   * publishes the revocation on the lifecycle bus so that every instance does the same. Resolves
   * with the number of local sockets closed.
   */
  revoke(target: RevocationTarget, options?: RevokeOptions): Promise<number> {
    return this.lifecycle.revoke(target, options);
  }

  /** Closes every open socket with 1001 and stops the ws server. */
  async close(): Promise<void> {
    this.lifecycle.close();
    for (const client of this.wss.clients) {
      client.close(1001, 'Server shutting down');
    }
    for (const extension of this.#extensions) {
      await extension.close?.();
    }
    await this.tickets.close();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  upgrade(handshake: Handshake, head: Buffer, headers: string[]): WebSocket {
    const { req, socket } = handshake;
    this.#extraHeaders.set(req, headers);
    this.#protocols.set(req, handshake.protocol);

    let upgraded: WebSocket | undefined;
    try {
      // Without verifyClient, ws completes synchronously, or writes an error response itself and
      // never calls back.
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        upgraded = ws;
      });
    } finally {
      this.#extraHeaders.delete(req);
      this.#protocols.delete(req);
      socket.off('error', ignoreSocketError);
    }
    if (upgraded === undefined) {
      throw new Error('ws did not complete the upgrade');
    }

    // ws emits protocol errors (bad frames, oversized messages) on the socket and then closes it
    // with 1002 or 1009; without a listener the emit would crash the process.
    upgraded.on('error', this.#onSocketError);
    // The handshake paused the socket; ws only adds a data listener, which does not resume.
    socket.resume();
    return upgraded;
  }

  settled(handshake: Handshake, outcome: HandshakeOutcome): void {
    this.#pending--;
    const client = this.#clients.get(handshake.req) ?? '';
    this.#limiter.release(client);
    this.#clients.delete(handshake.req);
    // The request keeps its handshake after settling, so that middleware still running for a
    // client that left finds it `settled` instead of taking the request for a plain GET.
    const router = this.#routers.get(handshake);
    this.#routers.delete(handshake);

    if (outcome.kind === 'accept') {
      // ws and the app add 'close' listeners to the WebSocket. A third one there would grow its
      // listener array to about 20 slots, while the TCP socket has only ws's listener.
      this.lifecycle.register(
        outcome.socket,
        outcome.context,
        handshake.req,
        handshake.startedAt,
        router,
        handshake.socket,
      );
      for (const extension of this.#extensions) {
        extension.onAccept?.(outcome.socket, outcome.context, handshake);
      }
    }
    this.#report(handshake.req, outcome, handshake.startedAt, client);
  }

  #clientAddressOf(req: IncomingMessage): string | undefined {
    return clientAddress(req, this.options.trustProxy, this.options.forwardedForHeader());
  }

  #onSocketError = (error: Error): void => {
    this.options.logger?.debug(
      { err: { message: error.message, code: (error as { code?: string }).code } },
      'WebSocket closed after a protocol error',
    );
  };

  failed(handshake: Handshake, error: unknown): void {
    this.options.logger?.error(
      { err: error, path: redactUrl(handshake.req.url) },
      'WebSocket handshake failed with an unhandled error',
    );
  }

  // Without extensions or a ticket to redeem, the chain starts in the same tick.
  #runChain(handshake: Handshake, router: UpgradeRouter): void {
    if (this.#extensions.length > 0) {
      this.#runExtensionsThenChain(handshake, router).catch((error: unknown) =>
        handshake.fail(error),
      );
      return;
    }
    const redeeming = this.tickets.redeem(handshake);
    if (redeeming !== undefined) {
      this.#redeemThenChain(handshake, router, redeeming).catch((error: unknown) =>
        handshake.fail(error),
      );
      return;
    }
    this.#dispatch(handshake, router);
  }

  async #runExtensionsThenChain(handshake: Handshake, router: UpgradeRouter): Promise<void> {
    for (const extension of this.#extensions) {
      const rejected = await extension.beforeChain?.(handshake);
      if (handshake.settled) {
        return;
      }
      if (rejected !== undefined) {
        handshake.reject(rejected);
        return;
      }
    }
    const redeeming = this.tickets.redeem(handshake);
    if (redeeming === undefined) {
      this.#dispatch(handshake, router);
    } else {
      await this.#redeemThenChain(handshake, router, redeeming);
    }
  }

  async #redeemThenChain(
    handshake: Handshake,
    router: UpgradeRouter,
    redeeming: Promise<Rejection | undefined>,
  ): Promise<void> {
    const rejected = await redeeming;
    if (handshake.settled) {
      return;
    }
    if (rejected !== undefined) {
      handshake.reject(rejected);
      return;
    }
    this.#dispatch(handshake, router);
  }

  #dispatch(handshake: Handshake, router: UpgradeRouter): void {
    try {
      router.dispatch(handshake);
    } catch (error) {
      handshake.fail(error);
    }
  }

  // A client may pipeline the upgrade behind a keep-alive request whose response is still being
  // written. That response owns the socket until it finishes: assigning a second one throws
  // ERR_HTTP_SOCKET_ASSIGNED, and writing a rejection would interleave the two responses.
  #waitForPipelinedResponse(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    router: UpgradeRouter,
    leaveUnknownPaths: boolean,
  ): boolean {
    const previous = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
    if (previous === undefined || previous === null) {
      return false;
    }

    socket.on('error', ignoreSocketError);
    const onClose = (): void => {
      previous.off('finish', onFinish);
    };
    const onFinish = (): void => {
      socket.off('close', onClose);
      // handleUpgrade adds it again, and may wait for the next pipelined response first.
      socket.off('error', ignoreSocketError);
      // The finished response may have armed the server's keep-alive timeout on the socket.
      socket.setTimeout(0);
      this.handleUpgrade(req, socket, head, router, leaveUnknownPaths);
    };
    previous.once('finish', onFinish);
    socket.once('close', onClose);
    return true;
  }

  #rejectEarly(req: IncomingMessage, socket: Socket, rejected: Rejection): void {
    socket.on('error', ignoreSocketError);
    writeRejection(socket, rejected);
    this.#report(
      req,
      { kind: 'reject', status: rejected.status, code: rejected.code },
      performance.now(),
    );
  }

  // `client` is the address the pipeline already read ('' when the socket had none). Early
  // rejections come before that read, so the address is read here for them.
  #report(
    req: IncomingMessage,
    outcome: HandshakeOutcome,
    startedAt: number,
    client?: string,
  ): void {
    const channel = channels[outcome.kind];
    const logger = this.options.logger;
    if (!channel.hasSubscribers && logger === undefined) {
      return;
    }

    const event: HandshakeEvent = {
      outcome: outcome.kind,
      path: redactUrl(req.url),
      ip: (client ?? this.#clientAddressOf(req)) || undefined,
      origin: req.headers.origin,
      userId: outcome.kind === 'accept' ? outcome.context.userId : undefined,
      status: statusOf(outcome),
      code: codeOf(outcome),
      durationMs: performance.now() - startedAt,
    };
    channel.publish(event);

    if (logger !== undefined) {
      const level = outcome.kind === 'abort' ? 'debug' : 'info';
      logger[level]({ ...event }, `WebSocket handshake ${outcome.kind}ed`);
    }
  }
}

function statusOf(outcome: HandshakeOutcome): number | undefined {
  if (outcome.kind === 'reject') {
    return outcome.status;
  }
  return outcome.kind === 'accept' ? 101 : undefined;
}

function codeOf(outcome: HandshakeOutcome): string | undefined {
  if (outcome.kind === 'reject') {
    return outcome.code;
  }
  return outcome.kind === 'abort' ? ErrorCodes.CLIENT_ABORTED : undefined;
}
