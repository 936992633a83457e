import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: integration files start servers and spawn CLIs; keep parallelism modest.
    maxWorkers: 3,
    pool: 'forks',
  },
});
