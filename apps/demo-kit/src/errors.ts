import { STATUS_CODES } from 'node:http';

/** A client error that the demos respond to without logging it. */
export interface ClientError {
  readonly status: number;
  /** The standard reason phrase, so that no request content is echoed. */
  readonly message: string;
}

/**
 * Returns the 4xx status of an error, such as a body parser's error for malformed JSON, or
 * undefined for a server error. Parser messages quote the body, which may contain a password, so
 * the demos neither log them nor send them back.
 */
export function clientError(error: unknown): ClientError | undefined {
  if (typeof error !== 'object' || error === null) {
    return undefined;
  }
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  if (typeof value !== 'number' || value < 400 || value >= 500) {
    return undefined;
  }
  return { status: value, message: STATUS_CODES[value] ?? 'Bad Request' };
}
