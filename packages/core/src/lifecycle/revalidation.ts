import { randomBytes } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { ErrorCodes, WsAuthError } from '../errors.js';
import type { AcceptInput } from '../types.js';
import type { CredentialHeaders } from './types.js';

/** The outcome of a revalidation. */
export type RevalidationOutcome =
  /** The chain reached the route's upgrade handler: the socket is still authorised. */
  | { readonly kind: 'accept'; readonly input: AcceptInput }
  /** The chain responded with a 4xx (or another non-5xx) response: the socket is revoked. */
  | { readonly kind: 'reject'; readonly status: number }
  /** The chain responded with 5xx, threw or timed out, as when a session store is down. */
  | { readonly kind: 'error'; readonly status: number | undefined; readonly error: unknown };

const revalidations = new WeakMap<IncomingMessage, Revalidation>();

/**
 * Returns the revalidation a request belongs to, or `undefined` for a real request. An
 * adapter's upgrade handler calls it when `getHandshake` finds nothing.
 */
export function getRevalidation(req: IncomingMessage): Revalidation | undefined {
  return revalidations.get(req);
}

/**
 * A synthetic upgrade request that re-runs the app's chain for an open socket. It carries only
 * the saved credential headers and the path; its response has no socket, so nothing the chain
 * writes leaves the process. The adapter dispatches `req` and `res` like a handshake, and the
 * route's upgrade handler calls `accept` instead of upgrading.
 */
export class Revalidation {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Settles once the chain accepted, responded, failed or ran out of time. */
  readonly outcome: Promise<RevalidationOutcome>;
  /**
   * True when the lifecycle's `touch` option is on: after `accept`, the adapter finishes the
   * response through the framework so that session middleware touches or saves the session.
   * When false it must not, so that an open socket does not keep its session alive.
   */
  readonly touch: boolean;

  #resolve!: (outcome: RevalidationOutcome) => void;
  #timer: NodeJS.Timeout | undefined;
  #settled = false;

  constructor(headers: CredentialHeaders, path: string, touch: boolean, timeoutMs: number) {
    this.touch = touch;
    this.outcome = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    this.req = syntheticRequest(headers, path);
    this.res = new ServerResponse(this.req);
    this.#watchResponse();
    revalidations.set(this.req, this);

    this.#timer = setTimeout(() => {
      const error = new WsAuthError(
        ErrorCodes.REVALIDATION_TIMEOUT,
        `The app's chain did not decide a revalidation within ${timeoutMs} ms.`,
      );
      this.#settle({ kind: 'error', status: undefined, error });
    }, timeoutMs);
  }

  /** True once the outcome is decided. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Records that the route's upgrade handler was reached with the given auth context. */
  accept(input: AcceptInput): void {
    this.#settle({ kind: 'accept', input });
  }

  /** Records that the chain rejected the request with `status`. */
  reject(status: number): void {
    this.#settle(
      status >= 500 ? { kind: 'error', status, error: undefined } : { kind: 'reject', status },
    );
  }

  /** Records an error the chain did not handle. */
  fail(error: unknown): void {
    this.#settle({ kind: 'error', status: undefined, error });
  }

  // Whatever the chain writes starts with writeHead, called directly or by end().
  #watchResponse(): void {
    const res = this.res;
    const writeHead = res.writeHead;
    res.writeHead = ((statusCode: number, ...rest: unknown[]) => {
      if (!this.#settled) {
        this.reject(statusCode);
      }
      return (writeHead as (...args: unknown[]) => ServerResponse).call(res, statusCode, ...rest);
    }) as ServerResponse['writeHead'];
  }

  #settle(outcome: RevalidationOutcome): boolean {
    if (this.#settled) {
      return false;
    }
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    revalidations.delete(this.req);
    this.#resolve(outcome);
    return true;
  }
}

// The request looks like a WebSocket handshake to the framework, so that upgrade routes match,
// but carries nothing of the original request besides the credential headers and the path.
function syntheticRequest(headers: CredentialHeaders, path: string): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = path;
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.headers = {
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': randomBytes(16).toString('base64'),
    ...headers,
  };
  req.rawHeaders = Object.entries(req.headers).flatMap(([name, value]) => [name, String(value)]);
  req.push(null);
  req.complete = true;
  return req;
}
