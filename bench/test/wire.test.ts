import { describe, expect, it } from 'vitest';
import {
  buildHttpRequest,
  buildUpgradeRequest,
  encodeClientFrame,
  HandshakeResponseParser,
  Opcode,
  readFrame,
  readResponseHead,
  WEBSOCKET_KEY,
} from '../src/wire.js';

function serverFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  if (length < 126) {
    return Buffer.concat([Buffer.from([0x80 | opcode, length]), payload]);
  }
  if (length < 65_536) {
    const head = Buffer.from([0x80 | opcode, 126, 0, 0]);
    head.writeUInt16BE(length, 2);
    return Buffer.concat([head, payload]);
  }
  const head = Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  head[1] = 127;
  head.writeBigUInt64BE(BigInt(length), 2);
  return Buffer.concat([head, payload]);
}

const SWITCHING =
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n';

describe('buildUpgradeRequest', () => {
  it('writes the required handshake headers', () => {
    const text = buildUpgradeRequest({ host: '127.0.0.1:80', path: '/ws' }).toString('latin1');
    const lines = text.split('\r\n');

    expect(lines[0]).toBe('GET /ws HTTP/1.1');
    expect(lines).toContain('Host: 127.0.0.1:80');
    expect(lines).toContain('Upgrade: websocket');
    expect(lines).toContain('Connection: Upgrade');
    expect(lines).toContain(`Sec-WebSocket-Key: ${WEBSOCKET_KEY}`);
    expect(lines).toContain('Sec-WebSocket-Version: 13');
    expect(text.endsWith('\r\n\r\n')).toBe(true);
  });

  it('adds origin, cookie and subprotocols only when given', () => {
    const bare = buildUpgradeRequest({ host: 'h', path: '/' }).toString('latin1');
    const full = buildUpgradeRequest({
      host: 'h',
      path: '/',
      origin: 'http://h',
      cookie: 'sid=1',
      protocols: ['chat', 'wsauth'],
    }).toString('latin1');

    expect(bare).not.toMatch(/Origin|Cookie|Protocol/);
    expect(full).toContain('\r\nOrigin: http://h\r\n');
    expect(full).toContain('\r\nCookie: sid=1\r\n');
    expect(full).toContain('\r\nSec-WebSocket-Protocol: chat, wsauth\r\n');
  });
});

describe('buildHttpRequest', () => {
  it('writes a bodiless request that closes the connection', () => {
    const text = buildHttpRequest('POST', '127.0.0.1:80', '/logout', 'sid=1').toString('latin1');

    expect(text.startsWith('POST /logout HTTP/1.1\r\n')).toBe(true);
    expect(text).toContain('\r\nContent-Length: 0\r\n');
    expect(text).toContain('\r\nConnection: close\r\n');
    expect(text).toContain('\r\nCookie: sid=1\r\n');
    expect(text.endsWith('\r\n\r\n')).toBe(true);
  });
});

describe('readResponseHead', () => {
  it('waits for the blank line', () => {
    expect(readResponseHead(Buffer.from('HTTP/1.1 401 Unauthorized\r\nA: b\r\n'))).toBeUndefined();
  });

  it('parses status and lower-cased headers', () => {
    const head = readResponseHead(
      Buffer.from(
        'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nSet-Cookie: a\r\nset-cookie: b\r\n\r\nbody',
      ),
    );

    expect(head?.status).toBe(403);
    expect(head?.headers.get('content-length')).toBe('0');
    expect(head?.headers.get('set-cookie')).toBe('a, b');
    expect(head?.size).toBe(
      head === undefined
        ? -1
        : 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nSet-Cookie: a\r\nset-cookie: b\r\n\r\n'
            .length,
    );
  });

  it('accepts a status line without a reason phrase', () => {
    expect(readResponseHead(Buffer.from('HTTP/1.0 503\r\n\r\n'))?.status).toBe(503);
  });

  it('rejects a response that is not HTTP', () => {
    expect(() => readResponseHead(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'))).toThrow(/status line/);
  });
});

describe('readFrame', () => {
  it('reads 7-bit, 16-bit and 64-bit payload lengths', () => {
    for (const length of [0, 5, 125, 126, 300, 65_535, 65_536, 70_000]) {
      const payload = Buffer.alloc(length, 0x62);
      const frame = readFrame(serverFrame(Opcode.binary, payload));

      expect(frame?.opcode).toBe(Opcode.binary);
      expect(frame?.fin).toBe(true);
      expect(frame?.payload.length).toBe(length);
      expect(frame?.payload.equals(payload)).toBe(true);
    }
  });

  it('returns undefined for every incomplete prefix', () => {
    const bytes = serverFrame(Opcode.text, Buffer.alloc(200, 0x63));
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(readFrame(bytes.subarray(0, cut))).toBeUndefined();
    }
    expect(readFrame(bytes)?.size).toBe(bytes.length);
  });

  it('reads at an offset and reports the size it used', () => {
    const first = serverFrame(Opcode.text, Buffer.from('one'));
    const second = serverFrame(Opcode.close, Buffer.from([0x03, 0xe8]));
    const both = Buffer.concat([first, second]);
    const read = readFrame(both, first.length);

    expect(read?.opcode).toBe(Opcode.close);
    expect(read?.payload.readUInt16BE(0)).toBe(1000);
    expect(read?.size).toBe(second.length);
  });

  it('unmasks what encodeClientFrame masked', () => {
    for (const length of [0, 64, 126, 70_000]) {
      const payload = Buffer.alloc(length);
      payload.forEach((_, i) => {
        payload[i] = i % 251;
      });
      const encoded = encodeClientFrame(Opcode.text, payload, Buffer.from([1, 2, 3, 4]));
      const read = readFrame(encoded);

      expect((encoded[1] ?? 0) & 0x80).toBe(0x80);
      expect(read?.size).toBe(encoded.length);
      expect(read?.payload.equals(payload)).toBe(true);
    }
  });

  it('masks the payload on the wire', () => {
    const encoded = encodeClientFrame(Opcode.text, Buffer.from('aaaa'), Buffer.from([1, 1, 1, 1]));

    expect(encoded.subarray(6).toString('latin1')).toBe('````');
  });
});

describe('HandshakeResponseParser', () => {
  it('completes at the first frame after a 101, split across chunks', () => {
    const welcome = serverFrame(Opcode.text, Buffer.from('{"type":"welcome"}'));
    const bytes = Buffer.concat([Buffer.from(SWITCHING, 'latin1'), welcome]);
    const parser = new HandshakeResponseParser();
    let result: ReturnType<HandshakeResponseParser['push']>;

    for (let i = 0; i < bytes.length; i++) {
      result = parser.push(bytes.subarray(i, i + 1));
      if (i < bytes.length - 1) {
        expect(result).toBeUndefined();
      }
    }
    expect(result?.status).toBe(101);
    expect(result?.frame?.payload.toString()).toBe('{"type":"welcome"}');
  });

  it('completes at the head of a rejection without waiting for the body', () => {
    const parser = new HandshakeResponseParser();
    const result = parser.push(
      Buffer.from('HTTP/1.1 401 Unauthorized\r\nContent-Length: 100\r\n\r\n{"err', 'latin1'),
    );

    expect(result).toEqual({ status: 401 });
  });

  it('keeps bytes after the first frame for later reads', () => {
    const first = serverFrame(Opcode.text, Buffer.from('welcome'));
    const second = serverFrame(Opcode.text, Buffer.from('echo'));
    const parser = new HandshakeResponseParser();
    parser.push(Buffer.concat([Buffer.from(SWITCHING, 'latin1'), first, second]));

    expect(readFrame(parser.rest())?.payload.toString()).toBe('echo');
  });
});
