import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'express-demo',
    include: ['test/**/*.test.ts'],
  },
});
