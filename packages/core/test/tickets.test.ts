import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import {
  ErrorCodes,
  MemoryTicketStore,
  type TicketRecord,
  ticketKey,
  WsAuthError,
  type WsAuthOptions,
} from '../src/index.js';
import {
  captureDiagnostics,
  captureLogger,
  firstMessage,
  rawHandshake,
  startServer,
  type TestServer,
  waitFor,
} from './carriers-helpers.js';

const alice = { id: 'alice', name: 'Alice' };

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serverWithTicket(
  options: WsAuthOptions = {},
  mintOrigin?: string,
): Promise<{ server: TestServer; ticket: string }> {
  server = await startServer(options);
  const minted = await server.core.tickets.mint({
    userId: alice.id,
    user: alice,
    ip: '127.0.0.1',
    origin: mintOrigin,
  });
  return { server, ticket: minted.ticket };
}

describe('one-time tickets', () => {
  it('mints a 43-character ticket with its lifetime', async () => {
    server = await startServer();
    const minted = await server.core.tickets.mint({ userId: 'alice', user: alice });

    expect(minted.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(minted.expiresIn).toBe(30);
  });

  it('authenticates the chain as the ticket user', async () => {
    const { server, ticket } = await serverWithTicket();
    const response = await rawHandshake(server.port, {}, `/ws?room=1&ticket=${ticket}`);

    expect(response.status).toBe(101);
    expect(server.seen[0]?.url).toBe('/ws?room=1&ticket=[redacted]');
    await waitFor(() => server.accepted.length === 1);
    expect(server.accepted[0]?.credential).toBe('ticket');
    expect(server.accepted[0]?.userId).toBe('alice');
    expect(server.accepted[0]?.user).toEqual(alice);
  });

  it('takes a percent-encoded ticket name', async () => {
    const { server, ticket } = await serverWithTicket();
    const response = await rawHandshake(server.port, {}, `/ws?room=1&%74icket=${ticket}`);

    expect(response.status).toBe(101);
    expect(server.seen[0]?.url).toBe('/ws?room=1&ticket=[redacted]');
    await waitFor(() => server.accepted.length === 1);
    expect(server.accepted[0]?.credential).toBe('ticket');
  });

  it('takes a ticket from an absolute-form target', async () => {
    const { server, ticket } = await serverWithTicket();
    const target = `http://127.0.0.1:${server.port}/ws?ticket=${ticket}`;
    const response = await rawHandshake(server.port, {}, target);

    expect(response.status).toBe(101);
    expect(server.seen[0]?.url).toBe('/ws?ticket=[redacted]');
    await waitFor(() => server.accepted.length === 1);
    expect(server.accepted[0]?.credential).toBe('ticket');
  });

  it('hides the ticket from extensions', async () => {
    const { server, ticket } = await serverWithTicket();
    const urls: Array<string | undefined> = [];
    server.core.use({ beforeChain: (handshake) => void urls.push(handshake.req.url) });
    const response = await rawHandshake(server.port, {}, `/ws?ticket=${ticket}`);

    expect(response.status).toBe(101);
    expect(urls).toEqual(['/ws?ticket=[redacted]']);
  });

  it('answers 401 to a second use', async () => {
    const { server, ticket } = await serverWithTicket();
    const first = await rawHandshake(server.port, {}, `/ws?ticket=${ticket}`);
    const second = await rawHandshake(server.port, {}, `/ws?ticket=${ticket}`);

    expect(first.status).toBe(101);
    expect(second.status).toBe(401);
    expect(second.headers.connection).toEqual(['close']);
    expect(server.seen).toHaveLength(1);
  });

  it('answers 401 after the TTL', async () => {
    const { server, ticket } = await serverWithTicket({ tickets: { ttlMs: 40 } });
    await new Promise((resolve) => setTimeout(resolve, 80));
    const response = await rawHandshake(server.port, {}, `/ws?ticket=${ticket}`);

    expect(response.status).toBe(401);
    expect(server.seen).toHaveLength(0);
  });

  it('answers 401 to an unknown ticket', async () => {
    server = await startServer();
    const response = await rawHandshake(server.port, {}, `/ws?ticket=${'A'.repeat(43)}`);

    expect(response.status).toBe(401);
  });

  it('lets no other user reuse a ticket', async () => {
    const { server, ticket } = await serverWithTicket();
    await rawHandshake(server.port, {}, `/ws?ticket=${ticket}`);
    const reuse = await rawHandshake(
      server.port,
      { Cookie: 'user=bob-token', Origin: `http://127.0.0.1:${server.port}` },
      `/ws?ticket=${ticket}`,
    );

    expect(reuse.status).toBe(401);
    expect(server.accepted.map((context) => context.userId)).toEqual(['alice']);
  });

  it('rejects a ticket the chain resolves to another user', async () => {
    const { server, ticket } = await serverWithTicket();
    const response = await rawHandshake(
      server.port,
      { Cookie: 'user=bob-token', Origin: `http://127.0.0.1:${server.port}` },
      `/ws?ticket=${ticket}`,
    );

    expect(response.status).toBe(401);
    expect(response.text).toContain('belongs to another user');
    expect(server.accepted).toHaveLength(0);
  });

  it('rejects a ticket with a bearer header', async () => {
    const { server, ticket } = await serverWithTicket();
    const credentialHeaders: Record<string, string>[] = [
      { Authorization: 'Bearer alice-token' },
      { 'X-Api-Key': 'any' },
    ];
    for (const header of credentialHeaders) {
      const response = await rawHandshake(server.port, header, `/ws?ticket=${ticket}`);

      expect(response.status).toBe(400);
      expect(response.text).toContain('not both');
    }
    expect(server.seen).toHaveLength(0);
    const redeemed = await rawHandshake(server.port, {}, `/ws?ticket=${ticket}`);
    expect(redeemed.status).toBe(101);
  });

  it('redeems a ticket exactly once under concurrency', async () => {
    const { server, ticket } = await serverWithTicket();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => rawHandshake(server.port, {}, `/ws?ticket=${ticket}`)),
    );
    const statuses = responses.map((response) => response.status).sort();

    expect(statuses.filter((status) => status === 101)).toHaveLength(1);
    expect(statuses.filter((status) => status === 401)).toHaveLength(9);
  });

  it.each([
    ['a short value', '/ws?ticket=abc'],
    ['an empty value', '/ws?ticket='],
    ['two values', `/ws?ticket=${'A'.repeat(43)}&ticket=${'B'.repeat(43)}`],
  ])('answers 400 to %s', async (_name, path) => {
    server = await startServer();
    const response = await rawHandshake(server.port, {}, path);

    expect(response.status).toBe(400);
  });

  it('passes a ticket handshake without Origin', async () => {
    const { server, ticket } = await serverWithTicket({}, 'http://app.example');
    const response = await rawHandshake(server.port, {}, `/ws?ticket=${ticket}`);

    // The mint request had an Origin, so the ticket is bound to it and a bare request fails.
    expect(response.status).toBe(401);

    const unbound = await server.core.tickets.mint({ userId: 'alice', user: alice });
    const bare = await rawHandshake(server.port, {}, `/ws?ticket=${unbound.ticket}`);
    expect(bare.status).toBe(101);
  });

  it('binds a ticket to the minting origin', async () => {
    const { server, ticket } = await serverWithTicket({}, 'http://app.example');
    const other = await server.core.tickets.mint({
      userId: 'alice',
      user: alice,
      origin: 'http://app.example',
    });
    const wrong = await rawHandshake(
      server.port,
      { Origin: 'http://evil.example' },
      `/ws?ticket=${ticket}`,
    );
    const right = await rawHandshake(
      server.port,
      { Origin: 'http://app.example' },
      `/ws?ticket=${other.ticket}`,
    );

    expect(wrong.status).toBe(401);
    expect(right.status).toBe(101);
  });

  it('ignores the origin with bindOrigin off', async () => {
    const { server, ticket } = await serverWithTicket(
      { tickets: { bindOrigin: false } },
      'http://app.example',
    );
    const response = await rawHandshake(
      server.port,
      { Origin: 'http://other.example' },
      `/ws?ticket=${ticket}`,
    );

    expect(response.status).toBe(101);
  });

  it('binds a ticket to the client address with bindIp', async () => {
    server = await startServer({ tickets: { bindIp: true } });
    const elsewhere = await server.core.tickets.mint({
      userId: 'alice',
      user: alice,
      ip: '10.0.0.9',
    });
    const here = await server.core.tickets.mint({ userId: 'alice', user: alice, ip: '127.0.0.1' });

    expect((await rawHandshake(server.port, {}, `/ws?ticket=${elsewhere.ticket}`)).status).toBe(
      401,
    );
    expect((await rawHandshake(server.port, {}, `/ws?ticket=${here.ticket}`)).status).toBe(101);
  });

  it('stores a digest, never the ticket', async () => {
    const keys: string[] = [];
    const records: TicketRecord[] = [];
    class RecordingStore extends MemoryTicketStore {
      override async set(key: string, record: TicketRecord, ttlMs: number): Promise<void> {
        keys.push(key);
        records.push(record);
        await super.set(key, record, ttlMs);
      }
    }
    server = await startServer({ tickets: { store: new RecordingStore() } });
    const { ticket } = await server.core.tickets.mint({ userId: 'alice', user: alice });

    expect(keys).toEqual([ticketKey(ticket)]);
    expect(JSON.stringify(records)).not.toContain(ticket);
  });

  it('refuses to mint without a user', async () => {
    server = await startServer();
    const minting = server.core.tickets.mint({ userId: '' });

    await expect(minting).rejects.toBeInstanceOf(WsAuthError);
    await expect(minting).rejects.toMatchObject({
      code: ErrorCodes.TICKET_WITHOUT_USER,
      statusCode: 401,
    });
  });

  it('leaves the query alone when tickets are off', async () => {
    server = await startServer({ tickets: false });
    const response = await rawHandshake(
      server.port,
      { Authorization: 'Bearer alice-token' },
      `/ws?ticket=${'A'.repeat(43)}`,
    );

    expect(response.status).toBe(101);
    expect(server.seen[0]?.url).toBe(`/ws?ticket=${'A'.repeat(43)}`);
    await expect(server.core.tickets.mint({ userId: 'alice' })).rejects.toMatchObject({
      code: ErrorCodes.TICKETS_DISABLED,
    });
  });

  it('rejects invalid ticket options', async () => {
    await expect(startServer({ tickets: { ttlMs: 0 } })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_OPTION,
    });
  });

  it('works with a ws client', async () => {
    const { server, ticket } = await serverWithTicket();
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws?ticket=${ticket}`);
    const message = await firstMessage(socket);

    expect(message).toEqual({ type: 'welcome', user: 'alice' });
    socket.close();
  });
});

describe('tickets and revocation', () => {
  async function mintForSession(sessionId: string): Promise<string> {
    server = await startServer();
    const minted = await server.core.tickets.mint({ userId: alice.id, user: alice, sessionId });
    return minted.ticket;
  }

  it('ties a ticket socket to the minting session', async () => {
    const ticket = await mintForSession('s-alice');
    const socket = new WebSocket(`ws://127.0.0.1:${server!.port}/ws?ticket=${ticket}`);
    await firstMessage(socket);
    const closed = new Promise<number>((resolve) => socket.once('close', resolve));

    expect(server!.accepted[0]?.sessionId).toBe('s-alice');
    await expect(server!.core.revoke({ sessionId: 's-alice' })).resolves.toBe(1);
    expect(await closed).toBe(4401);
  });

  it('rejects a ticket of a revoked session', async () => {
    const ticket = await mintForSession('s-alice');
    await server!.core.revoke({ sessionId: 's-alice' });
    const response = await rawHandshake(server!.port, {}, `/ws?ticket=${ticket}`);

    expect(response.status).toBe(401);
    expect(response.text).toContain('signed out');
    expect(server!.seen).toHaveLength(0);
  });

  it('rejects a ticket of a revoked user', async () => {
    const ticket = await mintForSession('s-alice');
    await server!.core.revoke({ userId: 'alice' });
    const response = await rawHandshake(server!.port, {}, `/ws?ticket=${ticket}`);

    expect(response.status).toBe(401);
  });

  it('rejects a revoked ticket despite clock drift', async () => {
    const ticket = await mintForSession('s-alice');
    const monotonicNow = performance.now.bind(performance);
    // Simulates performance.now() falling behind Date.now(), as it can in a long-lived process.
    const lag = vi.spyOn(performance, 'now').mockImplementation(() => monotonicNow() - 20);
    try {
      await server!.core.revoke({ userId: 'alice' });
    } finally {
      lag.mockRestore();
    }
    const response = await rawHandshake(server!.port, {}, `/ws?ticket=${ticket}`);

    expect(response.status).toBe(401);
  });

  it('redeems a ticket minted after revocation', async () => {
    server = await startServer();
    await server.core.revoke({ userId: 'alice' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const minted = await server.core.tickets.mint({ userId: alice.id, user: alice });
    const response = await rawHandshake(server.port, {}, `/ws?ticket=${minted.ticket}`);

    expect(response.status).toBe(101);
  });
});

describe('ticket redaction', () => {
  it('keeps tickets out of logs and events', async () => {
    const { logger, lines } = captureLogger();
    const diagnostics = captureDiagnostics();
    const { server, ticket } = await serverWithTicket({ logger });
    const unknown = 'Z'.repeat(43);

    await rawHandshake(server.port, {}, `/ws?ticket=${ticket}`);
    await rawHandshake(server.port, {}, `/ws?ticket=${ticket}`);
    await rawHandshake(server.port, {}, `/ws?ticket=${unknown}`);
    await rawHandshake(server.port, {}, '/ws?ticket=short-one');
    await waitFor(() => lines.length >= 4);
    diagnostics.stop();

    for (const output of [...lines, ...diagnostics.events]) {
      expect(output).not.toContain(ticket);
      expect(output).not.toContain(unknown);
      expect(output).not.toContain('short-one');
    }
    expect(lines.filter((line) => line.includes('/ws?ticket=[redacted]'))).toHaveLength(4);
  });

  it('keeps a fragment out of logs and events', async () => {
    const { logger, lines } = captureLogger();
    const diagnostics = captureDiagnostics();
    const { server, ticket } = await serverWithTicket({ logger });

    const response = await rawHandshake(server.port, {}, `/ws#ticket=${ticket}`);
    await waitFor(() => lines.length >= 1);
    diagnostics.stop();

    expect(response.status).toBe(400);
    for (const output of [...lines, ...diagnostics.events]) {
      expect(output).not.toContain(ticket);
    }
    expect(lines.filter((line) => line.includes('/ws#[redacted]'))).toHaveLength(1);
  });
});
