// The bench entry point: `pnpm bench` (full) or `pnpm bench --quick`. It starts the generator
// process, runs every scenario against a fresh server process, and writes
// bench/results/latest.json and bench/results/latest.md.
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { renderMarkdown } from './markdown.js';
import {
  type BenchConfig,
  type BenchContext,
  measureEcho,
  measureIdleMemory,
  measureLatencyAtRate,
  measureThroughput,
} from './measure.js';
import { detectPlacement, startProcess } from './procs.js';
import type { Measurements } from './report.js';
import { assembleResults } from './results.js';
import {
  ADAPTERS,
  adapterServers,
  HANDWRITTEN,
  handshakeScenarios,
  missingAdapterReason,
  RAW,
  wsauthAccepting,
} from './scenarios.js';

// Sockets kept free of the open-file limit for the process's own files and listeners.
const FILE_HEADROOM = 500;

function configFor(quick: boolean, fileLimit: number): BenchConfig {
  const idleTarget = quick ? 2_000 : 20_000;
  return {
    mode: quick ? 'quick' : 'full',
    warmupMs: quick ? 1_000 : 3_000,
    runs: quick ? 3 : 5,
    runMs: quick ? 2_000 : 5_000,
    concurrency: 64,
    idleSockets: Math.min(idleTarget, fileLimit - FILE_HEADROOM),
    memoryRuns: quick ? 1 : 3,
    echoSockets: 1_000,
    echoPayloadBytes: 64,
    loadFraction: 0.8,
  };
}

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

const LIFECYCLE_REASON =
  'the connection registry, revoke and the revalidation sweep are not in @wsauth/core yet, so there is nothing to measure';

function notMeasured(): Record<string, string> {
  const reasons: Record<string, string> = {
    logout_close_p99_ms_local: LIFECYCLE_REASON,
    logout_close_p99_ms_redis: `${LIFECYCLE_REASON}; @wsauth/redis does not exist yet`,
    revalidation_loop_delay_p99_ms: LIFECYCLE_REASON,
  };
  for (const adapter of ADAPTERS) {
    if (adapterServers[adapter] === undefined) {
      reasons[`adapter.${adapter}`] = missingAdapterReason[adapter] ?? 'no server for it in bench';
    }
  }
  return reasons;
}

async function measureAll(context: BenchContext): Promise<Measurements> {
  const m: Measurements = {
    handshakes: {},
    latencyAtLoad: {},
    memory: {},
    echo: {},
    notMeasured: notMeasured(),
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
  const rate = Math.max(100, Math.round(reference * context.config.loadFraction));
  const loaded = [HANDWRITTEN, ...wsauthAccepting()];
  log(`latency at ${rate}/s: ${loaded.map((scenario) => scenario.id).join(', ')}`);
  for (const result of await measureLatencyAtRate(context, loaded, rate)) {
    m.latencyAtLoad[result.id] = {
      ...result,
      id: `${result.id}_at_load`,
      title: `${result.title} at ${rate}/s`,
    };
  }

  for (const scenario of [RAW, HANDWRITTEN, ...wsauthAccepting()]) {
    log(`idle memory: ${scenario.title}`);
    const result = await measureIdleMemory(context, scenario);
    m.memory[result.id] = result;
  }

  const echoed = [RAW, HANDWRITTEN, ...wsauthAccepting()];
  log(`echo: ${echoed.map((scenario) => scenario.id).join(', ')}`);
  for (const result of await measureEcho(context, echoed)) {
    m.echo[result.id] = result;
  }
  return m;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
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

  const results = assembleResults(config, placement, measurements);
  const folder = new URL('../results/', import.meta.url);
  await mkdir(folder, { recursive: true });
  await writeFile(new URL('latest.json', folder), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(new URL('latest.md', folder), renderMarkdown(results));
  log('wrote bench/results/latest.json and bench/results/latest.md');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
