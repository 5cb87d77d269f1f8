import { randomUUID } from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { memoize } from '../memo.js';
import { cookieName } from '../origin.js';
import { pathnameOf } from '../target.js';
import type { AuthContext } from '../types.js';
import { InProcessBus } from './bus.js';
import { RecentRevocations } from './recent.js';
import {
  type RegisteredSocket,
  type RegistryCounts,
  type RevalidationTargetRouter,
  type SocketEntry,
  SocketRegistry,
} from './registry.js';
import { Revalidation, type RevalidationOutcome } from './revalidation.js';
import { Schedule } from './schedule.js';
import type {
  CredentialHeaders,
  LifecycleHost,
  RevocationBus,
  RevocationMessage,
  RevocationTarget,
  RevokeOptions,
} from './types.js';
import { closeCode, closeReason, revocationTarget } from './validate.js';

/** The reason wsauth closed a socket. */
export type SocketCloseCause =
  | 'revoked'
  | 'expired'
  | 'revalidation-rejected'
  | 'revalidation-error';

/** The message published on `wsauth:socket:close`. It contains no session id or credential. */
export interface SocketCloseEvent {
  readonly userId: string | undefined;
  readonly code: number;
  readonly cause: SocketCloseCause;
}

/** Name of the `node:diagnostics_channel` channel for sockets that wsauth closes. */
export const socketCloseChannelName = 'wsauth:socket:close';
const closeChannel = diagnosticsChannel.channel(socketCloseChannelName);

/** An emitter whose 'close' event ends a registration. */
export interface CloseSource {
  on(event: 'close', listener: (this: CloseSource) => void): unknown;
}

// The registry entry of a socket, kept on its close source so that one shared 'close' listener
// serves every socket instead of a closure per socket.
const kEntry = Symbol('wsauth.lifecycleEntry');
type TaggedSource = CloseSource & { [kEntry]?: SocketEntry };

const UNAUTHORIZED = 4401;
const TRY_AGAIN_LATER = 1013;
// A handshake can still be settling for a moment after its auth deadline fired.
const RECENT_MARGIN_MS = 1000;

/**
 * The connection lifecycle of one server: the registry of open sockets, revocation through the
 * bus, and revalidation and expiry with one shared timer.
 */
export class Lifecycle {
  /** Identifies this server on the bus, so that it skips its own messages. */
  readonly instanceId = randomUUID();
  readonly registry = new SocketRegistry();

  readonly #host: LifecycleHost;
  readonly #bus: RevocationBus;
  readonly #recent: RecentRevocations;
  readonly #schedule: Schedule<SocketEntry>;
  readonly #unsubscribe: () => void;
  #queue: (SocketEntry | undefined)[] = [];
  #queueHead = 0;
  #running = 0;
  #pumpScheduled = false;
  #closed = false;
  readonly #onSocketClose: (this: CloseSource) => void;

  constructor(host: LifecycleHost) {
    this.#host = host;
    this.#bus = host.options.bus ?? new InProcessBus();
    // Revocations are remembered as long as a handshake or a ticket minted before them can last.
    this.#recent = new RecentRevocations(
      Math.max(host.authTimeoutMs, host.ticketTtlMs ?? 0) + RECENT_MARGIN_MS,
    );
    this.#schedule = new Schedule((entry) => this.#enqueue(entry));
    const forget = (entry: SocketEntry): void => this.#forget(entry);
    this.#onSocketClose = function (this: TaggedSource) {
      const entry = this[kEntry];
      if (entry !== undefined) {
        this[kEntry] = undefined;
        forget(entry);
      }
    };
    this.#unsubscribe = this.#bus.subscribe({
      revoke: (message) => this.#onMessage(message),
      resync: () => this.revalidateAll(),
    });
  }

  /** Socket counts for metrics. */
  get counts(): RegistryCounts {
    return this.registry.counts;
  }

  /** Revalidations waiting for a free slot or running. */
  get pendingRevalidations(): number {
    return this.#queue.length - this.#queueHead + this.#running;
  }

  /**
   * Registers an accepted socket until it closes. Only the credential headers and the path of
   * `req` are kept. `startedAt` is the handshake's `performance.now()` start time. The entry ends
   * when `closeSource` emits 'close': by default the socket itself, and for a `ws` socket the TCP
   * socket under it, whose listener list stays short.
   */
  register(
    socket: RegisteredSocket,
    context: AuthContext,
    req: Pick<IncomingMessage, 'headers' | 'url'>,
    startedAt: number,
    router: RevalidationTargetRouter | undefined,
    closeSource: CloseSource = socket,
  ): void {
    const missed = this.#recent.match(context, startedAt);
    if (missed !== undefined) {
      closeQuietly(socket, missed.code, missed.reason);
      this.#report(context.userId, missed.code, 'revoked');
      return;
    }

    const entry: SocketEntry = {
      socket,
      userId: context.userId,
      sessionId: ownCopy(context.sessionId),
      expiresAt: context.expiresAt,
      credentials: this.#credentialsOf(context, req, router),
      path: pathOf(req.url ?? '/'),
      router,
      failures: 0,
      open: true,
      heapIndex: -1,
      dueAt: 0,
    };
    this.registry.add(entry);
    (closeSource as TaggedSource)[kEntry] = entry;
    closeSource.on('close', this.#onSocketClose);
    this.#scheduleNext(entry, Date.now());
  }

  /**
   * Checks whether the user or the session was revoked, on this instance or through the bus, since
   * `sinceEpochMs`. It looks back as far as the longest of the auth deadline and the ticket TTL.
   */
  revokedSince(
    target: { userId?: string | undefined; sessionId?: string | undefined },
    sinceEpochMs: number,
  ): boolean {
    return this.#recent.matchSince(target, sinceEpochMs) !== undefined;
  }

  /**
   * Closes every local socket of a user or session and publishes the revocation so that other
   * instances do the same. Resolves with the number of local sockets closed once the bus has
   * the message; rejects when publishing fails, after the local sockets are closed.
   */
  async revoke(target: RevocationTarget, options: RevokeOptions = {}): Promise<number> {
    const message: RevocationMessage = {
      target: revocationTarget(target),
      code: closeCode(options.code ?? UNAUTHORIZED),
      reason: closeReason(options.reason ?? 'Unauthorized'),
      source: this.instanceId,
    };
    const closed = this.#revokeLocally(message);
    await this.#bus.publish(message);
    return closed;
  }

  /** Revalidates every socket that can be revalidated, as soon as a slot is free. */
  revalidateAll(): void {
    const now = Date.now();
    for (const entry of this.registry.entries()) {
      if (entry.credentials !== undefined) {
        this.#schedule.schedule(entry, now);
      }
    }
  }

  /** Stops the timer and leaves the bus. Open sockets stay registered until they close. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    this.#schedule.clear();
    this.#queue = [];
    this.#queueHead = 0;
  }

  #onMessage(message: RevocationMessage): void {
    if (message.source !== this.instanceId) {
      this.#revokeLocally(message);
    }
  }

  #revokeLocally(message: RevocationMessage): number {
    this.#recent.add(message.target, message.code, message.reason);
    const entries = this.registry.find(message.target);
    for (const entry of entries) {
      this.#close(entry, message.code, message.reason, 'revoked');
    }
    return entries.length;
  }

  #credentialsOf(
    context: AuthContext,
    req: Pick<IncomingMessage, 'headers'>,
    router: RevalidationTargetRouter | undefined,
  ): CredentialHeaders | undefined {
    // A one-time ticket cannot be replayed, and an anonymous socket has nothing to lose.
    if (
      router?.revalidate === undefined ||
      context.credential === 'ticket' ||
      (context.userId === undefined && context.sessionId === undefined)
    ) {
      return undefined;
    }
    return saveCredentials(
      req.headers,
      this.#host.options.credentialHeaders,
      this.#host.credentialCookies,
    );
  }

  #scheduleNext(entry: SocketEntry, now: number): void {
    // A check still running when the server closed must not arm the timer again.
    if (this.#closed) {
      return;
    }
    const { revalidateIntervalMs, revalidateJitter } = this.#host.options;
    const checkAt =
      entry.credentials === undefined
        ? Number.POSITIVE_INFINITY
        : now + Math.round(revalidateIntervalMs * (1 - revalidateJitter * Math.random()));
    const at = Math.min(checkAt, entry.expiresAt ?? Number.POSITIVE_INFINITY);
    if (at === Number.POSITIVE_INFINITY) {
      this.#schedule.remove(entry);
    } else {
      this.#schedule.schedule(entry, at);
    }
  }

  #enqueue(entry: SocketEntry): void {
    if (entry.open) {
      this.#queue.push(entry);
      this.#pump();
    }
  }

  // A check against an in-memory store settles in microtasks, so starting the next one from the
  // last one's `finally` would drain the whole queue in one macrotask and block the event loop.
  // setImmediate lets I/O run between rounds.
  #schedulePump(): void {
    if (this.#pumpScheduled) {
      return;
    }
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    const limit = this.#host.options.revalidateConcurrency;
    while (this.#running < limit && this.#queueHead < this.#queue.length) {
      const entry = this.#queue[this.#queueHead];
      this.#queue[this.#queueHead] = undefined;
      this.#queueHead++;
      if (entry?.open === true) {
        this.#running++;
        void this.#check(entry).finally(() => {
          this.#running--;
          this.#schedulePump();
        });
      }
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    }
  }

  async #check(entry: SocketEntry): Promise<void> {
    const expired = entry.expiresAt !== undefined && entry.expiresAt <= Date.now();
    if (entry.credentials === undefined || entry.router?.revalidate === undefined) {
      if (expired) {
        this.#close(entry, UNAUTHORIZED, 'Session expired', 'expired');
      }
      return;
    }

    const outcome = await this.#revalidate(entry, entry.credentials, entry.router);
    if (entry.open) {
      this.#apply(entry, outcome, expired);
    }
  }

  #revalidate(
    entry: SocketEntry,
    credentials: CredentialHeaders,
    router: RevalidationTargetRouter,
  ): Promise<RevalidationOutcome> {
    const { touch, revalidateTimeoutMs } = this.#host.options;
    const timeoutMs = revalidateTimeoutMs ?? this.#host.authTimeoutMs;
    const revalidation = new Revalidation(credentials, entry.path, touch, timeoutMs);
    try {
      router.revalidate?.(revalidation);
    } catch (error) {
      revalidation.fail(error);
    }
    return revalidation.outcome;
  }

  #apply(entry: SocketEntry, outcome: RevalidationOutcome, expired: boolean): void {
    if (outcome.kind === 'reject') {
      this.#close(entry, UNAUTHORIZED, 'Unauthorized', 'revalidation-rejected');
      return;
    }
    if (outcome.kind === 'error') {
      this.#onRevalidationError(entry, outcome, expired);
      return;
    }

    const now = Date.now();
    const { userId, expiresAt } = outcome.input;
    if (entry.userId !== undefined && userId !== entry.userId) {
      this.#close(entry, UNAUTHORIZED, 'Unauthorized', 'revalidation-rejected');
      return;
    }
    entry.failures = 0;
    entry.expiresAt = expiresAt;
    if (expiresAt !== undefined && expiresAt <= now) {
      this.#close(entry, UNAUTHORIZED, 'Session expired', 'expired');
      return;
    }
    this.#scheduleNext(entry, now);
  }

  #onRevalidationError(
    entry: SocketEntry,
    outcome: Extract<RevalidationOutcome, { kind: 'error' }>,
    expired: boolean,
  ): void {
    this.#host.logger?.warn(
      {
        err: describeError(outcome.error),
        status: outcome.status,
        userId: entry.userId,
        failures: entry.failures + 1,
      },
      'WebSocket revalidation failed',
    );
    if (expired) {
      this.#close(entry, UNAUTHORIZED, 'Session expired', 'expired');
      return;
    }
    if (this.#host.options.onRevalidationError === 'close' || entry.failures >= 1) {
      this.#close(entry, TRY_AGAIN_LATER, 'Try again later', 'revalidation-error');
      return;
    }
    entry.failures++;
    this.#scheduleNext(entry, Date.now());
  }

  #close(entry: SocketEntry, code: number, reason: string, cause: SocketCloseCause): void {
    if (!entry.open) {
      return;
    }
    this.#forget(entry);
    closeQuietly(entry.socket, code, reason);
    this.#report(entry.userId, code, cause);
  }

  #forget(entry: SocketEntry): void {
    entry.open = false;
    this.registry.delete(entry);
    this.#schedule.remove(entry);
  }

  #report(userId: string | undefined, code: number, cause: SocketCloseCause): void {
    if (closeChannel.hasSubscribers) {
      closeChannel.publish({ userId, code, cause } satisfies SocketCloseEvent);
    }
    this.#host.logger?.info({ userId, code, cause }, `WebSocket closed (${cause})`);
  }
}

// Store clients attach the failed command's arguments to their errors (ioredis does), and those
// contain session ids; only the name, code and message are logged.
function describeError(error: unknown): Record<string, unknown> | undefined {
  if (!(error instanceof Error)) {
    return error === undefined ? undefined : { message: String(error) };
  }
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(code === undefined ? {} : { code }) };
}

function closeQuietly(socket: RegisteredSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    // A socket implementation may throw when it is already closed; there is nothing left to do.
  }
}

/**
 * Copies the named headers that are present, the Cookie header narrowed to `cookieNames` when
 * given; returns `undefined` when nothing is left.
 */
export function saveCredentials(
  headers: IncomingMessage['headers'],
  names: readonly string[],
  cookieNames?: ReadonlySet<string>,
): CredentialHeaders | undefined {
  let saved: Record<string, string> | undefined;
  for (const name of names) {
    const value = headers[name];
    if (value === undefined) {
      continue;
    }
    const joined = Array.isArray(value) ? value.join(', ') : value;
    const narrowed =
      name === 'cookie' && cookieNames !== undefined ? onlyCookies(joined, cookieNames) : joined;
    if (narrowed !== '') {
      saved ??= {};
      saved[name] = narrowed;
    }
  }
  return saved;
}

// Session cookies are a small part of a typical Cookie header. Without this, analytics and
// preference cookies would stay in memory for the life of every socket.
function onlyCookies(header: string, names: ReadonlySet<string>): string {
  const credentialPairs: string[] = [];
  for (const pair of header.split(';')) {
    if (names.has(cookieName(pair))) {
      credentialPairs.push(pair.trim());
    }
  }
  return credentialPairs.join('; ');
}

// Sockets of one route share one copy of its path. A path cut from a URL with a query is copied
// first, so that no remembered path keeps a one-time ticket alive.
const internPath = memoize((path: string): string => path);

function pathOf(url: string): string {
  const path = pathnameOf(url);
  return internPath(path === url ? url : ownCopy(path));
}

// A session id is often a slice of the decoded Cookie value, and a slice keeps that whole value
// alive for as long as the socket is open. V8 slices only strings of 13 characters or more.
function ownCopy(value: string): string;
function ownCopy(value: string | undefined): string | undefined;
function ownCopy(value: string | undefined): string | undefined {
  return value === undefined || value.length < 13
    ? value
    : Buffer.from(value, 'utf8').toString('utf8');
}
