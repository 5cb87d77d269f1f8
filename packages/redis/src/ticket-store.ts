import type { TicketRecord, TicketStore } from '@wsauth/core';
import type { Redis } from 'ioredis';

/** Options of {@link RedisTicketStore}. */
export interface RedisTicketStoreOptions {
  /** The ioredis client. The store never closes it. */
  redis: Redis;
  /**
   * Prefix of the ticket keys. Keys are SHA-256 digests of tickets, never the tickets.
   * @default 'wsauth:ticket:'
   */
  prefix?: string;
}

/**
 * A one-time ticket store in Redis, shared by every instance. `take` uses `GETDEL` (Redis 6.2
 * or later), so of two instances redeeming one ticket at the same time only one gets it. Redis
 * expires each key after the ticket's TTL.
 */
export class RedisTicketStore implements TicketStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(options: RedisTicketStoreOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? 'wsauth:ticket:';
  }

  async set(key: string, record: TicketRecord, ttlMs: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const stored = await this.#redis.set(
      this.#prefix + key,
      JSON.stringify(record),
      'PX',
      ttl,
      'NX',
    );
    if (stored !== 'OK') {
      throw new Error('Storing the ticket failed: the key already exists. Mint a new ticket.');
    }
  }

  async take(key: string): Promise<TicketRecord | undefined> {
    const raw = await this.#redis.getdel(this.#prefix + key);
    if (raw === null) {
      return undefined;
    }
    const record = parseRecord(raw);
    return record !== undefined && record.expiresAt > Date.now() ? record : undefined;
  }
}

function parseRecord(raw: string): TicketRecord | undefined {
  try {
    const value = JSON.parse(raw) as Partial<TicketRecord> | null;
    return typeof value?.userId === 'string' && typeof value.expiresAt === 'number'
      ? (value as TicketRecord)
      : undefined;
  } catch {
    return undefined;
  }
}
