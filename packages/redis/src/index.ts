export { RedisRevocationBus, type RedisRevocationBusOptions } from './bus.js';
export { RedisTicketStore, type RedisTicketStoreOptions } from './ticket-store.js';
