import diagnosticsChannel from 'node:diagnostics_channel';
import { channelNames, type HandshakeEvent } from '@wsauth/core';
import { afterEach, describe, expect, it } from 'vitest';
import { closed, connect, handshakeRequest, listen, nextMessage, rawExchange } from './helpers.js';
import {
  buildSessionApp,
  login,
  type SessionApp,
  type SessionAppOptions,
  sessionIdOf,
  unauthorized,
} from './session-app.js';

let current: SessionApp | undefined;

async function start(options: SessionAppOptions = {}) {
  current = await buildSessionApp(options);
  return { ...current, urls: await listen(current.app) };
}

afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

describe.each([
  { label: 'wsauth registers @fastify/websocket', preRegister: false },
  { label: '@fastify/websocket registered first', preRegister: true },
])('sessions ($label)', ({ preRegister }) => {
  it('session login then WebSocket welcome', async () => {
    const { urls, opened } = await start({ preRegister });
    const cookie = await login(urls.http);
    const accepted: HandshakeEvent[] = [];
    const onAccept = (event: unknown) => accepted.push(event as HandshakeEvent);
    diagnosticsChannel.subscribe(channelNames.accept, onAccept);

    const outcome = await connect(`${urls.ws}/ws`, { headers: { cookie }, origin: urls.http });
    diagnosticsChannel.unsubscribe(channelNames.accept, onAccept);
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(accepted).toHaveLength(1);
    expect(accepted[0]?.userId).toBe('alice');
    expect(accepted[0]?.path).toBe('/ws');

    expect(await nextMessage(outcome.socket)).toEqual({
      type: 'welcome',
      user: { id: 'alice', name: 'Alice' },
    });
    expect(opened).toEqual([{ user: { id: 'alice', name: 'Alice' }, ws: true }]);
    outcome.socket.close();
  });

  it('no cookie gets the /api/me 401 byte for byte', async () => {
    const { urls, opened } = await start({ preRegister });
    const http = await fetch(`${urls.http}/api/me`);
    const httpBody = await http.text();

    const outcome = await connect(`${urls.ws}/ws`);

    expect(outcome.kind).toBe('rejected');
    if (outcome.kind !== 'rejected') return;
    expect(http.status).toBe(401);
    expect(outcome.status).toBe(401);
    expect(outcome.body).toBe(httpBody);
    expect(JSON.parse(outcome.body)).toEqual(unauthorized);
    expect(outcome.headers['content-type']).toBe(http.headers.get('content-type'));
    expect(outcome.headers.connection).toBe('close');
    expect(opened).toEqual([]);
  });

  it('session created in a hook is saved before the 101', async () => {
    const { urls, store } = await start({ preRegister });
    expect(store.ids()).toEqual([]);

    const outcome = await connect(`${urls.ws}/ws/visit`);
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    expect(await nextMessage(outcome.socket)).toEqual({ visits: 1 });
    outcome.socket.close();

    const setCookie = String(outcome.headers['set-cookie'] ?? '');
    expect(setCookie).toMatch(/^sessionId=[^;]+; Path=\//);
    expect(setCookie).toContain('HttpOnly');
    const pair = setCookie.split(';')[0] ?? '';
    expect(store.ids()).toEqual([sessionIdOf(pair)]);

    const followUp = await fetch(`${urls.http}/api/session`, { headers: { cookie: pair } });
    expect(await followUp.json()).toEqual({ visits: 1 });
  });

  it('existing session is rolled on the 101', async () => {
    const { urls, store } = await start({ preRegister });
    const cookie = await login(urls.http);
    const writesBefore = store.sets;

    const outcome = await connect(`${urls.ws}/ws`, { headers: { cookie }, origin: urls.http });
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    outcome.socket.close();

    expect(String(outcome.headers['set-cookie'])).toContain(cookie);
    expect(store.sets).toBe(writesBefore + 1);
  });

  it('regenerated session replaces the old id', async () => {
    const { urls, store } = await start({ preRegister });
    const cookie = await login(urls.http);
    const oldId = sessionIdOf(cookie);

    const outcome = await connect(`${urls.ws}/ws/regenerate`, {
      headers: { cookie },
      origin: urls.http,
    });
    expect(outcome.kind).toBe('open');
    if (outcome.kind !== 'open') return;
    const { sessionId } = (await nextMessage(outcome.socket)) as { sessionId: string };
    outcome.socket.close();

    const pair = String(outcome.headers['set-cookie']).split(';')[0] ?? '';
    expect(sessionIdOf(pair)).toBe(sessionId);
    expect(sessionId).not.toBe(oldId);
    expect(store.ids()).toEqual([sessionId]);
    expect(store.read(sessionId)?.visits).toBe(100);
  });

  it('foreign origin gets 403 with zero store reads', async () => {
    const { urls, store, opened } = await start({ preRegister });
    const cookie = await login(urls.http);
    const readsBefore = store.gets;

    const response = await rawExchange(
      urls.port,
      handshakeRequest('/ws', { Cookie: cookie, Origin: 'https://evil.example' }),
    );

    expect(response.status).toBe(403);
    expect(response.headers.connection).toBe('close');
    expect(response.text).not.toContain('101');
    expect(store.gets).toBe(readsBefore);
    expect(opened).toEqual([]);
  });

  it('failed session save answers 500, not 101', async () => {
    const { urls, store, opened } = await start({ preRegister });
    store.failWrites = true;

    const response = await rawExchange(urls.port, handshakeRequest('/ws/visit'));

    expect(response.status).toBe(500);
    expect(response.text).not.toContain('HTTP/1.1 101');
    expect(JSON.parse(response.body)).toMatchObject({ statusCode: 500 });
    expect(store.ids()).toEqual([]);
    expect(opened).toEqual([]);
  });

  it('open socket closes with 1001 on app.close', async () => {
    const { app, urls } = await start({ preRegister });
    const cookie = await login(urls.http);
    const outcome = await connect(`${urls.ws}/ws`, { headers: { cookie }, origin: urls.http });
    if (outcome.kind !== 'open') throw new Error('expected an open socket');
    const closing = closed(outcome.socket);

    await app.close();
    current = undefined;

    expect((await closing).code).toBe(1001);
  });
});
