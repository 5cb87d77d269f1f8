import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCodes, ErrorCodes, type WsAuthOptions } from '../src/index.js';
import {
  bearerProtocol,
  captureDiagnostics,
  closeOf,
  rawHandshake,
  startServer,
  type TestServer,
} from './carriers-helpers.js';

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function connect(
  options: WsAuthOptions,
  path: string,
  headers: Record<string, string> = {},
  protocols: string[] = [],
) {
  server = await startServer(options);
  const socket = new WebSocket(`ws://127.0.0.1:${server.port}${path}`, protocols, { headers });
  return closeOf(socket);
}

describe('close-mode rejections', () => {
  it('closes a 401 with 4401 and a JSON reason', async () => {
    const diagnostics = captureDiagnostics();
    const closed = await connect({ rejections: 'close' }, '/ws');
    diagnostics.stop();

    expect(closed.opened).toBe(true);
    expect(closed.code).toBe(CloseCodes.UNAUTHENTICATED);
    expect(JSON.parse(closed.reason)).toEqual({
      status: 401,
      error: 'unauthenticated',
      code: ErrorCodes.CHAIN_REJECTED,
    });
    expect(server?.accepted).toHaveLength(0);
    expect(diagnostics.events.map((event) => JSON.parse(event))).toContainEqual(
      expect.objectContaining({ outcome: 'reject', status: 401 }),
    );
  });

  it('closes a 401 written by res.end()', async () => {
    const closed = await connect({ rejections: 'close' }, '/ws', {
      'X-Status': '401',
      'X-Implicit-Head': '1',
    });

    expect(closed.code).toBe(CloseCodes.UNAUTHENTICATED);
  });

  it('closes a 403 with 4403', async () => {
    const closed = await connect({ rejections: 'close' }, '/ws', { 'X-Status': '403' });

    expect(closed.code).toBe(CloseCodes.FORBIDDEN);
    expect(JSON.parse(closed.reason)).toMatchObject({ status: 403, error: 'forbidden' });
  });

  it('closes a rewritten redirect with 4401', async () => {
    const closed = await connect({ rejections: 'close' }, '/ws', { 'X-Status': '302' });

    expect(closed.code).toBe(CloseCodes.UNAUTHENTICATED);
  });

  it('closes a rejected ticket with 4401', async () => {
    const closed = await connect({ rejections: 'close' }, `/ws?ticket=${'A'.repeat(43)}`);

    expect(closed.code).toBe(CloseCodes.UNAUTHENTICATED);
    expect(JSON.parse(closed.reason)).toMatchObject({ code: ErrorCodes.TICKET_REJECTED });
  });

  it('echoes the marker so browsers accept the 101', async () => {
    server = await startServer({ rejections: 'close' });
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, [
      'wsauth',
      bearerProtocol('wrong-token'),
    ]);
    const closed = await closeOf(socket);

    expect(socket.protocol).toBe('wsauth');
    expect(closed.code).toBe(CloseCodes.UNAUTHENTICATED);
  });

  it('keeps other statuses as HTTP responses', async () => {
    server = await startServer({ rejections: 'close' });
    const response = await rawHandshake(server.port, { 'X-Status': '429' });

    expect(response.status).toBe(429);
  });

  it('keeps origin rejections as HTTP 403', async () => {
    server = await startServer({ rejections: 'close' });
    const response = await rawHandshake(server.port, {
      Cookie: 'sid=1',
      Origin: 'http://evil.example',
    });

    expect(response.status).toBe(403);
    expect(response.text).not.toContain('HTTP/1.1 101');
  });

  it('writes the status by default', async () => {
    server = await startServer();
    const response = await rawHandshake(server.port, {});

    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toEqual(['Bearer']);
  });

  it('chooses the mode per request', async () => {
    server = await startServer({
      rejections: (req) => (req.url?.startsWith('/ws/browser') ? 'close' : 'status'),
    });
    const plain = await rawHandshake(server.port, {}, '/ws');
    const browser = await rawHandshake(server.port, {}, '/ws/browser');

    expect(plain.status).toBe(401);
    expect(browser.status).toBe(101);
  });

  it('falls back to the status when the selector throws', async () => {
    server = await startServer({
      rejections: () => {
        throw new Error('selector failed');
      },
    });
    const response = await rawHandshake(server.port, {});

    expect(response.status).toBe(401);
  });

  it('rejects an unknown mode at setup', async () => {
    await expect(startServer({ rejections: 'silent' as never })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_OPTION,
    });
  });
});
