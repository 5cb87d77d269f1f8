/** Reconnect timing. The delay before attempt n is `min(maxDelayMs, initialDelayMs * factor^(n-1))`, reduced by up to `jitter` of itself at random. */
export interface ReconnectOptions {
  /**
   * Delay before the first reconnect, in milliseconds.
   * @default 500
   */
  initialDelayMs?: number;
  /**
   * Upper bound of the delay, in milliseconds.
   * @default 30000
   */
  maxDelayMs?: number;
  /**
   * Growth of the delay per failed attempt.
   * @default 2
   */
  factor?: number;
  /**
   * Fraction of the delay that is randomised (0 to 1), so that clients dropped together do not
   * reconnect together.
   * @default 0.5
   */
  jitter?: number;
  /**
   * Reconnect attempts in a row after which the client stops, so it makes at most
   * `maxAttempts + 1` connection attempts. A connection that closes within `stableAfterMs` of
   * opening counts as failed.
   * @default Infinity
   */
  maxAttempts?: number;
  /**
   * How long a connection must stay open before the backoff starts over, in milliseconds, so a
   * server that accepts and drops at once is not hammered.
   * @default 5000
   */
  stableAfterMs?: number;
}

/** Reconnect options with every default applied. */
export type ResolvedReconnect = Required<ReconnectOptions>;

/** Validates reconnect options and applies the defaults. */
export function resolveReconnect(options: ReconnectOptions = {}): ResolvedReconnect {
  const resolved: ResolvedReconnect = {
    initialDelayMs: options.initialDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    factor: options.factor ?? 2,
    jitter: options.jitter ?? 0.5,
    maxAttempts: options.maxAttempts ?? Number.POSITIVE_INFINITY,
    stableAfterMs: options.stableAfterMs ?? 5000,
  };

  if (!(resolved.initialDelayMs >= 0) || !(resolved.maxDelayMs >= resolved.initialDelayMs)) {
    throw new TypeError('reconnect: expected 0 <= initialDelayMs <= maxDelayMs.');
  }
  if (!(resolved.factor >= 1)) {
    throw new TypeError(
      `reconnect.factor: expected a number of at least 1, got ${resolved.factor}.`,
    );
  }
  if (!(resolved.jitter >= 0 && resolved.jitter <= 1)) {
    throw new TypeError(`reconnect.jitter: expected a number from 0 to 1, got ${resolved.jitter}.`);
  }
  if (!(resolved.stableAfterMs >= 0)) {
    throw new TypeError('reconnect.stableAfterMs: expected a number of at least 0.');
  }
  if (!(resolved.maxAttempts >= 1)) {
    throw new TypeError('reconnect.maxAttempts: expected at least 1.');
  }
  return resolved;
}

/**
 * Computes the delay before reconnect attempt `attempt` (1-based): capped exponential growth,
 * then up to `jitter` of it taken off at random. `random` returns a number in [0, 1).
 */
export function backoffDelay(
  attempt: number,
  options: ResolvedReconnect,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const capped = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** exponent);
  return Math.round(capped * (1 - options.jitter * random()));
}
