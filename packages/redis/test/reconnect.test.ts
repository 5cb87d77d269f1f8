import type { WsAuthLogger } from '@wsauth/core';
import { RedisRevocationBus } from '@wsauth/redis';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import {
  closeOf,
  connect,
  type Instance,
  PrivateRedis,
  sleep,
  startInstance,
  uniquePrefix,
} from './helpers.js';

// These tests stop and restart Redis, so they run their own redis-server on a free port and
// leave the shared one on 6379 to the other suites.
const server = new PrivateRedis();
const clients: Redis[] = [];
const buses: RedisRevocationBus[] = [];
const instances: Instance[] = [];
const sockets: WebSocket[] = [];

interface LogLine {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

function capture(lines: LogLine[]): WsAuthLogger {
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, fields, message });
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function startPair(sessions: Map<string, string>, logs: LogLine[]) {
  const prefix = uniquePrefix();
  const pair: Instance[] = [];
  for (let i = 0; i < 2; i++) {
    const redis = new Redis(server.port, '127.0.0.1');
    redis.on('error', () => {});
    clients.push(redis);
    const bus = new RedisRevocationBus({ redis, prefix, logger: capture(logs) });
    buses.push(bus);
    await bus.ready();
    const instance = await startInstance(sessions, {
      lifecycle: { bus, revalidateIntervalMs: 60_000 },
    });
    instances.push(instance);
    pair.push(instance);
  }
  return pair as [Instance, Instance];
}

async function open(instance: Instance, sid: string): Promise<WebSocket> {
  const socket = await connect(instance.port, sid);
  sockets.push(socket);
  return socket;
}

beforeAll(() => server.start());

afterEach(async () => {
  for (const socket of sockets.splice(0)) {
    socket.terminate();
  }
  for (const instance of instances.splice(0)) {
    await instance.close();
  }
  for (const bus of buses.splice(0)) {
    await bus.close();
  }
  for (const redis of clients.splice(0)) {
    redis.disconnect();
  }
});

afterAll(() => server.stop());

describe('RedisRevocationBus across a Redis restart', () => {
  it('delivers a revocation published while Redis was down', async () => {
    const logs: LogLine[] = [];
    const sessions = new Map([
      ['s1', 'alice'],
      ['s2', 'bob'],
    ]);
    const [a, b] = await startPair(sessions, logs);
    const revoked = closeOf(await open(b, 's1'));
    const deleted = closeOf(await open(b, 's2'));

    await server.stop();
    await sleep(200);
    // The publish waits in ioredis's offline queue; the deletion is never published at all.
    const publishing = a.core.revoke({ sessionId: 's1' });
    sessions.delete('s2');
    await sleep(300);
    await server.start();

    expect((await revoked).code).toBe(4401);
    expect((await deleted).code).toBe(4401);
    await expect(publishing).resolves.toBe(0);
    expect(logs.some((line) => line.level === 'warn' && /disconnected/.test(line.message))).toBe(
      true,
    );
    expect(logs.some((line) => line.level === 'info' && /reconnected/.test(line.message))).toBe(
      true,
    );
  });

  it('replays a revocation its subscription missed', async () => {
    const logs: LogLine[] = [];
    const sessions = new Map([['s1', 'alice']]);
    const [a, b] = await startPair(sessions, logs);
    const revoked = closeOf(await open(b, 's1'));
    const admin = clients[0] as Redis;

    // Drops both subscriptions while the publishing connections stay up.
    await admin.client('KILL', 'TYPE', 'pubsub');
    await a.core.revoke({ sessionId: 's1' });

    expect((await revoked).code).toBe(4401);
    await sleep(100);
    const replays = logs.filter((line) => /replayed/.test(line.message));
    expect(replays.some((line) => line.fields.replayed === 1)).toBe(true);
  });
});
