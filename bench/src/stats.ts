// Statistics over latency samples and over repeated runs.

/**
 * Returns the `p`-th percentile (0-100) of `sorted` by the nearest-rank method, or `NaN` for an
 * empty list. The caller sorts ascending once and reads several percentiles.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  if (p <= 0) {
    return sorted[0] ?? Number.NaN;
  }
  const rank = Math.ceil((Math.min(p, 100) / 100) * sorted.length);
  return sorted[rank - 1] ?? Number.NaN;
}

/** Returns the median of `values` (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) {
    return Number.NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) {
    return sorted[middle] ?? Number.NaN;
  }
  return ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Median, minimum and maximum of one metric over the measured runs. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** Summarises one metric over repeated runs. */
export function spread(values: readonly number[]): Spread {
  return {
    median: median(values),
    min: values.length === 0 ? Number.NaN : Math.min(...values),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
    runs: [...values],
  };
}

/** Latency percentiles of one run, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Summarises latency samples in milliseconds; sorts a copy. */
export function summarizeLatency(samples: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const list = Array.from(sorted);
  return {
    count: list.length,
    p50: percentile(list, 50),
    p90: percentile(list, 90),
    p99: percentile(list, 99),
    max: list.length === 0 ? Number.NaN : (list[list.length - 1] ?? Number.NaN),
  };
}

/** Returns `a / b`, or `null` when either is missing or `b` is zero. */
export function ratio(a: number | undefined, b: number | undefined): number | null {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) {
    return null;
  }
  return a / b;
}

/** Returns `a - b`, or `null` when either is missing. */
export function difference(a: number | undefined, b: number | undefined): number | null {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) {
    return null;
  }
  return a - b;
}

/**
 * Tells whether the generator, not the server, limited a run: the generator kept its core
 * nearly busy while the server had time to spare. Utilisation is CPU seconds per wall second.
 */
export function isGeneratorBound(
  generatorUtilisation: number,
  serverUtilisation: number,
  busy = 0.9,
): boolean {
  return generatorUtilisation >= busy && serverUtilisation < generatorUtilisation;
}
