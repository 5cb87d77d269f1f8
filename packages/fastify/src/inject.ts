import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { text } from 'node:stream/consumers';
import { Server as TlsServer } from 'node:tls';
import { ErrorCodes, parseSubprotocols, WsAuthError } from '@wsauth/core';
import type { FastifyInstance, InjectWSOption } from 'fastify';
import WebSocket from 'ws';
import { MemorySocket } from './memory-socket.js';

const DEFAULT_REMOTE_ADDRESS = '127.0.0.1';

/**
 * The error `app.injectWS` rejects with when the server responds to the handshake with a status
 * other than 101. The message is the one `ws` and `@fastify/websocket` use.
 */
export class UnexpectedResponseError extends Error {
  /** The HTTP status of the response. */
  readonly statusCode: number;
  /** The response headers, with lower-case names. */
  readonly headers: IncomingHttpHeaders;
  /** The response body, decoded as UTF-8. */
  readonly body: string;

  constructor(statusCode: number, headers: IncomingHttpHeaders, body: string) {
    super(`Unexpected server response: ${statusCode}`);
    this.name = 'UnexpectedResponseError';
    this.statusCode = statusCode;
    this.headers = headers;
    this.body = body;
  }
}

/**
 * Creates `app.injectWS`. It sends a real HTTP/1.1 upgrade request from a `ws` client over an
 * in-memory connection, and the app's HTTP server parses it. So the request takes the same path
 * through the wsauth pipeline and the route's hooks as one over TCP, and no port is opened.
 */
export function createInjectWS(fastify: FastifyInstance): FastifyInstance['injectWS'] {
  const injectWS: InjectWS = async (path = '/', upgradeContext = {}, options = {}) => {
    const remoteAddress = checkRemoteAddress(options.remoteAddress);
    await fastify.ready();

    const encrypted = fastify.server instanceof TlsServer;
    const sockets = MemorySocket.pair({ remoteAddress, encrypted });
    const headers = upgradeContext.headers ?? {};
    const ws = new WebSocket(urlOf(path, encrypted), protocolsOf(headers), {
      createConnection: () => sockets.client as unknown as Socket,
      headers: requestHeaders(headers),
    });
    const opened = waitForOpen(ws, options);

    try {
      options.onInit?.(ws);
    } catch (error) {
      opened.catch(() => undefined);
      ws.terminate();
      sockets.server.destroy();
      throw error;
    }

    // An HTTPS server parses HTTP in its 'secureConnection' listener, after the TLS handshake.
    fastify.server.emit(encrypted ? 'secureConnection' : 'connection', sockets.server);
    return opened;
  };
  // @fastify/websocket's CommonJS types name ws's CommonJS declaration, which TypeScript keeps
  // apart from the ES module one imported here, although both describe the same class.
  return injectWS as unknown as FastifyInstance['injectWS'];
}

type InjectWS = (
  path?: string,
  upgradeContext?: { headers?: IncomingHttpHeaders },
  options?: InjectWSOption,
) => Promise<WebSocket>;

function checkRemoteAddress(address: string | undefined): string {
  if (address === undefined) {
    return DEFAULT_REMOTE_ADDRESS;
  }
  if (isIP(address) === 0) {
    throw new WsAuthError(
      ErrorCodes.INVALID_OPTION,
      `Invalid injectWS option "remoteAddress": received ${JSON.stringify(address)}, expected ` +
        'an IPv4 or IPv6 address.',
    );
  }
  return address;
}

// `ws://localhost` + path rather than `new URL(path, base)`, so that a path such as `//a` stays
// a path instead of naming a host.
function urlOf(path: string, encrypted: boolean): string {
  const scheme = encrypted ? 'wss' : 'ws';
  return `${scheme}://localhost${path.startsWith('/') ? '' : '/'}${path}`;
}

// The `ws` client sends the subprotocols it is given and checks the one the 101 echoes, so an
// offer in the headers goes through its `protocols` argument. A malformed offer is passed whole,
// and the client rejects it as an invalid subprotocol.
function protocolsOf(headers: IncomingHttpHeaders): string[] {
  const offer = headers['sec-websocket-protocol'];
  if (offer === undefined) {
    return [];
  }
  return parseSubprotocols(offer) ?? [offer];
}

function requestHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && name.toLowerCase() !== 'sec-websocket-protocol') {
      result[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return result;
}

/**
 * Resolves with the socket once it is open, after `options.onOpen`. Rejects with an
 * `UnexpectedResponseError` for a response other than 101, or with the client's error when the
 * connection failed.
 */
function waitForOpen(ws: WebSocket, options: InjectWSOption): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      ws.off('open', onOpen);
      reject(error);
    };
    const onOpen = (): void => {
      ws.off('error', onError);
      ws.off('unexpected-response', onUnexpectedResponse);
      try {
        options.onOpen?.(ws);
      } catch (error) {
        ws.terminate();
        reject(error);
        return;
      }
      resolve(ws);
    };
    const onUnexpectedResponse = (_request: unknown, response: IncomingMessage): void => {
      ws.off('open', onOpen);
      text(response)
        .catch(() => '')
        .then((body) => {
          reject(new UnexpectedResponseError(response.statusCode ?? 0, response.headers, body));
          ws.terminate();
        });
    };

    ws.once('open', onOpen);
    ws.once('unexpected-response', onUnexpectedResponse);
    ws.on('error', onError);
  });
}
