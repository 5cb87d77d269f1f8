import { describe, expect, it } from 'vitest';
import { normalizeOrigin } from '../src/index.js';

describe('normalizeOrigin', () => {
  const cases: [string, string | undefined][] = [
    ['http://Example.COM', 'http://example.com'],
    ['https://example.com:443', 'https://example.com'],
    ['http://example.com:8080', 'http://example.com:8080'],
    ['http://example.com/', undefined],
    ['http://example.com/path', undefined],
    ['http://user@example.com', undefined],
    ['null', undefined],
    ['ftp://example.com', undefined],
    ['not a url', undefined],
  ];

  it('caches repeated values', () => {
    for (let round = 0; round < 3; round++) {
      for (const [value, expected] of cases) {
        expect(normalizeOrigin(value), `${value} in round ${round}`).toBe(expected);
      }
    }
  });

  it('stays correct past the cache size', () => {
    for (let i = 0; i < 1000; i++) {
      expect(normalizeOrigin(`http://host${i}.example`)).toBe(`http://host${i}.example`);
      expect(normalizeOrigin(`http://host${i}.example/x`)).toBeUndefined();
    }
    for (const [value, expected] of cases) {
      expect(normalizeOrigin(value)).toBe(expected);
    }
  });

  it('handles values too long to cache', () => {
    const long = `http://${'a'.repeat(300)}.example`;
    expect(normalizeOrigin(long)).toBe(long);
    expect(normalizeOrigin(`${long}/`)).toBeUndefined();
  });
});
