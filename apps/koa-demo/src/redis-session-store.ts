import type { Redis } from 'ioredis';

/** The external-store interface koa-session calls: get, set and destroy by session key. */
export interface ExternalSessionStore {
  get(key: string): Promise<unknown>;
  set(key: string, data: unknown, maxAge: number | 'session' | undefined): Promise<void>;
  destroy(key: string): Promise<void>;
}

const BROWSER_SESSION_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * A koa-session external store in Redis, so that every instance of the app reads the same
 * sessions. Redis expires each session after its `maxAge`.
 */
export class RedisSessionStore implements ExternalSessionStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async get(key: string): Promise<unknown> {
    const raw = await this.#redis.get(this.#prefix + key);
    return raw === null ? undefined : JSON.parse(raw);
  }

  /** Stores `data` for `maxAge` milliseconds; koa-session passes `'session'` for browser sessions. */
  async set(key: string, data: unknown, maxAge: number | 'session' | undefined): Promise<void> {
    const ttl = typeof maxAge === 'number' ? maxAge : BROWSER_SESSION_TTL_MS;
    await this.#redis.set(this.#prefix + key, JSON.stringify(data), 'PX', Math.max(1, ttl));
  }

  async destroy(key: string): Promise<void> {
    await this.#redis.del(this.#prefix + key);
  }
}
