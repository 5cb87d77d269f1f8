import type { AuthContext } from '../types.js';
import type { RevocationTarget } from './types.js';

interface Remembered {
  readonly at: number;
  readonly epochMs: number;
  readonly code: number;
  readonly reason: string;
}

/**
 * Revocations of the last few seconds. A handshake whose chain ran before a revocation but
 * completes after it would otherwise open a socket that the revocation missed; such a socket
 * is closed as soon as it registers. A ticket minted before a revocation of its user or session
 * is rejected. Handshake times are `performance.now()` values. Ticket times are `Date.now()`
 * values, because another process may mint a ticket, and the two clocks drift apart.
 */
export class RecentRevocations {
  readonly #windowMs: number;
  readonly #entries = new Map<string, Remembered>();

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  add(target: RevocationTarget, code: number, reason: string): void {
    const now = performance.now();
    this.#prune(now);
    const key = keyOf(target);
    // Deleting first keeps the map in time order, which #prune relies on.
    this.#entries.delete(key);
    this.#entries.set(key, { at: now, epochMs: Date.now(), code, reason });
  }

  /** Returns the revocation that a handshake started at `startedAt` missed, if any. */
  match(
    context: Partial<Pick<AuthContext, 'userId' | 'sessionId'>>,
    startedAt: number,
  ): Remembered | undefined {
    return this.#find(context, (entry) => entry.at >= startedAt);
  }

  /** Returns the revocation made at or after the wall-clock time `sinceEpochMs`, if any. */
  matchSince(
    context: Partial<Pick<AuthContext, 'userId' | 'sessionId'>>,
    sinceEpochMs: number,
  ): Remembered | undefined {
    return this.#find(context, (entry) => entry.epochMs >= sinceEpochMs);
  }

  #find(
    context: Partial<Pick<AuthContext, 'userId' | 'sessionId'>>,
    missed: (entry: Remembered) => boolean,
  ): Remembered | undefined {
    if (this.#entries.size === 0) {
      return undefined;
    }
    const bySession =
      context.sessionId === undefined
        ? undefined
        : this.#entries.get(keyOf({ sessionId: context.sessionId }));
    if (bySession !== undefined && missed(bySession)) {
      return bySession;
    }
    const byUser =
      context.userId === undefined
        ? undefined
        : this.#entries.get(keyOf({ userId: context.userId }));
    return byUser !== undefined && missed(byUser) ? byUser : undefined;
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (now - entry.at <= this.#windowMs) {
        return;
      }
      this.#entries.delete(key);
    }
  }
}

function keyOf(target: RevocationTarget): string {
  return target.userId !== undefined ? `u:${target.userId}` : `s:${target.sessionId}`;
}
