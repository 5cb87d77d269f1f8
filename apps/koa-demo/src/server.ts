import { announceListening, readConfig } from '@wsauth/demo-kit';
import { buildApp } from './app.js';
import { scaleOut } from './scale.js';
import { MemorySessionStore } from './session-store.js';

const config = readConfig();
// With REDIS_URL, sessions, tickets and revocations live in Redis and instances share them.
const scale = await scaleOut(config.redisUrl, process.env.REDIS_PREFIX || undefined);
const demo = buildApp(config, scale.sessionStore ?? new MemorySessionStore(), scale.wsauthOptions);
const server = await demo.listen(config.port, config.host);
announceListening(server.address());

function shutdown(): void {
  void demo.wsauth.close().then(() => scale.close());
  server.close(() => process.exit(0));
  server.closeAllConnections();
}

process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
