import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { CarriedCredential } from './carriers/carried.js';
import { closeRejected, isCloseModeStatus } from './carriers/close-codes.js';
import { type ErrorCode, ErrorCodes, WsAuthError } from './errors.js';
import { type Rejection, rejection } from './rejection.js';
import { createSocketResponse, type SocketResponse } from './response.js';
import type { AcceptInput, AuthContext } from './types.js';
import { endAfterFlush, writeRejection } from './write.js';

// Bytes a client may send before the 101 (they belong to the WebSocket stream and are replayed
// to ws); more than this aborts the handshake.
const MAX_EARLY_BYTES = 64 * 1024;

/** The outcome of a handshake, reported to the server that owns it. */
export type HandshakeOutcome =
  | { readonly kind: 'accept'; readonly context: AuthContext; readonly socket: WebSocket }
  | { readonly kind: 'reject'; readonly status: number; readonly code: string }
  | { readonly kind: 'abort' };

/** The callbacks a handshake uses to finish an accepted upgrade and to report its outcome. */
export interface HandshakeHost {
  readonly authTimeoutMs: number;
  readonly rewriteRedirects: boolean;
  /** Completes the upgrade with ws and returns the socket; throws when ws did not complete it. */
  upgrade(handshake: Handshake, head: Buffer, headers: string[]): WebSocket;
  settled(handshake: Handshake, outcome: HandshakeOutcome): void;
  failed(handshake: Handshake, error: unknown): void;
  /** Tells whether a 401 or 403 for this request is sent as a close code after a 101. */
  closesRejections(req: IncomingMessage): boolean;
}

/** The handler an adapter passes to `accept`. */
export type SocketHandler = (socket: WebSocket, context: AuthContext) => void;

type State = 'running' | 'accepting' | 'done';

/**
 * One upgrade request on its way through the app's chain. It owns the raw socket until the
 * chain accepts (the socket goes to ws) or rejects (the socket is closed after the response).
 */
export class Handshake {
  readonly req: IncomingMessage;
  readonly socket: Socket;
  readonly startedAt = performance.now();
  /** The subprotocol the 101 echoes, chosen before the chain runs. */
  protocol: string | undefined;
  /** The credential a carrier step (subprotocol token, ticket) found, if any. */
  credential: CarriedCredential | undefined;

  readonly #host: HandshakeHost;
  readonly #response: SocketResponse;
  #head: Buffer;
  #state: State = 'running';
  #timer: NodeJS.Timeout | undefined;
  #closesRejections = false;

  constructor(host: HandshakeHost, req: IncomingMessage, socket: Socket, head: Buffer) {
    this.req = req;
    this.socket = socket;
    this.#host = host;
    this.#head = head;
    const closes = host.closesRejections(req);
    this.#response = createSocketResponse(
      req,
      socket,
      host.rewriteRedirects,
      closes ? (status) => this.#closeRejected(status, ErrorCodes.CHAIN_REJECTED) : undefined,
    );
    this.#closesRejections = closes;
    this.#watch();
  }

  /** The socket-bound response the framework chain writes to. */
  get res(): ServerResponse {
    return this.#response.res;
  }

  /** True once the handshake is accepted, rejected or aborted. */
  get settled(): boolean {
    return this.#state === 'done';
  }

  /**
   * Accepts the handshake: finishes the response so that session saves and cookies complete,
   * writes the 101 with the headers the chain set, and calls `handler` with the socket.
   */
  accept(input: AcceptInput, handler: SocketHandler): void {
    if (this.#state !== 'running') {
      throw new WsAuthError(ErrorCodes.ALREADY_SETTLED, 'The handshake was already settled.');
    }
    // A ticket is bound to its user: a session or key of someone else in the chain must not
    // turn it into that person's socket.
    const carried = this.credential;
    if (carried?.kind === 'ticket' && input.userId !== carried.userId) {
      this.reject(
        rejection(401, ErrorCodes.TICKET_REJECTED, 'The ticket belongs to another user.'),
      );
      return;
    }
    this.#state = 'accepting';
    this.#response.capture().then(
      (headers) => this.#upgrade(input, handler, headers),
      (error: unknown) => this.fail(error),
    );
  }

  /** Rejects the handshake with a response written by wsauth. */
  reject(rejected: Rejection): void {
    if (this.#closeRejected(rejected.status, rejected.code)) {
      return;
    }
    if (this.#finish()) {
      this.#response.detach();
      writeRejection(this.socket, rejected);
      this.#host.settled(this, { kind: 'reject', status: rejected.status, code: rejected.code });
    }
  }

  /** Rejects the handshake with 500 because of an error the chain did not handle. */
  fail(error: unknown): void {
    if (this.#state === 'done') {
      return;
    }
    this.#host.failed(this, error);
    this.reject(rejection(500, ErrorCodes.UPGRADE_FAILED, 'Internal Server Error'));
  }

  // Close mode: complete the upgrade without the chain's headers and close with 4401 or 4403.
  #closeRejected(status: number, code: ErrorCode): boolean {
    if (!this.#closesRejections || !isCloseModeStatus(status) || !this.#finish()) {
      return false;
    }
    this.#response.detach();

    // The chain may be inside `res.end()`, which corked the socket before the status reached
    // writeHead and uncorks only a socket still attached. So the 101 waits for that call to return.
    const upgrading = Promise.resolve().then(() => {
      while (this.socket.writableCorked > 0) {
        this.socket.uncork();
      }
      return this.#host.upgrade(this, this.#head, []);
    });
    upgrading.then(
      (socket) => {
        this.socket.off('error', this.#onAbort);
        closeRejected(socket, status, code);
        this.#host.settled(this, { kind: 'reject', status, code });
      },
      (error: unknown) => {
        this.#host.failed(this, error);
        this.socket.destroy();
        this.#host.settled(this, { kind: 'abort' });
      },
    );
    return true;
  }

  #upgrade(input: AcceptInput, handler: SocketHandler, headers: string[]): void {
    if (this.#state !== 'accepting') {
      return;
    }
    this.#response.detach();
    const head = this.#head;
    this.#state = 'done';
    this.#stopWatching();

    let socket: WebSocket;
    try {
      socket = this.#host.upgrade(this, head, headers);
    } catch (error) {
      this.#host.failed(this, error);
      this.socket.destroy();
      this.#host.settled(this, { kind: 'abort' });
      return;
    }
    this.socket.off('error', this.#onAbort);

    const context = contextFrom(input, this.protocol, this.credential);
    this.#host.settled(this, { kind: 'accept', context, socket });
    handler(socket, context);
  }

  // The socket is read while the chain runs, so that a client reset or half-close is noticed at
  // once. Bytes sent early are kept and replayed to ws.
  #watch(): void {
    this.socket.on('data', this.#onData);
    this.socket.on('end', this.#onAbort);
    this.socket.on('close', this.#onAbort);
    this.socket.on('error', this.#onAbort);
    this.socket.resume();
    this.#timer = setTimeout(this.#onTimeout, this.#host.authTimeoutMs);
    this.#response.res.once('finish', this.#onChainResponse);
  }

  #stopWatching(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.socket.pause();
    this.socket.off('data', this.#onData);
    this.socket.off('end', this.#onAbort);
    this.socket.off('close', this.#onAbort);
    this.#response.res.off('finish', this.#onChainResponse);
    // The error listener stays: an error while a rejection flushes must not crash the process,
    // and on the upgrade path it is removed once ws has added its own.
  }

  #finish(): boolean {
    if (this.#state === 'done') {
      return false;
    }
    this.#state = 'done';
    this.#stopWatching();
    return true;
  }

  #onData = (chunk: Buffer): void => {
    this.#head = this.#head.length === 0 ? chunk : Buffer.concat([this.#head, chunk]);
    if (this.#head.length > MAX_EARLY_BYTES) {
      this.#abort();
    }
  };

  #onAbort = (): void => {
    this.#abort();
  };

  #abort(): void {
    if (this.#finish()) {
      this.#response.detach();
      this.socket.destroy();
      this.#host.settled(this, { kind: 'abort' });
    }
  }

  #onTimeout = (): void => {
    this.reject(
      rejection(503, ErrorCodes.AUTH_TIMEOUT, 'Authentication did not finish in time.', {
        'Retry-After': '1',
      }),
    );
  };

  #onChainResponse = (): void => {
    if (this.#state !== 'running' || !this.#finish()) {
      return;
    }
    const res = this.#response.res;
    this.#response.detach();
    endAfterFlush(this.socket);
    this.#host.settled(this, {
      kind: 'reject',
      status: res.statusCode,
      code: this.#response.redirectRejected
        ? ErrorCodes.REDIRECT_REJECTED
        : ErrorCodes.CHAIN_REJECTED,
    });
  };
}

function contextFrom(
  input: AcceptInput,
  protocol: string | undefined,
  carried: CarriedCredential | undefined,
): AuthContext {
  return {
    user: input.user,
    userId: input.userId,
    // A ticket socket belongs to the session that minted the ticket, so that its logout closes
    // it. The chain saw only a request without that session's cookie.
    sessionId:
      carried?.kind === 'ticket' ? (carried.sessionId ?? input.sessionId) : input.sessionId,
    expiresAt: input.expiresAt,
    credential: carried?.kind ?? input.credential ?? 'none',
    protocol,
  };
}
