import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { connect, type Socket } from 'node:net';
import Koa3 from 'koa';
import Koa2 from 'koa2';
import WebSocket from 'ws';

export type KoaClass = typeof Koa3;

/** Koa 3 and Koa 2, so every suite runs against both majors. */
export const koaVersions: readonly [string, KoaClass][] = [
  ['Koa 3', Koa3],
  ['Koa 2', Koa2],
];

const cleanups: (() => Promise<void> | void)[] = [];

/** Registers a cleanup step that `runCleanups` runs, last registered first. */
export function onCleanup(step: () => Promise<void> | void): void {
  cleanups.push(step);
}

/** Runs every registered cleanup step and empties the list. */
export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    await cleanups.pop()?.();
  }
}

/** Starts `app` on 127.0.0.1 with a random port and closes it at cleanup. */
export async function listen(
  app: { callback(): RequestListener },
  options: ServerOptions = {},
): Promise<{ server: Server; port: number; origin: string }> {
  const server = createServer(options, app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('server has no TCP address');
  }
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { server, port: address.port, origin: `http://127.0.0.1:${address.port}` };
}

/** A parsed HTTP response read from a raw socket. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
  /** True when the server closed the TCP connection after the response. */
  closed: boolean;
  socket: Socket;
}

/** Headers of a valid version 13 handshake for `port`. */
export function handshakeHeaders(port: number): Record<string, string> {
  return {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
  };
}

/** Writes a raw request and returns the client socket without reading; destroyed at cleanup. */
export function sendRequest(
  port: number,
  path: string,
  headers: Record<string, string | undefined>,
  method = 'GET',
): Socket {
  const socket = connect(port, '127.0.0.1');
  onCleanup(() => {
    socket.destroy();
  });
  socket.on('error', () => {});
  socket.write(requestText(method, path, headers));
  return socket;
}

function requestText(
  method: string,
  path: string,
  headers: Record<string, string | undefined>,
): string {
  const lines = [`${method} ${path} HTTP/1.1`];
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) {
      lines.push(`${name}: ${value}`);
    }
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Sends a raw request and reads the response. A 101 resolves once its headers are read, and the
 * socket stays open. Any other status resolves when the server closes the connection, or after
 * `waitMs` with `closed: false`.
 */
export function rawRequest(
  port: number,
  path: string,
  headers: Record<string, string | undefined>,
  { method = 'GET', waitMs = 1000 }: { method?: string; waitMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    onCleanup(() => {
      socket.destroy();
    });
    let data = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      try {
        resolve({ ...parseResponse(data), closed, socket });
      } catch (error) {
        reject(error);
      }
    };

    socket.setEncoding('latin1');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.startsWith('HTTP/1.1 101') && data.includes('\r\n\r\n')) {
        socket.removeAllListeners('close');
        finish(false);
      }
    });
    socket.on('close', () => finish(true));
    socket.write(requestText(method, path, headers));
    timer = setTimeout(() => {
      socket.removeAllListeners('close');
      finish(false);
    }, waitMs);
  });
}

function parseResponse(data: string): Omit<RawResponse, 'closed' | 'socket'> {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) {
    return { status: 0, headers: {}, body: '' };
  }
  const [statusLine = '', ...headerLines] = data.slice(0, end).split('\r\n');
  const headers: Record<string, string | string[]> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers[name];
    headers[name] =
      previous === undefined
        ? value
        : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: data.slice(end + 4) };
}

interface MessageQueue {
  messages: unknown[];
  waiting: ((message: unknown) => void)[];
}

const queues = new WeakMap<WebSocket, MessageQueue>();

/**
 * Opens a `ws` client and resolves once it is open; it is terminated at cleanup. Messages are
 * queued from the start, because a message sent right after the 101 can arrive with it.
 */
export function openSocket(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    const queue: MessageQueue = { messages: [], waiting: [] };
    queues.set(socket, queue);
    onCleanup(() => {
      socket.terminate();
    });

    socket.on('message', (data) => {
      const message: unknown = JSON.parse(String(data));
      const waiter = queue.waiting.shift();
      if (waiter === undefined) {
        queue.messages.push(message);
      } else {
        waiter(message);
      }
    });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => {
      reject(new Error(`unexpected response ${res.statusCode}`));
    });
  });
}

/** Resolves with the next message of a socket from `openSocket`, parsed as JSON. */
export function nextMessage(socket: WebSocket): Promise<unknown> {
  const queue = queues.get(socket);
  if (queue === undefined) {
    throw new Error('nextMessage needs a socket opened by openSocket');
  }
  if (queue.messages.length > 0) {
    return Promise.resolve(queue.messages.shift());
  }
  return new Promise((resolve) => queue.waiting.push(resolve));
}

/** Waits `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A koa-session external store over a Map that counts every call. */
export class CountingStore {
  readonly sessions = new Map<string, unknown>();
  reads = 0;
  writes = 0;

  async get(key: string): Promise<unknown> {
    this.reads++;
    return this.sessions.get(key);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.writes++;
    this.sessions.set(key, value);
  }

  async destroy(key: string): Promise<void> {
    this.sessions.delete(key);
  }
}

/** Returns the cookie pairs (`name=value`) of every Set-Cookie header. */
export function cookiePairs(setCookie: string | string[] | undefined): string {
  const list = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
  return list.map((cookie) => cookie.split(';')[0]).join('; ');
}
