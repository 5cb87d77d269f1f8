import diagnosticsChannel from 'node:diagnostics_channel';

/** Names of the `node:diagnostics_channel` channels wsauth publishes to. */
export const channelNames = {
  accept: 'wsauth:handshake:accept',
  reject: 'wsauth:handshake:reject',
  abort: 'wsauth:handshake:abort',
} as const;

/**
 * The message published on every handshake channel. It contains no cookie, token, ticket or
 * session id: `path` has its query values redacted.
 */
export interface HandshakeEvent {
  readonly outcome: 'accept' | 'reject' | 'abort';
  readonly path: string;
  readonly ip: string | undefined;
  readonly origin: string | undefined;
  readonly userId: string | undefined;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly durationMs: number;
}

export const channels = {
  accept: diagnosticsChannel.channel(channelNames.accept),
  reject: diagnosticsChannel.channel(channelNames.reject),
  abort: diagnosticsChannel.channel(channelNames.abort),
};

/**
 * Replaces every query value of a request target with `[redacted]`, because tickets and
 * tokens travel in the query. A fragment, which browsers never send but a hand-made client may,
 * is replaced whole.
 */
export function redactUrl(target: string | undefined): string {
  if (target === undefined) {
    return '';
  }
  const fragmentStart = target.indexOf('#');
  const beforeFragment = fragmentStart === -1 ? target : target.slice(0, fragmentStart);
  const fragment = fragmentStart === -1 ? '' : '#[redacted]';
  const queryStart = beforeFragment.indexOf('?');
  if (queryStart === -1) {
    return beforeFragment + fragment;
  }

  const pairs = beforeFragment.slice(queryStart + 1).split('&');
  const redacted = pairs.map((pair) => {
    const separator = pair.indexOf('=');
    // A parameter without `=` may be a credential whose separator was percent-encoded.
    return separator === -1 ? '[redacted]' : `${pair.slice(0, separator)}=[redacted]`;
  });
  return `${beforeFragment.slice(0, queryStart)}?${redacted.join('&')}${fragment}`;
}
