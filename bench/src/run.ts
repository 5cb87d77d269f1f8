// The bench entry point: `pnpm bench` (full) or `pnpm bench --quick`. It starts the generator
// process, runs every scenario against a fresh server process, and writes
// bench/results/latest.json and bench/results/latest.md.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  measureLogoutLocal,
  measureLogoutRedis,
  measureSweep,
  redisAvailable,
} from './lifecycle.js';
import { renderMarkdown } from './markdown.js';
import {
  type BenchConfig,
  type BenchContext,
  measureEcho,
  measureIdleMemory,
  measureLatencyAtRate,
  measureThroughput,
  type ScenarioResult,
} from './measure.js';
import { detectPlacement, startProcess } from './procs.js';
import { loadRate, type Measurements, sustainedRate } from './report.js';
import { assembleResults, currentCommit } from './results.js';
import {
  HANDWRITTEN,
  handshakeScenarios,
  RAW,
  type Scenario,
  sameChainReferences,
  wsauthAccepting,
} from './scenarios.js';

// Descriptors kept free of the open-file limit for the process's own files and listeners.
const FILE_HEADROOM = 1_000;

function configFor(quick: boolean, fileLimit: number): BenchConfig {
  const idleTarget = quick ? 2_000 : 20_000;
  return {
    mode: quick ? 'quick' : 'full',
    // Quick runs stay under 5 minutes on a 2-core VM where starting a server takes about 2 s.
    warmupMs: quick ? 300 : 3_000,
    runs: quick ? 3 : 5,
    runMs: quick ? 800 : 5_000,
    concurrency: 64,
    idleSockets: Math.min(idleTarget, fileLimit - FILE_HEADROOM),
    memoryRuns: quick ? 1 : 3,
    echoSockets: 1_000,
    echoPayloadBytes: 64,
    loadFraction: 0.8,
    logoutSamples: quick ? 100 : 500,
    sweepSockets: Math.min(quick ? 5_000 : 10_000, fileLimit - FILE_HEADROOM),
    sweepRuns: quick ? 1 : 3,
  };
}

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

async function measureLifecycle(context: BenchContext, m: Measurements): Promise<void> {
  const { config } = context;
  const withRedis = await redisAvailable();
  for (const scenario of wsauthAccepting()) {
    log(`lifecycle: ${scenario.title}`);
    const local = await measureLogoutLocal(context, scenario, config.logoutSamples);
    m.logout[local.id] = local;
    if (withRedis) {
      const redis = await measureLogoutRedis(context, scenario, config.logoutSamples);
      m.logout[redis.id] = redis;
    } else {
      m.notMeasured[`logout_close_p99_ms_redis.${scenario.adapter}`] =
        'Redis did not answer at 127.0.0.1:6379';
    }
    const sweep = await measureSweep(context, scenario, config.sweepSockets, config.sweepRuns);
    m.sweep[sweep.id] = sweep;
  }
}

/**
 * Runs one stage; a failure is logged and recorded under `key` in `notMeasured`, so the other
 * stages still run and the results are still written.
 */
async function stage(m: Measurements, key: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`  ${key} failed: ${message}`);
    m.notMeasured[key] = `the measurement failed: ${message}`;
  }
}

/** Measures `loaded` at `rate` handshakes per second, open loop and interleaved. */
async function measureLatency(
  context: BenchContext,
  loaded: readonly Scenario[],
  rate: number,
  into: Record<string, ScenarioResult>,
  suffix: string,
): Promise<void> {
  log(`latency at ${rate}/s: ${loaded.map((scenario) => scenario.id).join(', ')}`);
  for (const result of await measureLatencyAtRate(context, loaded, rate)) {
    into[result.id] = {
      ...result,
      id: `${result.id}_${suffix}`,
      title: `${result.title} at ${rate}/s`,
    };
  }
}

async function measureAll(context: BenchContext): Promise<Measurements> {
  const m: Measurements = {
    handshakes: {},
    latencyAtLoad: {},
    latencyAtSustainedLoad: {},
    sustainedRatePerSecond: null,
    memory: {},
    echo: {},
    logout: {},
    sweep: {},
    notMeasured: {},
  };

  const handshakes = handshakeScenarios();
  log(`handshakes, interleaved: ${handshakes.map((scenario) => scenario.id).join(', ')}`);
  for (const result of await measureThroughput(context, handshakes)) {
    m.handshakes[result.id] = result;
    log(
      `  ${result.id}: ${result.throughput.median.toFixed(0)}/s${result.valid ? '' : ' (invalid)'}`,
    );
  }

  const reference = m.handshakes[HANDWRITTEN.id]?.throughput.median ?? 0;
  const rate = loadRate(reference, context.config.loadFraction);
  await measureLatency(
    context,
    [HANDWRITTEN, ...wsauthAccepting()],
    rate,
    m.latencyAtLoad,
    'at_load',
  );

  m.sustainedRatePerSecond = sustainedRate(m, context.config.loadFraction);
  if (m.sustainedRatePerSecond !== null) {
    await measureLatency(
      context,
      [HANDWRITTEN, ...wsauthAccepting(), ...sameChainReferences()],
      m.sustainedRatePerSecond,
      m.latencyAtSustainedLoad,
      'at_sustained_load',
    );
  }

  for (const scenario of [RAW, HANDWRITTEN, ...wsauthAccepting()]) {
    log(`idle memory: ${scenario.title}`);
    await stage(m, `memory.${scenario.id}`, async () => {
      const result = await measureIdleMemory(context, scenario);
      m.memory[result.id] = result;
    });
    await context.generator.request({ kind: 'release', group: 'idle' });
  }

  const echoed = [RAW, HANDWRITTEN, ...wsauthAccepting()];
  log(`echo: ${echoed.map((scenario) => scenario.id).join(', ')}`);
  await stage(m, 'echo', async () => {
    for (const result of await measureEcho(context, echoed)) {
      m.echo[result.id] = result;
    }
  });

  await stage(m, 'lifecycle', () => measureLifecycle(context, m));
  return m;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      // Folder for latest.json and latest.md, relative to the working directory.
      output: { type: 'string' },
    },
  });
  const loadAtStart = loadavg();
  const commit = currentCommit();
  const placement = detectPlacement();
  const config = configFor(values.quick === true, placement.fileLimit);
  log(`${config.mode} mode, ${placement.pinned ? 'pinned with taskset' : 'not pinned'}`);

  const generator = startProcess('generator.ts', [], placement, placement.generatorCore);
  let measurements: Measurements;
  try {
    measurements = await measureAll({ config, placement, generator });
  } finally {
    await generator.stop();
  }

  const results = assembleResults(config, placement, measurements, loadAtStart, commit);
  const folder =
    values.output === undefined
      ? new URL('../results/', import.meta.url)
      : pathToFileURL(`${resolve(values.output)}/`);
  await mkdir(folder, { recursive: true });
  await writeFile(new URL('latest.json', folder), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(new URL('latest.md', folder), renderMarkdown(results));
  log(`wrote latest.json and latest.md in ${fileURLToPath(folder)}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
