import type { AuthContext } from '../types.js';
import type { RevocationTarget } from './types.js';

interface Remembered {
  readonly at: number;
  readonly code: number;
  readonly reason: string;
}

/**
 * Revocations of the last few seconds. A handshake whose chain ran before a revocation but
 * completes after it would otherwise open a socket that the revocation missed; such a socket
 * is closed as soon as it registers. A ticket minted before a revocation of its user or session
 * is rejected. Times are `performance.now()` values.
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
    this.#entries.set(key, { at: now, code, reason });
  }

  /** Returns the revocation that a handshake started at `startedAt` missed, if any. */
  match(
    context: Partial<Pick<AuthContext, 'userId' | 'sessionId'>>,
    startedAt: number,
  ): Remembered | undefined {
    if (this.#entries.size === 0) {
      return undefined;
    }
    const bySession =
      context.sessionId === undefined
        ? undefined
        : this.#entries.get(keyOf({ sessionId: context.sessionId }));
    if (bySession !== undefined && bySession.at >= startedAt) {
      return bySession;
    }
    const byUser =
      context.userId === undefined
        ? undefined
        : this.#entries.get(keyOf({ userId: context.userId }));
    return byUser !== undefined && byUser.at >= startedAt ? byUser : undefined;
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
