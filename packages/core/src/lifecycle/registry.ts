import type { Revalidation } from './revalidation.js';
import type { CredentialHeaders, RevocationTarget } from './types.js';

/** The part of a `ws` WebSocket the registry uses. */
export interface RegisteredSocket {
  close(code?: number, reason?: string): void;
  once(event: 'close', listener: () => void): unknown;
}

/** The adapter router that a registered socket is revalidated with. */
export interface RevalidationTargetRouter {
  revalidate?(revalidation: Revalidation): void;
}

/** One open socket in the registry. It keeps no request, response or handshake buffer. */
export interface SocketEntry {
  readonly socket: RegisteredSocket;
  readonly userId: string | undefined;
  readonly sessionId: string | undefined;
  /** When the credential stops being valid, in epoch milliseconds. */
  expiresAt: number | undefined;
  /** Headers replayed on revalidation; `undefined` when the socket is not revalidated. */
  readonly credentials: CredentialHeaders | undefined;
  /** The handshake's path without its query, which may carry a one-time ticket. */
  readonly path: string;
  readonly router: RevalidationTargetRouter | undefined;
  /** Errors met by consecutive revalidations. */
  failures: number;
  open: boolean;
  /** Position in the schedule heap, -1 when not scheduled. */
  heapIndex: number;
  /** When the schedule runs this entry next, in epoch milliseconds. */
  dueAt: number;
}

/** Socket counts for metrics. */
export interface RegistryCounts {
  /** Open registered sockets. */
  readonly sockets: number;
  /** Distinct users with at least one open socket. */
  readonly users: number;
  /** Distinct sessions with at least one open socket. */
  readonly sessions: number;
}

/** Open sockets indexed by user id and by session id. Every operation is O(1) per socket. */
export class SocketRegistry {
  readonly #all = new Set<SocketEntry>();
  readonly #byUser = new Map<string, Set<SocketEntry>>();
  readonly #bySession = new Map<string, Set<SocketEntry>>();

  add(entry: SocketEntry): void {
    this.#all.add(entry);
    addTo(this.#byUser, entry.userId, entry);
    addTo(this.#bySession, entry.sessionId, entry);
  }

  /** Removes the entry; returns false when it was not registered. */
  delete(entry: SocketEntry): boolean {
    if (!this.#all.delete(entry)) {
      return false;
    }
    removeFrom(this.#byUser, entry.userId, entry);
    removeFrom(this.#bySession, entry.sessionId, entry);
    return true;
  }

  /** Returns a snapshot of the entries a revocation targets. */
  find(target: RevocationTarget): SocketEntry[] {
    const bucket =
      target.userId !== undefined
        ? this.#byUser.get(target.userId)
        : this.#bySession.get(target.sessionId);
    return bucket === undefined ? [] : [...bucket];
  }

  /** Every registered entry. */
  entries(): IterableIterator<SocketEntry> {
    return this.#all.values();
  }

  get counts(): RegistryCounts {
    return {
      sockets: this.#all.size,
      users: this.#byUser.size,
      sessions: this.#bySession.size,
    };
  }
}

function addTo(index: Map<string, Set<SocketEntry>>, key: string | undefined, entry: SocketEntry) {
  if (key === undefined) {
    return;
  }
  const bucket = index.get(key);
  if (bucket === undefined) {
    index.set(key, new Set([entry]));
  } else {
    bucket.add(entry);
  }
}

function removeFrom(
  index: Map<string, Set<SocketEntry>>,
  key: string | undefined,
  entry: SocketEntry,
) {
  if (key === undefined) {
    return;
  }
  const bucket = index.get(key);
  if (bucket?.delete(entry) && bucket.size === 0) {
    index.delete(key);
  }
}
