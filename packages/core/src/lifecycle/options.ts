import { invalidOption } from '../errors.js';
import type { LifecycleOptions, ResolvedLifecycleOptions, RevocationBus } from './types.js';

const DEFAULT_CREDENTIAL_HEADERS = ['cookie', 'authorization', 'x-api-key'] as const;
const MAX_TIMER_MS = 2_147_483_647;

/** Validates lifecycle options and applies defaults. The caller's object is never modified. */
export function resolveLifecycleOptions(options: LifecycleOptions = {}): ResolvedLifecycleOptions {
  const jitter = options.revalidateJitter ?? 0.2;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
    invalidOption('lifecycle.revalidateJitter', jitter, 'a number from 0 to 1');
  }

  const onError = options.onRevalidationError ?? 'grace';
  if (onError !== 'close' && onError !== 'grace') {
    invalidOption('lifecycle.onRevalidationError', onError, '"close" or "grace"');
  }

  const touch = options.touch ?? false;
  if (typeof touch !== 'boolean') {
    invalidOption('lifecycle.touch', touch, 'true or false');
  }

  return {
    bus: resolveBus(options.bus),
    revalidateIntervalMs: milliseconds(
      'revalidateIntervalMs',
      options.revalidateIntervalMs,
      300_000,
    ),
    revalidateJitter: jitter,
    revalidateConcurrency: milliseconds('revalidateConcurrency', options.revalidateConcurrency, 8),
    revalidateTimeoutMs:
      options.revalidateTimeoutMs === undefined
        ? undefined
        : milliseconds('revalidateTimeoutMs', options.revalidateTimeoutMs, 0),
    onRevalidationError: onError,
    touch,
    credentialHeaders: headerNames(options.credentialHeaders),
  };
}

function resolveBus(bus: RevocationBus | undefined): RevocationBus | undefined {
  if (
    bus !== undefined &&
    (typeof bus !== 'object' ||
      bus === null ||
      typeof bus.publish !== 'function' ||
      typeof bus.subscribe !== 'function')
  ) {
    invalidOption('lifecycle.bus', bus, 'an object with publish() and subscribe()');
  }
  return bus;
}

// Used for counts too: both must be positive integers that fit a timer.
function milliseconds(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  if (!Number.isInteger(value) || value <= 0 || value > MAX_TIMER_MS) {
    invalidOption(`lifecycle.${name}`, value, `a positive integer up to ${MAX_TIMER_MS}`);
  }
  return value;
}

function headerNames(value: readonly string[] | undefined): readonly string[] {
  if (value === undefined) {
    return DEFAULT_CREDENTIAL_HEADERS;
  }
  if (!Array.isArray(value) || value.some((name) => typeof name !== 'string' || name === '')) {
    invalidOption('lifecycle.credentialHeaders', value, 'an array of header names');
  }
  return value.map((name) => name.toLowerCase());
}
