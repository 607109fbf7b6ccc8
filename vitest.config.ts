import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests spawn real child processes; two cores are shared between workers.
    pool: 'forks',
    maxWorkers: 2,
  },
});
