import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'koa-demo',
    include: ['test/**/*.test.ts'],
  },
});
