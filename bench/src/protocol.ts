// Messages between the orchestrator, the generator process and the server process.
import type { LatencySummary } from './stats.js';

/** A job for the generator. `request` is the upgrade request as latin1 text. */
export type GeneratorJob =
  | { kind: 'closed'; port: number; request: string; concurrency: number; durationMs: number }
  | {
      kind: 'rate';
      port: number;
      request: string;
      ratePerSecond: number;
      durationMs: number;
      maxInFlight: number;
    }
  | {
      kind: 'open';
      port: number;
      request: string;
      count: number;
      concurrency: number;
      /** The set the sockets are kept in, for later `echo` and `release` jobs. */
      group: string;
    }
  | { kind: 'echo'; request?: undefined; payloadBytes: number; durationMs: number; group: string }
  | { kind: 'release'; request?: undefined; group: string }
  | {
      kind: 'logout';
      request?: undefined;
      /** The instance the WebSocket connects to. */
      port: number;
      /** The instance the logout goes to (the same port, or another instance). */
      logoutPort: number;
      /** One upgrade request and one logout request per session. */
      upgrades: string[];
      logouts: string[];
      intervalMs: number;
    };

/** The generator's measurements of one job. */
export interface GeneratorResult {
  completed: number;
  errors: number;
  errorMessages: Record<string, number>;
  /** Completed handshakes by HTTP status. */
  statuses: Record<string, number>;
  ratePerSecond: number;
  latency: LatencySummary;
  windowMs: number;
  cpuMs: number;
  /** Generator CPU seconds per wall second over the window (1 = one core busy). */
  cpuUtilisation: number;
}

/** A request from the orchestrator to the server process. */
export type ServerCommand =
  | { kind: 'usage' }
  | { kind: 'memory' }
  | { kind: 'sessions'; count: number }
  | { kind: 'sweep' }
  | { kind: 'snapshot'; path: string }
  | { kind: 'stop' };

/** Event-loop delay while the server revalidated every open socket. */
export interface SweepResult {
  sockets: number;
  durationMs: number;
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** The server's CPU time and counters at one moment. */
export interface ServerUsage {
  cpuMs: number;
  atMs: number;
  storeReads: number;
  openSockets: number;
}

/** Heap and RSS after a full garbage collection. */
export interface ServerMemory {
  heapUsed: number;
  rss: number;
  openSockets: number;
}

/** The message the server process sends once it listens. */
export interface ServerReady {
  kind: 'ready';
  port: number;
  /** A `Cookie` header value of a logged-in session, when the scenario has a login. */
  cookie?: string;
}
