import type { AddressInfo } from 'node:net';
import { MemoryStore } from '@fastify/session';
import { readConfig, unauthorizedBody } from '@wsauth/demo-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { expectQuietBadJson } from '../../demo-kit/testing/client-errors.js';
import { buildApp, type FastifyDemo } from '../src/app.js';

/** The demo's memory store, counting reads so tests can prove none happened. */
class CountingStore extends MemoryStore {
  reads = 0;
  writes = 0;

  override get(...args: Parameters<MemoryStore['get']>): void {
    this.reads++;
    super.get(...args);
  }

  override set(...args: Parameters<MemoryStore['set']>): void {
    this.writes++;
    super.set(...args);
  }
}

let demo: FastifyDemo;
let store: CountingStore;
let base: string;

beforeEach(async () => {
  store = new CountingStore();
  demo = await buildApp(readConfig({ SESSION_SECRET: 'contract-test-secret' }), {
    sessionStore: store,
  });
  await demo.app.listen({ port: 0, host: '127.0.0.1' });
  base = `127.0.0.1:${(demo.app.server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await demo.app.close();
});

async function loginCookie(username = 'alice', password = 'alice-password'): Promise<string> {
  const response = await fetch(`http://${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(response.status).toBe(200);
  return (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

interface Opened {
  socket: WebSocket;
  messages: unknown[];
  next(): Promise<unknown>;
}

interface Rejected {
  status: number;
  body: string;
  contentType: string | undefined;
}

// Messages are collected from the start: the welcome can arrive together with the 101.
function connect(headers: Record<string, string>): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${base}/ws`, { headers });
    const messages: unknown[] = [];
    const waiting: Array<(message: unknown) => void> = [];
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      const waiter = waiting.shift();
      if (waiter === undefined) {
        messages.push(message);
      } else {
        waiter(message);
      }
    });
    const next = () =>
      messages.length > 0
        ? Promise.resolve(messages.shift())
        : new Promise<unknown>((resolveMessage) => waiting.push(resolveMessage));
    socket.once('open', () => resolve({ socket, messages, next }));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () =>
        reject({
          status: response.statusCode ?? 0,
          body,
          contentType: response.headers['content-type'],
        } satisfies Rejected),
      );
    });
    socket.once('error', reject);
  });
}

describe('Fastify demo contract', () => {
  it('malformed JSON gets a quiet 400', async () => {
    await expectQuietBadJson(`http://${base}`);
  });

  it('serves the page', async () => {
    const response = await fetch(`http://${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    expect(html).toContain('wsauth Fastify demo');
    expect(html).toContain('<form id="login"');
    expect(html).toContain('id="connect"');
  });

  it('login with JSON and with a form', async () => {
    const json = await fetch(`http://${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password: 'bob-password' }),
    });
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual({ user: { id: 'bob', name: 'Bob' } });
    expect(json.headers.get('set-cookie')).toMatch(/^wsauth\.sid=/);

    const form = await fetch(`http://${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=alice-password',
    });
    expect(form.status).toBe(200);
    expect(await form.json()).toEqual({ user: { id: 'alice', name: 'Alice' } });
  });

  it('wrong password gets 401 JSON', async () => {
    const wrong = await fetch(`http://${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'nope' }),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toContain('application/json');
    expect(await wrong.json()).toMatchObject({ error: 'invalid_credentials' });
    expect(wrong.headers.get('set-cookie')).toBeNull();
  });

  it('session cookie opens a socket that welcomes and echoes', async () => {
    const cookie = await loginCookie();
    const me = await fetch(`http://${base}/api/me`, { headers: { cookie } });
    expect(await me.json()).toEqual({ user: { id: 'alice', name: 'Alice' } });

    const opened = await connect({ cookie, origin: `http://${base}` });
    expect(await opened.next()).toEqual({ type: 'welcome', user: { id: 'alice', name: 'Alice' } });
    opened.socket.send('hello');
    expect(await opened.next()).toEqual({ type: 'echo', data: 'hello' });
    opened.socket.close();
  });

  it('right API key works on both routes', async () => {
    const carriers: Record<string, string>[] = [
      { 'x-api-key': 'bob-api-key' },
      { authorization: 'Bearer bob-api-key' },
    ];
    for (const headers of carriers) {
      const me = await fetch(`http://${base}/api/me`, { headers });
      expect(await me.json()).toEqual({ user: { id: 'bob', name: 'Bob' } });

      const opened = await connect(headers);
      expect(await opened.next()).toEqual({ type: 'welcome', user: { id: 'bob', name: 'Bob' } });
      opened.socket.close();
    }
  });

  it('unauthenticated socket gets the /api/me 401 byte for byte', async () => {
    const carriers: Record<string, string>[] = [
      {},
      { 'x-api-key': 'wrong' },
      { authorization: 'Bearer wrong' },
    ];
    for (const headers of carriers) {
      const rest = await fetch(`http://${base}/api/me`, { headers });
      const restBody = await rest.text();
      expect(rest.status).toBe(401);
      expect(JSON.parse(restBody)).toEqual(unauthorizedBody);

      const rejected = (await connect(headers).catch((error: unknown) => error)) as Rejected;
      expect(rejected.status).toBe(401);
      expect(rejected.body).toBe(restBody);
      expect(rejected.contentType).toBe(rest.headers.get('content-type'));
    }
  });

  it('bad session cookies get 401 and save nothing', async () => {
    const cookie = await loginCookie();
    const [name = '', value = ''] = cookie.split('=');
    const tampered = `${name}=${value.slice(0, -2)}xx`;
    const unknown = `${name}=${encodeURIComponent('no-such-session.signature')}`;
    const writesBefore = store.writes;

    for (const badCookie of [tampered, unknown]) {
      const rejected = (await connect({ cookie: badCookie, origin: `http://${base}` }).catch(
        (error: unknown) => error,
      )) as Rejected;
      expect(rejected.status).toBe(401);
      expect(JSON.parse(rejected.body)).toEqual(unauthorizedBody);
    }
    expect(store.writes).toBe(writesBefore);
  });

  it('foreign origin gets 403 with zero store reads', async () => {
    const cookie = await loginCookie();
    const readsBefore = store.reads;

    const rejected = (await connect({ cookie, origin: 'https://evil.example' }).catch(
      (error: unknown) => error,
    )) as Rejected;

    expect(rejected.status).toBe(403);
    expect(store.reads).toBe(readsBefore);
  });

  it('logout destroys the session', async () => {
    const cookie = await loginCookie();

    const logout = await fetch(`http://${base}/logout`, { method: 'POST', headers: { cookie } });
    expect(logout.status).toBe(204);

    const me = await fetch(`http://${base}/api/me`, { headers: { cookie } });
    expect(me.status).toBe(401);
    const rejected = (await connect({ cookie, origin: `http://${base}` }).catch(
      (error: unknown) => error,
    )) as Rejected;
    expect(rejected.status).toBe(401);
  });
});
