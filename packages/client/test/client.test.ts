import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  backoffDelay,
  type FetchLike,
  resolveReconnect,
  type WebSocketConstructor,
  WsAuthClient,
  type WsAuthClientEvents,
  type WsAuthClientOptions,
} from '../src/index.js';
import { type ClientTestServer, startClientTestServer } from './server.js';

const fast = { initialDelayMs: 5, maxDelayMs: 20, jitter: 0 };

let server: ClientTestServer | undefined;
let client: WsAuthClient | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await server?.close();
  server = undefined;
});

// Node's fetch ignores `credentials`, so the test fetch adds the cookie a browser would send.
function cookieFetch(cookie: string): FetchLike {
  return (url, init) => fetch(url, { ...init, headers: { ...init.headers, Cookie: cookie } });
}

function startClient(options: Omit<WsAuthClientOptions, 'WebSocket'>): WsAuthClient {
  client = new WsAuthClient({
    ...options,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
  });
  return client;
}

function next<K extends keyof WsAuthClientEvents>(
  target: WsAuthClient,
  type: K,
): Promise<WsAuthClientEvents[K]> {
  return new Promise((resolve) => target.once(type, resolve));
}

function record(target: WsAuthClient): string[] {
  const events: string[] = [];
  for (const type of [
    'connecting',
    'open',
    'close',
    'reconnecting',
    'rejected',
    'stopped',
  ] as const) {
    target.on(type, () => events.push(type));
  }
  return events;
}

describe('WsAuthClient with a ticket', () => {
  it('connects with a fetched ticket', async () => {
    server = await startClientTestServer();
    const ws = startClient({
      url: `${server.url}/ws`,
      ticketUrl: `http://127.0.0.1:${server.port}/ticket`,
      fetch: cookieFetch('user=alice'),
    });
    const message = next(ws, 'message');
    ws.connect();

    expect(JSON.parse(String((await message).data))).toEqual({ type: 'welcome', user: 'alice' });
    expect(server.tickets).toHaveLength(1);
    expect(ws.state).toBe('open');
  });

  it('fetches a new ticket on each reconnect', async () => {
    server = await startClientTestServer();
    const ws = startClient({
      url: `${server.url}/ws/drop`,
      ticketUrl: `http://127.0.0.1:${server.port}/ticket`,
      fetch: cookieFetch('user=alice'),
      reconnect: { ...fast, maxAttempts: 2 },
    });
    const stopped = next(ws, 'stopped');
    ws.connect();

    expect(await stopped).toEqual({ reason: 'gave-up' });
    expect(server.tickets).toHaveLength(3);
    expect(new Set(server.tickets).size).toBe(3);
  });

  it('stops when the ticket endpoint answers 401', async () => {
    server = await startClientTestServer();
    const ws = startClient({
      url: `${server.url}/ws`,
      ticketUrl: `http://127.0.0.1:${server.port}/ticket`,
      fetch: cookieFetch('user=nobody'),
      reconnect: fast,
    });
    const events = record(ws);
    const rejected = next(ws, 'rejected');
    ws.connect();

    expect(await rejected).toMatchObject({ code: 4401, source: 'ticket' });
    expect(events).toEqual(['connecting', 'stopped', 'rejected']);
    expect(server.handshakes).toHaveLength(0);
  });

  it('retries when the ticket endpoint fails', async () => {
    server = await startClientTestServer();
    server.ticketStatus = 503;
    const ws = startClient({
      url: `${server.url}/ws`,
      ticketUrl: `http://127.0.0.1:${server.port}/ticket`,
      fetch: cookieFetch('user=alice'),
      reconnect: fast,
    });
    const errors: string[] = [];
    ws.on('error', ({ error }) => errors.push(error.message));
    const reconnecting = next(ws, 'reconnecting');
    ws.connect();
    await reconnecting;
    server.ticketStatus = undefined;
    await next(ws, 'open');

    expect(errors[0]).toContain('503');
    expect(server.tickets).toHaveLength(1);
  });
});

describe('WsAuthClient with a token', () => {
  it('sends the token as a subprotocol', async () => {
    server = await startClientTestServer();
    const ws = startClient({ url: `${server.url}/ws`, token: async () => 'alice-token' });
    const open = next(ws, 'open');
    const message = next(ws, 'message');
    ws.connect();

    expect(await open).toEqual({ protocol: 'wsauth' });
    expect(JSON.parse(String((await message).data))).toMatchObject({ user: 'alice' });
    expect(ws.send('hi')).toBe(true);
    expect(JSON.parse(String((await next(ws, 'message')).data))).toEqual({
      type: 'echo',
      data: 'hi',
    });
  });

  for (const [label, token] of [
    ['an empty token', ''],
    ['a token outside visible ASCII', 'caf\u00e9'],
    ['a token too long for the header', 'x'.repeat(5000)],
  ] as const) {
    it(`stops with an error on ${label} without connecting`, async () => {
      server = await startClientTestServer();
      const ws = startClient({ url: `${server.url}/ws`, token, reconnect: fast });
      const events = record(ws);
      const error = next(ws, 'error');
      ws.connect();
      const stopped = await next(ws, 'stopped');

      expect(stopped.reason).toBe('gave-up');
      expect((await error).error.message).toContain('stopped without connecting');
      expect(events).toEqual(['connecting', 'stopped']);
      expect(server.handshakes).toHaveLength(0);
    });
  }

  it('stops on 4401 without reconnecting', async () => {
    server = await startClientTestServer();
    const ws = startClient({ url: `${server.url}/ws/close`, token: 'wrong', reconnect: fast });
    const events = record(ws);
    ws.connect();
    const rejected = await next(ws, 'rejected');
    await new Promise((resolve) => setTimeout(resolve, 60));

    expect(rejected.code).toBe(4401);
    expect(rejected.source).toBe('close');
    expect(rejected.details).toMatchObject({ status: 401, code: 'WSAUTH_ERR_CHAIN_REJECTED' });
    expect(events).toEqual(['connecting', 'open', 'close', 'stopped', 'rejected']);
    expect(server.handshakes).toEqual(['/ws/close']);
    expect(ws.state).toBe('stopped');
  });

  it('stops on 4403 without reconnecting', async () => {
    server = await startClientTestServer();
    const ws = startClient({
      url: `${server.url}/ws/forbidden`,
      token: 'bob-token',
      reconnect: fast,
    });
    ws.connect();
    const rejected = await next(ws, 'rejected');
    await new Promise((resolve) => setTimeout(resolve, 60));

    expect(rejected).toMatchObject({ code: 4403, source: 'close' });
    expect(server.handshakes).toHaveLength(1);
  });

  it('stops on an HTTP 401 handshake', async () => {
    server = await startClientTestServer();
    const ws = startClient({ url: `${server.url}/ws`, token: 'wrong', reconnect: fast });
    ws.connect();
    const rejected = await next(ws, 'rejected');

    expect(rejected).toMatchObject({ code: 4401, source: 'status' });
    expect(server.handshakes).toHaveLength(1);
  });
});

describe('WsAuthClient reconnects', () => {
  it('backs off until maxAttempts and gives up', async () => {
    server = await startClientTestServer();
    const ws = startClient({
      url: `${server.url}/ws/drop`,
      token: 'alice-token',
      reconnect: { initialDelayMs: 5, maxDelayMs: 12, factor: 2, jitter: 0, maxAttempts: 3 },
    });
    const delays: number[] = [];
    ws.on('reconnecting', ({ delayMs }) => delays.push(delayMs));
    ws.connect();

    expect(await next(ws, 'stopped')).toEqual({ reason: 'gave-up' });
    expect(delays).toEqual([5, 10, 12]);
    expect(server.handshakes).toHaveLength(4);
  });

  it('starts over after a stable connection', async () => {
    server = await startClientTestServer();
    const ws = startClient({
      url: `${server.url}/ws/drop`,
      token: 'alice-token',
      reconnect: { initialDelayMs: 5, maxDelayMs: 40, jitter: 0, stableAfterMs: 0 },
    });
    const delays: number[] = [];
    ws.on('reconnecting', ({ delayMs }) => delays.push(delayMs));
    ws.connect();
    while (delays.length < 3) {
      await next(ws, 'reconnecting');
    }

    expect(delays.slice(0, 3)).toEqual([5, 5, 5]);
  });

  it('reconnects after the server restarts', async () => {
    server = await startClientTestServer();
    const ws = startClient({ url: `${server.url}/ws`, token: 'alice-token', reconnect: fast });
    ws.connect();
    await next(ws, 'open');

    const reconnecting = next(ws, 'reconnecting');
    await server.close();
    expect(await reconnecting).toMatchObject({ attempt: 1 });
  });

  it('stops reconnecting after close()', async () => {
    server = await startClientTestServer();
    const ws = startClient({
      url: `${server.url}/ws/drop`,
      token: 'alice-token',
      reconnect: { initialDelayMs: 30, maxDelayMs: 30, jitter: 0 },
    });
    ws.connect();
    await next(ws, 'reconnecting');
    ws.close();
    await new Promise((resolve) => setTimeout(resolve, 80));

    expect(ws.state).toBe('stopped');
    expect(server.handshakes).toHaveLength(1);
  });

  it('connects once with reconnect off', async () => {
    server = await startClientTestServer();
    const ws = startClient({
      url: `${server.url}/ws/drop`,
      token: 'alice-token',
      reconnect: false,
    });
    ws.connect();

    expect(await next(ws, 'stopped')).toEqual({ reason: 'gave-up' });
    expect(server.handshakes).toHaveLength(1);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap', () => {
    const options = resolveReconnect({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0 });
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, options));

    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('takes at most the jitter fraction off', () => {
    const options = resolveReconnect({ initialDelayMs: 1000, maxDelayMs: 1000, jitter: 0.5 });

    expect(backoffDelay(1, options, () => 0)).toBe(1000);
    expect(backoffDelay(1, options, () => 0.998)).toBe(501);
    expect(backoffDelay(1, options, () => 0.5)).toBe(750);
  });

  it('rejects invalid options', () => {
    expect(() => resolveReconnect({ jitter: 2 })).toThrow(/jitter/);
    expect(() => resolveReconnect({ factor: 0.5 })).toThrow(/factor/);
    expect(() => resolveReconnect({ initialDelayMs: 10, maxDelayMs: 5 })).toThrow(/maxDelayMs/);
  });
});
