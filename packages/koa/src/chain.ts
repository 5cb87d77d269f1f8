import type { Middleware, ParameterizedContext } from 'koa';

type Context = ParameterizedContext;

interface PendingMiddleware {
  release(): void;
}

/**
 * Runs the app's middleware the way koa-compose does, and lets `ctx.ws()` release the deepest
 * middleware that is still running.
 *
 * The 101 may only be written once every middleware has returned, because koa-session saves the
 * session and sets its cookie after `await next()`. A route that awaits `ctx.ws()` cannot return
 * before the socket exists, so it would hold the whole chain forever. Releasing it resolves the
 * `next()` promise its caller awaits: the middleware above it finish (sessions are committed),
 * the 101 is written, and the route resumes with the socket, outside the chain.
 */
export class ReleasableChain {
  readonly #middleware: readonly Middleware[];
  readonly #onDetachedError: (error: unknown) => void;
  readonly #pending: (PendingMiddleware | undefined)[] = [];
  #released = false;

  /** `onDetachedError` receives what a released middleware throws after it was released. */
  constructor(middleware: readonly Middleware[], onDetachedError: (error: unknown) => void) {
    this.#middleware = middleware;
    this.#onDetachedError = onDetachedError;
  }

  /** Runs the chain; the promise settles when the outermost middleware returns. */
  run(ctx: Context): Promise<void> {
    let index = -1;
    const dispatch = (i: number): Promise<void> => {
      if (i <= index) {
        return Promise.reject(new Error('next() called multiple times'));
      }
      index = i;

      const middleware = this.#middleware[i];
      if (middleware === undefined) {
        return Promise.resolve();
      }
      return this.#track(i, () => middleware(ctx, () => dispatch(i + 1)));
    };
    return dispatch(0);
  }

  /** Lets the deepest running middleware return to its caller. Only the first call counts. */
  releaseDeepest(): void {
    if (this.#released) {
      return;
    }
    this.#released = true;
    for (let depth = this.#pending.length - 1; depth >= 0; depth--) {
      const pending = this.#pending[depth];
      if (pending !== undefined) {
        pending.release();
        return;
      }
    }
  }

  // The entry is registered before the middleware is called, because a route may call
  // `ctx.ws()` synchronously, before its own promise exists.
  #track(depth: number, invoke: () => unknown): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let released = false;
      this.#pending[depth] = {
        release: () => {
          released = true;
          resolve();
        },
      };

      let result: Promise<unknown>;
      try {
        result = Promise.resolve(invoke());
      } catch (error) {
        result = Promise.reject(error);
      }

      result.then(
        () => {
          this.#pending[depth] = undefined;
          resolve();
        },
        (error: unknown) => {
          this.#pending[depth] = undefined;
          if (released) {
            this.#onDetachedError(error);
          } else {
            reject(error);
          }
        },
      );
    });
  }
}
