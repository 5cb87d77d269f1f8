import type { WsAuthLogger } from '../types.js';

/** The sockets a revocation closes: every socket of one user, or every socket of one session. */
export type RevocationTarget =
  | { readonly userId: string; readonly sessionId?: undefined }
  | { readonly sessionId: string; readonly userId?: undefined };

/** Close code and reason for revoked sockets. */
export interface RevokeOptions {
  /**
   * WebSocket close code: 1000, 1001, 1008, 1011, 1013 or 3000 to 4999.
   * @default 4401
   */
  code?: number;
  /**
   * Close reason sent to the client, at most 123 bytes in UTF-8. It must not contain secrets.
   * @default 'Unauthorized'
   */
  reason?: string;
}

/** A revocation as it travels between server instances. */
export interface RevocationMessage {
  readonly target: RevocationTarget;
  readonly code: number;
  readonly reason: string;
  /** The id of the instance that published it; that instance has already closed its sockets. */
  readonly source: string;
}

/** The callbacks a server passes to a bus when it subscribes. */
export interface RevocationSubscriber {
  /** Closes the matching local sockets. */
  revoke(message: RevocationMessage): void;
  /**
   * Tells the server that messages may have been missed (for example while the bus was
   * disconnected); the server then revalidates every socket at once.
   */
  resync(): void;
}

/** Carries revocations to every server instance. */
export interface RevocationBus {
  /** Sends a revocation to every subscriber, including ones in other processes. */
  publish(message: RevocationMessage): Promise<void>;
  /** Registers a subscriber; returns a function that removes it. */
  subscribe(subscriber: RevocationSubscriber): () => void;
}

/** Credential headers saved at handshake, lower-case names, only those the request had. */
export type CredentialHeaders = Readonly<Record<string, string>>;

/** Options of the connection lifecycle: revocation bus and revalidation schedule. */
export interface LifecycleOptions {
  /**
   * Carries revocations between instances. Pass one `InProcessBus` to several servers in one
   * process to share revocations between them, or a Redis bus from `@wsauth/redis`.
   * @default a new InProcessBus for this server
   */
  bus?: RevocationBus;
  /**
   * How often each socket is revalidated by re-running the app's chain, in milliseconds.
   * @default 300000
   */
  revalidateIntervalMs?: number;
  /**
   * Fraction of the interval by which each check is moved earlier at random, so that sockets
   * opened together are not checked together. From 0 to 1.
   * @default 0.2
   */
  revalidateJitter?: number;
  /**
   * Most revalidations running at the same time.
   * @default 8
   */
  revalidateConcurrency?: number;
  /**
   * How long one revalidation may take before it counts as a store error, in milliseconds.
   * @default the server's `authTimeoutMs`
   */
  revalidateTimeoutMs?: number;
  /**
   * What a revalidation that meets an error (the chain responds with 5xx, throws or times out) does:
   * `'close'` closes the socket with 1013 at once; `'grace'` keeps it open until the next check
   * and closes it with 1013 when that check fails too.
   * @default 'grace'
   */
  onRevalidationError?: 'close' | 'grace';
  /**
   * Lets a successful revalidation finish the synthetic response, so that session middleware
   * touches or saves the session and an open socket keeps its session alive.
   * @default false
   */
  touch?: boolean;
  /**
   * Request headers saved at handshake and replayed on each revalidation. Nothing else of the
   * request is kept. With the `credentialCookies` option set, the saved Cookie header keeps only
   * those cookies.
   * @default ['cookie', 'authorization', 'x-api-key']
   */
  credentialHeaders?: readonly string[];
}

/** Lifecycle options after validation. */
export interface ResolvedLifecycleOptions {
  readonly bus: RevocationBus | undefined;
  readonly revalidateIntervalMs: number;
  readonly revalidateJitter: number;
  readonly revalidateConcurrency: number;
  readonly revalidateTimeoutMs: number | undefined;
  readonly onRevalidationError: 'close' | 'grace';
  readonly touch: boolean;
  readonly credentialHeaders: readonly string[];
}

/** The part of the owning server that the lifecycle uses. */
export interface LifecycleHost {
  readonly options: ResolvedLifecycleOptions;
  readonly logger: WsAuthLogger | undefined;
  /** Maximum time a handshake can stay in the chain, in milliseconds. */
  readonly authTimeoutMs: number;
  /** How long a ticket stays valid, in milliseconds, or 0 when tickets are off. */
  readonly ticketTtlMs?: number;
  /** Names of the cookies that carry credentials, or `undefined` to keep every cookie. */
  readonly credentialCookies?: ReadonlySet<string> | undefined;
}
