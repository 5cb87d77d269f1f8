import type { Socket } from 'node:net';
import { Router } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { login, startApp, type TestApp, versions } from './app.js';
import { header, sendRaw, upgradeRequest } from './wire.js';

describe.each(versions)('$name', ({ name, express }) => {
  let app: TestApp;

  afterEach(async () => {
    await app?.close();
  });

  it('middleware 401 with WWW-Authenticate arrives as sent', async () => {
    app = await startApp(express, {}, (routes, wsauth) => {
      routes.get(
        '/ws-basic',
        (_req, res) => {
          res.set('WWW-Authenticate', 'Basic realm="chat"').status(401).send('who are you');
        },
        wsauth.upgrade(() => {}),
      );
    });
    const response = await sendRaw(app.port, upgradeRequest('/ws-basic'));
    expect(response.status).toBe(401);
    expect(header(response, 'www-authenticate')).toBe('Basic realm="chat"');
    expect(response.body).toBe('who are you');
    expect(header(response, 'connection')).toBe('close');
    expect(response.closedAfterMs).toBeLessThan(1000);
  });

  it('429 with Retry-After arrives as sent', async () => {
    app = await startApp(express, {}, (routes, wsauth) => {
      routes.get(
        '/ws-limited',
        (_req, res) => {
          res.set('Retry-After', '7').status(429).json({ error: 'slow down' });
        },
        wsauth.upgrade(() => {}),
      );
    });
    const response = await sendRaw(app.port, upgradeRequest('/ws-limited'));
    expect(response.status).toBe(429);
    expect(header(response, 'retry-after')).toBe('7');
  });

  const failures = [
    [
      'thrown error',
      () => {
        throw new Error('boom');
      },
    ],
    [
      'next(err)',
      (_req: unknown, _res: unknown, next: (e: Error) => void) => next(new Error('boom')),
    ],
  ] as const;

  for (const [label, middleware] of failures) {
    it(`${label} reaches the app error handler`, async () => {
      app = await startApp(express, {}, (routes, wsauth, probe) => {
        routes.get(
          '/ws-fail',
          middleware as never,
          wsauth.upgrade(() => {
            probe.handlerCalls++;
          }),
        );
      });
      const response = await sendRaw(app.port, upgradeRequest('/ws-fail'));
      expect(response.status).toBe(418);
      expect(JSON.parse(response.body)).toEqual({ handled: 'boom' });
      expect(app.probe.handlerCalls).toBe(0);
    });
  }

  if (name === 'Express 5') {
    it('rejected async middleware reaches the app error handler', async () => {
      app = await startApp(express, {}, (routes, wsauth) => {
        routes.get(
          '/ws-async',
          async () => {
            throw new Error('async boom');
          },
          wsauth.upgrade(() => {}),
        );
      });
      const response = await sendRaw(app.port, upgradeRequest('/ws-async'));
      expect(response.status).toBe(418);
      expect(JSON.parse(response.body)).toEqual({ handled: 'async boom' });
    });
  } else {
    it('rejected async middleware hits the auth deadline', async () => {
      // Express 4 does not catch promise rejections on any request, so the deadline responds.
      app = await startApp(express, { authTimeoutMs: 200 }, (routes, wsauth) => {
        routes.get(
          '/ws-async',
          async () => {
            await Promise.resolve();
          },
          wsauth.upgrade(() => {}),
        );
      });
      const response = await sendRaw(app.port, upgradeRequest('/ws-async'));
      expect(response.status).toBe(503);
      expect(app.wsauth.core.pendingHandshakes).toBe(0);
    });
  }

  it('redirect becomes 401 without Location', async () => {
    app = await startApp(express, {}, (routes, wsauth) => {
      routes.get(
        '/ws-redirect',
        (_req, res) => res.redirect('/login'),
        wsauth.upgrade(() => {}),
      );
    });
    const response = await sendRaw(app.port, upgradeRequest('/ws-redirect'));
    expect(response.status).toBe(401);
    expect(header(response, 'location')).toBeUndefined();
  });

  it('redirect passes when redirects are allowed', async () => {
    app = await startApp(express, { redirects: 'pass' }, (routes, wsauth) => {
      routes.get(
        '/ws-redirect',
        (_req, res) => res.redirect('/login'),
        wsauth.upgrade(() => {}),
      );
    });
    const response = await sendRaw(app.port, upgradeRequest('/ws-redirect'));
    expect(response.status).toBe(302);
    expect(header(response, 'location')).toBe('/login');
  });

  it('auth that never decides gets 503 at the deadline', async () => {
    app = await startApp(express, { authTimeoutMs: 150 }, (routes, wsauth) => {
      routes.get(
        '/ws-hang',
        () => {},
        wsauth.upgrade(() => {}),
      );
    });
    const response = await sendRaw(app.port, upgradeRequest('/ws-hang'));
    expect(response.status).toBe(503);
    expect(header(response, 'retry-after')).toBe('1');
    expect(app.wsauth.core.pendingHandshakes).toBe(0);
  });

  it('session created during the handshake sets the cookie on the 101', async () => {
    app = await startApp(express, {}, (routes, wsauth) => {
      routes.get(
        '/ws-visit',
        (req, _res, next) => {
          (req.session as unknown as { visits: number }).visits = 1;
          next();
        },
        wsauth.upgrade(() => {}),
      );
    });
    const response = await sendRaw(app.port, upgradeRequest('/ws-visit'));
    expect(response.status).toBe(101);
    const setCookie = header(response, 'set-cookie');
    expect(setCookie).toMatch(/^connect\.sid=s%3A/);
    response.socket.destroy();

    const sid = decodeURIComponent(setCookie!.split(';')[0]!.split('=')[1]!)
      .slice(2)
      .split('.')[0]!;
    const stored = await new Promise((resolve) => app.store.get(sid, (_e, s) => resolve(s)));
    expect(stored).toMatchObject({ visits: 1 });
  });

  it('drops chain writes made while preparing the 101', async () => {
    let finished = 0;
    app = await startApp(express, {}, (routes, wsauth) => {
      routes.get(
        '/ws-stray',
        (_req, res, next) => {
          // Like a compression middleware that flushes a trailer when the response ends.
          const end = res.end.bind(res) as (chunk: string) => void;
          res.end = ((): typeof res => {
            res.write('stray');
            end('trailer');
            return res;
          }) as typeof res.end;
          res.on('finish', () => {
            finished++;
          });
          next();
        },
        wsauth.upgrade((socket) => socket.send('hello')),
      );
    });
    const response = await sendRaw(app.port, upgradeRequest('/ws-stray'));
    expect(response.status).toBe(101);
    const frame = await firstBytes(response.socket, response.rest, 7);
    response.socket.destroy();
    expect(frame).toEqual(Buffer.concat([Buffer.from([0x81, 0x05]), Buffer.from('hello')]));
    expect(finished).toBe(1);
  });

  it('regenerated session on login sets a new cookie', async () => {
    app = await startApp(express, { allowMissingOrigin: true }, (routes, wsauth) => {
      routes.get(
        '/ws-regenerate',
        (req, _res, next) => {
          req.session.regenerate((error) => next(error));
        },
        wsauth.upgrade(() => {}),
      );
    });
    const cookie = await login(app.port);
    const response = await sendRaw(app.port, upgradeRequest('/ws-regenerate', { Cookie: cookie }));
    expect(response.status).toBe(101);
    response.socket.destroy();
    // A regenerated but unmodified session is not saved by express-session (saveUninitialized
    // is false), so no cookie is set. The old session is gone from the store.
    const oldSid = decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!;
    const old = await new Promise((resolve) => app.store.get(oldSid, (_e, s) => resolve(s)));
    expect(old).toBeFalsy();
  });

  it('unknown path gets 404 without running middleware', async () => {
    app = await startApp(express);
    const before = app.probe.middlewareCalls;
    const response = await sendRaw(app.port, upgradeRequest('/nothing-here'));
    expect(response.status).toBe(404);
    expect(response.closedAfterMs).toBeLessThan(1000);
    expect(app.probe.middlewareCalls).toBe(before);
  });

  it('REST-only path gets 404 on upgrade', async () => {
    app = await startApp(express);
    const response = await sendRaw(app.port, upgradeRequest('/api/me'));
    expect(response.status).toBe(404);
  });

  it('plain GET to the socket route never reaches the handler', async () => {
    app = await startApp(express);
    const response = await fetch(`http://127.0.0.1:${app.port}/ws`, {
      headers: { 'x-api-key': 'alice-key' },
    });
    expect(response.status).toBe(404);
    expect(app.probe.handlerCalls).toBe(0);
  });

  it('routes on a mounted Router upgrade', async () => {
    app = await startApp(express, {}, (routes, wsauth, probe) => {
      const router = Router();
      router.get(
        '/live/:room',
        wsauth.upgrade((socket, req) => {
          probe.handlerCalls++;
          socket.send(JSON.stringify({ room: req.params.room }));
        }),
      );
      routes.use('/chat', router);
    });
    const response = await sendRaw(app.port, upgradeRequest('/chat/live/42'));
    expect(response.status).toBe(101);
    response.socket.destroy();
    const missing = await sendRaw(app.port, upgradeRequest('/chat/other'));
    expect(missing.status).toBe(404);
  });

  it('req.ip, ips, protocol and secure match a plain GET', async () => {
    const seen: unknown[] = [];
    app = await startApp(express, {}, (routes, wsauth) => {
      const record = (req: import('express').Request) => ({
        ip: req.ip,
        ips: req.ips,
        protocol: req.protocol,
        secure: req.secure,
        hostname: req.hostname,
      });
      routes.get('/where', (req, res) => {
        res.json(record(req));
      });
      routes.get(
        '/ws-where',
        (req, _res, next) => {
          seen.push(record(req));
          next();
        },
        wsauth.upgrade(() => {}),
      );
    });
    app.app.set('trust proxy', 'loopback');
    const forwarded = {
      'X-Forwarded-For': '203.0.113.9, 127.0.0.1',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'app.example.com',
    };

    const plain = await (
      await fetch(`http://127.0.0.1:${app.port}/where`, { headers: forwarded })
    ).json();
    const response = await sendRaw(app.port, upgradeRequest('/ws-where', forwarded));
    expect(response.status).toBe(101);
    response.socket.destroy();
    expect(seen[0]).toEqual(plain);
    expect(plain).toMatchObject({ ip: '203.0.113.9', protocol: 'https', secure: true });
  });
});

/** Reads the first `count` bytes after the 101 head, starting with those already received. */
function firstBytes(socket: Socket, received: Buffer, count: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffer = received;
    const check = (): void => {
      if (buffer.length >= count) {
        socket.off('data', onData);
        resolve(buffer.subarray(0, count));
      }
    };
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      check();
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed after ${buffer.length} bytes`)));
    check();
  });
}
