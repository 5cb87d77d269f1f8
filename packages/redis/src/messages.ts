import type { RevocationMessage } from '@wsauth/core';

/** Serialises a revocation for the channel and the replay stream. */
export function encodeMessage(message: RevocationMessage): string {
  return JSON.stringify({
    target: message.target,
    code: message.code,
    reason: message.reason,
    source: message.source,
  });
}

/** Parses a revocation read from Redis; returns `undefined` for anything malformed. */
export function decodeMessage(payload: string): RevocationMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }

  const { target, code, reason, source } = (value ?? {}) as Record<string, unknown>;
  const { userId, sessionId } = (target ?? {}) as Record<string, unknown>;
  if (typeof code !== 'number' || typeof reason !== 'string' || typeof source !== 'string') {
    return undefined;
  }
  if (typeof userId === 'string' && userId !== '' && sessionId === undefined) {
    return { target: { userId }, code, reason, source };
  }
  if (typeof sessionId === 'string' && sessionId !== '' && userId === undefined) {
    return { target: { sessionId }, code, reason, source };
  }
  return undefined;
}

/** Compares two stream ids (`<ms>-<seq>`); negative when `a` is older than `b`. */
export function compareStreamIds(a: string, b: string): number {
  const [aTime = 0, aSeq = 0] = a.split('-').map(Number);
  const [bTime = 0, bSeq = 0] = b.split('-').map(Number);
  return aTime === bTime ? aSeq - bSeq : aTime - bTime;
}
