/**
 * The authenticated user. It is empty on purpose: apps describe their user by declaration
 * merging, and every adapter types `req.user`, `request.user` or `ctx.state.user` with it.
 *
 * @example
 * declare module '@wsauth/core' {
 *   interface WsAuthUser { id: string; name: string }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: apps extend this interface by declaration merging.
export interface WsAuthUser {}

/** The kind of credential that authenticated the handshake. */
export type CredentialKind = 'cookie' | 'bearer' | 'api-key' | 'ticket' | 'subprotocol' | 'none';

/** The authenticated client, as the socket handler receives it. */
export interface AuthContext {
  /** The user the app's chain authenticated, or `undefined` for an anonymous route. */
  readonly user: WsAuthUser | undefined;
  /** The user's id as a string, used by the connection registry. */
  readonly userId: string | undefined;
  /** The session id, when a session authenticated the handshake. */
  readonly sessionId: string | undefined;
  /** When the credential stops being valid, in epoch milliseconds. */
  readonly expiresAt: number | undefined;
  /** The kind of credential the handshake carried. */
  readonly credential: CredentialKind;
  /** The subprotocol echoed on the 101, if any. */
  readonly protocol: string | undefined;
}

/** The fields an adapter supplies when it accepts a handshake. */
export interface AcceptInput {
  user?: WsAuthUser | undefined;
  userId?: string | undefined;
  sessionId?: string | undefined;
  expiresAt?: number | undefined;
  credential?: CredentialKind | undefined;
}

type LogMethod = (fields: Record<string, unknown>, message: string) => void;

/** A logger with pino's call shape: fields first, then the message. */
export interface WsAuthLogger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

/**
 * Decides whether the proxy at `address` is trusted. `hop` counts from the socket peer (0)
 * outward. It has the shape of Express's compiled `trust proxy fn`.
 */
export type TrustProxy = (address: string, hop: number) => boolean;
