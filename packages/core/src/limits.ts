import { ErrorCodes } from './errors.js';
import { type Rejection, rejection } from './rejection.js';

/** The resolved handshake limits. `0` switches a limit off. */
export interface HandshakeLimits {
  readonly maxPendingHandshakes: number;
  readonly maxPendingPerClient: number;
  readonly attemptsPerSecondPerClient: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

// Buckets are pruned when the table grows past this size, so a scan of many addresses cannot
// grow memory without bound.
const MAX_BUCKETS = 10_000;

/**
 * Counts pending handshakes globally and per client address, and attempts per second per client
 * address (a token bucket with a one-second burst). Everything is decided from in-memory counters
 * before any session store is read.
 */
export class HandshakeLimiter {
  readonly #limits: HandshakeLimits;
  readonly #pendingByClient = new Map<string, number>();
  readonly #buckets = new Map<string, Bucket>();
  #pending = 0;

  constructor(limits: HandshakeLimits) {
    this.#limits = limits;
  }

  /** Counts one attempt; returns a 429 when the client is over its rate. */
  checkRate(client: string, now = performance.now()): Rejection | undefined {
    const rate = this.#limits.attemptsPerSecondPerClient;
    if (rate === 0) {
      return undefined;
    }

    const bucket = this.#buckets.get(client) ?? { tokens: rate, updatedAt: now };
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.updatedAt) / 1000) * rate);
    bucket.updatedAt = now;
    if (!this.#buckets.has(client)) {
      this.#pruneBuckets(now);
      this.#buckets.set(client, bucket);
    }

    if (bucket.tokens < 1) {
      return tooMany('Too many WebSocket handshakes from this client; retry later.');
    }
    bucket.tokens -= 1;
    return undefined;
  }

  /** Reserves a pending slot; returns 503 or 429 when the global or per-client cap is reached. */
  acquire(client: string): Rejection | undefined {
    const { maxPendingHandshakes, maxPendingPerClient } = this.#limits;
    if (maxPendingHandshakes !== 0 && this.#pending >= maxPendingHandshakes) {
      return rejection(503, ErrorCodes.UNAVAILABLE, 'Too many pending WebSocket handshakes.', {
        'Retry-After': '1',
      });
    }

    const clientPending = this.#pendingByClient.get(client) ?? 0;
    if (maxPendingPerClient !== 0 && clientPending >= maxPendingPerClient) {
      return tooMany('Too many pending WebSocket handshakes from this client.');
    }

    this.#pending++;
    this.#pendingByClient.set(client, clientPending + 1);
    return undefined;
  }

  /** Releases a slot taken by `acquire`. */
  release(client: string): void {
    this.#pending--;
    const clientPending = (this.#pendingByClient.get(client) ?? 1) - 1;
    if (clientPending <= 0) {
      this.#pendingByClient.delete(client);
    } else {
      this.#pendingByClient.set(client, clientPending);
    }
  }

  #pruneBuckets(now: number): void {
    if (this.#buckets.size < MAX_BUCKETS) {
      return;
    }
    // A bucket idle for a second is full again, so forgetting it changes no decision.
    for (const [client, bucket] of this.#buckets) {
      if (now - bucket.updatedAt >= 1000) {
        this.#buckets.delete(client);
      }
    }
    // NOTE: with more than MAX_BUCKETS addresses active within one second, every bucket is
    // forgotten, so each of those clients gets a fresh burst.
    if (this.#buckets.size >= MAX_BUCKETS) {
      this.#buckets.clear();
    }
  }
}

function tooMany(message: string): Rejection {
  return rejection(429, ErrorCodes.RATE_LIMITED, message, { 'Retry-After': '1' });
}
