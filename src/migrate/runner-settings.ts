/**
 * The runner's timeouts and retries and their defaults, apart from the runner itself so that
 * src/settings.ts (loaded by every command) does not load the runner, the pg client and the parser.
 */

/** Timeouts and retries of a run. */
export interface RunnerSettings {
  /** lock_timeout for every statement (ms). */
  lockTimeoutMs: number;
  /** statement_timeout (ms); 0 = none. */
  statementTimeoutMs: number;
  /** How many times a step that hit lock_timeout is retried. */
  lockRetries: number;
  /** First retry delay (ms), doubled each time, with jitter. */
  retryBaseMs: number;
}

/** Defaults, as in strong_migrations: short lock waits, a few retries. */
export const DEFAULT_RUNNER_SETTINGS: RunnerSettings = {
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 0,
  lockRetries: 3,
  retryBaseMs: 1_000,
};
