import type { FetchLike, Rejected } from './types.js';

/** Prefix of the subprotocol that carries a bearer token to a wsauth server. */
export const BEARER_PROTOCOL_PREFIX = 'wsauth.bearer.';

/** The protocol offered next to a token when the app has no subprotocol of its own. */
export const PROTOCOL_MARKER = 'wsauth';

/** Encodes text as base64url without padding, from its UTF-8 bytes. */
export function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// The server's default maxSubprotocolHeaderLength. A longer header gets 400.
const MAX_PROTOCOL_HEADER_LENGTH = 4096;

/**
 * Returns why the server will reject `token` with 400, or `undefined` when it is acceptable. The
 * server takes only visible ASCII, and a browser gets a 400 as a bare 1006 close, so retrying
 * such a token would go on until the attempts run out.
 */
export function invalidTokenReason(
  appProtocols: readonly string[],
  token: string,
): string | undefined {
  if (token === '') {
    return 'The token is empty.';
  }
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) {
      return `The token has a character outside visible ASCII at index ${i}; a wsauth server accepts only characters from ! to ~.`;
    }
  }
  const header = tokenProtocols(appProtocols, token).join(', ');
  if (header.length > MAX_PROTOCOL_HEADER_LENGTH) {
    return `The token makes the Sec-WebSocket-Protocol header ${header.length} characters long; a wsauth server accepts ${MAX_PROTOCOL_HEADER_LENGTH} by default.`;
  }
  return undefined;
}

/** Builds the offered subprotocols: the app's (or the marker) and then the token carrier. */
export function tokenProtocols(appProtocols: readonly string[], token: string): string[] {
  const base = appProtocols.length === 0 ? [PROTOCOL_MARKER] : [...appProtocols];
  return [...base, `${BEARER_PROTOCOL_PREFIX}${base64url(token)}`];
}

/** Appends `ticket=<value>` to a URL, keeping its other query parameters. */
export function withTicket(url: string, ticket: string): string {
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  const separator = base.includes('?') ? '&' : '?';
  return `${base}${separator}ticket=${encodeURIComponent(ticket)}`;
}

/** The outcome of asking the ticket endpoint for a ticket. */
export type TicketResult =
  | { readonly kind: 'ticket'; readonly ticket: string }
  | { readonly kind: 'rejected'; readonly rejected: Rejected }
  | { readonly kind: 'failed'; readonly error: Error };

/**
 * POSTs to the ticket endpoint with the browser's cookies and reads `{ "ticket": "..." }`.
 * A 401 or 403 means the user must log in again, so it is a rejection rather than a failure.
 */
export async function fetchTicket(fetchFn: FetchLike, url: string): Promise<TicketResult> {
  let response: Awaited<ReturnType<FetchLike>>;
  try {
    response = await fetchFn(url, {
      method: 'POST',
      credentials: 'include',
      headers: { Accept: 'application/json' },
    });
  } catch (error) {
    return { kind: 'failed', error: asError(error, `Fetching a ticket from ${url} failed`) };
  }

  if (response.status === 401 || response.status === 403) {
    const code = response.status === 401 ? 4401 : 4403;
    const reason = `The ticket endpoint rejected the request with status ${response.status}.`;
    return { kind: 'rejected', rejected: { code, source: 'ticket', reason, details: undefined } };
  }
  if (!response.ok) {
    return {
      kind: 'failed',
      error: new Error(`The ticket endpoint failed with status ${response.status}.`),
    };
  }

  const body = (await response.json().catch(() => undefined)) as { ticket?: unknown } | undefined;
  if (typeof body?.ticket !== 'string' || body.ticket === '') {
    return { kind: 'failed', error: new Error('The ticket endpoint returned no "ticket" string.') };
  }
  return { kind: 'ticket', ticket: body.ticket };
}

/** Wraps a thrown value in an Error with context. */
export function asError(value: unknown, context: string): Error {
  if (value instanceof Error) {
    return new Error(`${context}: ${value.message}`, { cause: value });
  }
  return new Error(`${context}: ${String(value)}`);
}
