import fastifyWebsocket from '@fastify/websocket';
import { ErrorCodes, WsAuthError, WsAuthServer } from '@wsauth/core';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { type FastifyWsAuthOptions, wsAuth } from '../src/index.js';
import { connect, handshakeRequest, listen, nextMessage, rawExchange } from './helpers.js';

let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function build(options: {
  preRegister?: boolean;
  fastify?: FastifyServerOptions;
  wsauth?: FastifyWsAuthOptions;
}) {
  app = Fastify(options.fastify);
  if (options.preRegister === true) {
    await app.register(fastifyWebsocket, { options: { maxPayload: 2048 } });
  }
  await app.register(wsAuth, options.wsauth ?? {});
  app.get('/ws', { websocket: true }, (socket, request) => {
    socket.send(JSON.stringify({ ip: request.ip, protocol: request.protocol }));
  });
  return app;
}

describe('registration', () => {
  it('registers @fastify/websocket when missing', async () => {
    const instance = await build({});
    const urls = await listen(instance);

    expect(instance.hasDecorator('websocketServer')).toBe(true);
    expect(instance.wsauth).toBeInstanceOf(WsAuthServer);
    expect(instance.wsauth.wss).toBe(instance.websocketServer);
    expect(instance.server.listenerCount('upgrade')).toBe(1);
    expect(instance.websocketServer.options.maxPayload).toBe(1024 * 1024);

    const outcome = await connect(`${urls.ws}/ws`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind === 'open') outcome.socket.close();
  });

  it('works after @fastify/websocket registration', async () => {
    const instance = await build({ preRegister: true });
    const urls = await listen(instance);

    expect(instance.server.listenerCount('upgrade')).toBe(1);
    expect(instance.wsauth.wss).toBe(instance.websocketServer);
    expect(instance.websocketServer.options.maxPayload).toBe(2048);

    const outcome = await connect(`${urls.ws}/ws`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(await nextMessage(outcome.socket)).toEqual({ ip: '127.0.0.1', protocol: 'http' });
    outcome.socket.close();
  });

  it('emits connection on websocketServer', async () => {
    const instance = await build({});
    const urls = await listen(instance);
    const connections: string[] = [];
    instance.websocketServer.on('connection', (_socket, req) => connections.push(req.url ?? ''));

    const outcome = await connect(`${urls.ws}/ws?room=1`);
    if (outcome.kind === 'open') outcome.socket.close();

    expect(connections).toEqual(['/ws?room=1']);
  });
});

describe('options', () => {
  const invalid: Array<{ name: string; options: Record<string, unknown>; message: RegExp }> = [
    {
      name: 'trustProxy',
      options: { trustProxy: () => true },
      message: /Fastify\(\{ trustProxy \}\)/,
    },
    { name: 'wsServer', options: { wsServer: {} }, message: /wsServer/ },
    { name: 'context', options: { context: 'user' }, message: /"context"/ },
    { name: 'maxPayload', options: { maxPayload: -1 }, message: /"maxPayload"/ },
    {
      name: 'perMessageDeflate',
      options: { perMessageDeflate: 'yes' },
      message: /"perMessageDeflate"/,
    },
    { name: 'authTimeoutMs', options: { authTimeoutMs: 0 }, message: /"authTimeoutMs"/ },
    {
      name: 'allowedOrigins',
      options: { allowedOrigins: ['evil.example'] },
      message: /"allowedOrigins"/,
    },
    { name: 'redirects', options: { redirects: 'follow' }, message: /"redirects"/ },
  ];

  for (const { name, options, message } of invalid) {
    it(`rejects invalid ${name}`, async () => {
      app = Fastify();
      let error: unknown;
      try {
        await app.register(wsAuth, options as FastifyWsAuthOptions);
      } catch (caught) {
        error = caught;
      }

      expect(error).toBeInstanceOf(WsAuthError);
      expect((error as WsAuthError).code).toBe(ErrorCodes.INVALID_OPTION);
      expect((error as WsAuthError).message).toMatch(message);
    });
  }

  it('rejects a prior handleProtocols option', async () => {
    app = Fastify();
    await app.register(fastifyWebsocket, { options: { handleProtocols: () => false } });

    let error: unknown;
    try {
      await app.register(wsAuth, { protocols: ['chat'] });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(WsAuthError);
    expect((error as WsAuthError).code).toBe(ErrorCodes.INVALID_OPTION);
    expect((error as WsAuthError).message).toMatch(/handleProtocols/);
  });

  it('leaves the options object unchanged', async () => {
    const options = Object.freeze({
      allowedOrigins: Object.freeze(['https://app.example']),
      authTimeoutMs: 5000,
      maxPayload: 4096,
    });

    const instance = await build({ wsauth: options });

    expect(options).toEqual({
      allowedOrigins: ['https://app.example'],
      authTimeoutMs: 5000,
      maxPayload: 4096,
    });
    expect(instance.websocketServer.options.maxPayload).toBe(4096);
  });
});

describe('trustProxy', () => {
  const proxied = {
    Cookie: 'sid=1',
    Origin: 'https://app.example',
    'X-Forwarded-Proto': 'https',
    'X-Forwarded-Host': 'app.example',
    'X-Forwarded-For': '203.0.113.7',
  };

  it('trusted proxy headers set the origin', async () => {
    const instance = await build({ fastify: { trustProxy: true } });
    const urls = await listen(instance);

    const outcome = await connect(`${urls.ws}/ws`, { headers: proxied });

    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(await nextMessage(outcome.socket)).toEqual({ ip: '203.0.113.7', protocol: 'https' });
    outcome.socket.close();
  });

  it('untrusted proxy headers are ignored', async () => {
    for (const trustProxy of [false, '10.0.0.1']) {
      const instance = await build({ fastify: { trustProxy } });
      const urls = await listen(instance);

      const response = await rawExchange(urls.port, handshakeRequest('/ws', proxied));

      expect(response.status).toBe(403);
      await instance.close();
      app = undefined;
    }
  });
});
