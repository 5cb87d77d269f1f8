// The shape of bench/results/latest.json.
import { execSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { LogoutResult, SweepSummary } from './lifecycle.js';
import type { BenchConfig, MemoryResult, ScenarioResult } from './measure.js';
import type { Placement } from './procs.js';
import {
  type CpuRatios,
  computeCpuRatios,
  computePeers,
  computeRatios,
  computeSameChain,
  computeSustainedLatency,
  generatorBoundFlags,
  type Measurements,
  type Ratios,
  type SameChainComparison,
  type SustainedLatency,
  TARGETS,
} from './report.js';
import { ADAPTERS, type Adapter, adapterServers } from './scenarios.js';

export interface MachineInfo {
  cores: number;
  cpu_model: string;
  node: string;
  platform: string;
  pinned: boolean;
  server_core: number | null;
  generator_core: number | null;
  file_limit: number;
  /** 1, 5 and 15 minute load averages when the run started; other work skews the numbers. */
  load_average_at_start: number[];
}

export interface BenchResults {
  mode: BenchConfig['mode'];
  date: string;
  commit: string;
  machine: MachineInfo;
  config: BenchConfig;
  /** The bench server that runs each adapter. */
  adapters: Record<Adapter, { server: string }>;
  ratios: Ratios;
  /** The throughput ratios from server CPU per handshake; see `computeCpuRatios`. */
  ratios_by_server_cpu: CpuRatios;
  targets: typeof TARGETS;
  peers: Record<string, number | null>;
  /** Each adapter against a server that runs the same framework chain; see `computeSameChain`. */
  same_chain: Partial<Record<Adapter, SameChainComparison>>;
  /**
   * p99 latency added over the hand-written server at 80 % of the slowest adapter's throughput,
   * a rate each server is meant to sustain; see `sustainedRate`. `ratios.p99_latency_delta_ms` uses 80 % of the hand-written capacity.
   */
  latency_at_sustained_load: SustainedLatency;
  generator_bound: Record<string, boolean>;
  /** Store reads during the origin-rejection runs; the target is zero. */
  reject_store_reads: Partial<Record<Adapter, number>>;
  not_measured: Record<string, string>;
  scenarios: {
    handshakes: Record<string, ScenarioResult>;
    latency_at_load: Record<string, ScenarioResult>;
    latency_at_sustained_load: Record<string, ScenarioResult>;
    idle_memory: Record<string, MemoryResult>;
    echo: Record<string, ScenarioResult>;
    logout: Record<string, LogoutResult>;
    revalidation_sweep: Record<string, SweepSummary>;
  };
}

export function machineInfo(placement: Placement, loadAtStart: number[]): MachineInfo {
  return {
    cores: availableParallelism(),
    cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    pinned: placement.pinned,
    server_core: placement.serverCore,
    generator_core: placement.generatorCore,
    file_limit: placement.fileLimit,
    load_average_at_start: loadAtStart,
  };
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Returns the commit the packages and the bench come from, marked when they have uncommitted
 * changes (results files aside). Read it when the run starts: the tree may change while it runs.
 */
export function currentCommit(): string {
  try {
    const options = { cwd: REPO_ROOT, encoding: 'utf8' } as const;
    const dirty = execSync(
      "git status --porcelain -- packages bench ':(exclude)bench/results'",
      options,
    ).trim();
    const head = execSync('git rev-parse --short HEAD', options).trim();
    return dirty === '' ? head : `${head} with uncommitted changes`;
  } catch {
    return 'unknown';
  }
}

/** Assembles the results file from the measurements. */
export function assembleResults(
  config: BenchConfig,
  placement: Placement,
  m: Measurements,
  loadAtStart: number[],
  commit: string,
): BenchResults {
  const adapters = Object.fromEntries(
    ADAPTERS.map((adapter) => [adapter, { server: adapterServers[adapter] }]),
  ) as BenchResults['adapters'];

  const rejectStoreReads: Partial<Record<Adapter, number>> = {};
  for (const adapter of ADAPTERS) {
    const result = m.handshakes[`S3_origin_reject_${adapter}`];
    if (result !== undefined) {
      rejectStoreReads[adapter] = result.storeReads;
    }
  }

  return {
    mode: config.mode,
    date: new Date().toISOString(),
    commit,
    machine: machineInfo(placement, loadAtStart),
    config,
    adapters,
    ratios: computeRatios(m),
    ratios_by_server_cpu: computeCpuRatios(m),
    targets: TARGETS,
    peers: computePeers(m),
    same_chain: computeSameChain(m),
    latency_at_sustained_load: computeSustainedLatency(m),
    generator_bound: generatorBoundFlags(m),
    reject_store_reads: rejectStoreReads,
    not_measured: m.notMeasured,
    scenarios: {
      handshakes: m.handshakes,
      latency_at_load: m.latencyAtLoad,
      latency_at_sustained_load: m.latencyAtSustainedLoad,
      idle_memory: m.memory,
      echo: m.echo,
      logout: m.logout,
      revalidation_sweep: m.sweep,
    },
  };
}
