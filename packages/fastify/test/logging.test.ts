import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { wsAuth } from '../src/index.js';
import { connect, handshakeRequest, listen, rawExchange } from './helpers.js';

const secrets = {
  cookie: 'sid=cookie-secret-value',
  token: 'bearer-secret-value',
  apiKey: 'api-key-secret-value',
  ticket: 'ticket-secret-value',
};

let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('logging', () => {
  it('log lines carry no credential values', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    });
    app = Fastify({ logger: { level: 'debug', stream } });
    await app.register(wsAuth, { logger: app.log, allowMissingOrigin: true });
    app.get('/ws/open', { websocket: true }, (socket) => socket.close());
    app.get(
      '/ws/reject',
      {
        websocket: true,
        preValidation: async (_request: FastifyRequest, reply: FastifyReply) =>
          reply.code(401).send({ error: 'unauthorized' }),
      },
      () => {},
    );
    app.get(
      '/ws/crash',
      {
        websocket: true,
        preHandler: async () => {
          throw new Error('guard crashed');
        },
      },
      () => {},
    );
    app.get('/ws/handler-crash', { websocket: true }, () => {
      throw new Error('handler crashed');
    });
    const urls = await listen(app);
    const headers = {
      Cookie: secrets.cookie,
      Authorization: `Bearer ${secrets.token}`,
      'X-Api-Key': secrets.apiKey,
    };

    for (const path of ['/ws/reject', '/ws/crash', '/nowhere']) {
      await rawExchange(urls.port, handshakeRequest(path, headers));
    }
    for (const path of ['/ws/open', '/ws/handler-crash']) {
      const outcome = await connect(`${urls.ws}${path}`, {
        headers: { cookie: secrets.cookie, authorization: headers.Authorization },
      });
      if (outcome.kind === 'open') {
        await new Promise((resolve) => outcome.socket.once('close', resolve));
      }
    }

    // A one-time ticket travels in the query; a malformed or unknown one is rejected before any
    // hook, with 400 or 401.
    const withTicket = await rawExchange(
      urls.port,
      handshakeRequest(`/ws/open?ticket=${secrets.ticket}`, { Origin: urls.http }),
    );
    expect(withTicket.status).toBeGreaterThanOrEqual(400);
    expect(withTicket.status).toBeLessThan(402);

    const log = lines.join('');
    expect(log).toContain('WebSocket handshake');
    expect(log).toContain('guard crashed');
    expect(log).toContain('handler crashed');
    for (const value of Object.values(secrets)) {
      expect(log).not.toContain(value);
    }
  });
});
