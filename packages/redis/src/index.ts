export { RedisRevocationBus, type RedisRevocationBusOptions } from './bus.js';
export {
  createRedisWsAuthOptions,
  type RedisWsAuthSetup,
  type RedisWsAuthSetupOptions,
} from './options.js';
export { RedisTicketStore, type RedisTicketStoreOptions } from './ticket-store.js';
