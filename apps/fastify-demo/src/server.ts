import { announceListening, readConfig } from '@wsauth/demo-kit';
import { buildApp } from './app.js';

const config = readConfig();
const { app } = await buildApp(config, { fastify: { logger: { level: 'warn' } } });
await app.listen({ port: config.port, host: config.host });
announceListening(app.server.address());

async function shutdown(): Promise<void> {
  await app.close();
  process.exit(0);
}

process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
