// S7: logout to close-frame latency (one instance, and two instances through Redis) and the
// event-loop delay while one instance revalidates every open socket.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  type BenchContext,
  type RunningServer,
  releaseAndSettle,
  requestFor,
  startServer,
} from './measure.js';
import type { GeneratorResult, SweepResult } from './protocol.js';
import type { Scenario } from './scenarios.js';
import { type LatencySummary, type Spread, spread } from './stats.js';
import { buildHttpRequest } from './wire.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
// Logouts are spaced so that each measures one revocation, not a queue of them.
const LOGOUT_INTERVAL_MS = 10;
// Logouts before the measured ones, so that compiling the logout path is not measured.
const LOGOUT_WARMUP = 20;

/** Close-frame latency after logout. */
export interface LogoutResult {
  id: string;
  title: string;
  samples: number;
  /** Close frames received, by close code (4401 expected). */
  closeCodes: Record<string, number>;
  errors: number;
  errorMessages: Record<string, number>;
  latency: LatencySummary;
  valid: boolean;
}

/** Event-loop delay during revalidation sweeps. */
export interface SweepSummary {
  id: string;
  title: string;
  sockets: number;
  loopDelayP99Ms: Spread;
  loopDelayMaxMs: Spread;
  durationMs: Spread;
  valid: boolean;
}

function logoutResult(
  id: string,
  title: string,
  samples: number,
  result: GeneratorResult,
): LogoutResult {
  return {
    id,
    title,
    samples,
    closeCodes: result.statuses,
    errors: result.errors,
    errorMessages: result.errorMessages,
    latency: result.latency,
    valid: result.errors === 0 && (result.statuses['4401'] ?? 0) === samples,
  };
}

async function runLogouts(
  context: BenchContext,
  scenario: Scenario,
  socketServer: RunningServer,
  logoutServer: RunningServer,
  samples: number,
): Promise<GeneratorResult> {
  const cookies = await logoutServer.worker.request<string[]>({ kind: 'sessions', count: samples });
  if (!Array.isArray(cookies)) {
    throw new Error(`the server could not create sessions: ${JSON.stringify(cookies)}`);
  }
  const logoutHost = `127.0.0.1:${logoutServer.ready.port}`;
  return context.generator.request<GeneratorResult>({
    kind: 'logout',
    port: socketServer.ready.port,
    logoutPort: logoutServer.ready.port,
    upgrades: cookies.map((cookie) => requestFor(scenario, { ...socketServer.ready, cookie })),
    logouts: cookies.map((cookie) =>
      buildHttpRequest('POST', logoutHost, '/logout', cookie).toString('latin1'),
    ),
    intervalMs: LOGOUT_INTERVAL_MS,
  });
}

/** Logs sessions out on the instance their sockets are on. */
export async function measureLogoutLocal(
  context: BenchContext,
  scenario: Scenario,
  samples: number,
): Promise<LogoutResult> {
  const server = await startServer(context, scenario);
  try {
    await runLogouts(context, scenario, server, server, LOGOUT_WARMUP);
    const result = await runLogouts(context, scenario, server, server, samples);
    return logoutResult(
      `S7_logout_local_${scenario.adapter}`,
      `S7 logout → close, one instance (${scenario.adapter})`,
      samples,
      result,
    );
  } finally {
    await server.worker.stop();
  }
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) {
      await redis.del(...keys);
    }
  } while (cursor !== '0');
}

/** Tells whether Redis at 127.0.0.1:6379 replies to PING within a second. */
export async function redisAvailable(): Promise<boolean> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/**
 * Two instances share sessions and the revocation bus through Redis: sockets are on one, the
 * logout goes to the other. Removes its keys from Redis afterwards.
 */
export async function measureLogoutRedis(
  context: BenchContext,
  scenario: Scenario,
  samples: number,
): Promise<LogoutResult> {
  const prefix = `wsauth-bench:${randomUUID()}:`;
  const env = { BENCH_REDIS_PREFIX: prefix };
  const servers: RunningServer[] = [];
  try {
    servers.push(await startServer(context, scenario, env));
    servers.push(await startServer(context, scenario, env));
    await runLogouts(context, scenario, servers[1]!, servers[0]!, LOGOUT_WARMUP);
    const result = await runLogouts(context, scenario, servers[1]!, servers[0]!, samples);
    return logoutResult(
      `S7_logout_redis_${scenario.adapter}`,
      `S7 logout → close, other instance via Redis (${scenario.adapter})`,
      samples,
      result,
    );
  } finally {
    await Promise.all(servers.map((server) => server.worker.stop()));
    const redis = new Redis(REDIS_URL);
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
}

/** Opens `sockets` authenticated sockets and revalidates them all at once, `runs` times. */
export async function measureSweep(
  context: BenchContext,
  scenario: Scenario,
  sockets: number,
  runs: number,
): Promise<SweepSummary> {
  const server = await startServer(context, scenario);
  const { generator } = context;
  try {
    await generator.request({
      kind: 'open',
      port: server.ready.port,
      request: requestFor(scenario, server.ready),
      count: sockets,
      concurrency: 100,
      group: 'sweep',
    });
    const sweeps: SweepResult[] = [];
    for (let i = 0; i < runs; i++) {
      sweeps.push(await server.worker.request<SweepResult>({ kind: 'sweep' }));
    }
    await releaseAndSettle(context, server, 'sweep');
    return {
      id: `S7_revalidation_${scenario.adapter}`,
      title: `S7 revalidation sweep (${scenario.adapter})`,
      sockets: sweeps[0]?.sockets ?? 0,
      loopDelayP99Ms: spread(sweeps.map((sweep) => sweep.loopDelayP99Ms)),
      loopDelayMaxMs: spread(sweeps.map((sweep) => sweep.loopDelayMaxMs)),
      durationMs: spread(sweeps.map((sweep) => sweep.durationMs)),
      valid: sweeps.every((sweep) => sweep.sockets === sockets),
    };
  } finally {
    await server.worker.stop();
  }
}
