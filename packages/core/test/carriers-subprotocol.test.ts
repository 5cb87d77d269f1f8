import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  bearerProtocol,
  captureDiagnostics,
  captureLogger,
  firstMessage,
  rawHandshake,
  startServer,
  type TestServer,
  waitFor,
} from './carriers-helpers.js';

const TOKEN = 'alice-token';
const ENCODED = Buffer.from(TOKEN).toString('base64url');

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('subprotocol bearer carrier', () => {
  it('moves a token offered after the app protocol', async () => {
    server = await startServer({ protocols: ['chat.v1'] });
    const response = await rawHandshake(server.port, {
      'Sec-WebSocket-Protocol': `chat.v1, ${bearerProtocol(TOKEN)}`,
    });

    expect(response.status).toBe(101);
    expect(response.headers['sec-websocket-protocol']).toEqual(['chat.v1']);
    const seen = server.seen[0];
    expect(seen?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(seen?.headers['sec-websocket-protocol']).toBe('chat.v1');
    expect(seen?.rawHeaders).toContain(`Bearer ${TOKEN}`);
    expect(seen?.rawHeaders.join('\n')).not.toContain(ENCODED);
  });

  it('moves a token offered before the app protocol', async () => {
    server = await startServer({ protocols: ['chat.v1'] });
    const response = await rawHandshake(server.port, {
      'Sec-WebSocket-Protocol': `${bearerProtocol(TOKEN)}, chat.v1`,
    });

    expect(response.status).toBe(101);
    expect(response.headers['sec-websocket-protocol']).toEqual(['chat.v1']);
    expect(server.seen[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('echoes the wsauth marker without app protocol', async () => {
    server = await startServer();
    const response = await rawHandshake(server.port, {
      'Sec-WebSocket-Protocol': `wsauth, ${bearerProtocol(TOKEN)}`,
    });

    expect(response.status).toBe(101);
    expect(response.headers['sec-websocket-protocol']).toEqual(['wsauth']);
    await waitFor(() => server?.accepted.length === 1);
    expect(server.accepted[0]?.credential).toBe('subprotocol');
    expect(server.accepted[0]?.protocol).toBe('wsauth');
  });

  it('prefers a declared app protocol over the marker', async () => {
    server = await startServer({ protocols: ['chat.v1'] });
    const response = await rawHandshake(server.port, {
      'Sec-WebSocket-Protocol': `wsauth, chat.v1, ${bearerProtocol(TOKEN)}`,
    });

    expect(response.headers['sec-websocket-protocol']).toEqual(['chat.v1']);
  });

  it('does not echo the marker without a token', async () => {
    server = await startServer();
    const response = await rawHandshake(server.port, {
      'Sec-WebSocket-Protocol': 'wsauth',
      Authorization: `Bearer ${TOKEN}`,
    });

    expect(response.status).toBe(101);
    expect(response.headers['sec-websocket-protocol']).toBeUndefined();
  });

  it('sends no protocol when none was offered', async () => {
    server = await startServer({ protocols: ['chat.v1'] });
    const response = await rawHandshake(server.port, { Authorization: `Bearer ${TOKEN}` });

    expect(response.status).toBe(101);
    expect(response.headers['sec-websocket-protocol']).toBeUndefined();
  });

  it('lets the chain reject a bad token', async () => {
    server = await startServer();
    const response = await rawHandshake(server.port, {
      'Sec-WebSocket-Protocol': `wsauth, ${bearerProtocol('wrong-token')}`,
    });

    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toEqual(['Bearer']);
    expect(response.text).not.toContain(Buffer.from('wrong-token').toString('base64url'));
    expect(response.text).not.toContain('wrong-token');
  });

  it.each([
    ['a token without a protocol to echo', bearerProtocol(TOKEN)],
    ['an empty token', 'wsauth, wsauth.bearer.'],
    ['a token that is not base64url', 'wsauth, wsauth.bearer.abc!def'],
    ['an impossible base64url length', 'wsauth, wsauth.bearer.abcde'],
    ['two tokens', `wsauth, ${bearerProtocol(TOKEN)}, ${bearerProtocol('bob-token')}`],
    ['a token with a line break', `wsauth, ${bearerProtocol('a\r\nX-Injected: 1')}`],
    ['a token with a space', `wsauth, ${bearerProtocol('a b')}`],
  ])('answers 400 to %s', async (_name, offered) => {
    server = await startServer();
    const response = await rawHandshake(server.port, { 'Sec-WebSocket-Protocol': offered });

    expect(response.status).toBe(400);
    expect(response.headers.connection).toEqual(['close']);
    expect(server.seen).toHaveLength(0);
  });

  it('answers 400 to a token next to Authorization', async () => {
    server = await startServer();
    const response = await rawHandshake(server.port, {
      'Sec-WebSocket-Protocol': `wsauth, ${bearerProtocol(TOKEN)}`,
      Authorization: 'Bearer bob-token',
    });

    expect(response.status).toBe(400);
    expect(server.seen).toHaveLength(0);
  });

  it('leaves the header alone when disabled', async () => {
    server = await startServer({ subprotocolCarrier: false, protocols: ['chat.v1'] });
    const response = await rawHandshake(server.port, {
      'Sec-WebSocket-Protocol': `chat.v1, ${bearerProtocol(TOKEN)}`,
    });

    expect(response.status).toBe(401);
    expect(server.seen[0]?.headers.authorization).toBeUndefined();
  });

  it('works with a ws client', async () => {
    server = await startServer();
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, [
      'wsauth',
      bearerProtocol(TOKEN),
    ]);
    const message = await firstMessage(socket);

    expect(socket.protocol).toBe('wsauth');
    expect(message).toEqual({ type: 'welcome', user: 'alice' });
    socket.close();
  });
});

describe('subprotocol token secrecy', () => {
  it('keeps the token out of headers, logs, errors and events', async () => {
    const { logger, lines } = captureLogger();
    const diagnostics = captureDiagnostics();
    server = await startServer({ logger, protocols: ['chat.v1'] });

    const responses = [
      await rawHandshake(server.port, {
        'Sec-WebSocket-Protocol': `chat.v1, ${bearerProtocol(TOKEN)}`,
      }),
      await rawHandshake(server.port, {
        'Sec-WebSocket-Protocol': `chat.v1, ${bearerProtocol('secret-but-wrong')}`,
      }),
      await rawHandshake(server.port, {
        'Sec-WebSocket-Protocol': `chat.v1, ${bearerProtocol(TOKEN)}, ${bearerProtocol(TOKEN)}x`,
      }),
      await rawHandshake(server.port, {
        'Sec-WebSocket-Protocol': `chat.v1, ${bearerProtocol(TOKEN)}`,
        'X-Status': '500',
      }),
    ];
    await waitFor(() => lines.length >= 4);
    diagnostics.stop();

    expect(responses.map((response) => response.status)).toEqual([101, 401, 400, 500]);
    const secrets = [
      TOKEN,
      ENCODED,
      'secret-but-wrong',
      Buffer.from('secret-but-wrong').toString('base64url'),
    ];
    for (const secret of secrets) {
      for (const response of responses) {
        expect(response.text).not.toContain(secret);
      }
      for (const line of lines) {
        expect(line).not.toContain(secret);
      }
      for (const event of diagnostics.events) {
        expect(event).not.toContain(secret);
      }
    }
    expect(diagnostics.events.length).toBeGreaterThanOrEqual(4);
  });
});
