import { invalidOption } from '../errors.js';
import type { WsAuthLogger } from '../types.js';
import type { RevocationTarget, RevokeOptions } from './types.js';

/** Anything that can revoke sockets, such as a `WsAuthServer`. */
export interface Revoker {
  revoke(target: RevocationTarget, options?: RevokeOptions): Promise<number>;
}

/** Options of {@link revokeOnDestroy}. */
export interface RevokeOnDestroyOptions extends RevokeOptions {
  /**
   * Receives revocations that could not be published to other instances.
   * @default undefined
   */
  logger?: WsAuthLogger;
}

type Destroy = (this: unknown, sessionId: unknown, ...rest: unknown[]) => unknown;

const kHooked = Symbol.for('wsauth.revokeOnDestroy');

/**
 * Wraps `store.destroy(sessionId, ...)` so that destroying a session revokes its sockets on
 * every instance: logout, passport's session regeneration on login and logout, and an admin
 * calling `destroy`. Works with callback stores (express-session, @fastify/session) and promise
 * stores (koa-session external stores). The revocation runs after the store has finished,
 * whether or not it reported an error, so a reconnect cannot race the deletion. Calling it again
 * on the same store does nothing. Returns `store`.
 */
export function revokeOnDestroy<S extends object>(
  store: S,
  revoker: Revoker,
  options: RevokeOnDestroyOptions = {},
): S {
  const holder = store as { destroy?: unknown; [kHooked]?: true };
  const original = holder.destroy;
  if (typeof original !== 'function') {
    invalidOption('store', store, 'a session store with a destroy() method');
  }
  if (holder[kHooked] === true) {
    return store;
  }

  const { logger, ...revokeOptions } = options;
  const destroy: Destroy = function (sessionId, ...rest) {
    const revoke = once(() => {
      if (typeof sessionId === 'string' && sessionId !== '') {
        revoker.revoke({ sessionId }, revokeOptions).catch((error: unknown) => {
          logger?.error({ err: error }, 'Revoking the sockets of a destroyed session failed');
        });
      }
    });
    const callback = rest.at(-1);
    if (typeof callback === 'function') {
      rest[rest.length - 1] = function (this: unknown, ...args: unknown[]) {
        revoke();
        return callback.apply(this, args);
      };
    }

    const result = (original as Destroy).call(this, sessionId, ...rest);
    if (isThenable(result)) {
      return result.then(
        (value) => {
          revoke();
          return value;
        },
        (error: unknown) => {
          revoke();
          throw error;
        },
      );
    }
    if (typeof callback !== 'function') {
      revoke();
    }
    return result;
  };

  holder.destroy = destroy;
  holder[kHooked] = true;
  return store;
}

function once(run: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      run();
    }
  };
}

function isThenable(value: unknown): value is Promise<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
