import net from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './app.js';
import { header, sendRaw, upgradeRequest } from './wire.js';

let app: TestApp;
const heldSockets: net.Socket[] = [];

afterEach(async () => {
  for (const socket of heldSockets.splice(0)) socket.destroy();
  await app?.close();
});

/** Opens handshakes that stay pending because the route never decides. */
async function holdPending(port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(upgradeRequest('/ws-hang'));
    heldSockets.push(socket);
  }
  await waitFor(() => app.wsauth.core.pendingHandshakes === count);
}

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function hangingRoute(options: object) {
  return startApp(express, options, (routes, wsauth) => {
    routes.get(
      '/ws-hang',
      () => {},
      wsauth.upgrade(() => {}),
    );
  });
}

describe('handshake limits', () => {
  it('per-client pending cap gets 429 before the store', async () => {
    app = await hangingRoute({ maxPendingPerClient: 3 });
    await holdPending(app.port, 3);
    const readsBefore = app.probe.storeReads;
    const middlewareBefore = app.probe.middlewareCalls;

    const response = await sendRaw(app.port, upgradeRequest('/ws', { 'X-Api-Key': 'alice-key' }));
    expect(response.status).toBe(429);
    expect(header(response, 'retry-after')).toBe('1');
    expect(app.probe.storeReads).toBe(readsBefore);
    expect(app.probe.middlewareCalls).toBe(middlewareBefore);

    for (const socket of heldSockets.splice(0)) socket.destroy();
    await waitFor(() => app.wsauth.core.pendingHandshakes === 0);
    const after = await sendRaw(app.port, upgradeRequest('/ws', { 'X-Api-Key': 'alice-key' }));
    expect(after.status).toBe(101);
    after.socket.destroy();
  });

  it('global pending cap gets 503', async () => {
    app = await hangingRoute({ maxPendingHandshakes: 2, maxPendingPerClient: 0 });
    await holdPending(app.port, 2);
    const response = await sendRaw(app.port, upgradeRequest('/ws', { 'X-Api-Key': 'alice-key' }));
    expect(response.status).toBe(503);
    expect(header(response, 'retry-after')).toBe('1');
  });

  it('attempt rate per client gets 429', async () => {
    app = await startApp(express, { attemptsPerSecondPerClient: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const response = await sendRaw(app.port, upgradeRequest('/ws'));
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toContain(429);
  });

  it('forwarded client addresses are limited apart', async () => {
    app = await hangingRoute({ maxPendingPerClient: 1 });
    app.app.set('trust proxy', 'loopback');
    const socket = net.connect(app.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(upgradeRequest('/ws-hang', { 'X-Forwarded-For': '198.51.100.1' }));
    heldSockets.push(socket);
    await waitFor(() => app.wsauth.core.pendingHandshakes === 1);

    const same = await sendRaw(
      app.port,
      upgradeRequest('/ws', { 'X-Forwarded-For': '198.51.100.1' }),
    );
    expect(same.status).toBe(429);
    const other = await sendRaw(
      app.port,
      upgradeRequest('/ws', { 'X-Forwarded-For': '198.51.100.2' }),
    );
    expect(other.status).toBe(401);
  });

  it('rejects negative limits at setup', async () => {
    await expect(hangingRoute({ maxPendingPerClient: -1 })).rejects.toMatchObject({
      code: 'WSAUTH_ERR_INVALID_OPTION',
    });
  });
});
