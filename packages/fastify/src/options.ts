import { type AcceptInput, ErrorCodes, WsAuthError, type WsAuthOptions } from '@wsauth/core';
import type { FastifyRequest } from 'fastify';

/** Options of the wsauth Fastify plugin. */
export interface FastifyWsAuthOptions
  extends Omit<WsAuthOptions, 'trustProxy' | 'forwardedForHeader' | 'wsServer'> {
  /**
   * Derives the auth context of an accepted socket from the request, after every hook of the
   * route passed.
   * @default reads `request.user`, `request.user.id`, `request.session.sessionId` and the
   * session cookie's expiry
   */
  context?: (request: FastifyRequest) => AcceptInput;
}

// Options Fastify itself passes to every plugin it registers.
const REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers']);

/** The options the plugin uses itself, and the rest, which goes to `WsAuthServer`. */
export interface SplitOptions {
  readonly context: ((request: FastifyRequest) => AcceptInput) | undefined;
  readonly socketLimits: { maxPayload?: number; perMessageDeflate?: boolean };
  readonly core: Omit<
    WsAuthOptions,
    'trustProxy' | 'wsServer' | 'maxPayload' | 'perMessageDeflate'
  >;
}

/**
 * Checks the options that the core does not know and splits them from the core's, which
 * `WsAuthServer` validates. The caller's object is never modified.
 */
export function splitOptions(options: FastifyWsAuthOptions | undefined): SplitOptions {
  const given: Record<string, unknown> = { ...(options ?? {}) };
  rejectMisplaced(given);

  const core: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(given)) {
    if (!REGISTER_OPTIONS.has(name)) {
      core[name] = value;
    }
  }

  const { context, maxPayload, perMessageDeflate, ...rest } = core;
  if (context !== undefined && typeof context !== 'function') {
    throw new WsAuthError(
      ErrorCodes.INVALID_OPTION,
      'Invalid option "context": expected a function that returns the auth context.',
    );
  }
  checkMaxPayload(maxPayload);
  if (perMessageDeflate !== undefined && typeof perMessageDeflate !== 'boolean') {
    throw new WsAuthError(
      ErrorCodes.INVALID_OPTION,
      'Invalid option "perMessageDeflate": expected true or false.',
    );
  }

  return {
    context: context as SplitOptions['context'],
    socketLimits: {
      ...(maxPayload === undefined ? {} : { maxPayload: maxPayload as number }),
      ...(perMessageDeflate === undefined
        ? {}
        : { perMessageDeflate: perMessageDeflate as boolean }),
    },
    core: rest as SplitOptions['core'],
  };
}

function rejectMisplaced(given: Record<string, unknown>): void {
  if (given.trustProxy !== undefined) {
    throw new WsAuthError(
      ErrorCodes.INVALID_OPTION,
      'Invalid option "trustProxy": wsauth follows Fastify\'s own setting. Pass trustProxy to ' +
        'Fastify({ trustProxy }) instead.',
    );
  }
  if (given.wsServer !== undefined) {
    throw new WsAuthError(
      ErrorCodes.INVALID_OPTION,
      'Invalid option "wsServer": wsauth upgrades with @fastify/websocket\'s server. Register ' +
        '@fastify/websocket with its options before wsauth to configure it.',
    );
  }
}

function checkMaxPayload(value: unknown): void {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) <= 0)) {
    throw new WsAuthError(
      ErrorCodes.INVALID_OPTION,
      `Invalid option "maxPayload": received ${String(value)}, expected a positive integer ` +
        'number of bytes.',
    );
  }
}
