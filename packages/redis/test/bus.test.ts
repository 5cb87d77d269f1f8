import { RedisRevocationBus } from '@wsauth/redis';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import {
  closeOf,
  connect,
  deleteKeys,
  type Instance,
  sleep,
  startInstance,
  testRedis,
  uniquePrefix,
} from './helpers.js';

const prefix = uniquePrefix();
const clients: Redis[] = [];
const buses: RedisRevocationBus[] = [];
const instances: Instance[] = [];
const sockets: WebSocket[] = [];

async function startPair(sessions: Map<string, string>) {
  const pair: Instance[] = [];
  for (let i = 0; i < 2; i++) {
    const redis = testRedis();
    clients.push(redis);
    const bus = new RedisRevocationBus({ redis, prefix });
    buses.push(bus);
    await bus.ready();
    const instance = await startInstance(sessions, { lifecycle: { bus } });
    instances.push(instance);
    pair.push(instance);
  }
  return pair as [Instance, Instance];
}

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
  const [first] = clients;
  if (first !== undefined) {
    await deleteKeys(first, prefix);
  }
  for (const redis of clients.splice(0)) {
    redis.disconnect();
  }
});

describe('RedisRevocationBus', () => {
  it('closes a session socket on the other instance', async () => {
    const sessions = new Map([['s1', 'alice']]);
    const [a, b] = await startPair(sessions);
    const socket = await connect(b.port, 's1');
    sockets.push(socket);
    const closed = closeOf(socket);

    await expect(a.core.revoke({ sessionId: 's1' })).resolves.toBe(0);
    const { code, afterMs } = await closed;

    expect(code).toBe(4401);
    expect(afterMs).toBeLessThan(1000);
    expect(b.core.connections.sockets).toBe(0);
  });

  it('closes a user socket on both instances once each', async () => {
    const sessions = new Map([
      ['s1', 'alice'],
      ['s2', 'alice'],
    ]);
    const [a, b] = await startPair(sessions);
    const onA = await connect(a.port, 's1');
    const onB = await connect(b.port, 's2');
    sockets.push(onA, onB);
    const closedA = closeOf(onA);
    const closedB = closeOf(onB);

    await expect(
      a.core.revoke({ userId: 'alice' }, { code: 4403, reason: 'Locked' }),
    ).resolves.toBe(1);

    expect((await closedA).code).toBe(4403);
    expect((await closedB).code).toBe(4403);
  });

  it('ignores malformed messages on the channel', async () => {
    const sessions = new Map([['s1', 'alice']]);
    const [a, b] = await startPair(sessions);
    const socket = await connect(b.port, 's1');
    sockets.push(socket);
    const publisher = clients[0] as Redis;

    await publisher.publish(`${prefix}revocations`, '9999999999999-0 {"target":{}}');
    await publisher.publish(`${prefix}revocations`, 'not json');
    await sleep(100);

    expect(socket.readyState).toBe(socket.OPEN);
    expect(b.core.connections.sockets).toBe(1);

    // A malformed message with a high id must not make the bus skip the next real one.
    const closed = closeOf(socket);
    await a.core.revoke({ sessionId: 's1' });
    expect((await closed).code).toBe(4401);
  });

  it('keeps published revocations in a capped stream', async () => {
    const sessions = new Map<string, string>();
    const [a] = await startPair(sessions);
    await a.core.revoke({ sessionId: 'gone' });
    const entries = await (clients[0] as Redis).xrange(`${prefix}revocations:log`, '-', '+');

    expect(entries).toHaveLength(1);
    expect(entries[0]?.[1][1]).toContain('"sessionId":"gone"');
  });

  it('rejects a failed publish without the session id', async () => {
    const sessions = new Map<string, string>();
    const [a] = await startPair(sessions);
    // A string where the stream should be makes XADD fail with WRONGTYPE.
    await (clients[0] as Redis).set(`${prefix}revocations:log`, 'not a stream');

    const error = await a.core.revoke({ sessionId: 'secret-session-id' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /Publishing a revocation to Redis failed: .*WRONGTYPE/,
    );
    expect(JSON.stringify(error)).not.toContain('secret-session-id');
    expect((error as Error).message).not.toContain('secret-session-id');
    expect((error as { command?: unknown }).command).toBeUndefined();
  });
});
