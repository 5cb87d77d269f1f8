import diagnosticsChannel from 'node:diagnostics_channel';
import net from 'node:net';
import { channelNames, type HandshakeEvent, WsAuthError } from '@wsauth/core';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createWsAuth } from '../src/index.js';
import { login, startApp, type TestApp, versions } from './app.js';
import { header, sendRaw, upgradeRequest } from './wire.js';

let app: TestApp;

afterEach(async () => {
  await app?.close();
});

describe('handshake shape', () => {
  it('POST upgrade gets 405 before any middleware', async () => {
    app = await startApp(express);
    const before = app.probe.middlewareCalls;
    const response = await sendRaw(app.port, upgradeRequest('/ws', {}, 'POST'));
    expect(response.status).toBe(405);
    expect(header(response, 'allow')).toBe('GET');
    expect(app.probe.middlewareCalls).toBe(before);
  });

  it('HTTP/1.0 or no Host gets 400', async () => {
    app = await startApp(express);
    const http10 = await sendRaw(
      app.port,
      upgradeRequest('/ws').replace(' HTTP/1.1\r\n', ' HTTP/1.0\r\n'),
    );
    const hostless = await sendRaw(app.port, upgradeRequest('/ws', { Host: undefined }));

    expect(http10.status).toBe(400);
    expect(http10.body).toContain('need HTTP/1.1, not HTTP/1.0');
    expect(hostless.status).toBe(400);
    expect(hostless.body).toContain('Host header');
    expect(app.probe.middlewareCalls).toBe(0);
  });

  it('HTTP/2.0 or a bad Host gets 400', async () => {
    app = await startApp(express);
    const http20 = await sendRaw(
      app.port,
      upgradeRequest('/ws').replace(' HTTP/1.1\r\n', ' HTTP/2.0\r\n'),
    );
    expect(http20.status).toBe(400);

    const twoHosts = upgradeRequest('/ws').replace(
      'Host: 127.0.0.1\r\n',
      'Host: 127.0.0.1\r\nHost: evil.example\r\n',
    );
    const repeated = await sendRaw(app.port, twoHosts);
    expect(repeated.status).toBe(400);
    expect(repeated.body).toContain('more than one Host header');

    for (const host of ['foo bar', 'http://x/', 'a@b', 'x'.repeat(300), '127.0.0.1:99999']) {
      const response = await sendRaw(app.port, upgradeRequest('/ws', { Host: host }));
      expect(response.status, host).toBe(400);
    }
    expect(app.probe.middlewareCalls).toBe(0);
  });

  it('valid Host forms pass the shape check', async () => {
    app = await startApp(express);
    for (const host of ['[::1]:8080', 'example.com', 'localhost:65535', '127.0.0.1', 'a:']) {
      const response = await sendRaw(app.port, upgradeRequest('/ws', { Host: host }));
      expect(response.status, host).not.toBe(400);
    }
  });

  it('missing or malformed key gets 400', async () => {
    app = await startApp(express);
    for (const key of [undefined, 'short', 'dGhlIHNhbXBsZSBub25jZQ', '!!!!!!!!!!!!!!!!!!!!!!==']) {
      const response = await sendRaw(app.port, upgradeRequest('/ws', { 'Sec-WebSocket-Key': key }));
      expect(response.status, String(key)).toBe(400);
    }
    expect(app.probe.middlewareCalls).toBe(0);
  });

  it('version 12 gets 426 naming version 13', async () => {
    app = await startApp(express);
    const response = await sendRaw(
      app.port,
      upgradeRequest('/ws', { 'Sec-WebSocket-Version': '12' }),
    );
    expect(response.status).toBe(426);
    expect(header(response, 'sec-websocket-version')).toBe('13');
  });

  it('2,100 headers get a 4xx', async () => {
    app = await startApp(express);
    const many: Record<string, string> = {};
    for (let i = 0; i < 2100; i++) many[`X-Filler-${i}`] = 'x';
    const response = await sendRaw(app.port, upgradeRequest('/ws', many));
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
  });

  it('16 KiB protocol header of separators gets a 4xx', async () => {
    app = await startApp(express);
    // Node responds with 431 itself once the head passes its 16 KiB limit. Below it, wsauth responds with 400.
    for (const size of [8192, 4096, 2100]) {
      const value = ' ,'.repeat(size);
      const response = await sendRaw(
        app.port,
        upgradeRequest('/ws', { 'Sec-WebSocket-Protocol': value }),
      );
      expect(response.status, String(size)).toBeGreaterThanOrEqual(400);
      expect(response.status, String(size)).toBeLessThan(500);
    }
    const long = await sendRaw(
      app.port,
      upgradeRequest('/ws', { 'Sec-WebSocket-Protocol': 'a'.repeat(5000) }),
    );
    expect(long.status).toBe(400);
    expect(app.probe.middlewareCalls).toBe(0);
  });

  it('malformed protocol list gets 400', async () => {
    app = await startApp(express);
    for (const value of ['chat,,json', 'chat, chat', 'a b', 'bad"name']) {
      const response = await sendRaw(
        app.port,
        upgradeRequest('/ws', { 'Sec-WebSocket-Protocol': value }),
      );
      expect(response.status, value).toBe(400);
    }
  });
});

describe('subprotocols', () => {
  it('echoes only a declared protocol', async () => {
    app = await startApp(express, { protocols: ['chat.v2', 'chat.v1'] });
    const offered = await sendRaw(
      app.port,
      upgradeRequest('/ws', {
        'X-Api-Key': 'alice-key',
        'Sec-WebSocket-Protocol': 'other, chat.v1, chat.v2',
      }),
    );
    expect(offered.status).toBe(101);
    expect(offered.headers['sec-websocket-protocol']).toEqual(['chat.v2']);
    offered.socket.destroy();

    const none = await sendRaw(app.port, upgradeRequest('/ws', { 'X-Api-Key': 'alice-key' }));
    expect(none.headers['sec-websocket-protocol']).toBeUndefined();
    none.socket.destroy();

    const unknown = await sendRaw(
      app.port,
      upgradeRequest('/ws', { 'X-Api-Key': 'alice-key', 'Sec-WebSocket-Protocol': 'secret-value' }),
    );
    expect(unknown.status).toBe(101);
    expect(unknown.headers['sec-websocket-protocol']).toBeUndefined();
    unknown.socket.destroy();
  });
});

describe('absolute-form target', () => {
  it('routes like its origin form', async () => {
    const urls: string[] = [];
    app = await startApp(express, {}, (routes) => {
      routes.use((req, _res, next) => {
        urls.push(req.originalUrl);
        next();
      });
    });

    for (const target of ['http://127.0.0.1/ws?room=1', 'WS://127.0.0.1/ws?room=1']) {
      const response = await sendRaw(
        app.port,
        upgradeRequest(target, { 'X-Api-Key': 'alice-key' }),
      );
      expect(response.status, target).toBe(101);
      response.socket.destroy();
    }
    expect(urls).toEqual(['/ws?room=1', '/ws?room=1']);
  });

  it('unknown path gets 404', async () => {
    app = await startApp(express);
    const response = await sendRaw(app.port, upgradeRequest('http://127.0.0.1/nowhere'));

    expect(response.status).toBe(404);
  });

  it('authority unlike Host gets 400', async () => {
    app = await startApp(express);
    for (const target of ['http://evil.example/ws', 'http://user@127.0.0.1/ws']) {
      const response = await sendRaw(
        app.port,
        upgradeRequest(target, { 'X-Api-Key': 'alice-key' }),
      );
      expect(response.status, target).toBe(400);
      expect(response.body).toContain('differs from the Host header');
    }
    expect(app.probe.middlewareCalls).toBe(0);
  });
});

describe.each(versions)('client abort, $name', ({ express: factory }) => {
  it('1,000 resets during slow auth leave nothing', async () => {
    // Every client here shares one address, so the per-client pending cap is lifted. The long
    // auth deadline keeps the first handshakes pending while a busy machine opens the rest.
    app = await startApp(factory, {
      allowMissingOrigin: true,
      maxPendingPerClient: 0,
      authTimeoutMs: 40_000,
    });
    const cookie = await login(app.port);
    let releaseAuth: () => void = () => {};
    app.probe.deserializeGate = new Promise((resolve) => {
      releaseAuth = resolve;
    });
    const timersBefore = countResources('Timeout');
    const listenersBefore = app.server.listenerCount('upgrade');

    const sockets = Array.from({ length: 1000 }, () => {
      const socket = net.connect(app.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(upgradeRequest('/ws', { Cookie: cookie }));
      return socket;
    });
    await waitFor(() => app.wsauth.core.pendingHandshakes === 1000, 30_000);
    for (const [index, socket] of sockets.entries()) {
      if (index % 2 === 0) {
        socket.resetAndDestroy();
      } else {
        socket.end();
      }
    }

    await waitFor(() => app.wsauth.core.pendingHandshakes === 0);
    // Lets every deserializeUser call finish, so the chains run to their end after the aborts.
    releaseAuth();
    await waitFor(() => app.probe.deserializeDone === app.probe.deserializeCalls);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(app.probe.deserializeCalls).toBe(1000);
    expect(app.probe.handlerCalls).toBe(0);
    expect(app.probe.fallthroughCalls).toBe(0);
    expect(app.wsauth.core.wss.clients.size).toBe(0);
    expect(app.server.listenerCount('upgrade')).toBe(listenersBefore);
    expect(countResources('Timeout')).toBeLessThanOrEqual(timersBefore);
  }, 60_000);
});

describe('after the upgrade', () => {
  it('garbage bytes close with 1002', async () => {
    app = await startApp(express);
    const response = await sendRaw(app.port, upgradeRequest('/ws', { 'X-Api-Key': 'alice-key' }));
    expect(response.status).toBe(101);
    const closeFrame = new Promise<Buffer>((resolve) => {
      let data = Buffer.alloc(0);
      response.socket.on('data', (chunk) => {
        data = Buffer.concat([data, chunk]);
      });
      response.socket.on('close', () => resolve(data));
    });
    response.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    const data = Buffer.concat([response.rest, await closeFrame]);
    const closeAt = data.indexOf(0x88);
    expect(closeAt).toBeGreaterThanOrEqual(0);
    expect(data.readUInt16BE(closeAt + 2)).toBe(1002);
  });

  it('a message over maxPayload closes with 1009', async () => {
    app = await startApp(express, { maxPayload: 1024 });
    const socket = new WebSocket(`ws://127.0.0.1:${app.port}/ws`, {
      headers: { 'x-api-key': 'alice-key' },
    });
    await new Promise((resolve) => socket.once('message', resolve));
    const code = new Promise((resolve) => socket.once('close', resolve));
    socket.send('x'.repeat(2048));
    expect(await code).toBe(1009);
  });

  it('compression is off by default', async () => {
    app = await startApp(express);
    const response = await sendRaw(
      app.port,
      upgradeRequest('/ws', {
        'X-Api-Key': 'alice-key',
        'Sec-WebSocket-Extensions': 'permessage-deflate',
      }),
    );
    expect(response.status).toBe(101);
    expect(response.headers['sec-websocket-extensions']).toBeUndefined();
    response.socket.destroy();
  });
});

describe('setup', () => {
  it('rejects a ws server with its own listener', () => {
    const attached = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    try {
      expect(() => createWsAuth(express(), { wsServer: attached })).toThrow(
        expect.objectContaining({ code: 'WSAUTH_ERR_UNSAFE_WS_SERVER' }),
      );
    } finally {
      attached.close();
    }
  });

  it('rejects invalid options with their names', () => {
    const cases: [object, string][] = [
      [{ authTimeoutMs: -1 }, 'authTimeoutMs'],
      [{ allowedOrigins: ['*.example.com'] }, 'allowedOrigins'],
      [{ allowedOrigins: 'https://a.example' }, 'allowedOrigins'],
      [{ redirects: 'follow' }, 'redirects'],
      [{ maxPayload: 0 }, 'maxPayload'],
      [{ logger: { info() {} } }, 'logger.debug'],
    ];
    for (const [options, name] of cases) {
      let error: unknown;
      try {
        createWsAuth(express(), options as never);
      } catch (caught) {
        error = caught;
      }
      expect(error, name).toBeInstanceOf(WsAuthError);
      expect((error as WsAuthError).code).toBe('WSAUTH_ERR_INVALID_OPTION');
      expect((error as Error).message).toContain(`"${name}"`);
    }
  });

  it('leaves the options object unchanged', () => {
    const options = Object.freeze({
      allowedOrigins: Object.freeze(['https://a.example']),
      authTimeoutMs: 500,
    });
    expect(() => createWsAuth(express(), options)).not.toThrow();
    expect(options).toEqual({ allowedOrigins: ['https://a.example'], authTimeoutMs: 500 });
  });
});

describe('logs and events', () => {
  it('records outcomes without secrets', async () => {
    const lines: string[] = [];
    const log = (fields: Record<string, unknown>, message: string) => {
      lines.push(JSON.stringify({ ...fields, message }));
    };
    const events: HandshakeEvent[] = [];
    const onEvent = (message: unknown) => events.push(message as HandshakeEvent);
    for (const name of Object.values(channelNames)) diagnosticsChannel.subscribe(name, onEvent);

    try {
      app = await startApp(express, { logger: { debug: log, info: log, warn: log, error: log } });
      const cookie = await login(app.port);
      const sessionId = decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!;
      const origin = `http://127.0.0.1:${app.port}`;

      const accepted = await sendRaw(
        app.port,
        upgradeRequest('/ws?token=abc123', {
          Cookie: cookie,
          Origin: origin,
          Host: `127.0.0.1:${app.port}`,
        }),
      );
      expect(accepted.status).toBe(101);
      accepted.socket.destroy();
      const refused = await sendRaw(
        app.port,
        upgradeRequest('/ws', { Cookie: cookie, Origin: 'https://evil.example' }),
      );
      expect(refused.status).toBe(403);

      const all = lines.join('\n') + JSON.stringify(events);
      expect(all).not.toContain(sessionId);
      expect(all).not.toContain(cookie.split('=')[1]!);
      expect(all).not.toContain('abc123');
      expect(events.map((event) => event.outcome)).toEqual(['accept', 'reject']);
      expect(events[0]).toMatchObject({
        path: '/ws?token=[redacted]',
        userId: 'alice',
        status: 101,
        ip: '127.0.0.1',
      });
      expect(events[1]).toMatchObject({
        status: 403,
        code: 'WSAUTH_ERR_ORIGIN_REJECTED',
        origin: 'https://evil.example',
      });
      expect(lines).toHaveLength(2);
    } finally {
      for (const name of Object.values(channelNames)) diagnosticsChannel.unsubscribe(name, onEvent);
    }
  });
});

function countResources(kind: string): number {
  return process.getActiveResourcesInfo().filter((name) => name === kind).length;
}

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('event codes', () => {
  it('name redirects, aborts and header floods', async () => {
    const events: HandshakeEvent[] = [];
    const onEvent = (message: unknown) => events.push(message as HandshakeEvent);
    for (const name of Object.values(channelNames)) diagnosticsChannel.subscribe(name, onEvent);

    try {
      app = await startApp(express, { maxHeaderCount: 20 }, (routes, wsauth) => {
        routes.get(
          '/ws-redirect',
          (_req, res) => res.redirect('/login'),
          wsauth.upgrade(() => {}),
        );
        routes.get(
          '/ws-hang',
          () => {},
          wsauth.upgrade(() => {}),
        );
      });

      const redirected = await sendRaw(app.port, upgradeRequest('/ws-redirect'));
      expect(redirected.status).toBe(401);

      const many: Record<string, string> = {};
      for (let i = 0; i < 30; i++) many[`X-Filler-${i}`] = 'x';
      const flooded = await sendRaw(app.port, upgradeRequest('/ws', many));
      expect(flooded.status).toBe(431);

      const socket = net.connect(app.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(upgradeRequest('/ws-hang'));
      await waitFor(() => app.wsauth.core.pendingHandshakes === 1);
      socket.destroy();
      await waitFor(() => app.wsauth.core.pendingHandshakes === 0);

      expect(events.map((event) => event.code)).toEqual([
        'WSAUTH_ERR_REDIRECT_REJECTED',
        'WSAUTH_ERR_TOO_MANY_HEADERS',
        'WSAUTH_ERR_CLIENT_ABORTED',
      ]);
      expect(events.map((event) => event.outcome)).toEqual(['reject', 'reject', 'abort']);
    } finally {
      for (const name of Object.values(channelNames)) diagnosticsChannel.unsubscribe(name, onEvent);
    }
  });
});

describe('pipelined upgrade', () => {
  async function pipelined(
    port: number,
    upgradeHeaders: Record<string, string>,
    before = 1,
    target = '/ws',
  ): Promise<string> {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    const plain = 'GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(before);
    socket.write(`${plain}${upgradeRequest(target, upgradeHeaders)}`);
    await waitFor(() => (received.match(/HTTP\/1\.1 (101|40[01])/g) ?? []).length === before + 1);
    socket.destroy();
    return received;
  }

  it('keeps one error listener per socket', async () => {
    const listeners: number[] = [];
    app = await startApp(express, {}, (routes, wsauth) => {
      routes.get(
        '/ws',
        wsauth.upgrade((socket, req) => {
          listeners.push(req.socket.listenerCount('error'));
          socket.close();
        }),
      );
    });

    for (const before of [0, 1, 20]) {
      const received = await pipelined(app.port, {}, before);
      expect(received, String(before)).toContain('HTTP/1.1 101');
    }

    expect(listeners).toHaveLength(3);
    expect(listeners[1]).toBe(listeners[0]);
    expect(listeners[2]).toBe(listeners[0]);
  });

  it('keeps an absolute-form target while waiting', async () => {
    app = await startApp(express);
    const key = { 'X-Api-Key': 'alice-key' };

    const matching = await pipelined(app.port, key, 1, 'http://127.0.0.1/ws');
    const foreign = await pipelined(app.port, key, 1, 'http://evil.example/ws');

    expect(matching).toContain('HTTP/1.1 101');
    expect(foreign).toContain('HTTP/1.1 400');
    expect(foreign).toContain('differs from the Host header');
  });

  it('waits for the response before it', async () => {
    app = await startApp(express);
    const refused = await pipelined(app.port, {});
    const statuses = [...refused.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => match[1]);
    expect(statuses).toEqual(['401', '401']);

    const accepted = await pipelined(app.port, { 'X-Api-Key': 'alice-key' });
    const acceptedStatuses = [...accepted.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => match[1]);
    expect(acceptedStatuses).toEqual(['401', '101']);

    const health = await fetch(`http://127.0.0.1:${app.port}/api/me`);
    expect(health.status).toBe(401);
  });
});

describe('origin header forms', () => {
  it('ignores Sec-WebSocket-Origin on version 13', async () => {
    app = await startApp(express);
    const cookie = await login(app.port);
    const response = await sendRaw(
      app.port,
      upgradeRequest('/ws', {
        Cookie: cookie,
        Host: `127.0.0.1:${app.port}`,
        'Sec-WebSocket-Origin': `http://127.0.0.1:${app.port}`,
      }),
    );
    expect(response.status).toBe(403);
  });

  it('redacts query parameters without a value', async () => {
    const { redactUrl } = await import('@wsauth/core');
    expect(redactUrl('/ws?ticket%3Dsecret-value&room=1')).toBe('/ws?[redacted]&room=[redacted]');
    expect(redactUrl('/ws')).toBe('/ws');
  });

  it('redacts a fragment whole', async () => {
    const { redactUrl } = await import('@wsauth/core');
    expect(redactUrl('/ws#ticket=secret-value')).toBe('/ws#[redacted]');
    expect(redactUrl('/ws?room=1#token=secret')).toBe('/ws?room=[redacted]#[redacted]');
    expect(redactUrl('/ws?a#b?c=d')).toBe('/ws?[redacted]#[redacted]');
  });
});
