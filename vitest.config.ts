import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Integration tests drive the real heroku CLI (about a second a call) on a 2-core machine.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Two cores: integration files start servers and spawn CLIs; keep parallelism modest.
    maxWorkers: 3,
    pool: 'forks',
  },
});
