// RFC 7230 token characters, the only ones a subprotocol name may use.
const TOKEN_CHARS = new Uint8Array(128);
for (const char of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TOKEN_CHARS[char.charCodeAt(0)] = 1;
}

/**
 * Parses a `Sec-WebSocket-Protocol` value into its distinct names, in offered order.
 * Returns `undefined` when the value is malformed or names a protocol twice. The scan is linear.
 */
export function parseSubprotocols(header: string): string[] | undefined {
  const names: string[] = [];
  const seen = new Set<string>();
  let start = -1;
  let end = -1;

  for (let i = 0; i <= header.length; i++) {
    const code = i === header.length ? 0x2c : header.charCodeAt(i);

    if (code < 128 && TOKEN_CHARS[code] === 1) {
      if (end !== -1) {
        return undefined;
      }
      if (start === -1) {
        start = i;
      }
      continue;
    }

    if (code === 0x20 || code === 0x09) {
      if (start !== -1 && end === -1) {
        end = i;
      }
      continue;
    }

    if (code !== 0x2c || start === -1) {
      return undefined;
    }

    const name = header.slice(start, end === -1 ? i : end);
    if (seen.has(name)) {
      return undefined;
    }
    seen.add(name);
    names.push(name);
    start = -1;
    end = -1;
  }

  return names;
}
