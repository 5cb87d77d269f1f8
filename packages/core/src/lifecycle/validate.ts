import { ErrorCodes, WsAuthError } from '../errors.js';
import type { RevocationTarget } from './types.js';

const MAX_REASON_BYTES = 123;

/** Checks that a revocation names exactly one non-empty user id or session id. */
export function revocationTarget(target: unknown): RevocationTarget {
  const { userId, sessionId } = (target ?? {}) as { userId?: unknown; sessionId?: unknown };
  if (typeof userId === 'string' && userId !== '' && sessionId === undefined) {
    return { userId };
  }
  if (typeof sessionId === 'string' && sessionId !== '' && userId === undefined) {
    return { sessionId };
  }
  throw new WsAuthError(
    ErrorCodes.INVALID_REVOCATION,
    'Invalid revocation target: pass { userId } or { sessionId } with a non-empty string.',
  );
}

/** Checks a close code that an application may send: 1000, 1001, 1008, 1011, 1013 or 3000-4999. */
export function closeCode(code: unknown): number {
  if (
    typeof code === 'number' &&
    Number.isInteger(code) &&
    (code === 1000 ||
      code === 1001 ||
      code === 1008 ||
      code === 1011 ||
      code === 1013 ||
      (code >= 3000 && code <= 4999))
  ) {
    return code;
  }
  throw new WsAuthError(
    ErrorCodes.INVALID_REVOCATION,
    `Invalid close code ${String(code)}: use 1000, 1001, 1008, 1011, 1013 or 3000 to 4999.`,
  );
}

/** Checks that a close reason fits a close frame (123 bytes in UTF-8). */
export function closeReason(reason: unknown): string {
  if (typeof reason === 'string' && Buffer.byteLength(reason) <= MAX_REASON_BYTES) {
    return reason;
  }
  throw new WsAuthError(
    ErrorCodes.INVALID_REVOCATION,
    `Invalid close reason: use a string of at most ${MAX_REASON_BYTES} bytes in UTF-8.`,
  );
}
