import type { SessionStore } from '@fastify/session';
import type { FastifyWsAuthOptions } from '@wsauth/fastify';
import { createRedisWsAuthOptions } from '@wsauth/redis';
import { RedisStore } from 'connect-redis';
import { Redis } from 'ioredis';

/** The shared session store, bus and ticket store of a demo that runs as several instances. */
export interface ScaleOut {
  /** The Redis session store, or `undefined` for the in-memory default. */
  sessionStore: SessionStore | undefined;
  /** The lifecycle bus and ticket store to pass to the wsauth plugin. */
  wsauthOptions: FastifyWsAuthOptions;
  /** Closes the Redis connections. */
  close(): Promise<void>;
}

/**
 * Connects to Redis when `redisUrl` is set and returns a session store (connect-redis, which
 * @fastify/session supports), a revocation bus and a ticket store that share one connection
 * under `prefix`. Without a URL everything stays in memory, which serves one instance only.
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
  const sessionStore = new RedisStore({ client: redis, prefix: `${prefix}sess:` });

  return {
    sessionStore: sessionStore as unknown as SessionStore,
    wsauthOptions: shared.options,
    close: async () => {
      await shared.close();
      redis.disconnect();
    },
  };
}
