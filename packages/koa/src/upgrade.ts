import {
  type AcceptInput,
  ErrorCodes,
  type Handshake,
  type Revalidation,
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

/** The request the chain runs for: a real handshake, or the revalidation of an open socket. */
interface ChainTarget {
  readonly settled: boolean;
  /** Completes the accepted request; `requested` learns the socket, if one is opened. */
  accept(input: AcceptInput, requested: Requested): void;
  /** Rejects with 404 a request that the chain neither accepted nor responded to. */
  rejectUnanswered(): void;
  fail(error: unknown): void;
}

function noop(): void {}

/**
 * One request running through the Koa chain for wsauth. It stores what `ctx.ws()` requested and
 * finishes the handshake or revalidation once the chain has returned.
 */
export class KoaUpgrade {
  readonly chain: ReleasableChain;
  readonly #target: ChainTarget;
  readonly #readContext: ContextReader;
  readonly #logger: WsAuthLogger | undefined;
  #requested: Requested | undefined;
  #socket: WebSocket | undefined;

  private constructor(
    target: ChainTarget,
    middleware: readonly Middleware[],
    readContext: ContextReader,
    logger: WsAuthLogger | undefined,
  ) {
    this.#target = target;
    this.#readContext = readContext;
    this.#logger = logger;
    this.chain = new ReleasableChain(middleware, (error) => this.#onDetachedError(error));
  }

  /** Creates the state of a handshake; `ctx.ws()` resolves with the upgraded socket. */
  static forHandshake(
    handshake: Handshake,
    middleware: readonly Middleware[],
    readContext: ContextReader,
    logger: WsAuthLogger | undefined,
  ): KoaUpgrade {
    const upgrade: KoaUpgrade = new KoaUpgrade(
      handshakeTarget(handshake, (socket) => {
        upgrade.#socket = socket;
      }),
      middleware,
      readContext,
      logger,
    );
    return upgrade;
  }

  /**
   * Creates the state of a revalidation. `ctx.ws()` records the acceptance and returns a promise
   * that never settles, so the route's code after it does not run for a socket already open.
   */
  static forRevalidation(
    revalidation: Revalidation,
    middleware: readonly Middleware[],
    readContext: ContextReader,
    logger: WsAuthLogger | undefined,
  ): KoaUpgrade {
    return new KoaUpgrade(revalidationTarget(revalidation), middleware, readContext, logger);
  }

  /**
   * Marks the request as accepted and returns the socket's promise. Koa does not write its own
   * response, and the deepest running middleware is released so the chain can return.
   */
  request(ctx: Context, overrides: AcceptInput | undefined): Promise<WebSocket> {
    if (this.#requested !== undefined) {
      return this.#requested.promise;
    }
    if (this.#target.settled || ctx.res.headersSent) {
      throw notUpgraded('The handshake already has a response, so ctx.ws() cannot upgrade it.');
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

  /** Finishes the request after the chain returned: accepts it, or rejects it if nothing responded. */
  finish(ctx: Context): void {
    const requested = this.#requested;
    const answered = this.#target.settled || ctx.res.headersSent || ctx.res.writableEnded;

    if (requested === undefined) {
      // Koa sends 404 itself when nothing set a body. This covers `ctx.respond = false` with
      // nothing written, which would otherwise wait for the auth deadline.
      if (!answered) {
        this.#target.rejectUnanswered();
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
      this.#target.fail(error);
      return;
    }
    this.#target.accept(input, requested);
  }

  /** Settles the request when the chain itself failed to run. */
  abandon(error: unknown): void {
    this.#requested?.reject(error);
    this.#target.fail(error);
  }

  #onDetachedError(error: unknown): void {
    if (error instanceof WsAuthError && error.code === ErrorCodes.UPGRADE_FAILED) {
      return;
    }
    this.#logger?.error({ err: error }, 'WebSocket route failed after ctx.ws()');
    this.#socket?.close(1011, 'Internal error');
  }
}

function handshakeTarget(handshake: Handshake, onSocket: (socket: WebSocket) => void): ChainTarget {
  return {
    get settled() {
      return handshake.settled;
    },
    accept(input, requested) {
      const { socket } = handshake;
      // The core calls the handler only for a completed upgrade. A socket that closes first
      // (a client reset while the 101 is prepared) must still settle the route's promise.
      const onClose = (): void => {
        requested.reject(notUpgraded('The client closed the connection before the upgrade.'));
      };
      socket.once('close', onClose);

      handshake.accept(input, (webSocket) => {
        socket.off('close', onClose);
        onSocket(webSocket);
        requested.resolve(webSocket);
      });
    },
    rejectUnanswered() {
      handshake.reject(rejection(404, ErrorCodes.ROUTE_NOT_FOUND, 'Not Found'));
    },
    fail(error) {
      handshake.fail(error);
    },
  };
}

function revalidationTarget(revalidation: Revalidation): ChainTarget {
  return {
    get settled() {
      return revalidation.settled;
    },
    accept(input) {
      revalidation.accept(input);
    },
    rejectUnanswered() {
      revalidation.reject(404);
    },
    fail(error) {
      revalidation.fail(error);
    },
  };
}

function notUpgraded(message: string): WsAuthError {
  const error = new WsAuthError(ErrorCodes.UPGRADE_FAILED, message);
  // Koa's default error listener prints every error without `expose`; this one is expected
  // whenever a client leaves early and needs no stack trace.
  return Object.assign(error, { expose: true });
}
