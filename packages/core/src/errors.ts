/**
 * Stable error codes. Each code keeps its meaning across releases; the HTTP status is the one a
 * client receives when the error rejects a handshake.
 */
export const ErrorCodes = {
  /** An option passed at setup is invalid. */
  INVALID_OPTION: 'WSAUTH_ERR_INVALID_OPTION',
  /** A `ws` server created with `server` or `port` would bypass authentication. */
  UNSAFE_WS_SERVER: 'WSAUTH_ERR_UNSAFE_WS_SERVER',
  /** The installed framework version lacks something an adapter relies on. */
  UNSUPPORTED_FRAMEWORK: 'WSAUTH_ERR_UNSUPPORTED_FRAMEWORK',
  /** The upgrade request does not use the GET method. */
  METHOD_NOT_ALLOWED: 'WSAUTH_ERR_METHOD_NOT_ALLOWED',
  /**
   * The upgrade request is not HTTP/1.1, its `Host` header is missing, repeated or invalid, its
   * target has a fragment, or an absolute-form target names another authority than `Host`.
   */
  INVALID_REQUEST: 'WSAUTH_ERR_INVALID_REQUEST',
  /** The handshake has more request headers than `maxHeaderCount`. */
  TOO_MANY_HEADERS: 'WSAUTH_ERR_TOO_MANY_HEADERS',
  /** The `Upgrade` header is missing or is not `websocket`. */
  NOT_WEBSOCKET: 'WSAUTH_ERR_NOT_WEBSOCKET',
  /** `Sec-WebSocket-Key` is missing or is not 16 bytes in base64. */
  INVALID_KEY: 'WSAUTH_ERR_INVALID_KEY',
  /** `Sec-WebSocket-Version` is not 13. */
  UNSUPPORTED_VERSION: 'WSAUTH_ERR_UNSUPPORTED_VERSION',
  /** `Sec-WebSocket-Protocol` is malformed or too long. */
  INVALID_SUBPROTOCOL: 'WSAUTH_ERR_INVALID_SUBPROTOCOL',
  /** No WebSocket route matches the request path. */
  ROUTE_NOT_FOUND: 'WSAUTH_ERR_ROUTE_NOT_FOUND',
  /** A cookie-credentialed handshake came from an origin that is not allowed. */
  ORIGIN_REJECTED: 'WSAUTH_ERR_ORIGIN_REJECTED',
  /** The app's middleware chain sent its own HTTP response to the handshake. */
  CHAIN_REJECTED: 'WSAUTH_ERR_CHAIN_REJECTED',
  /** The app's middleware chain turned a redirect into 401 because browsers cannot follow it. */
  REDIRECT_REJECTED: 'WSAUTH_ERR_REDIRECT_REJECTED',
  /** The middleware chain did not decide before the auth deadline. */
  AUTH_TIMEOUT: 'WSAUTH_ERR_AUTH_TIMEOUT',
  /** The client closed or reset the connection before the handshake finished. */
  CLIENT_ABORTED: 'WSAUTH_ERR_CLIENT_ABORTED',
  /** Too many pending handshakes or attempts. */
  RATE_LIMITED: 'WSAUTH_ERR_RATE_LIMITED',
  /** The server is shutting down or over its pending-handshake capacity. */
  UNAVAILABLE: 'WSAUTH_ERR_UNAVAILABLE',
  /** A credential carrier (subprotocol token or ticket) is malformed. */
  INVALID_CREDENTIAL_CARRIER: 'WSAUTH_ERR_INVALID_CREDENTIAL_CARRIER',
  /** A one-time ticket is unknown, expired, already used, bound elsewhere or for another user. */
  TICKET_REJECTED: 'WSAUTH_ERR_TICKET_REJECTED',
  /** A ticket was to be minted for a request that has no authenticated user. */
  TICKET_WITHOUT_USER: 'WSAUTH_ERR_TICKET_WITHOUT_USER',
  /** A ticket was to be minted while the `tickets` option is `false`. */
  TICKETS_DISABLED: 'WSAUTH_ERR_TICKETS_DISABLED',
  /** The handshake could not be completed after the chain accepted it. */
  UPGRADE_FAILED: 'WSAUTH_ERR_UPGRADE_FAILED',
  /** A revocation names no user or session, or its close code or reason is invalid. */
  INVALID_REVOCATION: 'WSAUTH_ERR_INVALID_REVOCATION',
  /** The app's chain did not decide a revalidation of an open socket in time. */
  REVALIDATION_TIMEOUT: 'WSAUTH_ERR_REVALIDATION_TIMEOUT',
  /** `accept` was called twice, or after the handshake was settled. */
  ALREADY_SETTLED: 'WSAUTH_ERR_ALREADY_SETTLED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Options for {@link WsAuthError}. */
export interface WsAuthErrorOptions {
  /** HTTP status sent to the client when this error rejects a handshake. @default 500 */
  statusCode?: number;
  /** The underlying error. @default undefined */
  cause?: unknown;
}

/** Error raised by wsauth, with a stable `code` and the HTTP status it maps to. */
export class WsAuthError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;

  constructor(code: ErrorCode, message: string, options: WsAuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WsAuthError';
    this.code = code;
    this.statusCode = options.statusCode ?? 500;
  }
}

/** Throws a setup error for an invalid option. */
export function invalidOption(name: string, value: unknown, expected: string): never {
  throw new WsAuthError(
    ErrorCodes.INVALID_OPTION,
    `Invalid option "${name}": received ${describeValue(value)}, expected ${expected}.`,
  );
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  }
  if (typeof value === 'function') {
    return 'a function';
  }
  if (value === null || typeof value !== 'object') {
    return String(value);
  }
  return Array.isArray(value) ? 'an array' : 'an object';
}
