import { type AcceptInput, credentialKindOf } from '@wsauth/core';
import type { FastifyRequest } from 'fastify';

// The parts of @fastify/session's request.session that the context reads.
interface SessionLike {
  sessionId?: unknown;
  cookie?: { expires?: unknown };
}

/**
 * Reads the user, session and credential kind that @fastify/passport and @fastify/session
 * leave on the request.
 */
export function defaultContext(request: FastifyRequest): AcceptInput {
  // @fastify/passport sets `request.user` to null for an anonymous request.
  const user = request.user ?? undefined;
  const id = (user as { id?: unknown } | undefined)?.id;
  const session = (request as { session?: SessionLike | null }).session ?? undefined;
  const sessionId = session?.sessionId;
  const expires = session?.cookie?.expires;

  return {
    user,
    userId: typeof id === 'string' || typeof id === 'number' ? String(id) : undefined,
    sessionId: typeof sessionId === 'string' ? sessionId : undefined,
    expiresAt: expires instanceof Date ? expires.getTime() : undefined,
    credential: credentialKindOf(request.headers),
  };
}
