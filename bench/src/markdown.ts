// Renders the results JSON as Markdown tables.

import { meets, type RatioKey, TARGETS, type Target } from './report.js';
import type { BenchResults } from './results.js';
import { ADAPTERS } from './scenarios.js';
import type { Spread } from './stats.js';

function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? '–'
    : value.toFixed(digits);
}

function range(value: Spread, digits: number): string {
  return `${fixed(value.median, digits)} (${fixed(value.min, digits)}–${fixed(value.max, digits)})`;
}

function percent(value: number): string {
  return `${fixed(value * 100, 0)} %`;
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)];
}

function targetText(target: Target): string {
  const aim = 'aim' in target && target.aim !== undefined ? ` (aim ${target.aim})` : '';
  return `${target.op} ${target.target} ${target.unit}${aim}`;
}

function ratioCell(key: RatioKey, value: number | undefined, reason: string | undefined): string {
  if (value === undefined) {
    return reason === undefined ? '–' : 'not measured';
  }
  const digits = TARGETS[key].unit === 'B' ? 0 : TARGETS[key].unit === 'ms' ? 2 : 3;
  return `${fixed(value, digits)} ${meets(TARGETS[key], value) ? '(meets)' : '(misses)'}`;
}

function ratioTable(results: BenchResults): string[] {
  const rows = (Object.keys(TARGETS) as RatioKey[]).map((key) => [
    `\`${key}\``,
    ...ADAPTERS.map((adapter) =>
      ratioCell(
        key,
        results.ratios[key][adapter],
        results.not_measured[`${key}.${adapter}`] ?? results.not_measured[key],
      ),
    ),
    targetText(TARGETS[key]),
  ]);
  return table(['ratio', ...ADAPTERS, 'target'], rows);
}

function cpuRatioTable(results: BenchResults): string[] {
  const rows = (
    Object.keys(results.ratios_by_server_cpu) as (keyof BenchResults['ratios_by_server_cpu'])[]
  ).map((key) => [
    `\`${key}\` (server CPU)`,
    ...ADAPTERS.map((adapter) =>
      ratioCell(key, results.ratios_by_server_cpu[key][adapter], undefined),
    ),
    targetText(TARGETS[key]),
  ]);
  return table(['ratio', ...ADAPTERS, 'target'], rows);
}

function handshakeTable(results: BenchResults): string[] {
  const groups = [
    results.scenarios.handshakes,
    results.scenarios.latency_at_load,
    results.scenarios.latency_at_sustained_load,
  ];
  const rows = groups.flatMap((group) =>
    Object.values(group).map((result) => [
      result.title,
      String(result.expectedStatus),
      range(result.throughput, 0),
      fixed(result.latencyP50Ms.median, 2),
      fixed(result.latencyP99Ms.median, 2),
      fixed(result.serverCpuUsPerOperation.median, 0),
      percent(result.serverUtilisation.median),
      percent(result.generatorUtilisation.median),
      result.generatorBound ? 'yes' : 'no',
      result.valid
        ? 'yes'
        : `no (${JSON.stringify(result.unexpectedStatuses)}, ${result.errors} errors)`,
    ]),
  );
  return table(
    [
      'scenario',
      'status',
      'handshakes/s median (min–max)',
      'p50 ms',
      'p99 ms',
      'server CPU µs/handshake',
      'server CPU',
      'generator CPU',
      'generator bound',
      'valid',
    ],
    rows,
  );
}

function memoryTable(results: BenchResults): string[] {
  const rows = Object.values(results.scenarios.idle_memory).map((result) => [
    result.title,
    String(result.sockets),
    range(result.heapBytesPerSocket, 0),
    range(result.rssBytesPerSocket, 0),
    result.valid ? 'yes' : 'no',
  ]);
  return table(['scenario', 'sockets', 'heap B/socket', 'RSS B/socket', 'valid'], rows);
}

function echoTable(results: BenchResults): string[] {
  const rows = Object.values(results.scenarios.echo).map((result) => [
    result.title,
    range(result.throughput, 0),
    fixed(result.latencyP99Ms.median, 2),
    percent(result.serverUtilisation.median),
    percent(result.generatorUtilisation.median),
    result.generatorBound ? 'yes' : 'no',
  ]);
  return table(
    [
      'scenario',
      'messages/s median (min–max)',
      'round trip p99 ms',
      'server CPU',
      'generator CPU',
      'generator bound',
    ],
    rows,
  );
}

function lifecycleTable(results: BenchResults): string[] {
  const logouts = Object.values(results.scenarios.logout).map((result) => [
    result.title,
    `${result.samples} logouts`,
    fixed(result.latency.p50, 2),
    fixed(result.latency.p99, 2),
    fixed(result.latency.max, 2),
    result.valid ? 'yes' : `no (${JSON.stringify(result.closeCodes)}, ${result.errors} errors)`,
  ]);
  const sweeps = Object.values(results.scenarios.revalidation_sweep).map((result) => [
    result.title,
    `${result.sockets} sockets, ${fixed(result.durationMs.median, 0)} ms`,
    '–',
    range(result.loopDelayP99Ms, 2),
    range(result.loopDelayMaxMs, 2),
    result.valid ? 'yes' : 'no',
  ]);
  return table(
    ['scenario', 'size', 'p50 ms', 'p99 ms', 'max ms', 'valid'],
    [...logouts, ...sweeps],
  );
}

function peersTable(results: BenchResults): string[] {
  const rows = Object.entries(results.peers).map(([name, value]) => [name, fixed(value, 3)]);
  return table(['peer', 'handshakes/s ÷ hand-written (S1)'], rows);
}

function sustainedLatencyLines(results: BenchResults): string[] {
  const sustained = results.latency_at_sustained_load;
  if (sustained.rate_per_second === null) {
    return ['Not measured: no accepting server had a valid throughput.'];
  }
  const rows = ADAPTERS.map((adapter) => [
    adapter,
    fixed(sustained.p99_delta_ms[adapter], 2),
    fixed(sustained.p99_delta_vs_same_chain_ms[adapter], 2),
    targetText(TARGETS.p99_latency_delta_ms),
  ]);
  return [
    `At ${sustained.rate_per_second} handshakes/s, ${percent(results.config.loadFraction)} of the`,
    'slowest accepting server, each server is meant to keep up; the handshake table shows the rate',
    'each one completed. The p99 differences then come from what each handshake costs, including',
    'garbage collection and the queueing that cost causes, rather than from a growing queue. The',
    `hand-written p99 there is ${fixed(sustained.handwritten_p99_ms, 2)} ms.`,
    '',
    ...table(
      ['adapter', 'p99 delta vs hand-written, ms', 'p99 delta vs same chain, ms', 'target'],
      rows,
    ),
  ];
}

function sameChainTable(results: BenchResults): string[] {
  const rows = Object.entries(results.same_chain).map(([adapter, comparison]) => [
    adapter,
    results.scenarios.handshakes[comparison.reference]?.title ?? comparison.reference,
    fixed(comparison.throughput_ratio, 3),
    fixed(comparison.cpu_ratio, 3),
    fixed(comparison.extra_cpu_us_per_handshake, 0),
  ]);
  return table(
    [
      'adapter',
      'same chain without wsauth',
      'handshakes/s ÷ reference',
      'server CPU ratio',
      'extra server CPU µs/handshake',
    ],
    rows,
  );
}

/** Renders the whole results file as one Markdown document. */
export function renderMarkdown(results: BenchResults): string {
  const { machine } = results;
  const notMeasured = Object.entries(results.not_measured).map(
    ([key, reason]) => `- \`${key}\`: ${reason}`,
  );
  const lines = [
    `# wsauth bench results (${results.mode} mode, ${results.date})`,
    '',
    `Machine: ${machine.cores} cores, ${machine.cpu_model}, Node ${machine.node}, ` +
      `${machine.pinned ? `server on core ${machine.server_core}, generator on core ${machine.generator_core}` : 'not pinned'}, ` +
      `open-file limit ${machine.file_limit}, load average ${machine.load_average_at_start.map((load) => load.toFixed(2)).join(' ')} at start. Commit ${results.commit}.`,
    '',
    '## Ratios against the targets',
    '',
    ...ratioTable(results),
    '',
    'The same throughput ratios from server CPU time per handshake (they hold when the server',
    'is not saturated, which the wall-time ratios need):',
    '',
    ...cpuRatioTable(results),
    '',
    '## Latency at a sustained load',
    '',
    ...sustainedLatencyLines(results),
    '',
    '## Handshakes',
    '',
    ...handshakeTable(results),
    '',
    '## Peers',
    '',
    ...peersTable(results),
    '',
    'Each adapter against a server that runs the same framework chain on the upgrade request',
    "without wsauth's pipeline (origin check, limits, socket-bound response, lifecycle):",
    '',
    ...sameChainTable(results),
    '',
    '## Idle memory after GC',
    '',
    ...memoryTable(results),
    '',
    '## Steady-state echo',
    '',
    ...echoTable(results),
    '',
    '## Lifecycle',
    '',
    "Logout rows: from writing `POST /logout` to the close frame (code 4401) on that session's",
    'socket. Sweep rows: event-loop delay while the server revalidates every open socket.',
    '',
    ...lifecycleTable(results),
    '',
    '## Not measured',
    '',
    ...(notMeasured.length === 0 ? ['Everything was measured.'] : notMeasured),
    '',
  ];
  return lines.join('\n');
}
