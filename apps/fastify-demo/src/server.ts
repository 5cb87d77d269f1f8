import { announceListening, readConfig } from '@wsauth/demo-kit';
import { buildApp } from './app.js';
import { scaleOut } from './scale.js';

const config = readConfig();
// With REDIS_URL, sessions, tickets and revocations live in Redis and instances share them.
const scale = await scaleOut(config.redisUrl, process.env.REDIS_PREFIX || undefined);
const { app } = await buildApp(config, {
  fastify: { logger: { level: 'warn' } },
  sessionStore: scale.sessionStore,
  wsauth: scale.wsauthOptions,
});
await app.listen({ port: config.port, host: config.host });
announceListening(app.server.address());

async function shutdown(): Promise<void> {
  await app.close();
  await scale.close();
  process.exit(0);
}

process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
