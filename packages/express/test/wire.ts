import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';

/** A parsed HTTP response read from a raw socket. */
export interface RawResponse {
  status: number;
  headers: Record<string, string[]>;
  body: string;
  /** Milliseconds from the end of the response head until the server closed the connection. */
  closedAfterMs: number | undefined;
  /** Bytes that followed a 101 head, if any. */
  rest: Buffer;
}

export const VALID_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** Returns the port a listening server is bound to. */
export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** Builds the head of an upgrade request. `undefined` values remove a default header. */
export function upgradeRequest(
  path: string,
  headers: Record<string, string | undefined> = {},
  method = 'GET',
): string {
  const all: Record<string, string | undefined> = {
    Host: '127.0.0.1',
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': VALID_KEY,
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = [`${method} ${path} HTTP/1.1`];
  for (const [name, value] of Object.entries(all)) {
    if (value !== undefined) {
      lines.push(`${name}: ${value}`);
    }
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Sends a raw request and reads the response. A 101 resolves as soon as its head arrives (the
 * socket stays open and is returned); any other status resolves when the server closes.
 */
export function sendRaw(
  port: number,
  request: string,
  timeoutMs = 3000,
): Promise<RawResponse & { socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    let headEnd = -1;
    let headAt = 0;
    let settled = false;

    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms: ${buffer.toString()}`));
    }, timeoutMs);

    const finish = (closedAfterMs: number | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...parse(buffer, headEnd), closedAfterMs, socket });
    };

    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (headEnd === -1) {
        headEnd = buffer.indexOf('\r\n\r\n');
        if (headEnd !== -1) {
          headAt = performance.now();
          if (buffer.subarray(0, 12).toString() === 'HTTP/1.1 101') {
            finish(undefined);
          }
        }
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (headEnd === -1) {
        clearTimeout(timer);
        if (!settled)
          reject(new Error(`connection closed without a response: ${buffer.toString()}`));
        settled = true;
        return;
      }
      finish(performance.now() - headAt);
    });
  });
}

function parse(buffer: Buffer, headEnd: number): RawResponse {
  const head = buffer.subarray(0, headEnd).toString('latin1');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const values = headers[name] ?? [];
    values.push(line.slice(colon + 1).trim());
    headers[name] = values;
  }
  const rest = buffer.subarray(headEnd + 4);
  return {
    status: Number(statusLine.split(' ')[1]),
    headers,
    body: rest.toString('utf8'),
    closedAfterMs: undefined,
    rest,
  };
}

/** Returns the single value of a header, failing loudly on repeats. */
export function header(response: RawResponse, name: string): string | undefined {
  const values = response.headers[name.toLowerCase()];
  if (values !== undefined && values.length > 1) {
    throw new Error(`header ${name} appears ${values.length} times`);
  }
  return values?.[0];
}
