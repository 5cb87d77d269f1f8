import type { IncomingHttpHeaders } from 'node:http';
import type { CredentialKind } from './types.js';

/**
 * Returns the kind of credential a request's headers carry, for an adapter's default auth
 * context: `Authorization` counts as a bearer credential, then `X-Api-Key`, then any cookie.
 */
export function credentialKindOf(headers: IncomingHttpHeaders): CredentialKind {
  if (headers.authorization !== undefined) {
    return 'bearer';
  }
  if (headers['x-api-key'] !== undefined) {
    return 'api-key';
  }
  return headers.cookie === undefined ? 'none' : 'cookie';
}
