import { describe, expect, it } from 'vitest';
import type { ScenarioResult } from '../src/measure.js';
import {
  computeCpuRatios,
  computePeers,
  computeRatios,
  computeSameChain,
  computeSustainedLatency,
  loadRate,
  type Measurements,
  meets,
  sustainedRate,
  TARGETS,
} from '../src/report.js';
import { spread } from '../src/stats.js';

function scenario(
  id: string,
  perSecond: number,
  cpuUs: number,
  valid = true,
  p99Ms = 2,
): ScenarioResult {
  return {
    id,
    title: id,
    server: 'test',
    expectedStatus: 101,
    throughput: spread([perSecond]),
    latencyP50Ms: spread([1]),
    latencyP99Ms: spread([p99Ms]),
    serverCpuUsPerOperation: spread([cpuUs]),
    serverUtilisation: spread([1]),
    generatorUtilisation: spread([0.5]),
    generatorBound: false,
    unexpectedStatuses: {},
    errors: 0,
    errorMessages: {},
    storeReads: 0,
    valid,
  };
}

function measurements(handshakes: ScenarioResult[]): Measurements {
  return {
    handshakes: Object.fromEntries(handshakes.map((result) => [result.id, result])),
    latencyAtLoad: {},
    latencyAtSustainedLoad: {},
    sustainedRatePerSecond: null,
    memory: {},
    echo: {},
    logout: {},
    sweep: {},
    notMeasured: {},
  };
}

describe('computeRatios', () => {
  it('divides each adapter by the hand-written and raw servers', () => {
    const ratios = computeRatios(
      measurements([
        scenario('S0_raw', 4000, 150),
        scenario('S1_handwritten', 2000, 200),
        scenario('S2_wsauth_express', 1900, 210),
        scenario('S3_origin_reject_express', 6000, 100),
      ]),
    );

    expect(ratios.handshake_throughput_vs_handwritten.express).toBeCloseTo(0.95);
    expect(ratios.reject_throughput_vs_raw_accept.express).toBeCloseTo(1.5);
    expect(ratios.handshake_throughput_vs_handwritten.fastify).toBeUndefined();
  });

  it('leaves out a ratio whose scenario was invalid', () => {
    const ratios = computeRatios(
      measurements([
        scenario('S1_handwritten', 2000, 200),
        scenario('S2_wsauth_koa', 1900, 210, false),
      ]),
    );

    expect(ratios.handshake_throughput_vs_handwritten.koa).toBeUndefined();
  });
});

describe('computeCpuRatios', () => {
  it('divides the reference CPU cost by the wsauth cost', () => {
    const ratios = computeCpuRatios(
      measurements([
        scenario('S0_raw', 1, 150),
        scenario('S1_handwritten', 1, 200),
        scenario('S2_wsauth_fastify', 1, 400),
        scenario('S3_origin_reject_fastify', 1, 75),
      ]),
    );

    expect(ratios.handshake_throughput_vs_handwritten.fastify).toBeCloseTo(0.5);
    expect(ratios.reject_throughput_vs_raw_accept.fastify).toBeCloseTo(2);
  });
});

describe('computePeers', () => {
  it('names each peer by its id without the prefix', () => {
    const peers = computePeers(
      measurements([scenario('S1_handwritten', 2000, 1), scenario('peer_socket.io', 1000, 1)]),
    );

    expect(peers).toEqual({ 'socket.io': 0.5 });
  });
});

describe('computeSameChain', () => {
  it('compares each adapter with its same-chain reference', () => {
    const comparisons = computeSameChain(
      measurements([
        scenario('S2_wsauth_express', 1500, 400),
        scenario('S1b_handwritten_express_app', 2000, 300),
        scenario('S2_wsauth_koa', 1000, 500),
        scenario('peer_koa-easy-ws', 1000, 500, false),
      ]),
    );

    expect(comparisons.express?.reference).toBe('S1b_handwritten_express_app');
    expect(comparisons.express?.throughput_ratio).toBeCloseTo(0.75);
    expect(comparisons.express?.cpu_ratio).toBeCloseTo(0.75);
    expect(comparisons.express?.extra_cpu_us_per_handshake).toBeCloseTo(100);
    expect(comparisons.koa?.cpu_ratio).toBeNull();
    expect(comparisons.fastify).toBeUndefined();
  });
});

describe('sustainedRate', () => {
  it('takes a fraction of the slowest accepting server', () => {
    const m = measurements([
      scenario('S0_raw', 9000, 1),
      scenario('S1_handwritten', 5000, 1),
      scenario('S2_wsauth_express', 2500, 1),
      scenario('S2_wsauth_koa', 2000, 1),
      scenario('S2_wsauth_fastify', 100, 1, false),
    ]);

    expect(sustainedRate(m, 0.8)).toBe(1600);
  });

  it('never goes below 100 per second', () => {
    expect(loadRate(50, 0.8)).toBe(100);
    expect(loadRate(2000, 0.8)).toBe(1600);
  });

  it('returns null when nothing accepting was measured', () => {
    expect(sustainedRate(measurements([scenario('S0_raw', 9000, 1)]), 0.8)).toBeNull();
  });
});

describe('computeSustainedLatency', () => {
  it('subtracts the hand-written p99 from each adapter', () => {
    const m = measurements([]);
    m.sustainedRatePerSecond = 1600;
    for (const result of [
      scenario('S1_handwritten', 1600, 1, true, 3),
      scenario('S2_wsauth_express', 1600, 1, true, 3.5),
      scenario('S2_wsauth_koa', 1600, 1, false, 90),
      scenario('S1b_handwritten_express_app', 1600, 1, true, 3.25),
    ]) {
      m.latencyAtSustainedLoad[result.id] = result;
    }

    const sustained = computeSustainedLatency(m);

    expect(sustained.rate_per_second).toBe(1600);
    expect(sustained.handwritten_p99_ms).toBe(3);
    expect(sustained.p99_delta_ms.express).toBeCloseTo(0.5);
    expect(sustained.p99_delta_ms.koa).toBeUndefined();
    expect(sustained.p99_delta_vs_same_chain_ms.express).toBeCloseTo(0.25);
    expect(sustained.p99_delta_vs_same_chain_ms.fastify).toBeUndefined();
  });
});

describe('meets', () => {
  it('reads the direction of each target', () => {
    expect(meets(TARGETS.handshake_throughput_vs_handwritten, 0.95)).toBe(true);
    expect(meets(TARGETS.handshake_throughput_vs_handwritten, 0.94)).toBe(false);
    expect(meets(TARGETS.p99_latency_delta_ms, 1)).toBe(true);
    expect(meets(TARGETS.p99_latency_delta_ms, 1.01)).toBe(false);
  });
});
