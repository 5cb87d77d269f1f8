import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'bench'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
