import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';

export const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** Starts the app on an ephemeral loopback port and returns its base URL. */
export async function listen(
  app: FastifyInstance,
): Promise<{ port: number; http: string; ws: string }> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { port, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` };
}

/** What a raw TCP exchange received: every byte until the server closed, and when. */
export interface RawExchange {
  readonly text: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Milliseconds from the first response byte to the close. */
  readonly closedAfterMs: number;
}

/** Writes `request` over a new TCP connection and reads until the server closes it. */
export function rawExchange(port: number, request: string, timeoutMs = 3000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let firstByteAt: number | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; received: ${Buffer.concat(chunks)}`));
    }, timeoutMs);

    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      firstByteAt ??= performance.now();
      chunks.push(chunk);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve(parseResponse(text, performance.now() - (firstByteAt ?? performance.now())));
    });
  });
}

/** Builds a WebSocket handshake request. `headers` are added after the handshake's own. */
export function handshakeRequest(
  path: string,
  headers: Record<string, string> = {},
  options: { method?: string; version?: string; key?: string } = {},
): string {
  const lines = [
    `${options.method ?? 'GET'} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: Upgrade',
    'Upgrade: websocket',
    `Sec-WebSocket-Key: ${options.key ?? WS_KEY}`,
    `Sec-WebSocket-Version: ${options.version ?? '13'}`,
  ];
  for (const [name, value] of Object.entries(headers)) {
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Sends a plain HTTP request over raw TCP with `Connection: close` and returns the exchange. */
export function rawHttp(port: number, path: string, headers: Record<string, string> = {}) {
  const lines = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) {
    lines.push(`${name}: ${value}`);
  }
  return rawExchange(port, `${lines.join('\r\n')}\r\n\r\n`);
}

function parseResponse(text: string, closedAfterMs: number): RawExchange {
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return {
    text,
    status: Number(statusLine.split(' ')[1]),
    headers,
    body: end === -1 ? '' : text.slice(end + 4),
    closedAfterMs,
  };
}

/** The outcome of a `ws` client handshake. */
export type ClientOutcome =
  | { kind: 'open'; socket: WebSocket; headers: IncomingHttpHeaders; protocol: string }
  | { kind: 'rejected'; status: number; headers: IncomingHttpHeaders; body: string };

/** Opens a WebSocket with the `ws` client and reports either the open socket or the response. */
export function connect(url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]) {
  return new Promise<ClientOutcome>((resolve, reject) => {
    const socket = new WebSocket(url, protocols, options);
    queueMessages(socket);
    let upgradeHeaders: IncomingHttpHeaders = {};
    socket.on('upgrade', (res: IncomingMessage) => {
      upgradeHeaders = res.headers;
    });
    socket.on('open', () => {
      resolve({ kind: 'open', socket, headers: upgradeHeaders, protocol: socket.protocol });
    });
    socket.on('unexpected-response', (_req, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({
          kind: 'rejected',
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        socket.terminate();
      });
    });
    socket.on('error', reject);
  });
}

interface MessageQueue {
  received: string[];
  waiting: Array<(message: string) => void>;
}

const queues = new WeakMap<WebSocket, MessageQueue>();

// A message sent by the server right after the 101 can arrive with it and be emitted before a
// test gets to add a listener, so messages are queued from the start.
/** Queues the messages of `socket` for `nextMessage`. Call it before the socket opens. */
export function queueMessages(socket: WebSocket): void {
  const queue: MessageQueue = { received: [], waiting: [] };
  queues.set(socket, queue);
  socket.on('message', (data) => {
    const waiter = queue.waiting.shift();
    if (waiter === undefined) {
      queue.received.push(String(data));
    } else {
      waiter(String(data));
    }
  });
}

/** Returns the next message on `socket` (from `connect` or `queueMessages`), parsed as JSON. */
export function nextMessage(socket: WebSocket): Promise<unknown> {
  const queue = queues.get(socket);
  if (queue === undefined) {
    throw new Error('nextMessage needs a socket opened with connect() or queueMessages()');
  }
  const ready = queue.received.shift();
  if (ready !== undefined) {
    return Promise.resolve(JSON.parse(ready));
  }
  return new Promise((resolve) => {
    queue.waiting.push((message) => resolve(JSON.parse(message)));
  });
}

/** Waits for the socket to close and returns the code and reason. */
export function closed(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) }));
  });
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
