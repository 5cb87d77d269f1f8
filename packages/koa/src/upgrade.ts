import {
  type AcceptInput,
  ErrorCodes,
  type Handshake,
  rejection,
  WsAuthError,
  type WsAuthLogger,
} from '@wsauth/core';
import type { Middleware, ParameterizedContext } from 'koa';
import type { WebSocket } from 'ws';
import { ReleasableChain } from './chain.js';

type Context = ParameterizedContext;

/** Reads the auth context from `ctx` once the chain has returned. */
export type ContextReader = (ctx: Context) => AcceptInput;

interface Requested {
  readonly promise: Promise<WebSocket>;
  readonly overrides: AcceptInput | undefined;
  resolve(socket: WebSocket): void;
  reject(error: unknown): void;
}

function noop(): void {}

/**
 * One handshake running through the Koa chain: it holds what `ctx.ws()` requested and finishes
 * the handshake once the chain has returned.
 */
export class KoaUpgrade {
  readonly handshake: Handshake;
  readonly chain: ReleasableChain;
  readonly #readContext: ContextReader;
  readonly #logger: WsAuthLogger | undefined;
  #requested: Requested | undefined;
  #socket: WebSocket | undefined;

  constructor(
    handshake: Handshake,
    middleware: readonly Middleware[],
    readContext: ContextReader,
    logger: WsAuthLogger | undefined,
  ) {
    this.handshake = handshake;
    this.#readContext = readContext;
    this.#logger = logger;
    this.chain = new ReleasableChain(middleware, (error) => this.#onDetachedError(error));
  }

  /**
   * Marks the handshake as accepted and returns the socket's promise. Koa does not write its own
   * response, and the deepest running middleware is released so the chain can return.
   */
  request(ctx: Context, overrides: AcceptInput | undefined): Promise<WebSocket> {
    if (this.#requested !== undefined) {
      return this.#requested.promise;
    }
    if (this.handshake.settled || ctx.res.headersSent) {
      throw notUpgraded('The handshake was already answered, so ctx.ws() cannot upgrade it.');
    }

    let resolve: (socket: WebSocket) => void = noop;
    let reject: (error: unknown) => void = noop;
    const promise = new Promise<WebSocket>((onResolve, onReject) => {
      resolve = onResolve;
      reject = onReject;
    });
    // A route that does not await the promise must not crash the process when it rejects.
    promise.catch(noop);
    this.#requested = { promise, overrides, resolve, reject };

    ctx.respond = false;
    this.chain.releaseDeepest();
    return promise;
  }

  /** Finishes the handshake after the chain returned: upgrade, or answer what nothing answered. */
  finish(ctx: Context): void {
    const requested = this.#requested;
    const { handshake } = this;
    const answered = handshake.settled || ctx.res.headersSent || ctx.res.writableEnded;

    if (requested === undefined) {
      // Koa answers 404 itself when nothing set a body; this covers `ctx.respond = false` with
      // nothing written, which would otherwise wait for the auth deadline.
      if (!answered) {
        handshake.reject(rejection(404, ErrorCodes.ROUTE_NOT_FOUND, 'Not Found'));
      }
      return;
    }
    if (answered) {
      requested.reject(notUpgraded('The handshake was answered with an HTTP response.'));
      return;
    }

    let input: AcceptInput;
    try {
      input = { ...this.#readContext(ctx), ...requested.overrides };
    } catch (error) {
      requested.reject(error);
      handshake.fail(error);
      return;
    }
    this.#accept(input, requested);
  }

  /** Rejects the pending `ctx.ws()` promise when the chain itself failed to run. */
  abandon(error: unknown): void {
    this.#requested?.reject(error);
    this.handshake.fail(error);
  }

  #accept(input: AcceptInput, requested: Requested): void {
    const { socket } = this.handshake;
    // The core calls the handler only for a completed upgrade; a socket that closes first
    // (client reset while the 101 is prepared) must still settle the route's promise.
    const onClose = (): void => {
      requested.reject(notUpgraded('The client closed the connection before the upgrade.'));
    };
    socket.once('close', onClose);

    this.handshake.accept(input, (webSocket) => {
      socket.off('close', onClose);
      this.#socket = webSocket;
      requested.resolve(webSocket);
    });
  }

  #onDetachedError(error: unknown): void {
    if (error instanceof WsAuthError && error.code === ErrorCodes.UPGRADE_FAILED) {
      return;
    }
    this.#logger?.error({ err: error }, 'WebSocket route failed after ctx.ws()');
    this.#socket?.close(1011, 'Internal error');
  }
}

function notUpgraded(message: string): WsAuthError {
  const error = new WsAuthError(ErrorCodes.UPGRADE_FAILED, message);
  // Koa's default error listener prints every error without `expose`; this one is expected
  // whenever a client leaves early and needs no stack trace.
  return Object.assign(error, { expose: true });
}
