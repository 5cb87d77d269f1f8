import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readConfig } from '@wsauth/demo-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { expectQuietBadJson } from '../../demo-kit/testing/client-errors.js';
import { buildApp, type KoaDemo } from '../src/app.js';

let demo: KoaDemo;
let server: Server;
let host: string;
let origin: string;

beforeEach(async () => {
  demo = buildApp(readConfig({ SESSION_SECRET: 'contract-test-secret' }));
  server = await demo.listen(0, '127.0.0.1');
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  origin = `http://${host}`;
});

afterEach(async () => {
  await demo.wsauth.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function login(username = 'alice', password = 'alice-password'): Promise<string> {
  const response = await fetch(`${origin}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(response.status).toBe(200);
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0])
    .join('; ');
}

interface Opened {
  socket: WebSocket;
  welcome: unknown;
}

interface Refused {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** Opens /ws and resolves with the welcome message, or rejects with the HTTP refusal. */
function connect(headers: Record<string, string>): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${host}/ws`, { headers });
    socket.once('message', (data) => resolve({ socket, welcome: JSON.parse(String(data)) }));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => {
        const refusal: Refused = {
          status: response.statusCode ?? 0,
          contentType: response.headers['content-type'],
          body,
        };
        reject(refusal);
      });
    });
    socket.once('error', reject);
  });
}

function echo(socket: WebSocket, text: string): Promise<unknown> {
  return new Promise((resolve) => {
    socket.once('message', (data) => resolve(JSON.parse(String(data))));
    socket.send(text);
  });
}

describe('Koa demo contract', () => {
  it('malformed JSON gets a quiet 400', async () => {
    await expectQuietBadJson(origin);
  });

  it('serves the page', async () => {
    const response = await fetch(`${origin}/`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    expect(html).toContain('wsauth Koa demo');
    expect(html).toContain('<form id="login"');
  });

  it('logs in with JSON and with a form', async () => {
    const json = await fetch(`${origin}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password: 'bob-password' }),
    });
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual({ user: { id: 'bob', name: 'Bob' } });
    expect(json.headers.get('set-cookie')).toMatch(/^wsauth\.sid=/);

    const form = await fetch(`${origin}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=alice-password',
    });
    expect(form.status).toBe(200);
    expect(await form.json()).toEqual({ user: { id: 'alice', name: 'Alice' } });
  });

  it('rejects a wrong password with 401 JSON', async () => {
    const response = await fetch(`${origin}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'wrong' }),
    });

    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_credentials' });
    expect(demo.sessionStore.size).toBe(0);
  });

  it('answers /api/me for a cookie, X-Api-Key and a bearer key', async () => {
    const cookie = await login();
    const cases: [string, Record<string, string>, string][] = [
      ['cookie', { cookie }, 'alice'],
      ['X-Api-Key', { 'x-api-key': 'bob-api-key' }, 'bob'],
      ['bearer', { authorization: 'Bearer alice-api-key' }, 'alice'],
    ];

    for (const [name, headers, id] of cases) {
      const response = await fetch(`${origin}/api/me`, { headers });
      expect(response.status, name).toBe(200);
      expect(((await response.json()) as { user: { id: string } }).user.id, name).toBe(id);
    }
  });

  it('welcomes and echoes after a login', async () => {
    const cookie = await login();
    const { socket, welcome } = await connect({ cookie, origin });

    expect(welcome).toEqual({ type: 'welcome', user: { id: 'alice', name: 'Alice' } });
    expect(await echo(socket, 'hello')).toEqual({ type: 'echo', data: 'hello' });
    socket.close();
  });

  it('checks API keys like /api/me', async () => {
    const { socket, welcome } = await connect({ 'x-api-key': 'bob-api-key' });
    expect(welcome).toEqual({ type: 'welcome', user: { id: 'bob', name: 'Bob' } });
    socket.close();

    const bearer = await connect({ authorization: 'Bearer alice-api-key' });
    expect(bearer.welcome).toMatchObject({ user: { id: 'alice' } });
    bearer.socket.close();

    const rest = await fetch(`${origin}/api/me`, { headers: { 'x-api-key': 'wrong-key' } });
    const restBody = await rest.text();
    const refused = (await connect({ 'x-api-key': 'wrong-key' }).catch(
      (error: unknown) => error,
    )) as Refused;
    expect(refused.status).toBe(401);
    expect(refused.body).toBe(restBody);
    expect(refused.contentType).toBe(rest.headers.get('content-type'));
  });

  it('refuses an anonymous handshake with the /api/me 401 body', async () => {
    const rest = await fetch(`${origin}/api/me`);
    const refused = (await connect({}).catch((error: unknown) => error)) as Refused;

    expect(rest.status).toBe(401);
    expect(refused.status).toBe(401);
    expect(refused.body).toBe(await rest.text());
  });

  it('refuses a session cookie from a foreign origin with 403', async () => {
    const cookie = await login();
    const refused = (await connect({ cookie, origin: 'https://evil.example' }).catch(
      (error: unknown) => error,
    )) as Refused;

    expect(refused.status).toBe(403);
  });

  it('destroys the session on logout', async () => {
    const cookie = await login();
    expect(demo.sessionStore.size).toBe(1);

    const response = await fetch(`${origin}/logout`, { method: 'POST', headers: { cookie } });
    expect(response.status).toBe(204);
    expect(demo.sessionStore.size).toBe(0);

    const me = await fetch(`${origin}/api/me`, { headers: { cookie } });
    expect(me.status).toBe(401);
    const refused = (await connect({ cookie, origin }).catch((error: unknown) => error)) as Refused;
    expect(refused.status).toBe(401);
  });

  it('keeps the session store unchanged after anonymous handshakes', async () => {
    await login();
    const before = demo.sessionStore.size;

    const results = await Promise.all(
      Array.from({ length: 50 }, () => connect({}).catch((error: unknown) => error as Refused)),
    );

    expect(results.every((result) => (result as Refused).status === 401)).toBe(true);
    expect(demo.sessionStore.size).toBe(before);
  });
});
