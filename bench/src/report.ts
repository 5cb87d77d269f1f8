// Turns measured scenarios into the ratios, the results JSON and the Markdown table.
import type { LogoutResult, SweepSummary } from './lifecycle.js';
import type { MemoryResult, ScenarioResult } from './measure.js';
import { ADAPTERS, type Adapter, SAME_CHAIN_REFERENCES } from './scenarios.js';
import { difference, ratio } from './stats.js';

/** A performance target: the ratio must be at least (`>=`) or at most (`<=`) `target`. */
export interface Target {
  op: '>=' | '<=';
  target: number;
  aim?: number;
  unit: string;
}

export const TARGETS = {
  handshake_throughput_vs_handwritten: { op: '>=', target: 0.95, aim: 0.98, unit: '×' },
  p99_latency_delta_ms: { op: '<=', target: 1, aim: 0.3, unit: 'ms' },
  extra_heap_bytes_per_socket_vs_handwritten: { op: '<=', target: 512, aim: 128, unit: 'B' },
  reject_throughput_vs_raw_accept: { op: '>=', target: 1, aim: 2, unit: '×' },
  echo_throughput_vs_raw: { op: '>=', target: 0.99, unit: '×' },
  logout_close_p99_ms_local: { op: '<=', target: 50, unit: 'ms' },
  logout_close_p99_ms_redis: { op: '<=', target: 200, unit: 'ms' },
  revalidation_loop_delay_p99_ms: { op: '<=', target: 20, aim: 5, unit: 'ms' },
} as const satisfies Record<string, Target>;

export type RatioKey = keyof typeof TARGETS;
export type Ratios = Record<RatioKey, Partial<Record<Adapter, number>>>;

/** Everything one bench run measured, keyed by scenario id. */
export interface Measurements {
  handshakes: Record<string, ScenarioResult>;
  latencyAtLoad: Record<string, ScenarioResult>;
  /** Open-loop runs at a rate that every accepting server sustains; see `sustainedRate`. */
  latencyAtSustainedLoad: Record<string, ScenarioResult>;
  /** The arrival rate of `latencyAtSustainedLoad`, in handshakes per second. */
  sustainedRatePerSecond: number | null;
  memory: Record<string, MemoryResult>;
  echo: Record<string, ScenarioResult>;
  logout: Record<string, LogoutResult>;
  sweep: Record<string, SweepSummary>;
  /** Ratio keys, or `key.adapter`, that were not measured, with the reason. */
  notMeasured: Record<string, string>;
}

function put(ratios: Ratios, key: RatioKey, adapter: Adapter, value: number | null): void {
  if (value !== null) {
    ratios[key][adapter] = value;
  }
}

/** Computes every ratio that both of its scenarios were measured (and valid) for. */
export function computeRatios(m: Measurements): Ratios {
  const ratios = Object.fromEntries(Object.keys(TARGETS).map((key) => [key, {}])) as Ratios;
  const valid = (result: ScenarioResult | undefined): ScenarioResult | undefined =>
    result?.valid === true ? result : undefined;
  const rawAccept = valid(m.handshakes.S0_raw)?.throughput.median;
  const handwritten = valid(m.handshakes.S1_handwritten)?.throughput.median;

  for (const adapter of ADAPTERS) {
    const accept = valid(m.handshakes[`S2_wsauth_${adapter}`])?.throughput.median;
    put(ratios, 'handshake_throughput_vs_handwritten', adapter, ratio(accept, handwritten));

    const reject = valid(m.handshakes[`S3_origin_reject_${adapter}`])?.throughput.median;
    put(ratios, 'reject_throughput_vs_raw_accept', adapter, ratio(reject, rawAccept));

    const p99 = valid(m.latencyAtLoad[`S2_wsauth_${adapter}`])?.latencyP99Ms.median;
    const p99Handwritten = valid(m.latencyAtLoad.S1_handwritten)?.latencyP99Ms.median;
    put(ratios, 'p99_latency_delta_ms', adapter, difference(p99, p99Handwritten));

    const heap = m.memory[`S6_wsauth_${adapter}`];
    const heapHandwritten = m.memory.S6_handwritten;
    put(
      ratios,
      'extra_heap_bytes_per_socket_vs_handwritten',
      adapter,
      difference(heap?.heapBytesPerSocket.median, heapHandwritten?.heapBytesPerSocket.median),
    );

    const local = m.logout[`S7_logout_local_${adapter}`];
    put(
      ratios,
      'logout_close_p99_ms_local',
      adapter,
      local?.valid === true ? local.latency.p99 : null,
    );
    const redis = m.logout[`S7_logout_redis_${adapter}`];
    put(
      ratios,
      'logout_close_p99_ms_redis',
      adapter,
      redis?.valid === true ? redis.latency.p99 : null,
    );
    const sweep = m.sweep[`S7_revalidation_${adapter}`];
    put(
      ratios,
      'revalidation_loop_delay_p99_ms',
      adapter,
      sweep?.valid === true ? sweep.loopDelayP99Ms.median : null,
    );

    const echo = valid(m.echo[`S8_wsauth_${adapter}`])?.throughput.median;
    put(
      ratios,
      'echo_throughput_vs_raw',
      adapter,
      ratio(echo, valid(m.echo.S8_raw)?.throughput.median),
    );
  }
  return ratios;
}

/** Returns `fraction` of a throughput as an arrival rate, at least 100 handshakes per second. */
export function loadRate(throughput: number, fraction: number): number {
  return Math.max(100, Math.round(throughput * fraction));
}

/**
 * Returns `fraction` of the lowest accepted-handshake throughput among the hand-written server
 * and the wsauth adapters, or `null` when none was measured. No compared server is saturated at
 * that rate, so their p99 latencies show what each handshake costs, including the queueing that
 * a higher CPU share brings, rather than a queue that keeps growing.
 */
export function sustainedRate(m: Measurements, fraction: number): number | null {
  const ids = ['S1_handwritten', ...ADAPTERS.map((adapter) => `S2_wsauth_${adapter}`)];
  const throughputs = ids.flatMap((id) => {
    const result = m.handshakes[id];
    return result?.valid === true ? [result.throughput.median] : [];
  });
  if (throughputs.length === 0) {
    return null;
  }
  return loadRate(Math.min(...throughputs), fraction);
}

/** p99 handshake latencies at the rate every accepting server sustains. */
export interface SustainedLatency {
  /** Arrival rate in handshakes per second, or `null` when the stage did not run. */
  rate_per_second: number | null;
  /** p99 of the hand-written server (S1) at that rate, in milliseconds. */
  handwritten_p99_ms: number | null;
  /** Each adapter's p99 minus the hand-written p99, in milliseconds. */
  p99_delta_ms: Partial<Record<Adapter, number>>;
  /**
   * Each adapter's p99 minus the p99 of the server that runs the same framework chain without
   * wsauth (`SAME_CHAIN_REFERENCES`), in milliseconds.
   */
  p99_delta_vs_same_chain_ms: Partial<Record<Adapter, number>>;
}

/** Computes the p99 latency each adapter adds over the hand-written server at a sustained rate. */
export function computeSustainedLatency(m: Measurements): SustainedLatency {
  const p99 = (id: string): number | undefined => {
    const result = m.latencyAtSustainedLoad[id];
    return result?.valid === true ? result.latencyP99Ms.median : undefined;
  };
  const handwritten = p99('S1_handwritten');
  const deltas: Partial<Record<Adapter, number>> = {};
  const sameChainDeltas: Partial<Record<Adapter, number>> = {};
  for (const adapter of ADAPTERS) {
    const wsauth = p99(`S2_wsauth_${adapter}`);
    const delta = difference(wsauth, handwritten);
    if (delta !== null) {
      deltas[adapter] = delta;
    }
    const sameChainDelta = difference(wsauth, p99(SAME_CHAIN_REFERENCES[adapter]));
    if (sameChainDelta !== null) {
      sameChainDeltas[adapter] = sameChainDelta;
    }
  }
  return {
    rate_per_second: m.sustainedRatePerSecond,
    handwritten_p99_ms: handwritten ?? null,
    p99_delta_ms: deltas,
    p99_delta_vs_same_chain_ms: sameChainDeltas,
  };
}

/** The two throughput ratios computed from server CPU time per handshake instead of wall time. */
export type CpuRatios = Record<
  'handshake_throughput_vs_handwritten' | 'reject_throughput_vs_raw_accept',
  Partial<Record<Adapter, number>>
>;

/**
 * Computes the throughput ratios from server CPU microseconds per handshake (reference cost over
 * wsauth cost). Unlike handshakes per second, they do not depend on the server being saturated,
 * so they stay comparable on a machine where other work competes for the cores.
 */
export function computeCpuRatios(m: Measurements): CpuRatios {
  const cost = (id: string): number | undefined => {
    const result = m.handshakes[id];
    return result?.valid === true ? result.serverCpuUsPerOperation.median : undefined;
  };
  const ratios: CpuRatios = {
    handshake_throughput_vs_handwritten: {},
    reject_throughput_vs_raw_accept: {},
  };
  for (const adapter of ADAPTERS) {
    const accept = ratio(cost('S1_handwritten'), cost(`S2_wsauth_${adapter}`));
    const reject = ratio(cost('S0_raw'), cost(`S3_origin_reject_${adapter}`));
    if (accept !== null) {
      ratios.handshake_throughput_vs_handwritten[adapter] = accept;
    }
    if (reject !== null) {
      ratios.reject_throughput_vs_raw_accept[adapter] = reject;
    }
  }
  return ratios;
}

/** wsauth against the server that runs the same chain, for one adapter. */
export interface SameChainComparison {
  /** Scenario id of the reference server. */
  reference: string;
  /** wsauth handshakes per second over the reference's. */
  throughput_ratio: number | null;
  /** The reference's server CPU per handshake over wsauth's. */
  cpu_ratio: number | null;
  /** Server CPU microseconds per handshake that wsauth spends beyond the reference. */
  extra_cpu_us_per_handshake: number | null;
}

/** Compares each adapter with the server that runs the same chain, which isolates wsauth's own cost. */
export function computeSameChain(m: Measurements): Partial<Record<Adapter, SameChainComparison>> {
  const valid = (id: string): ScenarioResult | undefined =>
    m.handshakes[id]?.valid === true ? m.handshakes[id] : undefined;
  const comparisons: Partial<Record<Adapter, SameChainComparison>> = {};
  for (const adapter of ADAPTERS) {
    const wsauth = valid(`S2_wsauth_${adapter}`);
    const reference = valid(SAME_CHAIN_REFERENCES[adapter]);
    if (wsauth === undefined && reference === undefined) {
      continue;
    }
    const wsauthCpu = wsauth?.serverCpuUsPerOperation.median;
    const referenceCpu = reference?.serverCpuUsPerOperation.median;
    comparisons[adapter] = {
      reference: SAME_CHAIN_REFERENCES[adapter],
      throughput_ratio: ratio(wsauth?.throughput.median, reference?.throughput.median),
      cpu_ratio: ratio(referenceCpu, wsauthCpu),
      extra_cpu_us_per_handshake: difference(wsauthCpu, referenceCpu),
    };
  }
  return comparisons;
}

/** Divides each peer's handshake throughput by the hand-written server's. */
export function computePeers(m: Measurements): Record<string, number | null> {
  const handwritten = m.handshakes.S1_handwritten?.throughput.median;
  const peers: Record<string, number | null> = {};
  for (const result of Object.values(m.handshakes)) {
    if (result.id.startsWith('peer_')) {
      const name = result.id.slice('peer_'.length);
      peers[name] = result.valid ? ratio(result.throughput.median, handwritten) : null;
    }
  }
  return peers;
}

/** Tells whether `value` meets `target`. */
export function meets(target: Target, value: number): boolean {
  return target.op === '>=' ? value >= target.target : value <= target.target;
}

/** Returns, by scenario id, whether the generator rather than the server limited a run. */
export function generatorBoundFlags(m: Measurements): Record<string, boolean> {
  const flags: Record<string, boolean> = {};
  for (const group of [m.handshakes, m.latencyAtLoad, m.latencyAtSustainedLoad, m.echo]) {
    for (const result of Object.values(group)) {
      flags[result.id] = result.generatorBound;
    }
  }
  return flags;
}
