import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Handshake, WsAuthServer } from '@wsauth/core';

const users: Record<string, { id: string; name: string }> = {
  alice: { id: 'alice', name: 'Alice' },
  bob: { id: 'bob', name: 'Bob' },
};
const tokens: Record<string, string> = { 'alice-token': 'alice', 'bob-token': 'bob' };

/** A real wsauth server for client tests, with counters the tests assert on. */
export interface ClientTestServer {
  port: number;
  url: string;
  /** Handshakes that reached the chain, by path. */
  handshakes: string[];
  /** Tickets minted. */
  tickets: string[];
  /** Status the ticket endpoint responds with instead of minting, when set. */
  ticketStatus: number | undefined;
  close(): Promise<void>;
}

/**
 * Paths: `/ws` rejects an unauthenticated handshake with HTTP 401, `/ws/close` with 4401,
 * `/ws/forbidden` closes an authenticated user with 4403, `/ws/drop` accepts and then drops the
 * TCP connection. `POST /ticket` mints a ticket for the user named by the `user` cookie.
 */
export async function startClientTestServer(): Promise<ClientTestServer> {
  const core = new WsAuthServer({
    rejections: (req) =>
      req.url?.startsWith('/ws/close') || req.url?.startsWith('/ws/forbidden') ? 'close' : 'status',
  });
  const state: ClientTestServer = {
    port: 0,
    url: '',
    handshakes: [],
    tickets: [],
    ticketStatus: undefined,
    close: async () => {},
  };

  const server: Server = createServer((req, res) => {
    void mintRoute(core, state, req).then(({ status, body }) => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  core.attach(server, {
    matches: (req) => req.url?.startsWith('/ws') === true,
    dispatch: (handshake) => dispatch(handshake, state),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  state.port = (server.address() as AddressInfo).port;
  state.url = `ws://127.0.0.1:${state.port}`;
  state.close = async () => {
    server.closeAllConnections();
    await core.close();
    await new Promise((resolve) => server.close(resolve));
  };
  return state;
}

async function mintRoute(
  core: WsAuthServer,
  state: ClientTestServer,
  req: IncomingMessage,
): Promise<{ status: number; body: unknown }> {
  if (req.method !== 'POST' || req.url !== '/ticket') {
    return { status: 404, body: { error: 'not_found' } };
  }
  if (state.ticketStatus !== undefined) {
    return { status: state.ticketStatus, body: { error: 'forced' } };
  }
  const name = /(?:^|;\s*)user=(\w+)/.exec(req.headers.cookie ?? '')?.[1];
  const user = name === undefined ? undefined : users[name];
  if (user === undefined) {
    return { status: 401, body: { error: 'unauthorized' } };
  }
  const minted = await core.tickets.mint({ userId: user.id, user });
  state.tickets.push(minted.ticket);
  return { status: 200, body: minted };
}

function dispatch(handshake: Handshake, state: ClientTestServer): void {
  const { req, res } = handshake;
  const path = (req.url ?? '').split('?')[0] ?? '';
  state.handshakes.push(path);

  const carried = handshake.credential;
  const token = req.headers.authorization?.replace(/^Bearer /, '');
  const userId = carried?.kind === 'ticket' ? carried.userId : tokens[token ?? ''];
  const user = userId === undefined ? undefined : users[userId];
  if (user === undefined) {
    res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"error":"unauthorized"}');
    return;
  }
  if (path === '/ws/forbidden') {
    res.writeHead(403).end();
    return;
  }

  handshake.accept({ user, userId: user.id }, (socket) => {
    if (path === '/ws/drop') {
      socket.terminate();
      return;
    }
    socket.send(JSON.stringify({ type: 'welcome', user: user.id }));
    socket.on('message', (data) =>
      socket.send(JSON.stringify({ type: 'echo', data: data.toString() })),
    );
  });
}
