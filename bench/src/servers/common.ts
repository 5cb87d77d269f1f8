// Parts every scenario server shares: the user, the secret, the socket handler and the counters.
import type { Server } from 'node:http';
import type { WebSocket } from 'ws';

/** The one user every scenario logs in. */
export interface BenchUser {
  id: string;
  name: string;
}

export const ALICE: BenchUser = { id: 'alice', name: 'Alice' };

/** A session secret long enough for every session library used here (@fastify/session: 32). */
export const SESSION_SECRET = 'bench-session-secret-0123456789abcdef';

/** Latency injected into session store reads and into `deserializeUser`, in milliseconds. */
export const injectedLatencyMs = Number(process.env.BENCH_LATENCY_MS ?? '0');

/** Counters the orchestrator reads through the `usage` command. */
export const counters = { storeReads: 0, openSockets: 0 };

/** A scenario server before it listens. */
export interface ScenarioServer {
  server: Server;
  /** Path of a POST route that logs `ALICE` in and sets the session cookie. */
  loginPath?: string;
  /** The wsauth connection lifecycle, for the revalidation sweep. */
  lifecycle?: {
    revalidateAll(): void;
    pendingRevalidations(): number;
  };
}

/** Returns the lifecycle hooks of a wsauth server that the sweep scenario uses. */
export function lifecycleOf(core: {
  lifecycle: { revalidateAll(): void; readonly pendingRevalidations: number };
}): NonNullable<ScenarioServer['lifecycle']> {
  return {
    revalidateAll: () => core.lifecycle.revalidateAll(),
    pendingRevalidations: () => core.lifecycle.pendingRevalidations,
  };
}

/**
 * Handles an accepted socket the same way in every scenario: a welcome frame on open (the first
 * frame the generator waits for), then an echo of every message.
 */
export function onSocket(socket: WebSocket, user: BenchUser | undefined): void {
  counters.openSockets++;
  socket.send(JSON.stringify({ type: 'welcome', user: user?.id ?? null }));
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('close', () => {
    counters.openSockets--;
  });
  socket.on('error', () => {});
}

/** Runs `fn` after the injected latency, or at once when there is none. */
export function withLatency(fn: () => void): void {
  if (injectedLatencyMs > 0) {
    setTimeout(fn, injectedLatencyMs);
  } else {
    fn();
  }
}
