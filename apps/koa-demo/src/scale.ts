import type { KoaWsAuthOptions } from '@wsauth/koa';
import { createRedisWsAuthOptions } from '@wsauth/redis';
import { Redis } from 'ioredis';
import { RedisSessionStore } from './redis-session-store.js';

/** The shared session store, bus and ticket store of a demo that runs as several instances. */
export interface ScaleOut {
  /** The Redis session store, or `undefined` for the in-memory default. */
  sessionStore: RedisSessionStore | undefined;
  /** The lifecycle bus and ticket store to pass to `createWsAuth`. */
  wsauthOptions: KoaWsAuthOptions;
  /** Closes the Redis connections. */
  close(): Promise<void>;
}

/**
 * Connects to Redis when `redisUrl` is set and returns a koa-session external store, a
 * revocation bus and a ticket store that share one connection under `prefix`. Without a URL
 * everything stays in memory, which serves one instance only.
 */
export async function scaleOut(
  redisUrl: string | undefined,
  prefix = 'wsauth-demo:',
): Promise<ScaleOut> {
  if (redisUrl === undefined) {
    return { sessionStore: undefined, wsauthOptions: {}, close: async () => {} };
  }

  const redis = new Redis(redisUrl);
  redis.on('error', (error: Error) => {
    console.error(`Redis connection error: ${error.message}`);
  });
  const shared = await createRedisWsAuthOptions(redis, { prefix });

  return {
    sessionStore: new RedisSessionStore(redis, `${prefix}sess:`),
    wsauthOptions: shared.options,
    close: async () => {
      await shared.close();
      redis.disconnect();
    },
  };
}
