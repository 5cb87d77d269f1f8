/** The record a {@link TicketStore} keeps for one ticket. It must survive JSON. */
export interface TicketRecord {
  /** The id of the user the ticket was minted for. */
  readonly userId: string;
  /** A JSON copy of the user object at mint time; adapters put it on the request. */
  readonly user: unknown;
  /** When the ticket stops being valid, in epoch milliseconds. */
  readonly expiresAt: number;
  /** The client address the ticket is bound to, when IP binding is on. */
  readonly ip?: string;
  /** The origin the ticket is bound to, when the mint request had one and binding is on. */
  readonly origin?: string;
  /** The session the ticket was minted from, if the minting request had one. */
  readonly sessionId?: string;
  /** When the ticket was minted, in epoch milliseconds. */
  readonly issuedAt?: number;
}

/**
 * Storage for one-time tickets. Keys are SHA-256 digests of the ticket, never the ticket.
 * Implementations must make `take` atomic: of two concurrent calls for one key, at most one
 * returns the record. The in-memory default is {@link MemoryTicketStore}; a shared store (Redis)
 * lets any instance redeem a ticket minted on another.
 */
export interface TicketStore {
  /** Stores `record` under `key` for `ttlMs` milliseconds. */
  set(key: string, record: TicketRecord, ttlMs: number): Promise<void>;
  /** Removes the record under `key` and returns it, or `undefined` when there is none. */
  take(key: string): Promise<TicketRecord | undefined>;
  /** Releases connections or timers. */
  close?(): void | Promise<void>;
}

/** A {@link TicketStore} in process memory, for a single instance. */
export class MemoryTicketStore implements TicketStore {
  readonly #records = new Map<string, TicketRecord>();

  /** Number of stored tickets, expired ones included until the next `set` prunes them. */
  get size(): number {
    return this.#records.size;
  }

  async set(key: string, record: TicketRecord, _ttlMs: number): Promise<void> {
    this.#prune(Date.now());
    this.#records.set(key, record);
  }

  async take(key: string): Promise<TicketRecord | undefined> {
    const record = this.#records.get(key);
    this.#records.delete(key);
    if (record === undefined || record.expiresAt <= Date.now()) {
      return undefined;
    }
    return record;
  }

  close(): void {
    this.#records.clear();
  }

  // Maps iterate in insertion order, and every ticket of one server has the same TTL. So the
  // expired records are at the front, and pruning stops at the first live one. `take` checks
  // the expiry itself, so a record that pruning misses is never redeemed.
  #prune(now: number): void {
    for (const [key, record] of this.#records) {
      if (record.expiresAt > now) {
        return;
      }
      this.#records.delete(key);
    }
  }
}
