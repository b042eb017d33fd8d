import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets its own database (PGlite in memory, or a fresh Postgres database),
    // so files run in parallel; two workers fit the 2-core machines we run on.
    maxWorkers: 2,
  },
});
