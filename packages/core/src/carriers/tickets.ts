import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ErrorCodes, invalidOption, WsAuthError } from '../errors.js';
import type { Handshake } from '../handshake.js';
import { normalizeOrigin } from '../origin.js';
import { type Rejection, rejection } from '../rejection.js';
import type { AcceptInput, WsAuthUser } from '../types.js';
import { MemoryTicketStore, type TicketRecord, type TicketStore } from './ticket-store.js';

/** Options for one-time tickets. */
export interface TicketOptions {
  /**
   * The store that keeps tickets. Use a shared store when several instances serve the app.
   * @default new MemoryTicketStore()
   */
  store?: TicketStore;
  /**
   * How long a ticket stays valid after it is minted, in milliseconds.
   * @default 30000
   */
  ttlMs?: number;
  /**
   * Accept a ticket only from the client address that minted it. Off by default because
   * clients behind carrier NAT or switching between IPv4 and IPv6 change address.
   * @default false
   */
  bindIp?: boolean;
  /**
   * Accept a ticket only from the `Origin` of the request that minted it, when that request had
   * an `Origin` header.
   * @default true
   */
  bindOrigin?: boolean;
}

/** The user and request a ticket is minted for. Adapters fill it from the REST request. */
export interface TicketInput {
  /** The authenticated user's id. */
  userId: string;
  /** The user object the WebSocket route's chain will find; it is copied through JSON. */
  user?: WsAuthUser | undefined;
  /** The client address of the minting request, for IP binding. */
  ip?: string | undefined;
  /** The `Origin` header of the minting request, for origin binding. */
  origin?: string | undefined;
  /**
   * The session of the minting request. Revoking it (logout) rejects the ticket and closes the
   * socket it opened, as for a socket opened with the session cookie.
   */
  sessionId?: string | undefined;
}

/** The server services that tickets use. */
export interface TicketHost {
  /** Returns the client address of a request by the server's proxy rules. */
  addressOf(req: IncomingMessage): string | undefined;
  /** Checks whether the user or session of a ticket was revoked since `sinceEpochMs`. */
  revokedSince(
    target: { userId: string; sessionId: string | undefined },
    sinceEpochMs: number,
  ): boolean;
  /**
   * Lower-case names of the request headers that carry credentials other than cookies, such as
   * `authorization`. A ticket sent with one of them is rejected, because the two may name
   * different users.
   */
  readonly bearerHeaders: readonly string[];
}

/** A minted ticket, in the shape the demos' `POST /api/ws-ticket` returns. */
export interface MintedTicket {
  /** The value to send as `?ticket=` on the upgrade. */
  readonly ticket: string;
  /** Seconds until the ticket expires. */
  readonly expiresIn: number;
}

/** The query parameter that carries a ticket on the upgrade request. */
export const TICKET_PARAMETER = 'ticket';

const TICKET_BYTES = 32;
const TICKET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const REDACTED = '[redacted]';

/** Mints one-time tickets and redeems them on upgrade requests. */
export class Tickets {
  readonly store: TicketStore;
  readonly ttlMs: number;
  readonly enabled: boolean;
  readonly #bindIp: boolean;
  readonly #bindOrigin: boolean;
  readonly #host: TicketHost;
  readonly #extracted = new WeakMap<IncomingMessage, string>();

  constructor(options: TicketOptions | false, host: TicketHost) {
    const resolved = resolveTicketOptions(options);
    this.enabled = options !== false;
    this.store = resolved.store;
    this.ttlMs = resolved.ttlMs;
    this.#bindIp = resolved.bindIp;
    this.#bindOrigin = resolved.bindOrigin;
    this.#host = host;
  }

  /** Creates a ticket for an authenticated user. The ticket itself is never stored. */
  async mint(input: TicketInput): Promise<MintedTicket> {
    if (!this.enabled) {
      throw new WsAuthError(
        ErrorCodes.TICKETS_DISABLED,
        'Tickets are disabled by the tickets option.',
      );
    }
    if (typeof input.userId !== 'string' || input.userId === '') {
      throw new WsAuthError(
        ErrorCodes.TICKET_WITHOUT_USER,
        'Cannot mint a ticket without an authenticated user; run the auth middleware first.',
        { statusCode: 401 },
      );
    }

    const ticket = randomBytes(TICKET_BYTES).toString('base64url');
    const origin = input.origin === undefined ? undefined : normalizeOrigin(input.origin);
    const now = Date.now();
    const record: TicketRecord = {
      userId: input.userId,
      user: input.user === undefined ? undefined : JSON.parse(JSON.stringify(input.user)),
      expiresAt: now + this.ttlMs,
      issuedAt: now,
      ...(input.sessionId === undefined ? {} : { sessionId: input.sessionId }),
      ...(this.#bindIp && input.ip !== undefined ? { ip: input.ip } : {}),
      ...(this.#bindOrigin && origin !== undefined ? { origin } : {}),
    };
    await this.store.set(ticketKey(ticket), record, this.ttlMs);
    return { ticket, expiresIn: Math.ceil(this.ttlMs / 1000) };
  }

  /**
   * Mints a ticket for the user and session an adapter read from an authenticated request, with
   * that request's client address and `Origin` for the bindings.
   */
  mintFor(
    auth: Pick<AcceptInput, 'user' | 'userId' | 'sessionId'>,
    from: { ip?: string | undefined; origin?: string | undefined },
  ): Promise<MintedTicket> {
    return this.mint({
      userId: auth.userId ?? '',
      user: auth.user,
      sessionId: auth.sessionId,
      ip: from.ip,
      origin: from.origin,
    });
  }

  /**
   * Takes the `?ticket=` out of an upgrade request before any extension or middleware reads it:
   * `req.url` keeps `ticket=[redacted]` and the value waits for {@link Tickets.redeem}. Returns
   * a 400 rejection for a malformed value or a repeated parameter.
   */
  extract(req: IncomingMessage): Rejection | undefined {
    if (!this.enabled) {
      return undefined;
    }
    const found = extractTicket(req.url);
    if (found === undefined) {
      return undefined;
    }

    req.url = found.redactedUrl;
    const value = found.values[0] ?? '';
    if (found.values.length !== 1 || !TICKET_PATTERN.test(value)) {
      return rejection(
        400,
        ErrorCodes.INVALID_CREDENTIAL_CARRIER,
        'The ticket parameter is malformed.',
      );
    }
    this.#extracted.set(req, value);
    return undefined;
  }

  /**
   * Redeems the ticket {@link Tickets.extract} took from the request, if any: consumes it, checks
   * its bindings and records the user on the handshake. Returns `undefined` synchronously when
   * the request carried no ticket, so that most handshakes never wait.
   */
  redeem(handshake: Handshake): Promise<Rejection | undefined> | undefined {
    const ticket = this.#extracted.get(handshake.req);
    if (ticket === undefined) {
      return undefined;
    }
    this.#extracted.delete(handshake.req);

    const req = handshake.req;
    if (
      handshake.credential !== undefined ||
      this.#host.bearerHeaders.some((name) => req.headers[name] !== undefined)
    ) {
      return Promise.resolve(
        rejection(
          400,
          ErrorCodes.INVALID_CREDENTIAL_CARRIER,
          'Send a ticket or a token, not both.',
        ),
      );
    }
    return this.#consume(handshake, ticket);
  }

  async #consume(handshake: Handshake, ticket: string): Promise<Rejection | undefined> {
    const record = await this.store.take(ticketKey(ticket));
    if (
      record === undefined ||
      record.expiresAt <= Date.now() ||
      !this.#bindingsMatch(handshake.req, record)
    ) {
      return rejection(
        401,
        ErrorCodes.TICKET_REJECTED,
        'The ticket is invalid, expired or already used.',
      );
    }
    const target = { userId: record.userId, sessionId: record.sessionId };
    if (this.#host.revokedSince(target, record.issuedAt ?? record.expiresAt - this.ttlMs)) {
      return rejection(
        401,
        ErrorCodes.TICKET_REJECTED,
        'The session or user of the ticket was signed out after it was minted.',
      );
    }

    handshake.credential = {
      kind: 'ticket',
      userId: record.userId,
      user: record.user as WsAuthUser | undefined,
      sessionId: record.sessionId,
    };
    return undefined;
  }

  #bindingsMatch(req: IncomingMessage, record: TicketRecord): boolean {
    if (record.ip !== undefined && record.ip !== this.#host.addressOf(req)) {
      return false;
    }
    if (record.origin !== undefined) {
      const origin = req.headers.origin;
      return origin !== undefined && normalizeOrigin(origin) === record.origin;
    }
    return true;
  }

  close(): void | Promise<void> {
    return this.store.close?.();
  }
}

/** Derives the store key of a ticket, so that a store dump contains no redeemable value. */
export function ticketKey(ticket: string): string {
  return createHash('sha256').update(ticket).digest('base64url');
}

interface FoundTicket {
  readonly values: string[];
  readonly redactedUrl: string;
}

// Splits the query by hand: the values stay undecoded (a valid ticket needs no decoding) and
// every other parameter keeps its exact bytes.
function extractTicket(url: string | undefined): FoundTicket | undefined {
  const queryStart = url?.indexOf('?') ?? -1;
  if (
    url === undefined ||
    queryStart === -1 ||
    (!url.includes(TICKET_PARAMETER, queryStart) && !url.includes('%', queryStart))
  ) {
    return undefined;
  }

  const values: string[] = [];
  const pairs = url.slice(queryStart + 1).split('&');
  const redacted = pairs.map((pair) => {
    const separator = pair.indexOf('=');
    const name = separator === -1 ? pair : pair.slice(0, separator);
    if (!isTicketName(name)) {
      return pair;
    }
    values.push(separator === -1 ? '' : pair.slice(separator + 1));
    return `${TICKET_PARAMETER}=${REDACTED}`;
  });

  if (values.length === 0) {
    return undefined;
  }
  return { values, redactedUrl: `${url.slice(0, queryStart)}?${redacted.join('&')}` };
}

// Query parsers decode parameter names, so `%74icket` reaches the app as `ticket` and must be
// taken and redacted as one.
function isTicketName(name: string): boolean {
  if (name === TICKET_PARAMETER) {
    return true;
  }
  if (!name.includes('%')) {
    return false;
  }
  try {
    return decodeURIComponent(name) === TICKET_PARAMETER;
  } catch {
    return false;
  }
}

interface ResolvedTicketOptions {
  readonly store: TicketStore;
  readonly ttlMs: number;
  readonly bindIp: boolean;
  readonly bindOrigin: boolean;
}

function resolveTicketOptions(options: TicketOptions | false): ResolvedTicketOptions {
  const given = options === false ? {} : options;
  if (typeof given !== 'object' || given === null) {
    invalidOption('tickets', given, 'an options object or false');
  }

  const ttlMs = given.ttlMs ?? 30_000;
  if (!Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > 24 * 60 * 60 * 1000) {
    invalidOption('tickets.ttlMs', ttlMs, 'a positive integer of milliseconds, at most one day');
  }

  const store = given.store ?? new MemoryTicketStore();
  if (typeof store.set !== 'function' || typeof store.take !== 'function') {
    invalidOption('tickets.store', store, 'an object with set and take methods');
  }

  for (const name of ['bindIp', 'bindOrigin'] as const) {
    if (given[name] !== undefined && typeof given[name] !== 'boolean') {
      invalidOption(`tickets.${name}`, given[name], 'true or false');
    }
  }
  return { store, ttlMs, bindIp: given.bindIp === true, bindOrigin: given.bindOrigin !== false };
}
