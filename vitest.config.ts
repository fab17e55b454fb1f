// Two tiers: `fast` (unit + contract: no emulator processes, under a minute) and `integration` (the
// emulators, the chaos suite, the bench smoke). `npm test` runs both; `npm run test:fast` the first.
import { defineConfig } from 'vitest/config';
import { devTlsEnv } from './scripts/dev-ca.mjs';

export default defineConfig({
  test: {
    // Created by the global setup before any worker starts; workers are forked with this environment,
    // which is the only way NODE_EXTRA_CA_CERTS (read at process start) reaches the SDK clients in them.
    env: devTlsEnv,
    globalSetup: ['test/support/globalSetup.ts'],
    // The JSON report feeds the closing line of .ci/run (scripts/test-summary.mjs).
    reporters: ['default', ['json', { outputFile: '.local/vitest-results.json' }]],
    pool: 'forks',
    // Both cores: the integration files wait on emulators and throttles far more than they compute.
    maxWorkers: 2,
    // Integration tests drive real clients against real processes. Timeouts here only catch hangs: on a
    // loaded 2-core machine a test that takes 30 s alone can take several minutes.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/tables/generated.ts'],
      reporter: ['text-summary', 'text', 'json-summary'],
      reportsDirectory: '.local/coverage',
      // What the CLI and the NDJSON sink run in child processes is not counted, hence lines, not branches.
      thresholds: { lines: 85 },
    },
    projects: [
      {
        extends: true,
        test: { name: 'fast', include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts'] },
      },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'] },
      },
    ],
  },
});
