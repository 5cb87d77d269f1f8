// The scenario catalogue: which server runs, what request the generator writes, and what status
// the server must respond with for a run to count.
import type { ServerKind } from './servers/index.js';
import { SOCKET_IO_PATH } from './servers/socketio.js';

/** The adapters whose ratios the report has a column for. */
export const ADAPTERS = ['express', 'fastify', 'koa'] as const;
export type Adapter = (typeof ADAPTERS)[number];

/** The wsauth server of each adapter. */
export const adapterServers: Record<Adapter, ServerKind> = {
  express: 'wsauth-express',
  fastify: 'wsauth-fastify',
  koa: 'wsauth-koa',
};

/** The request the generator builds for a scenario. */
export interface RequestPlan {
  path: string;
  origin: 'same' | 'foreign' | 'none';
  cookie: boolean;
}

/** One server started for one scenario. */
export interface Scenario {
  id: string;
  title: string;
  server: ServerKind;
  /** Latency injected into store reads and deserializeUser, in milliseconds. */
  latencyMs?: number;
  request: RequestPlan;
  expectedStatus: number;
  adapter?: Adapter;
}

const authenticated: RequestPlan = { path: '/ws', origin: 'same', cookie: true };

function wsauthScenarios(adapter: Adapter, server: ServerKind): Scenario[] {
  return [
    {
      id: `S2_wsauth_${adapter}`,
      title: `S2 wsauth (${adapter}), session + passport`,
      server,
      request: authenticated,
      expectedStatus: 101,
      adapter,
    },
    {
      id: `S3_origin_reject_${adapter}`,
      title: `S3 wsauth (${adapter}), foreign Origin rejected`,
      server,
      request: { path: '/ws', origin: 'foreign', cookie: true },
      expectedStatus: 403,
      adapter,
    },
    {
      id: `S4_no_session_${adapter}`,
      title: `S4 wsauth (${adapter}), no session cookie`,
      server,
      request: { path: '/ws', origin: 'same', cookie: false },
      expectedStatus: 401,
      adapter,
    },
    {
      id: `S5_store_latency_${adapter}`,
      title: `S5 wsauth (${adapter}), 1 ms store and deserializeUser`,
      server,
      latencyMs: 1,
      request: authenticated,
      expectedStatus: 101,
      adapter,
    },
  ];
}

/** The reference servers every ratio divides by. */
export const RAW: Scenario = {
  id: 'S0_raw',
  title: 'S0 raw ws, no auth',
  server: 'raw',
  request: { path: '/ws', origin: 'same', cookie: false },
  expectedStatus: 101,
};

export const HANDWRITTEN: Scenario = {
  id: 'S1_handwritten',
  title: 'S1 hand-written upgrade listener, session + passport',
  server: 'handwritten',
  request: authenticated,
  expectedStatus: 101,
};

/** The Express app of S2 run by hand in an `upgrade` listener: the chain without the pipeline. */
export const HANDWRITTEN_APP: Scenario = {
  id: 'S1b_handwritten_express_app',
  title: 'S1b hand-written upgrade listener running the Express app',
  server: 'handwritten-express-app',
  request: authenticated,
  expectedStatus: 101,
};

const handwrittenVariants: Scenario[] = [
  {
    id: 'S3_origin_reject_handwritten',
    title: 'S3 hand-written, foreign Origin rejected',
    server: 'handwritten',
    request: { path: '/ws', origin: 'foreign', cookie: true },
    expectedStatus: 403,
  },
  {
    id: 'S4_no_session_handwritten',
    title: 'S4 hand-written, no session cookie',
    server: 'handwritten',
    request: { path: '/ws', origin: 'same', cookie: false },
    expectedStatus: 401,
  },
  {
    id: 'S5_store_latency_handwritten',
    title: 'S5 hand-written, 1 ms store and deserializeUser',
    server: 'handwritten',
    latencyMs: 1,
    request: authenticated,
    expectedStatus: 101,
  },
];

/** The peers a user would pick instead of wsauth, each with the same login and guard. */
export const PEERS: Scenario[] = [
  { id: 'peer_express-ws', title: 'peer express-ws', server: 'express-ws' },
  {
    id: 'peer_fastify-websocket',
    title: 'peer @fastify/websocket + hooks',
    server: '@fastify/websocket',
  },
  { id: 'peer_koa-easy-ws', title: 'peer koa-easy-ws', server: 'koa-easy-ws' },
  {
    id: 'peer_socket.io',
    title: 'peer socket.io, io.engine.use',
    server: 'socket.io',
    path: SOCKET_IO_PATH,
  },
].map(({ id, title, server, path }) => ({
  id,
  title,
  server: server as ServerKind,
  request: { ...authenticated, path: path ?? '/ws' },
  expectedStatus: 101,
}));

/** Returns every handshake-throughput scenario, in the order they run. */
export function handshakeScenarios(): Scenario[] {
  const wsauth = Object.entries(adapterServers).flatMap(([adapter, server]) =>
    wsauthScenarios(adapter as Adapter, server),
  );
  return [RAW, HANDWRITTEN, HANDWRITTEN_APP, ...wsauth, ...handwrittenVariants, ...PEERS];
}

/**
 * The server that runs the same framework chain (routing, session, passport, guard) on the
 * upgrade request and then upgrades, without a handshake pipeline. For Express it is the S2 app
 * run by hand in an `upgrade` listener; for Fastify and Koa, the peer that does the same.
 */
export const SAME_CHAIN_REFERENCES: Record<Adapter, string> = {
  express: 'S1b_handwritten_express_app',
  fastify: 'peer_fastify-websocket',
  koa: 'peer_koa-easy-ws',
};

/**
 * Returns the servers that run each adapter's framework chain on the upgrade without wsauth:
 * S1b for Express, and the @fastify/websocket and koa-easy-ws peers.
 */
export function sameChainReferences(): Scenario[] {
  const ids = new Set(Object.values(SAME_CHAIN_REFERENCES));
  return handshakeScenarios().filter((scenario) => ids.has(scenario.id));
}

/** Returns the wsauth accept scenario of each adapter (memory, echo and latency use these). */
export function wsauthAccepting(): Scenario[] {
  return handshakeScenarios().filter((scenario) => scenario.id.startsWith('S2_'));
}
