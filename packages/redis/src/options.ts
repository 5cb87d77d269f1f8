import type { WsAuthLogger, WsAuthOptions } from '@wsauth/core';
import type { Redis } from 'ioredis';
import { RedisRevocationBus } from './bus.js';
import { RedisTicketStore } from './ticket-store.js';

/** Options of {@link createRedisWsAuthOptions}. */
export interface RedisWsAuthSetupOptions {
  /**
   * Prefix of every key and channel: `<prefix>revocations` and `<prefix>ticket:<digest>`.
   * @default 'wsauth:'
   */
  prefix?: string;
  /**
   * Logger for the bus's connection events.
   * @default undefined
   */
  logger?: WsAuthLogger;
}

/** The wsauth options that put revocations and tickets in Redis, and how to release them. */
export interface RedisWsAuthSetup {
  readonly options: Required<Pick<WsAuthOptions, 'lifecycle' | 'tickets'>>;
  readonly bus: RedisRevocationBus;
  readonly ticketStore: RedisTicketStore;
  /** Closes the bus's subscriber connection; `redis` stays open. */
  close(): Promise<void>;
}

/**
 * Creates a revocation bus and a ticket store on one ioredis client and resolves once the bus is
 * subscribed. Spread `options` into the adapter's options.
 */
export async function createRedisWsAuthOptions(
  redis: Redis,
  setup: RedisWsAuthSetupOptions = {},
): Promise<RedisWsAuthSetup> {
  const prefix = setup.prefix ?? 'wsauth:';
  const bus = new RedisRevocationBus({ redis, prefix, logger: setup.logger });
  const ticketStore = new RedisTicketStore({ redis, prefix: `${prefix}ticket:` });
  await bus.ready();

  return {
    options: { lifecycle: { bus }, tickets: { store: ticketStore } },
    bus,
    ticketStore,
    close: () => bus.close(),
  };
}
