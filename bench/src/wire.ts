// Bytes on the wire: pre-built upgrade requests, client frames, and an incremental parser for the
// server's handshake response and the first WebSocket frame after it.

/** A fixed key is enough: the server computes the accept value, and no client checks it here. */
export const WEBSOCKET_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** The parts of one pre-built upgrade request. */
export interface UpgradeRequestSpec {
  host: string;
  path: string;
  origin?: string;
  cookie?: string;
  protocols?: readonly string[];
}

/** Builds the bytes of a WebSocket upgrade request (RFC 6455, section 4.1). */
export function buildUpgradeRequest(spec: UpgradeRequestSpec): Buffer {
  const lines = [
    `GET ${spec.path} HTTP/1.1`,
    `Host: ${spec.host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${WEBSOCKET_KEY}`,
    'Sec-WebSocket-Version: 13',
  ];
  if (spec.origin !== undefined) {
    lines.push(`Origin: ${spec.origin}`);
  }
  if (spec.cookie !== undefined) {
    lines.push(`Cookie: ${spec.cookie}`);
  }
  if (spec.protocols !== undefined && spec.protocols.length > 0) {
    lines.push(`Sec-WebSocket-Protocol: ${spec.protocols.join(', ')}`);
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** Builds a bodiless HTTP/1.1 request with `Connection: close`, so the server closes the connection after it. */
export function buildHttpRequest(
  method: string,
  host: string,
  path: string,
  cookie?: string,
): Buffer {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Content-Length: 0',
    'Connection: close',
  ];
  if (cookie !== undefined) {
    lines.push(`Cookie: ${cookie}`);
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** WebSocket opcodes the bench sends or reads. */
export const Opcode = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Builds one masked client frame with FIN set; a client must mask every frame it sends. */
export function encodeClientFrame(
  opcode: number,
  payload: Buffer,
  mask: Buffer = Buffer.from([0x12, 0x34, 0x56, 0x78]),
): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const frame = Buffer.alloc(2 + lengthBytes + 4 + length);
  frame[0] = 0x80 | (opcode & 0x0f);

  if (lengthBytes === 0) {
    frame[1] = 0x80 | length;
  } else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }

  const maskOffset = 2 + lengthBytes;
  mask.copy(frame, maskOffset, 0, 4);
  for (let i = 0; i < length; i++) {
    frame[maskOffset + 4 + i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
  }
  return frame;
}

/** One frame read from a buffer, with the number of bytes it took. */
export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
  size: number;
}

/**
 * Reads one frame from the start of `buffer`. Returns `undefined` while the frame is incomplete.
 * Masked frames are unmasked, so the same reader serves server and client frames.
 */
export function readFrame(buffer: Buffer, offset = 0): Frame | undefined {
  const available = buffer.length - offset;
  if (available < 2) {
    return undefined;
  }
  const first = buffer[offset] ?? 0;
  const second = buffer[offset + 1] ?? 0;
  const masked = (second & 0x80) !== 0;

  let length = second & 0x7f;
  let headerSize = 2;
  if (length === 126) {
    if (available < 4) {
      return undefined;
    }
    length = buffer.readUInt16BE(offset + 2);
    headerSize = 4;
  } else if (length === 127) {
    if (available < 10) {
      return undefined;
    }
    length = Number(buffer.readBigUInt64BE(offset + 2));
    headerSize = 10;
  }

  const maskSize = masked ? 4 : 0;
  const size = headerSize + maskSize + length;
  if (available < size) {
    return undefined;
  }

  const start = offset + headerSize + maskSize;
  const payload = Buffer.from(buffer.subarray(start, start + length));
  if (masked) {
    const maskStart = offset + headerSize;
    for (let i = 0; i < length; i++) {
      payload[i] = (payload[i] ?? 0) ^ (buffer[maskStart + (i % 4)] ?? 0);
    }
  }
  return { fin: (first & 0x80) !== 0, opcode: first & 0x0f, payload, size };
}

/** The parsed head of an HTTP response. */
export interface ResponseHead {
  status: number;
  headers: Map<string, string>;
  size: number;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** Parses the status line and headers once the blank line has arrived; `undefined` before that. */
export function readResponseHead(buffer: Buffer): ResponseHead | undefined {
  const end = buffer.indexOf(HEAD_END);
  if (end === -1) {
    return undefined;
  }
  const lines = buffer.toString('latin1', 0, end).split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? '');
  if (match === null) {
    throw new Error(`Invalid HTTP status line: ${JSON.stringify(lines[0])}`);
  }

  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const previous = headers.get(name);
      headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
    }
  }
  return { status: Number(match[1]), headers, size: end + HEAD_END.length };
}

/** The outcome of one handshake, as parsed by the generator. */
export interface HandshakeResult {
  status: number;
  /** The first frame after a 101; undefined for any other status. */
  frame?: Frame;
}

/**
 * Collects a server's response to an upgrade request chunk by chunk. It completes at the head of a
 * non-101 response, or at the first whole frame after a 101.
 */
export class HandshakeResponseParser {
  #buffer: Buffer = Buffer.alloc(0);
  #head: ResponseHead | undefined;

  /** Adds bytes; returns the result once the response is complete. */
  push(chunk: Buffer): HandshakeResult | undefined {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);

    if (this.#head === undefined) {
      this.#head = readResponseHead(this.#buffer);
      if (this.#head === undefined) {
        return undefined;
      }
      if (this.#head.status !== 101) {
        return { status: this.#head.status };
      }
    }

    const frame = readFrame(this.#buffer, this.#head.size);
    if (frame === undefined) {
      return undefined;
    }
    return { status: 101, frame };
  }

  /** Bytes after the head and the first frame, which belong to later frames. */
  rest(): Buffer {
    if (this.#head === undefined) {
      return Buffer.alloc(0);
    }
    const frame = readFrame(this.#buffer, this.#head.size);
    const used = this.#head.size + (frame?.size ?? 0);
    return this.#buffer.subarray(used);
  }
}
