import type { ErrorCode } from './errors.js';

/** A handshake rejection: what the client receives and the code the logs and events record. */
export interface Rejection {
  readonly status: number;
  readonly code: ErrorCode;
  /** Plain-text body and log message. It never contains a credential. */
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Builds a rejection. */
export function rejection(
  status: number,
  code: ErrorCode,
  message: string,
  headers?: Record<string, string>,
): Rejection {
  return headers === undefined ? { status, code, message } : { status, code, message, headers };
}
