import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/index.js';

const catalogue = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

describe('error catalogue', () => {
  it.each(Object.values(ErrorCodes))('documents %s', (code) => {
    expect(catalogue).toContain(`\`${code}\``);
  });

  it('lists no unknown code', () => {
    const listed = catalogue.match(/WSAUTH_ERR_[A-Z_]+/g) ?? [];
    const known = new Set<string>(Object.values(ErrorCodes));
    expect(listed.filter((code) => !known.has(code))).toEqual([]);
  });
});
