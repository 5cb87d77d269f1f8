import fastifyAuth from '@fastify/auth';
import fastifyBearerAuth from '@fastify/bearer-auth';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { wsAuth } from '../src/index.js';
import { connect, listen, nextMessage } from './helpers.js';

let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

function unauthorized(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 401 });
}

describe('auth plugins', () => {
  it('@fastify/bearer-auth guards HTTP and WebSocket alike', async () => {
    app = Fastify();
    await app.register(wsAuth, {});
    await app.register(async (child) => {
      await child.register(fastifyBearerAuth, { keys: new Set(['right-token']) });
      child.get('/api/data', async () => ({ data: true }));
      child.get('/ws', { websocket: true }, (socket) => socket.send(JSON.stringify({ ok: true })));
    });
    const urls = await listen(app);

    const wrong: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token' }];
    for (const headers of wrong) {
      const http = await fetch(`${urls.http}/api/data`, { headers });
      const outcome = await connect(`${urls.ws}/ws`, { headers });

      expect(outcome.kind).toBe('rejected');
      if (outcome.kind !== 'rejected') return;
      expect(outcome.status).toBe(http.status);
      expect(outcome.status).toBe(401);
      expect(outcome.body).toBe(await http.text());
    }

    const outcome = await connect(`${urls.ws}/ws`, {
      headers: { authorization: 'Bearer right-token' },
    });
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(await nextMessage(outcome.socket)).toEqual({ ok: true });
    outcome.socket.close();
  });

  it('@fastify/auth accepts when one strategy passes', async () => {
    app = Fastify();
    await app.register(fastifyAuth);
    await app.register(wsAuth, {});
    const byKey = async (request: FastifyRequest) => {
      if (request.headers['x-api-key'] !== 'key-1') throw unauthorized('Invalid API key.');
    };
    const byToken = async (request: FastifyRequest) => {
      if (request.headers.authorization !== 'Bearer token-1') throw unauthorized('Invalid token.');
    };
    app.get('/ws', { websocket: true, preHandler: app.auth([byKey, byToken]) }, (socket) => {
      socket.send(JSON.stringify({ ok: true }));
    });
    const urls = await listen(app);

    const rejected = await connect(`${urls.ws}/ws`, { headers: { 'x-api-key': 'wrong' } });
    expect(rejected.kind).toBe('rejected');
    if (rejected.kind === 'rejected') {
      expect(rejected.status).toBe(401);
      expect(JSON.parse(rejected.body)).toMatchObject({ statusCode: 401 });
    }

    const right: Record<string, string>[] = [
      { 'x-api-key': 'key-1' },
      { authorization: 'Bearer token-1' },
    ];
    for (const headers of right) {
      const outcome = await connect(`${urls.ws}/ws`, { headers });
      expect(outcome.kind).toBe('open');
      if (outcome.kind === 'open') outcome.socket.close();
    }
  });
});
