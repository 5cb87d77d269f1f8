import type { IncomingMessage } from 'node:http';
import { WebSocketServer } from 'ws';
import {
  type RejectionMode,
  type RejectionModeSelector,
  rejectionModeCheck,
} from './carriers/close-codes.js';
import type { TicketOptions } from './carriers/tickets.js';
import { ErrorCodes, invalidOption, WsAuthError } from './errors.js';
import { resolveLifecycleOptions } from './lifecycle/options.js';
import type { LifecycleOptions, ResolvedLifecycleOptions } from './lifecycle/types.js';
import type { HandshakeLimits } from './limits.js';
import { normalizeOrigin, type OriginPolicy } from './origin.js';
import type { TrustProxy, WsAuthLogger } from './types.js';

/** Options shared by every adapter. Adapters fill `trustProxy` from the framework's setting. */
export interface WsAuthOptions {
  /**
   * Exact origins (`scheme://host[:port]`) allowed to open cookie-credentialed sockets besides
   * the request's own origin. No wildcard, suffix or substring matching is done.
   * @default []
   */
  allowedOrigins?: readonly string[];
  /**
   * Accept cookie-credentialed handshakes that send no `Origin` header (non-browser clients
   * that replay a session cookie).
   * @default false
   */
  allowMissingOrigin?: boolean;
  /**
   * Turns the origin check off, which exposes cookie-authenticated sockets to cross-site
   * WebSocket hijacking. Only for apps that authenticate without cookies.
   * @default false
   */
  dangerouslyDisableOriginCheck?: boolean;
  /**
   * Names of the cookies that carry credentials. A handshake whose cookies include none of them
   * is judged without the origin check, and revalidation replays only these cookies. Leave unset
   * to treat any cookie as a credential.
   * @default undefined
   */
  credentialCookies?: readonly string[];
  /**
   * How long the app's chain may take to accept or reject, in milliseconds, before the client
   * gets 503.
   * @default 10000
   */
  authTimeoutMs?: number;
  /**
   * Handling of a 3xx redirect from the chain. Browsers cannot follow a redirect
   * on a WebSocket handshake, so by default the status becomes 401 and `Location` is removed.
   * @default 'reject'
   */
  redirects?: 'reject' | 'pass';
  /**
   * Subprotocols the app speaks, in order of preference. The 101 echoes the first one the
   * client offers and nothing else.
   * @default []
   */
  protocols?: readonly string[];
  /**
   * Largest message accepted, in bytes; a larger one closes the socket with 1009.
   * @default 1048576
   */
  maxPayload?: number;
  /**
   * Enables permessage-deflate.
   * @default false
   */
  perMessageDeflate?: boolean;
  /**
   * Most request headers a handshake may have; more gets 431.
   * @default 256
   */
  maxHeaderCount?: number;
  /**
   * Longest `Sec-WebSocket-Protocol` value accepted, in characters; longer gets 400.
   * @default 4096
   */
  maxSubprotocolHeaderLength?: number;
  /**
   * Decides whether a proxy address is trusted for `X-Forwarded-*` headers.
   * @default () => false
   */
  trustProxy?: TrustProxy;
  /**
   * Header that lists the client address and the proxies behind trusted proxies, read the way
   * Express reads `X-Forwarded-For`. A function is called for each handshake. Adapters fill it
   * from the framework's setting, such as Koa's `app.proxyIpHeader`.
   * @default 'x-forwarded-for'
   */
  forwardedForHeader?: string | (() => string);
  /**
   * Logger with pino's call shape. wsauth never writes to the console.
   * @default undefined
   */
  logger?: WsAuthLogger;
  /**
   * A `ws` server to upgrade with. It must be created with `noServer: true`.
   * @default a new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate })
   */
  wsServer?: WebSocketServer;
  /**
   * Moves a bearer token offered as the subprotocol `wsauth.bearer.<base64url>` into
   * `Authorization: Bearer <token>` before the chain runs, for browsers that cannot set headers.
   * @default true
   */
  subprotocolCarrier?: boolean;
  /**
   * One-time tickets redeemed from `?ticket=` on the upgrade; `false` turns redemption off.
   * @default { ttlMs: 30000, bindIp: false, bindOrigin: true, store: new MemoryTicketStore() }
   */
  tickets?: TicketOptions | false;
  /**
   * Delivery of a 401 or 403 to the client: `'status'` writes the HTTP response, `'close'` completes
   * the upgrade and closes at once with 4401 or 4403 and a JSON reason (browsers cannot read the
   * status of a refused handshake). A function chooses per request, for example by path.
   * Origin rejections always stay an HTTP 403.
   * @default 'status'
   */
  rejections?: RejectionMode | RejectionModeSelector;
  /**
   * Maximum number of handshakes waiting for the chain at once; more get 503 with `Retry-After`.
   * `0` removes the cap.
   * @default 2048
   */
  maxPendingHandshakes?: number;
  /**
   * Maximum number of handshakes one client address may have waiting for the chain; more get 429 with
   * `Retry-After`. The address follows the trust-proxy setting. `0` removes the cap.
   * @default 128
   */
  maxPendingPerClient?: number;
  /**
   * Handshake attempts one client address may start per second (with a one-second burst); more
   * get 429 with `Retry-After`. `0` switches the rate limit off.
   * @default 0
   */
  attemptsPerSecondPerClient?: number;
  /**
   * Revocation bus, revalidation schedule and session touching for open sockets.
   * @default {} (each member of LifecycleOptions documents its own default)
   */
  lifecycle?: LifecycleOptions;
}

/** Options after validation, with every default applied. */
export interface ResolvedOptions {
  readonly origin: OriginPolicy;
  readonly authTimeoutMs: number;
  readonly redirects: 'reject' | 'pass';
  readonly protocols: readonly string[];
  readonly maxHeaderCount: number;
  readonly maxSubprotocolHeaderLength: number;
  readonly trustProxy: TrustProxy;
  /** Returns the lower-case name of the forwarded-for header. */
  readonly forwardedForHeader: () => string;
  readonly logger: WsAuthLogger | undefined;
  readonly wsServer: WebSocketServer;
  readonly subprotocolCarrier: boolean;
  readonly tickets: TicketOptions | false;
  readonly closesRejections: (req: IncomingMessage) => boolean;
  readonly lifecycle: ResolvedLifecycleOptions;
  readonly limits: HandshakeLimits;
}

const MAX_TIMEOUT_MS = 2_147_483_647;

/** Validates options and applies defaults. The caller's object is never modified. */
function resolveLimits(options: WsAuthOptions): HandshakeLimits {
  return {
    maxPendingHandshakes: countOption('maxPendingHandshakes', options.maxPendingHandshakes, 2048),
    maxPendingPerClient: countOption('maxPendingPerClient', options.maxPendingPerClient, 128),
    attemptsPerSecondPerClient: countOption(
      'attemptsPerSecondPerClient',
      options.attemptsPerSecondPerClient,
      0,
    ),
  };
}

function countOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  if (!Number.isInteger(value) || value < 0) {
    invalidOption(name, value, 'a whole number, 0 or more (0 switches the limit off)');
  }
  return value;
}

export function resolveOptions(options: WsAuthOptions = {}): ResolvedOptions {
  const authTimeoutMs = positiveInteger('authTimeoutMs', options.authTimeoutMs, 10_000);
  if (authTimeoutMs > MAX_TIMEOUT_MS) {
    invalidOption('authTimeoutMs', authTimeoutMs, `at most ${MAX_TIMEOUT_MS}`);
  }

  const redirects = options.redirects ?? 'reject';
  if (redirects !== 'reject' && redirects !== 'pass') {
    invalidOption('redirects', redirects, '"reject" or "pass"');
  }

  return {
    limits: resolveLimits(options),
    origin: resolveOriginPolicy(options),
    authTimeoutMs,
    redirects,
    protocols: stringList('protocols', options.protocols),
    maxHeaderCount: positiveInteger('maxHeaderCount', options.maxHeaderCount, 256),
    maxSubprotocolHeaderLength: positiveInteger(
      'maxSubprotocolHeaderLength',
      options.maxSubprotocolHeaderLength,
      4096,
    ),
    trustProxy: optionalFunction('trustProxy', options.trustProxy) ?? (() => false),
    forwardedForHeader: resolveForwardedForHeader(options.forwardedForHeader),
    logger: resolveLogger(options.logger),
    wsServer: resolveWsServer(options),
    subprotocolCarrier:
      options.subprotocolCarrier === undefined ||
      flag('subprotocolCarrier', options.subprotocolCarrier),
    tickets: options.tickets ?? {},
    closesRejections: resolveRejections(options.rejections),
    lifecycle: resolveLifecycleOptions(options.lifecycle),
  };
}

function resolveOriginPolicy(options: WsAuthOptions): OriginPolicy {
  const allowedOrigins = new Set<string>();
  for (const entry of stringList('allowedOrigins', options.allowedOrigins)) {
    const origin = normalizeOrigin(entry);
    if (origin === undefined) {
      invalidOption('allowedOrigins', entry, 'an origin such as "https://app.example.com"');
    }
    allowedOrigins.add(origin);
  }

  const cookies = options.credentialCookies;
  return {
    allowedOrigins,
    allowMissingOrigin: flag('allowMissingOrigin', options.allowMissingOrigin),
    disabled: flag('dangerouslyDisableOriginCheck', options.dangerouslyDisableOriginCheck),
    credentialCookies:
      cookies === undefined ? undefined : new Set(stringList('credentialCookies', cookies)),
  };
}

function resolveRejections(
  value: RejectionMode | RejectionModeSelector | undefined,
): (req: IncomingMessage) => boolean {
  const mode = value ?? 'status';
  if (typeof mode !== 'function' && mode !== 'status' && mode !== 'close') {
    invalidOption('rejections', mode, '"status", "close" or a function returning one of them');
  }
  return rejectionModeCheck(mode);
}

function resolveWsServer(options: WsAuthOptions): WebSocketServer {
  const given = options.wsServer;
  if (given === undefined) {
    const maxPayload = positiveInteger('maxPayload', options.maxPayload, 1024 * 1024);
    return new WebSocketServer({
      noServer: true,
      maxPayload,
      perMessageDeflate: flag('perMessageDeflate', options.perMessageDeflate),
      clientTracking: true,
    });
  }

  if (!(given instanceof WebSocketServer)) {
    invalidOption('wsServer', given, 'a WebSocketServer from the "ws" package');
  }
  if (given.options.noServer !== true) {
    throw new WsAuthError(
      ErrorCodes.UNSAFE_WS_SERVER,
      'The wsServer option was created with "server" or "port", so it installs its own upgrade ' +
        'listener and would accept sockets without authentication. Create it with ' +
        '{ noServer: true }.',
    );
  }
  return given;
}

function resolveLogger(logger: WsAuthLogger | undefined): WsAuthLogger | undefined {
  if (logger === undefined) {
    return undefined;
  }
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof logger[level] !== 'function') {
      invalidOption(`logger.${level}`, logger[level], 'a function (a pino-compatible logger)');
    }
  }
  return logger;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  if (!Number.isInteger(value) || value <= 0) {
    invalidOption(name, value, 'a positive integer');
  }
  return value;
}

function flag(name: string, value: boolean | undefined): boolean {
  if (value !== undefined && typeof value !== 'boolean') {
    invalidOption(name, value, 'true or false');
  }
  return value === true;
}

function stringList(name: string, value: readonly string[] | undefined): readonly string[] {
  if (value === undefined) {
    return [];
  }
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string' || entry === '')) {
    invalidOption(name, value, 'an array of non-empty strings');
  }
  return [...value];
}

const FORWARDED_FOR = 'x-forwarded-for';

// A function (Koa's app.proxyIpHeader) is read per handshake, so a later change applies. An
// invalid value it returns falls back to X-Forwarded-For rather than failing the handshake.
function resolveForwardedForHeader(value: string | (() => string) | undefined): () => string {
  if (value === undefined) {
    return () => FORWARDED_FOR;
  }
  if (typeof value === 'function') {
    return () => {
      const name = value();
      return typeof name === 'string' && name !== '' ? name.toLowerCase() : FORWARDED_FOR;
    };
  }
  if (typeof value !== 'string' || value === '') {
    invalidOption('forwardedForHeader', value, 'a header name or a function that returns one');
  }
  const name = value.toLowerCase();
  return () => name;
}

function optionalFunction<T>(name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    invalidOption(name, value, 'a function');
  }
  return value;
}
