import type {
  RevocationBus,
  RevocationMessage,
  RevocationSubscriber,
  WsAuthLogger,
} from '@wsauth/core';
import type { Redis } from 'ioredis';
import { compareStreamIds, decodeMessage, encodeMessage } from './messages.js';

/** Options of {@link RedisRevocationBus}. */
export interface RedisRevocationBusOptions {
  /**
   * The ioredis client that publishes. The bus subscribes on its own duplicate of it, because a
   * subscribed connection cannot run other commands. The bus never closes this client.
   */
  redis: Redis;
  /**
   * Prefix of the channel (`<prefix>revocations`) and of the replay stream
   * (`<prefix>revocations:log`).
   * @default 'wsauth:'
   */
  prefix?: string;
  /**
   * How many recent revocations the replay stream keeps (approximately, as `XADD MAXLEN ~`).
   * An instance that reconnects replays the ones it missed from there.
   * @default 1000
   */
  replayLimit?: number;
  /**
   * Logger with pino's call shape for connection loss, reconnects and malformed messages.
   * @default undefined
   */
  logger?: WsAuthLogger;
}

// XADD and PUBLISH in one script, so that a message is never on the channel without being in
// the replay stream. The channel payload starts with the stream id, for deduplication.
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

const PUBLISH_SCRIPT = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[1])
redis.call('PUBLISH', ARGV[3], id .. ' ' .. ARGV[1])
return id
`;

/**
 * A revocation bus over Redis pub/sub. Every message is also appended to a capped stream: an
 * instance whose subscription was disconnected replays the messages it missed when it
 * reconnects, and then makes its server revalidate every socket, because the stream may have
 * been trimmed or lost with a Redis restart.
 */
export class RedisRevocationBus implements RevocationBus {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #stream: string;
  readonly #replayLimit: number;
  readonly #logger: WsAuthLogger | undefined;
  readonly #subscribers = new Set<RevocationSubscriber>();
  readonly #ready: Promise<void>;
  #lastId = '0-0';
  #disconnected = false;
  #failedAttempts = 0;

  constructor(options: RedisRevocationBusOptions) {
    const prefix = options.prefix ?? 'wsauth:';
    this.#redis = options.redis;
    this.#channel = `${prefix}revocations`;
    this.#stream = `${prefix}revocations:log`;
    this.#replayLimit = options.replayLimit ?? 1000;
    this.#logger = options.logger;
    this.#subscriber = options.redis.duplicate();
    this.#listen();
    this.#ready = this.#start();
    // Callers that never await ready() must not get an unhandled rejection.
    this.#ready.catch(() => {});
  }

  /** Resolves once the bus is subscribed and has read the newest id of the replay stream. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * Appends the revocation to the replay stream and publishes it. A failure rejects with an
   * error that carries only ioredis's message, because ioredis errors list the command's
   * arguments, which contain the session id.
   */
  async publish(message: RevocationMessage): Promise<void> {
    try {
      await this.#redis.eval(
        PUBLISH_SCRIPT,
        1,
        this.#stream,
        encodeMessage(message),
        String(this.#replayLimit),
        this.#channel,
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Publishing a revocation to Redis failed: ${reason}`);
    }
  }

  subscribe(subscriber: RevocationSubscriber): () => void {
    this.#subscribers.add(subscriber);
    return () => {
      this.#subscribers.delete(subscriber);
    };
  }

  /** Closes the subscriber connection. The publishing client stays open. */
  async close(): Promise<void> {
    this.#subscribers.clear();
    this.#subscriber.disconnect();
  }

  async #start(): Promise<void> {
    await this.#subscriber.subscribe(this.#channel);
    const latest = (await this.#redis.xrevrange(this.#stream, '+', '-', 'COUNT', 1))[0];
    if (latest !== undefined && compareStreamIds(latest[0], this.#lastId) > 0) {
      this.#lastId = latest[0];
    }
  }

  #listen(): void {
    this.#subscriber.on('message', (channel: string, payload: string) => {
      if (channel === this.#channel) {
        this.#receive(payload);
      }
    });
    this.#subscriber.on('error', (error: Error) => {
      this.#failedAttempts++;
      if (this.#failedAttempts === 1) {
        this.#logger?.warn({ err: error }, 'Redis revocation bus connection error; retrying');
      }
    });
    this.#subscriber.on('close', () => {
      if (!this.#disconnected && this.#subscriber.status !== 'end') {
        this.#disconnected = true;
        this.#logger?.warn({}, 'Redis revocation bus disconnected; reconnecting');
      }
    });
    this.#subscriber.on('ready', () => {
      if (this.#disconnected) {
        this.#disconnected = false;
        void this.#catchUp();
      }
    });
  }

  #receive(payload: string): void {
    const space = payload.indexOf(' ');
    const id = payload.slice(0, space);
    if (space === -1 || !STREAM_ID.test(id) || compareStreamIds(id, this.#lastId) <= 0) {
      return;
    }
    this.#deliver(id, payload.slice(space + 1));
  }

  // Only a well-formed message moves the last id seen, so that a malformed one cannot make the
  // bus skip the real messages after it.
  #deliver(id: string, encoded: string): void {
    const message = decodeMessage(encoded);
    if (message === undefined) {
      this.#logger?.warn({}, 'Ignored a malformed revocation message from Redis');
      return;
    }
    this.#lastId = id;
    for (const subscriber of [...this.#subscribers]) {
      subscriber.revoke(message);
    }
  }

  // Replays what the stream kept since the last message seen, then requests a full
  // revalidation, which also covers messages the stream no longer has.
  async #catchUp(): Promise<void> {
    const attempts = this.#failedAttempts;
    this.#failedAttempts = 0;
    try {
      const entries = await this.#redis.xrange(
        this.#stream,
        `(${this.#lastId}`,
        '+',
        'COUNT',
        this.#replayLimit,
      );
      for (const [id, fields] of entries) {
        if (compareStreamIds(id, this.#lastId) > 0) {
          this.#deliver(id, fields[1] ?? '');
        }
      }
      this.#logger?.info(
        { replayed: entries.length, failedAttempts: attempts },
        'Redis revocation bus reconnected; replayed missed revocations',
      );
    } catch (error) {
      this.#logger?.error({ err: error }, 'Replaying missed revocations from Redis failed');
    }
    for (const subscriber of [...this.#subscribers]) {
      subscriber.resync();
    }
  }
}
