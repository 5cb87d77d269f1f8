import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { login, startApp, type TestApp, unauthorized, versions } from './app.js';
import { header, sendRaw, upgradeRequest } from './wire.js';

function openSocket(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ socket: WebSocket; first: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('message', (data) => resolve({ socket, first: JSON.parse(String(data)) }));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

describe.each(versions)('$name', ({ express }) => {
  let app: TestApp;

  afterEach(async () => {
    await app?.close();
  });

  it('login then socket gets the /api/me user', async () => {
    app = await startApp(express);
    const cookie = await login(app.port);
    const origin = `http://127.0.0.1:${app.port}`;
    const me = (await (await fetch(`${origin}/api/me`, { headers: { cookie } })).json()) as {
      user: unknown;
    };

    const { socket, first } = await openSocket(`ws://127.0.0.1:${app.port}/ws`, { cookie, origin });
    expect(first).toEqual({ type: 'welcome', user: me.user });

    socket.send('hi');
    const echo = await new Promise((resolve) =>
      socket.once('message', (d) => resolve(JSON.parse(String(d)))),
    );
    expect(echo).toEqual({ type: 'echo', data: 'hi' });
    socket.close();
  });

  it('no cookie gets the /api/me 401 body', async () => {
    app = await startApp(express);
    const rest = await fetch(`http://127.0.0.1:${app.port}/api/me`);
    const restBody = await rest.text();

    const response = await sendRaw(app.port, upgradeRequest('/ws'));
    expect(response.status).toBe(401);
    expect(response.body).toBe(restBody);
    expect(JSON.parse(response.body)).toEqual(unauthorized);
    expect(header(response, 'connection')).toBe('close');
    expect(header(response, 'content-length')).toBe(String(Buffer.byteLength(restBody)));
    expect(response.closedAfterMs).toBeLessThan(1000);
    expect(app.probe.handlerCalls).toBe(0);
  });

  it('API key upgrades, wrong key gets 401', async () => {
    app = await startApp(express);
    const { socket, first } = await openSocket(`ws://127.0.0.1:${app.port}/ws`, {
      'x-api-key': 'alice-key',
    });
    expect(first).toMatchObject({ type: 'welcome', user: { id: 'alice' } });
    socket.close();

    const wrong = await sendRaw(app.port, upgradeRequest('/ws', { 'X-Api-Key': 'nope' }));
    expect(wrong.status).toBe(401);
    expect(wrong.closedAfterMs).toBeLessThan(1000);
    expect(app.probe.handlerCalls).toBe(1);
  });

  it('foreign origin with cookie gets 403 without store reads', async () => {
    app = await startApp(express);
    const cookie = await login(app.port);
    const readsBefore = app.probe.storeReads;
    const deserializeBefore = app.probe.deserializeCalls;

    const response = await sendRaw(
      app.port,
      upgradeRequest('/ws', { Cookie: cookie, Origin: 'https://evil.example' }),
    );
    expect(response.status).toBe(403);
    expect(response.closedAfterMs).toBeLessThan(1000);
    expect(app.probe.storeReads).toBe(readsBefore);
    expect(app.probe.deserializeCalls).toBe(deserializeBefore);
    expect(app.probe.handlerCalls).toBe(0);
  });

  it('origin variants are rejected exactly', async () => {
    app = await startApp(express, { allowedOrigins: ['https://app.example.com'] });
    const cookie = await login(app.port);
    const port = app.port;
    const rejected = [
      'null',
      `https://127.0.0.1:${port}`,
      `http://127.0.0.1:${port + 1}`,
      'https://app.example.com.evil.example',
      'https://evilapp.example.com',
      'http://app.example.com',
      'https://app.example.com:8443',
    ];
    for (const origin of rejected) {
      const response = await sendRaw(
        port,
        upgradeRequest('/ws', { Cookie: cookie, Origin: origin, Host: `127.0.0.1:${port}` }),
      );
      expect(response.status, origin).toBe(403);
    }

    for (const origin of ['https://app.example.com', `http://127.0.0.1:${port}`]) {
      const response = await sendRaw(
        port,
        upgradeRequest('/ws', { Cookie: cookie, Origin: origin, Host: `127.0.0.1:${port}` }),
      );
      expect(response.status, origin).toBe(101);
      response.socket.destroy();
    }
  });

  it('cookie without Origin gets 403', async () => {
    app = await startApp(express);
    const cookie = await login(app.port);
    const response = await sendRaw(app.port, upgradeRequest('/ws', { Cookie: cookie }));
    expect(response.status).toBe(403);
    expect(app.probe.handlerCalls).toBe(0);
  });

  it('cookie without Origin passes when allowed', async () => {
    app = await startApp(express, { allowMissingOrigin: true });
    const cookie = await login(app.port);
    const response = await sendRaw(app.port, upgradeRequest('/ws', { Cookie: cookie }));
    expect(response.status).toBe(101);
    response.socket.destroy();
  });

  it('version 8 Sec-WebSocket-Origin is checked', async () => {
    app = await startApp(express);
    const cookie = await login(app.port);
    const response = await sendRaw(
      app.port,
      upgradeRequest('/ws', {
        Cookie: cookie,
        'Sec-WebSocket-Version': '8',
        'Sec-WebSocket-Origin': 'https://evil.example',
      }),
    );
    expect(response.status).toBe(403);
  });

  it('API key without Origin is judged by the key', async () => {
    app = await startApp(express);
    const response = await sendRaw(app.port, upgradeRequest('/ws', { 'X-Api-Key': 'alice-key' }));
    expect(response.status).toBe(101);
    response.socket.destroy();
  });

  it('trusted proxy origin uses forwarded scheme and host', async () => {
    app = await startApp(express);
    app.app.set('trust proxy', 'loopback');
    const cookie = await login(app.port);
    const forwarded = {
      Cookie: cookie,
      Origin: 'https://app.example.com',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'app.example.com',
    };
    const accepted = await sendRaw(app.port, upgradeRequest('/ws', forwarded));
    expect(accepted.status).toBe(101);
    accepted.socket.destroy();

    app.app.set('trust proxy', false);
    const ignored = await sendRaw(app.port, upgradeRequest('/ws', forwarded));
    expect(ignored.status).toBe(403);
  });
});
