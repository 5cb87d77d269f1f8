import { type AcceptInput, getRevalidation, type Revalidation } from '@wsauth/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { markUpgrade } from './routes.js';

/**
 * Routes the synthetic request of a revalidation through Fastify like a handshake, so the
 * route's hooks decide again. The route handler accepts it; a reply from a hook, Fastify's 404
 * or its error handler decides otherwise.
 */
export function revalidateThroughFastify(
  fastify: FastifyInstance,
  revalidation: Revalidation,
): void {
  markUpgrade(revalidation.req);
  fastify.routing(revalidation.req, revalidation.res);
}

/**
 * Accepts the revalidation a request belongs to; returns false for a handshake. Without the
 * `touch` option the reply is hijacked, so no `onSend` hook runs and @fastify/session neither
 * saves nor rolls the session; with it, an empty reply lets those hooks run.
 */
export function acceptRevalidation(
  request: FastifyRequest,
  reply: FastifyReply,
  context: (request: FastifyRequest) => AcceptInput,
): boolean {
  const revalidation = getRevalidation(request.raw);
  if (revalidation === undefined) {
    return false;
  }
  revalidation.accept(context(request));
  if (revalidation.touch) {
    reply.code(204).send();
  } else {
    reply.hijack();
  }
  return true;
}
