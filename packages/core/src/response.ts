import { type IncomingMessage, type OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

// Headers that belong to the 101 itself or to a body; the chain's values for them never ride on
// the upgrade response.
const UPGRADE_OWNED_HEADERS = new Set([
  'connection',
  'content-length',
  'content-type',
  'content-encoding',
  'content-language',
  'date',
  'etag',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
]);

type WriteHead = ServerResponse['writeHead'];
type Untyped = (...args: unknown[]) => unknown;

/** A socket-bound `ServerResponse` for the framework chain, and a way to turn it into a 101. */
export interface SocketResponse {
  readonly res: ServerResponse;
  /** True while the response is being finished to collect the headers for the 101. */
  readonly capturing: boolean;
  /** True once a redirect of the chain was written as 401. */
  readonly redirectRejected: boolean;
  /**
   * Finishes the response without writing a byte, so that middleware hooked on `writeHead` and
   * `end` (session cookies, session saves) runs, and resolves with the header lines to add to
   * the 101 once every such hook has completed.
   */
  capture(): Promise<string[]>;
  /** Detaches the response from the socket so that later writes of the chain go nowhere. */
  detach(): void;
}

/**
 * Creates a real `http.ServerResponse` assigned to the upgrade socket. Whatever the chain writes
 * reaches the client as a valid HTTP response with `Connection: close`. With `rewriteRedirects`,
 * a 3xx becomes 401 without `Location`, because browsers cannot follow a handshake redirect.
 * When `divertRejection` returns true for an error status, nothing is written: the callback has
 * taken over the socket, and the rest of the response goes nowhere.
 */
export function createSocketResponse(
  req: IncomingMessage,
  socket: Socket,
  rewriteRedirects: boolean,
  divertRejection?: (status: number) => boolean,
): SocketResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);

  let capturing = false;
  let attached = true;
  let redirectRejected = false;

  const writeHead = function (this: ServerResponse, statusCode: number, ...rest: unknown[]) {
    if (capturing) {
      return this;
    }
    if (divertRejection !== undefined) {
      const isRedirect = rewriteRedirects && statusCode >= 300 && statusCode < 400;
      if (divertRejection(isRedirect ? 401 : statusCode)) {
        return this;
      }
    }
    if (rewriteRedirects && statusCode >= 300 && statusCode < 400) {
      redirectRejected = true;
      this.removeHeader('location');
      return ServerResponse.prototype.writeHead.call(this, 401, ...withoutLocation(rest));
    }
    return (ServerResponse.prototype.writeHead as (...args: unknown[]) => ServerResponse).call(
      this,
      statusCode,
      ...rest,
    );
  };
  res.writeHead = writeHead as WriteHead;

  // While capturing, nothing reaches the socket: the 101 carries the headers instead. Ending
  // here rather than in Node's `end` also spares the empty write Node makes to signal 'finish'.
  const write = function (this: ServerResponse, ...args: unknown[]) {
    return capturing ? true : (ServerResponse.prototype.write as Untyped).apply(this, args);
  };
  const end = function (this: ServerResponse, ...args: unknown[]) {
    return capturing
      ? endCaptured(this, args)
      : (ServerResponse.prototype.end as Untyped).apply(this, args);
  };
  res.write = write as ServerResponse['write'];
  res.end = end as ServerResponse['end'];

  return {
    res,
    get capturing() {
      return capturing;
    },
    get redirectRejected() {
      return redirectRejected;
    },
    capture() {
      capturing = true;
      return new Promise<string[]>((resolve, reject) => {
        res.once('finish', () => resolve(headerLines(res.getHeaders())));
        res.once('error', reject);
        res.end();
      });
    },
    detach() {
      if (attached) {
        attached = false;
        res.detachSocket(socket);
      }
    },
  };
}

// Runs the header hooks (on-headers, which sets session cookies) through `writeHead`, which does
// not write while capturing, and signals 'finish' as Node does once a response is flushed.
function endCaptured(res: ServerResponse, args: unknown[]): ServerResponse {
  if (res.writableEnded) {
    return res;
  }
  if (!res.headersSent) {
    res.writeHead(res.statusCode);
  }
  (res as { finished: boolean }).finished = true;
  const callback = args.find((arg) => typeof arg === 'function');
  if (callback !== undefined) {
    res.once('finish', callback as () => void);
  }
  process.nextTick(() => res.emit('finish'));
  return res;
}

// writeHead accepts (headers), (reason) or (reason, headers); a headers object may carry Location.
function withoutLocation(rest: unknown[]): [OutgoingHttpHeaders?] {
  const headers = rest.find((value) => typeof value === 'object' && value !== null);
  if (headers === undefined || Array.isArray(headers)) {
    return [];
  }

  const copy: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
    if (name.toLowerCase() !== 'location') {
      copy[name] = value;
    }
  }
  return [copy];
}

function headerLines(headers: OutgoingHttpHeaders): string[] {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (
      value === undefined ||
      UPGRADE_OWNED_HEADERS.has(name) ||
      name.startsWith('sec-websocket-')
    ) {
      continue;
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      lines.push(`${name}: ${item}`);
    }
  }
  return lines;
}
