import type { Revalidation } from './revalidation.js';
import type { CredentialHeaders, RevocationTarget } from './types.js';

/** The part of a `ws` WebSocket the registry uses. */
export interface RegisteredSocket {
  close(code?: number, reason?: string): void;
  on(event: 'close', listener: (this: RegisteredSocket) => void): unknown;
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

// Most sessions and many users have one socket, so an index stores that entry itself and
// switches to a Set only for the second one, which saves a Set per socket.
type Bucket = SocketEntry | Set<SocketEntry>;

/** Open sockets indexed by user id and by session id. Every operation is O(1) per socket. */
export class SocketRegistry {
  readonly #all = new Set<SocketEntry>();
  readonly #byUser = new Map<string, Bucket>();
  readonly #bySession = new Map<string, Bucket>();

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
    if (bucket === undefined) {
      return [];
    }
    return bucket instanceof Set ? [...bucket] : [bucket];
  }

  /** Returns an iterator over every registered entry. */
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

function addTo(index: Map<string, Bucket>, key: string | undefined, entry: SocketEntry) {
  if (key === undefined) {
    return;
  }
  const bucket = index.get(key);
  if (bucket === undefined) {
    index.set(key, entry);
  } else if (bucket instanceof Set) {
    bucket.add(entry);
  } else {
    index.set(key, new Set([bucket, entry]));
  }
}

function removeFrom(index: Map<string, Bucket>, key: string | undefined, entry: SocketEntry) {
  if (key === undefined) {
    return;
  }
  const bucket = index.get(key);
  if (bucket === entry) {
    index.delete(key);
    return;
  }
  if (bucket instanceof Set && bucket.delete(entry) && bucket.size === 1) {
    // Back to the single-entry form, so a long-lived user does not keep a Set of one.
    const [remaining] = bucket;
    index.set(key, remaining as SocketEntry);
  }
}
