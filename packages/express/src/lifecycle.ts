import type { IncomingMessage } from 'node:http';
import { type AcceptInput, getRevalidation, type Revalidation } from '@wsauth/core';
import type { Application, Request, Response } from 'express';
import { statusOf } from './errors.js';

type AppHandle = (req: IncomingMessage, res: unknown, done: (error?: unknown) => void) => void;

/**
 * Runs the app's chain on the synthetic request of a revalidation. The route's upgrade
 * middleware accepts it; a response, an unhandled error or a missing route decides otherwise.
 */
export function revalidate(app: Application, revalidation: Revalidation): void {
  const handle = (app as unknown as { handle: AppHandle }).handle.bind(app);
  handle(revalidation.req, revalidation.res, (error?: unknown) => {
    if (revalidation.settled) {
      return;
    }
    if (error === undefined || error === null || error === 'route' || error === 'router') {
      revalidation.reject(404);
      return;
    }
    const status = statusOf(error);
    if (status >= 500) {
      revalidation.fail(error);
    } else {
      revalidation.reject(status);
    }
  });
}

/**
 * Accepts the revalidation `req` belongs to; returns false when it is a plain request. With the
 * `touch` option the response is ended, so that express-session touches the session.
 */
export function acceptRevalidation(
  req: Request,
  res: Response,
  context: (req: Request) => AcceptInput,
): boolean {
  const revalidation = getRevalidation(req);
  if (revalidation === undefined) {
    return false;
  }
  revalidation.accept(context(req));
  if (revalidation.touch) {
    res.end();
  }
  return true;
}
