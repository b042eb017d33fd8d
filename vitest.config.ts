import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests run against the client's source (no build needed); test/client/package.test.ts proves
    // the built, packed package.
    alias: { '@ony/client': fileURLToPath(new URL('packages/client/src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'packages/*/src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets its own database (PGlite in memory, or a fresh Postgres database),
    // so files run in parallel; two workers fit the 2-core machines we run on.
    maxWorkers: 2,
  },
});
