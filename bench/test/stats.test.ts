import { describe, expect, it } from 'vitest';
import {
  difference,
  isGeneratorBound,
  median,
  percentile,
  ratio,
  spread,
  summarizeLatency,
} from '../src/stats.js';

describe('percentile', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('uses the nearest rank', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 99.5)).toBe(100);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([10, 20, 30], 50)).toBe(20);
  });

  it('returns the minimum at 0 and NaN for no samples', () => {
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('median', () => {
  it('takes the middle of an odd count in any order', () => {
    expect(median([5, 1, 3])).toBe(3);
  });

  it('averages the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('is NaN for no values', () => {
    expect(median([])).toBeNaN();
  });
});

describe('spread', () => {
  it('reports median, min, max and the runs', () => {
    expect(spread([300, 100, 200, 500, 400])).toEqual({
      median: 300,
      min: 100,
      max: 500,
      runs: [300, 100, 200, 500, 400],
    });
  });
});

describe('summarizeLatency', () => {
  it('sorts numerically, not as strings', () => {
    const summary = summarizeLatency([10, 9, 100, 2, 1]);

    expect(summary.count).toBe(5);
    expect(summary.p50).toBe(9);
    expect(summary.max).toBe(100);
  });

  it('puts p99 in the tail', () => {
    const samples = [
      ...Array.from({ length: 990 }, () => 1),
      ...Array.from({ length: 10 }, () => 50),
    ];

    expect(summarizeLatency(samples).p90).toBe(1);
    expect(summarizeLatency(samples).p99).toBe(1);
    expect(summarizeLatency([...samples, 50]).p99).toBe(50);
  });
});

describe('ratio and difference', () => {
  it('divide and subtract measured values', () => {
    expect(ratio(95, 100)).toBe(0.95);
    expect(difference(1.5, 1)).toBe(0.5);
  });

  it('are null when a value is missing or the divisor is zero', () => {
    expect(ratio(undefined, 1)).toBeNull();
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(Number.NaN, 1)).toBeNull();
    expect(difference(1, undefined)).toBeNull();
  });
});

describe('isGeneratorBound', () => {
  it('flags a busy generator in front of an idle server', () => {
    expect(isGeneratorBound(0.98, 0.6)).toBe(true);
  });

  it('does not flag a saturated server', () => {
    expect(isGeneratorBound(0.95, 1.0)).toBe(false);
    expect(isGeneratorBound(0.5, 0.4)).toBe(false);
  });
});
