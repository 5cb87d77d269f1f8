import diagnosticsChannel from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type { WebSocket } from 'ws';
import {
  type AuthContext,
  channelNames,
  type Handshake,
  type WsAuthLogger,
  type WsAuthOptions,
  WsAuthServer,
} from '../src/index.js';

export interface TestUser {
  id: string;
  name: string;
}

export const users: Record<string, TestUser> = {
  'alice-token': { id: 'alice', name: 'Alice' },
  'bob-token': { id: 'bob', name: 'Bob' },
};

/** What the test chain saw for one handshake. */
export interface SeenRequest {
  url: string | undefined;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
}

export interface TestServer {
  port: number;
  core: WsAuthServer;
  seen: SeenRequest[];
  accepted: AuthContext[];
  close(): Promise<void>;
}

/**
 * Starts an HTTP server whose WebSocket chain behaves like an adapter with a bearer guard: a
 * ticket user is taken as the user, else `Authorization: Bearer <key>` or a `user=<key>` cookie
 * is looked up in `users`.
 * `X-Status` makes the chain respond with that status instead.
 */
export async function startServer(options: WsAuthOptions = {}): Promise<TestServer> {
  const core = new WsAuthServer(options);
  const seen: SeenRequest[] = [];
  const accepted: AuthContext[] = [];
  const server: Server = createServer((_req, res) => res.writeHead(404).end());

  core.attach(server, {
    matches: (req) => req.url?.startsWith('/ws') === true,
    dispatch: (handshake) => runChain(handshake, seen, accepted),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as AddressInfo).port,
    core,
    seen,
    accepted,
    close: async () => {
      server.closeAllConnections();
      await core.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function runChain(handshake: Handshake, seen: SeenRequest[], accepted: AuthContext[]): void {
  const { req, res } = handshake;
  seen.push({ url: req.url, headers: { ...req.headers }, rawHeaders: [...req.rawHeaders] });

  const forced = req.headers['x-status'];
  if (typeof forced === 'string') {
    const status = Number(forced);
    if (req.headers['x-implicit-head'] !== undefined) {
      // Express's res.json() and Koa respond this way: the status is set and end() writes the head.
      res.statusCode = status;
      res.end('{"error":"forced"}');
      return;
    }
    const location = status >= 300 && status < 400 ? { Location: '/login' } : {};
    res.writeHead(status, { 'Content-Type': 'application/json', ...location });
    res.end('{"error":"forced"}');
    return;
  }

  const carried = handshake.credential;
  // A `user=<token>` cookie stands for a session cookie of that user.
  const cookieToken = /(?:^|;\s*)user=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  const bearer = req.headers.authorization?.replace(/^Bearer /, '') ?? cookieToken;
  const user = bearer === undefined ? undefined : users[bearer];
  const ticketUser = carried?.kind === 'ticket' ? (carried.user as TestUser) : undefined;
  const chosen = user ?? ticketUser;
  if (chosen === undefined) {
    res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer' });
    res.end('{"error":"unauthorized"}');
    return;
  }

  handshake.accept({ user: chosen, userId: chosen.id, credential: 'bearer' }, (socket, ctx) => {
    accepted.push(ctx);
    socket.send(JSON.stringify({ type: 'welcome', user: chosen.id }));
  });
}

/** The parsed response to a raw handshake. */
export interface RawResponse {
  status: number;
  headers: Record<string, string[]>;
  text: string;
}

/** Sends a handshake over a raw TCP socket and returns the response head and any early bytes. */
export function rawHandshake(
  port: number,
  headers: Record<string, string>,
  path = '/ws',
): Promise<RawResponse> {
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];

  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const finish = (): void => {
      socket.destroy();
      resolve(parseResponse(text));
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n')) {
        setTimeout(finish, 50);
      }
    });
    socket.on('end', finish);
    socket.on('error', reject);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

function parseResponse(text: string): RawResponse {
  const [head = ''] = text.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers: Record<string, string[]> = {};
  for (const line of headerLines) {
    const separator = line.indexOf(':');
    const name = line.slice(0, separator).toLowerCase();
    headers[name] = [...(headers[name] ?? []), line.slice(separator + 1).trim()];
  }
  return { status: Number(statusLine.split(' ')[1]), headers, text };
}

/** Creates a logger that records every call, for asserting what reaches logs. */
export function captureLogger(): { logger: WsAuthLogger; lines: string[] } {
  const lines: string[] = [];
  const record =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push(JSON.stringify({ level, message, fields }, errorReplacer));
    };
  return {
    lines,
    logger: {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    },
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { message: value.message, stack: value.stack } : value;
}

/** Collects every diagnostics_channel event wsauth publishes until `stop` is called. */
export function captureDiagnostics(): { events: string[]; stop(): void } {
  const events: string[] = [];
  const listener = (message: unknown): void => {
    events.push(JSON.stringify(message));
  };
  const names = Object.values(channelNames);
  for (const name of names) {
    diagnosticsChannel.subscribe(name, listener);
  }
  return {
    events,
    stop: () => {
      for (const name of names) {
        diagnosticsChannel.unsubscribe(name, listener);
      }
    },
  };
}

/** Resolves with the code and reason a ws client's socket closes with. */
export function closeOf(
  socket: WebSocket,
): Promise<{ code: number; reason: string; opened: boolean }> {
  let opened = false;
  socket.on('open', () => {
    opened = true;
  });
  return new Promise((resolve, reject) => {
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString(), opened }));
    socket.on('error', reject);
  });
}

/** Resolves with the first text message a ws client receives. */
export function firstMessage(socket: WebSocket): Promise<unknown> {
  return new Promise((resolve, reject) => {
    socket.on('message', (data) => resolve(JSON.parse(data.toString())));
    socket.on('error', reject);
  });
}

/** Encodes a token the way clients put it into the subprotocol carrier. */
export function bearerProtocol(token: string): string {
  return `wsauth.bearer.${Buffer.from(token).toString('base64url')}`;
}

/** Waits until `check` is true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error('Condition not met in time');
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
