// Session storage shared by the scenario servers of all three frameworks: one backend in this
// process's memory, or in Redis so that several processes act as one app. Every store counts its
// reads and adds the injected latency to each, so S3 and S5 mean the same on every adapter.
import { RedisRevocationBus } from '@wsauth/redis';
import { Redis } from 'ioredis';
import { counters, withLatency } from './common.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const SESSION_TTL_SECONDS = 86_400;

/** The storage behind the bench's session store: this process's memory, or Redis. */
interface SessionBackend {
  read(sid: string): Promise<string | undefined>;
  write(sid: string, json: string): Promise<void>;
  remove(sid: string): Promise<void>;
}

/** The Redis client and key prefix of the sessions of one server process. */
export interface SessionStorage {
  redis: Redis;
  prefix: string;
}

/** Connects to Redis when `BENCH_REDIS_PREFIX` is set (the two-instance logout scenario). */
export function storageFromEnv(): SessionStorage | undefined {
  const prefix = process.env.BENCH_REDIS_PREFIX;
  return prefix === undefined ? undefined : { redis: new Redis(REDIS_URL), prefix };
}

/** Creates the revocation bus for the storage: a Redis bus, or none (in process) without it. */
export async function revocationBus(
  storage: SessionStorage | undefined,
): Promise<RedisRevocationBus | undefined> {
  if (storage === undefined) {
    return undefined;
  }
  const bus = new RedisRevocationBus({ redis: storage.redis, prefix: storage.prefix });
  await bus.ready();
  return bus;
}

function memoryBackend(): SessionBackend {
  const sessions = new Map<string, string>();
  return {
    read: async (sid) => sessions.get(sid),
    write: async (sid, json) => {
      sessions.set(sid, json);
    },
    remove: async (sid) => {
      sessions.delete(sid);
    },
  };
}

function redisBackend({ redis, prefix }: SessionStorage): SessionBackend {
  return {
    read: async (sid) => (await redis.get(`${prefix}sess:${sid}`)) ?? undefined,
    write: async (sid, json) => {
      await redis.set(`${prefix}sess:${sid}`, json, 'EX', SESSION_TTL_SECONDS);
    },
    remove: async (sid) => {
      await redis.del(`${prefix}sess:${sid}`);
    },
  };
}

/**
 * The bench's session store with promise methods, which is koa-session's external store shape.
 * Reads are counted and delayed by the injected latency; sessions are stored as JSON.
 */
export class BenchSessions {
  readonly #backend: SessionBackend;

  /** Stores in `storage` (Redis), or in this process's memory without it. */
  constructor(storage?: SessionStorage) {
    this.#backend = storage === undefined ? memoryBackend() : redisBackend(storage);
  }

  get(sid: string): Promise<unknown> {
    counters.storeReads++;
    return new Promise((resolve, reject) => {
      withLatency(() => {
        this.#backend
          .read(sid)
          .then((json) => resolve(json === undefined ? undefined : JSON.parse(json)), reject);
      });
    });
  }

  set(sid: string, data: unknown): Promise<void> {
    return this.#backend.write(sid, JSON.stringify(data));
  }

  destroy(sid: string): Promise<void> {
    return this.#backend.remove(sid);
  }
}
