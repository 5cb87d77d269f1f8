// One measurement per function: each starts a fresh server process for its scenario, warms it
// up, runs the generator job the configured number of times, and stops the server.
import { type Placement, startProcess, type Worker } from './procs.js';
import type {
  GeneratorJob,
  GeneratorResult,
  ServerMemory,
  ServerReady,
  ServerUsage,
} from './protocol.js';
import type { Scenario } from './scenarios.js';
import { isGeneratorBound, type Spread, spread } from './stats.js';
import { buildUpgradeRequest } from './wire.js';

/** Durations and sizes of one bench run. */
export interface BenchConfig {
  mode: 'quick' | 'full';
  warmupMs: number;
  runs: number;
  runMs: number;
  concurrency: number;
  idleSockets: number;
  memoryRuns: number;
  echoSockets: number;
  echoPayloadBytes: number;
  loadFraction: number;
  logoutSamples: number;
  sweepSockets: number;
  sweepRuns: number;
}

/** A running server process with its address and session cookie. */
export interface RunningServer {
  worker: Worker;
  ready: ServerReady;
}

/** The orchestrator's handles on the generator and the machine. */
export interface BenchContext {
  config: BenchConfig;
  placement: Placement;
  generator: Worker;
}

/** One measured run of a handshake or echo job. */
export interface RunRecord {
  generator: GeneratorResult;
  serverCpuMs: number;
  serverUtilisation: number;
  storeReads: number;
  generatorBound: boolean;
}

/** The runs of one scenario and their spread. */
export interface ScenarioResult {
  id: string;
  title: string;
  server: string;
  expectedStatus: number;
  /** Handshakes (or echo messages) per second. */
  throughput: Spread;
  latencyP50Ms: Spread;
  latencyP99Ms: Spread;
  serverCpuUsPerOperation: Spread;
  serverUtilisation: Spread;
  generatorUtilisation: Spread;
  generatorBound: boolean;
  /** Completed handshakes whose status differed from `expectedStatus`, over all runs. */
  unexpectedStatuses: Record<string, number>;
  errors: number;
  errorMessages: Record<string, number>;
  storeReads: number;
  valid: boolean;
}

export async function startServer(
  context: BenchContext,
  scenario: Scenario,
  env: NodeJS.ProcessEnv = {},
): Promise<RunningServer> {
  const worker = startProcess(
    'server.ts',
    [scenario.server],
    context.placement,
    context.placement.serverCore,
    {
      nodeFlags: ['--expose-gc'],
      env: { ...env, BENCH_LATENCY_MS: String(scenario.latencyMs ?? 0), NODE_ENV: 'production' },
    },
  );
  const ready = await worker.next<ServerReady>();
  return { worker, ready };
}

/** Builds the request bytes of a scenario for a server that listens on `ready.port`. */
export function requestFor(scenario: Scenario, ready: ServerReady): string {
  const host = `127.0.0.1:${ready.port}`;
  const { origin, cookie, path } = scenario.request;
  if (cookie && ready.cookie === undefined) {
    throw new Error(`${scenario.id} needs a session cookie but the server has no login`);
  }
  return buildUpgradeRequest({
    host,
    path,
    origin:
      origin === 'same'
        ? `http://${host}`
        : origin === 'foreign'
          ? 'http://evil.example'
          : undefined,
    cookie: cookie ? ready.cookie : undefined,
  }).toString('latin1');
}

/** Runs one generator job and reads the server's CPU time around it. */
async function measuredJob(
  context: BenchContext,
  server: RunningServer,
  job: GeneratorJob,
): Promise<RunRecord> {
  const before = await server.worker.request<ServerUsage>({ kind: 'usage' });
  const generator = await context.generator.request<GeneratorResult>(job);
  const after = await server.worker.request<ServerUsage>({ kind: 'usage' });

  const serverCpuMs = after.cpuMs - before.cpuMs;
  const serverUtilisation = serverCpuMs / (after.atMs - before.atMs);
  return {
    generator,
    serverCpuMs,
    serverUtilisation,
    storeReads: after.storeReads - before.storeReads,
    generatorBound: isGeneratorBound(generator.cpuUtilisation, serverUtilisation),
  };
}

function summarize(scenario: Scenario, runs: RunRecord[]): ScenarioResult {
  const unexpected: Record<string, number> = {};
  const errorMessages: Record<string, number> = {};
  for (const run of runs) {
    for (const [status, count] of Object.entries(run.generator.statuses)) {
      if (Number(status) !== scenario.expectedStatus) {
        unexpected[status] = (unexpected[status] ?? 0) + count;
      }
    }
    for (const [message, count] of Object.entries(run.generator.errorMessages)) {
      errorMessages[message] = (errorMessages[message] ?? 0) + count;
    }
  }
  const errors = runs.reduce((sum, run) => sum + run.generator.errors, 0);
  const completed = runs.reduce((sum, run) => sum + run.generator.completed, 0);

  return {
    id: scenario.id,
    title: scenario.title,
    server: scenario.server,
    expectedStatus: scenario.expectedStatus,
    throughput: spread(runs.map((run) => run.generator.ratePerSecond)),
    latencyP50Ms: spread(runs.map((run) => run.generator.latency.p50)),
    latencyP99Ms: spread(runs.map((run) => run.generator.latency.p99)),
    serverCpuUsPerOperation: spread(
      runs.map((run) => (run.serverCpuMs * 1000) / Math.max(1, run.generator.completed)),
    ),
    serverUtilisation: spread(runs.map((run) => run.serverUtilisation)),
    generatorUtilisation: spread(runs.map((run) => run.generator.cpuUtilisation)),
    generatorBound: runs.some((run) => run.generatorBound),
    unexpectedStatuses: unexpected,
    errors,
    errorMessages,
    storeReads: runs.reduce((sum, run) => sum + run.storeReads, 0),
    // A run counts when nearly every handshake got the expected status.
    valid:
      completed > 0 &&
      Object.values(unexpected).reduce((a, b) => a + b, 0) + errors <= completed * 0.01,
  };
}

async function withServer<T>(
  context: BenchContext,
  scenario: Scenario,
  body: (server: RunningServer) => Promise<T>,
): Promise<T> {
  const server = await startServer(context, scenario);
  try {
    return await body(server);
  } finally {
    await server.worker.stop();
  }
}

/** The steps of one interleaved measurement: prepare a server, build its job, clean up. */
interface InterleavedPlan {
  prepare?(server: RunningServer, scenario: Scenario): Promise<void>;
  job(server: RunningServer, scenario: Scenario, durationMs: number): GeneratorJob;
  finish?(server: RunningServer, scenario: Scenario): Promise<void>;
}

/**
 * Starts one server per scenario and measures them in turns: run 1 of every scenario, then run 2
 * of every scenario, and so on, with the order rotated each round. Load from other processes on
 * the machine then spreads over all scenarios instead of skewing the one that ran during it.
 */
async function measureInterleaved(
  context: BenchContext,
  scenarios: readonly Scenario[],
  plan: InterleavedPlan,
): Promise<ScenarioResult[]> {
  const { config, generator } = context;
  const servers: RunningServer[] = [];
  try {
    for (const scenario of scenarios) {
      servers.push(await startServer(context, scenario));
    }
    const pairs = scenarios.map((scenario, i) => ({ scenario, server: servers[i]! }));
    for (const { scenario, server } of pairs) {
      await plan.prepare?.(server, scenario);
      await generator.request(plan.job(server, scenario, config.warmupMs));
    }

    const runs = pairs.map((): RunRecord[] => []);
    for (let round = 0; round < config.runs; round++) {
      for (let k = 0; k < pairs.length; k++) {
        const index = (k + round) % pairs.length;
        const { scenario, server } = pairs[index]!;
        runs[index]!.push(
          await measuredJob(context, server, plan.job(server, scenario, config.runMs)),
        );
      }
    }

    for (const { scenario, server } of pairs) {
      await plan.finish?.(server, scenario);
    }
    return pairs.map(({ scenario }, i) => summarize(scenario, runs[i]!));
  } finally {
    await Promise.all(servers.map((server) => server.worker.stop()));
  }
}

/** Closed-loop handshake throughput of each scenario, interleaved. */
export function measureThroughput(
  context: BenchContext,
  scenarios: readonly Scenario[],
): Promise<ScenarioResult[]> {
  return measureInterleaved(context, scenarios, {
    job: (server, scenario, durationMs) => ({
      kind: 'closed',
      port: server.ready.port,
      request: requestFor(scenario, server.ready),
      concurrency: context.config.concurrency,
      durationMs,
    }),
  });
}

/** Open-loop latency at a fixed arrival rate of each scenario, interleaved. */
export function measureLatencyAtRate(
  context: BenchContext,
  scenarios: readonly Scenario[],
  ratePerSecond: number,
): Promise<ScenarioResult[]> {
  return measureInterleaved(context, scenarios, {
    job: (server, scenario, durationMs) => ({
      kind: 'rate',
      port: server.ready.port,
      request: requestFor(scenario, server.ready),
      ratePerSecond,
      durationMs,
      maxInFlight: 1000,
    }),
  });
}

/** Echo messages per second over `echoSockets` authenticated sockets of each scenario. */
export async function measureEcho(
  context: BenchContext,
  scenarios: readonly Scenario[],
): Promise<ScenarioResult[]> {
  const { config, generator } = context;
  const results = await measureInterleaved(context, scenarios, {
    prepare: async (server, scenario) => {
      await generator.request({
        kind: 'open',
        port: server.ready.port,
        request: requestFor(scenario, server.ready),
        count: config.echoSockets,
        concurrency: 100,
        group: scenario.id,
      });
    },
    job: (_server, scenario, durationMs) => ({
      kind: 'echo',
      payloadBytes: config.echoPayloadBytes,
      durationMs,
      group: scenario.id,
    }),
    finish: async (_server, scenario) => {
      await generator.request({ kind: 'release', group: scenario.id });
    },
  });
  return results.map((result) => ({
    ...result,
    id: result.id.replace(/^S\d_/, 'S8_'),
    title: `S8 echo, ${result.title}`,
  }));
}

// How long a server may take to close the sockets the generator released.
const RELEASE_TIMEOUT_MS = 10_000;

/**
 * Releases a group of held sockets and waits until the server has closed its side of them, so
 * that the next measurement neither counts them nor runs out of file descriptors.
 */
export async function releaseAndSettle(
  context: BenchContext,
  server: RunningServer,
  group: string,
): Promise<void> {
  await context.generator.request({ kind: 'release', group });
  const deadline = performance.now() + RELEASE_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const usage = await server.worker.request<ServerUsage>({ kind: 'usage' });
    if (usage.openSockets === 0) {
      return;
    }
    await delay(50);
  }
}

/** Heap and RSS per idle authenticated socket, after a full GC, over `memoryRuns` runs. */
export interface MemoryResult {
  id: string;
  title: string;
  sockets: number;
  heapBytesPerSocket: Spread;
  rssBytesPerSocket: Spread;
  valid: boolean;
}

export function measureIdleMemory(
  context: BenchContext,
  scenario: Scenario,
): Promise<MemoryResult> {
  return withServer(context, scenario, async (server) => {
    const { config, generator } = context;
    const request = requestFor(scenario, server.ready);
    const open = (count: number): Promise<GeneratorResult> =>
      generator.request({
        kind: 'open',
        port: server.ready.port,
        request,
        count,
        concurrency: 100,
        group: 'idle',
      });

    // Warm-up: the first sockets compile and allocate what every later socket shares.
    await open(Math.min(500, config.idleSockets));
    await releaseAndSettle(context, server, 'idle');

    const heap: number[] = [];
    const rss: number[] = [];
    let valid = true;
    for (let i = 0; i < config.memoryRuns; i++) {
      await delay(500);
      const base = await server.worker.request<ServerMemory>({ kind: 'memory' });
      const opened = await open(config.idleSockets);
      await delay(500);
      const loaded = await server.worker.request<ServerMemory>({ kind: 'memory' });
      const sockets = loaded.openSockets - base.openSockets;
      valid &&=
        Number.isFinite(loaded.heapUsed) &&
        sockets === config.idleSockets &&
        opened.completed === config.idleSockets;
      heap.push((loaded.heapUsed - base.heapUsed) / Math.max(1, sockets));
      rss.push((loaded.rss - base.rss) / Math.max(1, sockets));
      await releaseAndSettle(context, server, 'idle');
    }
    return {
      id: scenario.id.replace(/^S\d_/, 'S6_'),
      title: `S6 idle memory, ${scenario.title}`,
      sockets: config.idleSockets,
      heapBytesPerSocket: spread(heap),
      rssBytesPerSocket: spread(rss),
      valid,
    };
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
