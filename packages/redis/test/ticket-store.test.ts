import { createHash } from 'node:crypto';
import type { TicketRecord } from '@wsauth/core';
import { RedisTicketStore } from '@wsauth/redis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeys, sleep, testRedis, uniquePrefix } from './helpers.js';

const prefix = uniquePrefix();
const redis = testRedis();
const store = new RedisTicketStore({ redis, prefix });

afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

function key(label: string): string {
  return createHash('sha256').update(label).digest('base64url');
}

function record(ttlMs: number): TicketRecord {
  return { userId: 'alice', user: { id: 'alice' }, expiresAt: Date.now() + ttlMs };
}

describe('RedisTicketStore', () => {
  it('returns a ticket record once', async () => {
    const stored = record(5000);
    await store.set(key('once'), stored, 5000);

    expect(await store.take(key('once'))).toEqual(stored);
    expect(await store.take(key('once'))).toBeUndefined();
  });

  it('gives a ticket to one of many concurrent takers', async () => {
    await store.set(key('race'), record(5000), 5000);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.take(key('race'))));

    expect(results.filter((result) => result !== undefined)).toHaveLength(1);
  });

  it('lets Redis expire a ticket after its TTL', async () => {
    await store.set(key('short'), record(50), 50);
    expect(await redis.pttl(`${prefix}${key('short')}`)).toBeGreaterThan(0);
    await sleep(120);

    expect(await store.take(key('short'))).toBeUndefined();
    expect(await redis.exists(`${prefix}${key('short')}`)).toBe(0);
  });

  it('rejects a key that is already stored', async () => {
    await store.set(key('twice'), record(5000), 5000);
    await expect(store.set(key('twice'), record(5000), 5000)).rejects.toThrow(/already exists/);
  });

  it('returns undefined for a malformed record', async () => {
    await redis.set(`${prefix}${key('bad')}`, '{"userId":1}', 'PX', 5000);
    expect(await store.take(key('bad'))).toBeUndefined();
  });
});
