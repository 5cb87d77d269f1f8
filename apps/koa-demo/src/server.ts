import { announceListening, readConfig } from '@wsauth/demo-kit';
import { buildApp } from './app.js';

const config = readConfig();
if (config.redisUrl !== undefined) {
  console.warn('REDIS_URL is set, but the Koa demo keeps sessions in memory for now.');
}
const demo = buildApp(config);
const server = await demo.listen(config.port, config.host);
announceListening(server.address());

function shutdown(): void {
  void demo.wsauth.close();
  server.close(() => process.exit(0));
  server.closeAllConnections();
}

process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
