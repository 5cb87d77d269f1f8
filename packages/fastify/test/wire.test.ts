import fastifyCookie from '@fastify/cookie';
import { Authenticator, Strategy } from '@fastify/passport';
import fastifySession from '@fastify/session';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { wsAuth } from '../src/index.js';
import {
  closed,
  connect,
  delay,
  handshakeRequest,
  listen,
  nextMessage,
  rawExchange,
} from './helpers.js';
import { SECRET } from './session-app.js';

const jsonBody = { error: 'unauthorized', message: 'Send a token.' };

let app: FastifyInstance | undefined;
let calls: string[] = [];

afterEach(async () => {
  await app?.close();
  app = undefined;
  calls = [];
});

/** Builds an app with wsauth and the routes of these tests, and starts it. */
async function start(setup: (instance: FastifyInstance) => void, options = {}) {
  app = Fastify();
  await app.register(wsAuth, options);
  setup(app);
  return listen(app);
}

function echoRoute(instance: FastifyInstance, path: string, hooks: object = {}) {
  instance.get(path, { websocket: true, ...hooks }, (socket) => {
    calls.push(`handler ${path}`);
    socket.send(JSON.stringify({ type: 'welcome' }));
    socket.on('message', (data) =>
      socket.send(JSON.stringify({ type: 'echo', data: String(data) })),
    );
  });
}

/** A passport strategy that always fails with a `WWW-Authenticate` challenge. */
class ChallengeStrategy extends Strategy {
  constructor() {
    super('challenge');
  }

  override authenticate(_request: FastifyRequest): void {
    this.fail('Bearer realm="wsauth-test"', 401);
  }
}

describe('hook rejections', () => {
  it('async preValidation 401 JSON arrives byte for byte', async () => {
    const urls = await start((instance) => {
      echoRoute(instance, '/ws', {
        preValidation: async (_request: FastifyRequest, reply: FastifyReply) => {
          await delay(20);
          return reply.code(401).send(jsonBody);
        },
      });
    });

    const response = await rawExchange(urls.port, handshakeRequest('/ws'));

    const body = JSON.stringify(jsonBody);
    expect(response.status).toBe(401);
    expect(response.body).toBe(body);
    expect(response.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers.connection).toBe('close');
    // Well below Fastify's keep-alive timeout of 72 s.
    expect(response.closedAfterMs).toBeLessThan(1000);
    expect(calls).toEqual([]);
  });

  it('preHandler error goes through setErrorHandler', async () => {
    const urls = await start((instance) => {
      instance.setErrorHandler((error: Error, _request, reply) => {
        calls.push(`error handler: ${error.message}`);
        return reply.code(418).header('x-error-handler', 'yes').send({ handled: error.message });
      });
      echoRoute(instance, '/ws', {
        preHandler: async () => {
          throw new Error('guard exploded');
        },
      });
    });

    const response = await rawExchange(urls.port, handshakeRequest('/ws'));

    expect(response.status).toBe(418);
    expect(response.headers['x-error-handler']).toBe('yes');
    expect(JSON.parse(response.body)).toEqual({ handled: 'guard exploded' });
    expect(response.text).not.toContain('HTTP/1.1 101');
    expect(calls).toEqual(['error handler: guard exploded']);
  });

  it('thrown statusCode error keeps its status', async () => {
    const urls = await start((instance) => {
      echoRoute(instance, '/ws', {
        onRequest: async () => {
          throw Object.assign(new Error('Too many requests'), { statusCode: 429 });
        },
      });
    });

    const response = await rawExchange(urls.port, handshakeRequest('/ws'));

    expect(response.status).toBe(429);
    expect(JSON.parse(response.body)).toMatchObject({
      statusCode: 429,
      message: 'Too many requests',
    });
    expect(calls).toEqual([]);
  });

  it('rate-limit reply keeps Retry-After', async () => {
    const urls = await start((instance) => {
      echoRoute(instance, '/ws', {
        onRequest: async (_request: FastifyRequest, reply: FastifyReply) =>
          reply.code(429).header('retry-after', '30').send({ error: 'slow down' }),
      });
    });

    const response = await rawExchange(urls.port, handshakeRequest('/ws'));

    expect(response.status).toBe(429);
    expect(response.headers['retry-after']).toBe('30');
    expect(response.body).toBe('{"error":"slow down"}');
    expect(calls).toEqual([]);
  });

  it('@fastify/passport challenge keeps WWW-Authenticate', async () => {
    const passport = new Authenticator();
    passport.use('challenge', new ChallengeStrategy());
    const urls = await start((instance) => {
      instance.register(fastifyCookie);
      instance.register(fastifySession, { secret: SECRET, cookie: { secure: false } });
      instance.register(passport.initialize());
      instance.register(async (child) => {
        echoRoute(child, '/ws', { preValidation: passport.authenticate('challenge') });
      });
    });

    const outcome = await connect(`${urls.ws}/ws`);

    expect(outcome.kind).toBe('rejected');
    if (outcome.kind !== 'rejected') return;
    expect(outcome.status).toBe(401);
    expect(outcome.headers['www-authenticate']).toBe('Bearer realm="wsauth-test"');
    expect(calls).toEqual([]);
  });

  it('redirect from a hook becomes 401', async () => {
    const urls = await start((instance) => {
      echoRoute(instance, '/ws', {
        preValidation: async (_request: FastifyRequest, reply: FastifyReply) =>
          reply.redirect('/login'),
      });
    });

    const response = await rawExchange(urls.port, handshakeRequest('/ws'));

    expect(response.status).toBe(401);
    expect(response.headers.location).toBeUndefined();
  });
});

describe('handshake shape and routing', () => {
  it('rejects malformed handshakes before any hook', async () => {
    const urls = await start((instance) => {
      instance.addHook('onRequest', async () => {
        calls.push('onRequest');
      });
      echoRoute(instance, '/ws');
    });
    const cases = [
      { request: handshakeRequest('/ws', {}, { method: 'POST' }), status: 405 },
      { request: handshakeRequest('/ws', {}, { key: 'short' }), status: 400 },
      { request: handshakeRequest('/ws', {}, { version: '12' }), status: 426 },
      {
        request: handshakeRequest('/ws').replace(' HTTP/1.1\r\n', ' HTTP/1.0\r\n'),
        status: 400,
      },
      { request: handshakeRequest('/ws').replace('Host: 127.0.0.1\r\n', ''), status: 400 },
      { request: handshakeRequest('/ws#x'), status: 400 },
    ];

    for (const { request, status } of cases) {
      const response = await rawExchange(urls.port, request);
      expect(response.status).toBe(status);
      expect(response.headers.connection).toBe('close');
      if (status === 426) {
        expect(response.headers['sec-websocket-version']).toBe('13');
      }
    }
    expect(calls).toEqual([]);
  });

  it('absolute-form target routes like its path', async () => {
    const urls = await start((instance) => {
      instance.addHook('onRequest', async (request) => {
        calls.push(`onRequest ${request.url}`);
      });
      instance.get('/ws', { websocket: true }, (socket) => {
        calls.push('handler /ws');
        // Ends the exchange, which reads until the server closes.
        socket.terminate();
      });
    });

    const response = await rawExchange(urls.port, handshakeRequest('http://127.0.0.1/ws?room=1'));

    expect(response.status).toBe(101);
    expect(calls).toEqual(['onRequest /ws?room=1', 'handler /ws']);
  });

  it('absolute-form authority unlike Host gets 400', async () => {
    const urls = await start((instance) => echoRoute(instance, '/ws'));

    const response = await rawExchange(urls.port, handshakeRequest('http://evil.example/ws'));

    expect(response.status).toBe(400);
    expect(response.body).toContain('differs from the Host header');
    expect(calls).toEqual([]);
  });

  it('unknown path gets 404', async () => {
    const urls = await start((instance) => echoRoute(instance, '/ws'));

    const response = await rawExchange(urls.port, handshakeRequest('/nowhere'));

    expect(response.status).toBe(404);
    expect(response.headers.connection).toBe('close');
  });

  it('plain GET route is not upgraded', async () => {
    const urls = await start((instance) => {
      echoRoute(instance, '/ws');
      instance.get(
        '/api/data',
        { onRequest: async () => void calls.push('data hook') },
        async () => {
          calls.push('data handler');
          return { data: 1 };
        },
      );
    });

    const response = await rawExchange(urls.port, handshakeRequest('/api/data'));

    expect(response.status).toBe(404);
    expect(calls).toEqual([]);
  });

  it('plain route beside a parametric WebSocket route', async () => {
    const urls = await start((instance) => {
      echoRoute(instance, '/rooms/:id');
      instance.get(
        '/rooms/admin',
        { preValidation: async () => void calls.push('admin hook') },
        async () => {
          calls.push('admin handler');
          return { admin: true };
        },
      );
    });

    const response = await rawExchange(urls.port, handshakeRequest('/rooms/admin'));
    const outcome = await connect(`${urls.ws}/rooms/7`);

    expect(response.status).toBe(404);
    expect(outcome.kind).toBe('open');
    if (outcome.kind === 'open') outcome.socket.close();
    expect(calls).toEqual(['handler /rooms/:id']);
  });

  it('plain GET to a WebSocket route gets 404', async () => {
    const urls = await start((instance) => echoRoute(instance, '/ws'));

    const response = await fetch(`${urls.http}/ws`);

    expect(response.status).toBe(404);
    expect(calls).toEqual([]);
  });

  it('wsHandler route serves HTTP and WebSocket', async () => {
    const urls = await start((instance) => {
      instance.route({
        method: 'GET',
        url: '/both',
        handler: async () => ({ transport: 'http' }),
        wsHandler: (socket) => socket.send(JSON.stringify({ transport: 'websocket' })),
      });
    });

    const http = await fetch(`${urls.http}/both`);
    const outcome = await connect(`${urls.ws}/both`);

    expect(await http.json()).toEqual({ transport: 'http' });
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(await nextMessage(outcome.socket)).toEqual({ transport: 'websocket' });
    outcome.socket.close();
  });

  it('prefixed plugin route runs its hooks', async () => {
    const urls = await start((instance) => {
      instance.register(
        async (child) => {
          child.addHook('onRequest', async (request) => void calls.push(`hook ws=${request.ws}`));
          echoRoute(child, '/');
        },
        { prefix: '/chat' },
      );
    });

    for (const path of ['/chat', '/chat/']) {
      const outcome = await connect(`${urls.ws}${path}`);
      expect(outcome.kind).toBe('open');
      if (outcome.kind === 'open') outcome.socket.close();
    }
    expect(calls).toEqual(['hook ws=true', 'handler /', 'hook ws=true', 'handler /']);
  });
});

describe('open sockets', () => {
  it('echoes and reports request.ws', async () => {
    const urls = await start((instance) => {
      instance.get('/ws', { websocket: true }, (socket, request) => {
        socket.send(JSON.stringify({ ws: request.ws }));
        socket.on('message', (data) => socket.send(JSON.stringify({ echo: String(data) })));
      });
    });

    const outcome = await connect(`${urls.ws}/ws`);
    if (outcome.kind !== 'open') throw new Error('expected an open socket');
    expect(await nextMessage(outcome.socket)).toEqual({ ws: true });
    outcome.socket.send('ping');
    expect(await nextMessage(outcome.socket)).toEqual({ echo: 'ping' });
    outcome.socket.close();
  });

  it('handler error closes with 1011', async () => {
    const urls = await start((instance) => {
      instance.get('/sync', { websocket: true }, () => {
        throw new Error('sync failure');
      });
      instance.get('/async', { websocket: true }, async () => {
        throw new Error('async failure');
      });
    });

    for (const path of ['/sync', '/async']) {
      const outcome = await connect(`${urls.ws}${path}`);
      if (outcome.kind !== 'open') throw new Error('expected an open socket');
      expect((await closed(outcome.socket)).code).toBe(1011);
    }
  });

  it('message over 1 MiB closes with 1009', async () => {
    const urls = await start((instance) => echoRoute(instance, '/ws'));
    const outcome = await connect(`${urls.ws}/ws`);
    if (outcome.kind !== 'open') throw new Error('expected an open socket');

    const closing = closed(outcome.socket);
    outcome.socket.send(Buffer.alloc(1024 * 1024 + 1));

    expect((await closing).code).toBe(1009);
  });

  it('garbage after the handshake closes with 1002', async () => {
    const urls = await start((instance) => echoRoute(instance, '/ws'));
    const net = await import('node:net');

    const closeCode = await new Promise<number>((resolve, reject) => {
      const socket = net.connect(urls.port, '127.0.0.1', () =>
        socket.write(handshakeRequest('/ws')),
      );
      let received = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        received = Buffer.concat([received, chunk]);
        const headEnd = received.indexOf('\r\n\r\n');
        if (headEnd !== -1 && !socket.writableEnded && received.includes('welcome')) {
          // An unmasked client frame violates RFC 6455 section 5.1.
          socket.write(Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f]));
        }
        const closeFrame = received.indexOf(0x88, headEnd + 4);
        if (closeFrame !== -1 && received.length >= closeFrame + 4) {
          resolve(received.readUInt16BE(closeFrame + 2));
          socket.destroy();
        }
      });
      socket.on('error', reject);
    });

    expect(closeCode).toBe(1002);
    expect((await fetch(`${urls.http}/ws`)).status).toBe(404);
  });
});

describe('deadline and aborts', () => {
  it('auth that never finishes gets 503', async () => {
    const urls = await start(
      (instance) => echoRoute(instance, '/ws', { preValidation: () => new Promise(() => {}) }),
      { authTimeoutMs: 200 },
    );

    const response = await rawExchange(urls.port, handshakeRequest('/ws'));

    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(app?.wsauth.pendingHandshakes).toBe(0);
  });

  it('client reset during slow auth leaves nothing behind', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let hookFinished = false;
    const urls = await start((instance) =>
      echoRoute(instance, '/ws', {
        preValidation: async () => {
          calls.push('hook started');
          await gate;
          hookFinished = true;
        },
      }),
    );
    const upgradeListeners = app?.server.listenerCount('upgrade');
    const net = await import('node:net');

    const socket = net.connect(urls.port, '127.0.0.1', () => socket.write(handshakeRequest('/ws')));
    socket.on('error', () => {});
    await waitUntil(() => calls.length === 1);
    expect(app?.wsauth.pendingHandshakes).toBe(1);
    socket.resetAndDestroy();
    await waitUntil(() => app?.wsauth.pendingHandshakes === 0);

    release();
    await waitUntil(() => hookFinished);
    await delay(20);
    expect(calls).toEqual(['hook started']);
    expect(app?.server.listenerCount('upgrade')).toBe(upgradeListeners);
    expect(app?.wsauth.wss.clients.size).toBe(0);
  });

  it('many concurrent resets leave nothing behind', async () => {
    let hooksFinished = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const urls = await start(
      (instance) =>
        echoRoute(instance, '/ws', {
          preValidation: async () => {
            await gate;
            hooksFinished++;
          },
        }),
      // Every client here shares one address, so the per-client pending cap is lifted. The long
      // auth deadline keeps the first handshakes pending while a busy machine opens the rest.
      { maxPendingPerClient: 0, authTimeoutMs: 40_000 },
    );
    const net = await import('node:net');
    const count = 1000;

    const sockets = Array.from({ length: count }, () => {
      const socket = net.connect(urls.port, '127.0.0.1', () =>
        socket.write(handshakeRequest('/ws')),
      );
      socket.on('error', () => {});
      return socket;
    });
    await waitUntil(() => app?.wsauth.pendingHandshakes === count, 30_000);
    for (const [index, socket] of sockets.entries()) {
      // Half reset the connection, half close their side (FIN).
      if (index % 2 === 0) socket.resetAndDestroy();
      else socket.end();
    }
    await waitUntil(() => app?.wsauth.pendingHandshakes === 0);
    release();
    await waitUntil(() => hooksFinished === count);
    await delay(20);

    expect(app?.wsauth.pendingHandshakes).toBe(0);
    expect(app?.wsauth.wss.clients.size).toBe(0);
    expect(calls).toEqual([]);
    expect((await fetch(`${urls.http}/ws`)).status).toBe(404);
  }, 60_000);
});

/** Polls `condition` every 10 ms and fails after `timeoutMs`. */
async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await delay(10);
  }
}
