import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';

/**
 * WebSocket close codes that wsauth sends. The 4xxx codes mirror HTTP 401 and 403 so that a
 * browser, which cannot read the status of a rejected handshake, can tell "log in again" from
 * "server down".
 */
export const CloseCodes = {
  /** The server is shutting down (`WsAuthServer.close`). */
  GOING_AWAY: 1001,
  /** A frame broke the WebSocket protocol. Sent by ws. */
  PROTOCOL_ERROR: 1002,
  /** A message was larger than `maxPayload`. Sent by ws. */
  MESSAGE_TOO_BIG: 1009,
  /** The route's socket handler threw or rejected. */
  INTERNAL_ERROR: 1011,
  /** Not authenticated: a rejected handshake in close mode, a revoked session, or a logout. */
  UNAUTHENTICATED: 4401,
  /** Authenticated but not allowed: a 403 from the app's chain in close mode. */
  FORBIDDEN: 4403,
} as const;

export type CloseCode = (typeof CloseCodes)[keyof typeof CloseCodes];

/**
 * The way a handshake that the app rejects with 401 or 403 reaches the client. `'status'` writes the
 * HTTP response. `'close'` completes the upgrade and closes at once with 4401 or 4403 and a JSON
 * reason, for browsers that cannot read the status of a refused handshake.
 */
export type RejectionMode = 'status' | 'close';

/** Chooses the rejection mode per request, for example by path. */
export type RejectionModeSelector = (req: IncomingMessage) => RejectionMode;

/** The JSON a close-mode rejection carries as its close reason. */
export interface CloseReason {
  readonly status: 401 | 403;
  readonly error: 'unauthenticated' | 'forbidden';
  /** The `WSAUTH_ERR_*` code of the rejection. */
  readonly code: string;
}

/** Tells whether a rejection with this HTTP status is sent as a close code in close mode. */
export function isCloseModeStatus(status: number): status is 401 | 403 {
  return status === 401 || status === 403;
}

/** Closes a just-upgraded socket with 4401 or 4403 and a JSON reason of at most 123 bytes. */
export function closeRejected(socket: WebSocket, status: 401 | 403, code: string): void {
  const reason: CloseReason = {
    status,
    error: status === 401 ? 'unauthenticated' : 'forbidden',
    code,
  };
  const closeCode = status === 401 ? CloseCodes.UNAUTHENTICATED : CloseCodes.FORBIDDEN;
  socket.close(closeCode, JSON.stringify(reason));
}

/** Builds the per-request rejection mode check from the option value. */
export function rejectionModeCheck(
  mode: RejectionMode | RejectionModeSelector,
): (req: IncomingMessage) => boolean {
  if (typeof mode !== 'function') {
    const closes = mode === 'close';
    return () => closes;
  }

  return (req) => {
    try {
      return mode(req) === 'close';
    } catch {
      // A throwing selector must not crash the upgrade listener, and the HTTP status is the
      // default mode.
      return false;
    }
  };
}
