import session from 'koa-session';
import { afterEach, describe, expect, it } from 'vitest';
import { createWsAuth } from '../src/index.js';
import { startFixture } from './fixture.js';
import {
  CountingStore,
  cookiePairs,
  delay,
  handshakeHeaders,
  koaVersions,
  listen,
  nextMessage,
  openSocket,
  rawRequest,
  runCleanups,
} from './helpers.js';

afterEach(runCleanups);

describe.each(koaVersions)('%s', (_name, Koa) => {
  it('accepts and echoes through an awaited ctx.ws()', async () => {
    const fixture = await startFixture(Koa);
    const socket = await openSocket(`ws://127.0.0.1:${fixture.port}/ws/echo`);

    expect(await nextMessage(socket)).toEqual({ type: 'welcome', visits: null });
    socket.send(JSON.stringify({ ping: 1 }));
    expect(await nextMessage(socket)).toEqual({ ping: 1 });
    expect(fixture.wsauth.core.pendingHandshakes).toBe(0);
  });

  it('sends ctx.throw(401) as that response', async () => {
    const fixture = await startFixture(Koa);
    const response = await rawRequest(fixture.port, '/ws/throw', handshakeHeaders(fixture.port));

    expect(response.status).toBe(401);
    expect(response.body).toBe('login required');
    expect(response.headers.connection).toBe('close');
    expect(response.headers['content-length']).toBe(String('login required'.length));
    expect(response.closed).toBe(true);
    expect(fixture.sockets).toHaveLength(0);
  });

  it('sends ctx.status = 403 with its body', async () => {
    const fixture = await startFixture(Koa);
    const response = await rawRequest(
      fixture.port,
      '/ws/forbidden',
      handshakeHeaders(fixture.port),
    );

    expect(response.status).toBe(403);
    expect(JSON.parse(response.body)).toEqual({ error: 'forbidden' });
    expect(response.closed).toBe(true);
  });

  it('turns a redirect into 401 without Location', async () => {
    const fixture = await startFixture(Koa);
    const response = await rawRequest(fixture.port, '/ws/redirect', handshakeHeaders(fixture.port));

    expect(response.status).toBe(401);
    expect(response.headers.location).toBeUndefined();
    expect(response.closed).toBe(true);
  });

  it('reports a thrown error once and sends 500', async () => {
    const fixture = await startFixture(Koa);
    const response = await rawRequest(fixture.port, '/ws/crash', handshakeHeaders(fixture.port));

    expect(response.status).toBe(500);
    expect(response.body).toBe('Internal Server Error');
    expect(response.closed).toBe(true);
    expect(fixture.appErrors).toHaveLength(1);
    expect((fixture.appErrors[0] as Error).message).toBe('database is down');
  });

  it("uses the app's error middleware", async () => {
    const fixture = await startFixture(Koa, {}, ({ app }) => {
      app.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          ctx.status = 418;
          ctx.body = { error: (error as Error).message };
          ctx.set('X-Handled', 'yes');
        }
      });
    });
    const response = await rawRequest(fixture.port, '/ws/crash', handshakeHeaders(fixture.port));

    expect(response.status).toBe(418);
    expect(response.headers['x-handled']).toBe('yes');
    expect(JSON.parse(response.body)).toEqual({ error: 'database is down' });
    expect(response.closed).toBe(true);
    expect(fixture.appErrors).toHaveLength(0);
  });

  it('sends 404 when a route neither upgrades nor responds', async () => {
    const fixture = await startFixture(Koa);

    for (const path of ['/ws/silent', '/ws/no-respond']) {
      const started = Date.now();
      const response = await rawRequest(fixture.port, path, handshakeHeaders(fixture.port));
      expect(response.status, path).toBe(404);
      expect(response.closed, path).toBe(true);
      expect(Date.now() - started, path).toBeLessThan(1000);
    }
  });

  it('sends 404 for an unknown path without running middleware', async () => {
    const fixture = await startFixture(Koa);
    const started = Date.now();
    const response = await rawRequest(fixture.port, '/nowhere', handshakeHeaders(fixture.port));

    expect(response.status).toBe(404);
    expect(response.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fixture.chainRuns).toBe(0);
  });

  it('answers a plain GET on a WebSocket route with 426', async () => {
    const fixture = await startFixture(Koa);
    const response = await fetch(`${fixture.origin}/ws/echo`);

    expect(response.status).toBe(426);
    expect(response.headers.get('upgrade')).toBe('websocket');
  });

  it('closes the socket with 1011 when the route fails after ctx.ws()', async () => {
    const fixture = await startFixture(Koa);
    const socket = await openSocket(`ws://127.0.0.1:${fixture.port}/ws/after-open-fails`);
    const code = await new Promise<number>((resolve) => socket.once('close', resolve));

    expect(code).toBe(1011);
    expect(fixture.appErrors).toHaveLength(0);
  });
});

describe.each(koaVersions)('%s sessions', (_name, Koa) => {
  it('commits a new session before the 101', async () => {
    const fixture = await startFixture(Koa);
    const response = await rawRequest(fixture.port, '/ws/session', {
      ...handshakeHeaders(fixture.port),
    });

    expect(response.status).toBe(101);
    const cookies = cookiePairs(response.headers['set-cookie']);
    expect(cookies).toMatch(/^sid=[^;]+; sid\.sig=/);
    expect(fixture.store.sessions.size).toBe(1);
    const [saved] = fixture.store.sessions.values();
    expect(saved).toMatchObject({ visits: 1 });

    const again = await openSocket(`ws://127.0.0.1:${fixture.port}/ws/session`, {
      headers: { Cookie: cookies, Origin: fixture.origin },
    });
    expect(await nextMessage(again)).toEqual({ type: 'welcome', visits: 2 });
    expect(fixture.store.sessions.size).toBe(1);
  });

  it('leaves the store unchanged after 50 anonymous handshakes', async () => {
    const fixture = await startFixture(Koa);
    const before = fixture.store.sessions.size;

    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        rawRequest(fixture.port, '/ws/throw', handshakeHeaders(fixture.port)),
      ),
    );

    expect(responses.every((response) => response.status === 401)).toBe(true);
    expect(fixture.store.sessions.size).toBe(before);
    expect(fixture.store.writes).toBe(0);
  });

  it('rejects a foreign origin with 403 before any store read', async () => {
    const fixture = await startFixture(Koa);
    const response = await rawRequest(fixture.port, '/ws/echo', {
      ...handshakeHeaders(fixture.port),
      Origin: 'https://evil.example',
      Cookie: 'sid=abc; sid.sig=def',
    });

    expect(response.status).toBe(403);
    expect(response.closed).toBe(true);
    expect(fixture.store.reads).toBe(0);
    expect(fixture.chainRuns).toBe(0);
  });

  it('rejects a cookie without Origin with 403', async () => {
    const fixture = await startFixture(Koa);
    const response = await rawRequest(fixture.port, '/ws/echo', {
      ...handshakeHeaders(fixture.port),
      Cookie: 'sid=abc; sid.sig=def',
    });

    expect(response.status).toBe(403);
    expect(fixture.store.reads).toBe(0);
    expect(fixture.chainRuns).toBe(0);
  });

  it('accepts a cookie from the same origin', async () => {
    const fixture = await startFixture(Koa);
    const socket = await openSocket(`ws://127.0.0.1:${fixture.port}/ws/echo`, {
      headers: { Cookie: 'sid=unknown; sid.sig=bad', Origin: fixture.origin },
    });

    expect(await nextMessage(socket)).toEqual({ type: 'welcome', visits: null });
  });
});

describe.each(koaVersions)('%s handshake shape', (_name, Koa) => {
  it('rejects malformed handshakes before any middleware', async () => {
    const fixture = await startFixture(Koa);
    const headers = handshakeHeaders(fixture.port);
    const cases = [
      { method: 'POST', headers, status: 405 },
      { method: 'GET', headers: { ...headers, 'Sec-WebSocket-Key': 'short' }, status: 400 },
      { method: 'GET', headers: { ...headers, 'Sec-WebSocket-Key': undefined }, status: 400 },
      { method: 'GET', headers: { ...headers, 'Sec-WebSocket-Version': '12' }, status: 426 },
      { method: 'GET', headers: { ...headers, Host: undefined }, status: 400 },
    ];

    for (const { method, headers: sent, status } of cases) {
      const response = await rawRequest(fixture.port, '/ws/echo', sent, { method });
      expect(response.status, `${method} ${JSON.stringify(sent)}`).toBe(status);
      expect(response.closed).toBe(true);
      if (status === 426) {
        expect(response.headers['sec-websocket-version']).toBe('13');
      }
    }
    expect(fixture.chainRuns).toBe(0);
  });
});

describe.each(koaVersions)('%s absolute-form target', (_name, Koa) => {
  it('routes like its origin form', async () => {
    const urls: string[] = [];
    const fixture = await startFixture(Koa, {}, ({ app }) => {
      app.use(async (ctx, next) => {
        urls.push(ctx.originalUrl);
        await next();
      });
    });
    const headers = handshakeHeaders(fixture.port);

    const response = await rawRequest(
      fixture.port,
      `http://127.0.0.1:${fixture.port}/ws/echo?room=1`,
      headers,
    );

    expect(response.status).toBe(101);
    expect(urls).toEqual(['/ws/echo?room=1']);
  });

  it('authority unlike Host gets 400', async () => {
    const fixture = await startFixture(Koa);
    const headers = handshakeHeaders(fixture.port);

    const response = await rawRequest(fixture.port, 'http://evil.example/ws/echo', headers);

    expect(response.status).toBe(400);
    expect(response.body).toContain('differs from the Host header');
    expect(fixture.chainRuns).toBe(0);
  });
});

describe.each(koaVersions)('%s server', (_name, Koa) => {
  it('keeps an upgraded socket open past requestTimeout', async () => {
    const fixture = await startFixture(Koa, {}, undefined, {
      requestTimeout: 400,
      headersTimeout: 300,
      connectionsCheckingInterval: 50,
    });
    const socket = await openSocket(`ws://127.0.0.1:${fixture.port}/ws/echo`);
    await nextMessage(socket);
    let closed = false;
    socket.once('close', () => {
      closed = true;
    });

    await delay(1200);
    expect(closed).toBe(false);
    socket.send('"still open"');
    expect(await nextMessage(socket)).toBe('still open');
  });
});

describe.each(koaVersions)('%s middleware order', (_name, Koa) => {
  it('finishes app middleware after next() before the 101', async () => {
    const fixture = await startFixture(Koa, {}, ({ app }) => {
      app.use(async (ctx, next) => {
        await next();
        ctx.set('X-After-Next', 'done');
      });
    });
    const response = await rawRequest(fixture.port, '/ws/echo', handshakeHeaders(fixture.port));

    expect(response.status).toBe(101);
    expect(response.headers['x-after-next']).toBe('done');
  });

  it('renews a rolling session cookie on the 101', async () => {
    const app = new Koa();
    app.keys = ['rolling-secret'];
    const store = new CountingStore();
    const wsauth = createWsAuth(app, { paths: ['/ws'] });
    app.use(wsauth.middleware);
    app.use(session({ key: 'sid', store, rolling: true, maxAge: 60_000 }, app));
    app.use(async (ctx) => {
      if (ctx.path === '/start') {
        if (ctx.session !== null) {
          ctx.session.started = true;
        }
        ctx.status = 204;
        return;
      }
      await ctx.ws();
    });
    const { server, port, origin } = await listen(app);
    wsauth.attach(server);

    const started = await fetch(`${origin}/start`);
    const cookie = cookiePairs(started.headers.getSetCookie());
    const writesBefore = store.writes;
    const response = await rawRequest(port, '/ws', {
      ...handshakeHeaders(port),
      Cookie: cookie,
      Origin: origin,
    });

    expect(response.status).toBe(101);
    expect(cookiePairs(response.headers['set-cookie'])).toMatch(/^sid=[^;]+; sid\.sig=/);
    expect(store.writes).toBe(writesBefore + 1);
  });
});
