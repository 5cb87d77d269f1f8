import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readConfig } from '@wsauth/demo-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { expectQuietBadJson } from '../../demo-kit/testing/client-errors.js';
import { buildApp, type ExpressDemo } from '../src/app.js';

let demo: ExpressDemo;
let server: Server;
let base: string;

beforeEach(async () => {
  demo = buildApp(readConfig({ SESSION_SECRET: 'contract-test-secret' }));
  server = await demo.listen(0, '127.0.0.1');
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await demo.wsauth.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
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

interface Rejected {
  status: number;
  body: string;
}

function connect(
  headers: Record<string, string>,
): Promise<{ socket: WebSocket; welcome: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${base}/ws`, { headers });
    socket.once('message', (data) => resolve({ socket, welcome: JSON.parse(String(data)) }));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () =>
        reject({ status: response.statusCode ?? 0, body } satisfies Rejected),
      );
    });
    socket.once('error', reject);
  });
}

describe('Express demo contract', () => {
  it('malformed JSON gets a quiet 400', async () => {
    await expectQuietBadJson(`http://${base}`);
  });

  it('serves the page', async () => {
    const response = await fetch(`http://${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
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

    const wrong = await fetch(`http://${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'nope' }),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toContain('application/json');
  });

  it('session cookie opens a socket that welcomes and echoes', async () => {
    const cookie = await loginCookie();
    const me = await fetch(`http://${base}/api/me`, { headers: { cookie } });
    expect(await me.json()).toEqual({ user: { id: 'alice', name: 'Alice' } });

    const { socket, welcome } = await connect({ cookie, origin: `http://${base}` });
    expect(welcome).toEqual({ type: 'welcome', user: { id: 'alice', name: 'Alice' } });
    socket.send('hello');
    const echo = await new Promise((resolve) =>
      socket.once('message', (data) => resolve(JSON.parse(String(data)))),
    );
    expect(echo).toEqual({ type: 'echo', data: 'hello' });
    socket.close();
  });

  it('API key in X-Api-Key or Bearer works on both routes', async () => {
    const variants: Record<string, string>[] = [
      { 'x-api-key': 'bob-api-key' },
      { authorization: 'Bearer bob-api-key' },
    ];
    for (const headers of variants) {
      const me = await fetch(`http://${base}/api/me`, { headers });
      expect(await me.json()).toEqual({ user: { id: 'bob', name: 'Bob' } });
      const { socket, welcome } = await connect(headers);
      expect(welcome).toEqual({ type: 'welcome', user: { id: 'bob', name: 'Bob' } });
      socket.close();
    }
  });

  it('unauthenticated socket gets the /api/me 401 byte for byte', async () => {
    const rest = await fetch(`http://${base}/api/me`, { headers: { 'x-api-key': 'wrong' } });
    const restBody = await rest.text();
    expect(rest.status).toBe(401);

    const variants: Record<string, string>[] = [{}, { 'x-api-key': 'wrong' }];
    for (const headers of variants) {
      const rejected = (await connect(headers).catch((error: unknown) => error)) as Rejected;
      expect(rejected.status).toBe(401);
      expect(rejected.body).toBe(restBody);
    }
  });

  it('cookie from a foreign origin gets 403', async () => {
    const cookie = await loginCookie();
    const rejected = (await connect({ cookie, origin: 'http://127.0.0.1:1' }).catch(
      (error: unknown) => error,
    )) as Rejected;
    expect(rejected.status).toBe(403);
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
