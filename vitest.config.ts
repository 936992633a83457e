import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure code, no database, no global setup) and `integration` (real PostgreSQL,
 * the real heroku CLI through the emulator). `vitest run` runs both; `--project unit` runs only the
 * unit tests and needs no database.
 */
export default defineConfig({
  test: {
    // Two cores: integration files start servers and spawn CLIs; keep parallelism modest.
    maxWorkers: 3,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'forks',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Fails fast when the test server is missing; drops leftovers of killed runs.
          globalSetup: ['test/helpers/global-setup.ts'],
          // Integration tests drive the real heroku CLI (about a second a call) on a 2-core machine.
          testTimeout: 180_000,
          hookTimeout: 120_000,
          pool: 'forks',
          maxWorkers: 3,
        },
      },
    ],
  },
});
