/**
 * The dependencies a command runs with: built once in cli.ts (`createDeps`) and passed in; tests pass
 * their own (a fake Heroku, a fixed clock).
 */
import { HerokuCli, type HerokuApi } from './heroku/cli.js';
import type { Output } from './output.js';
import { PgTools } from './pg/pg-tools.js';
import { discoverTools } from './pg/tools.js';
import { loadProjectConfig, type GlobalSettings, type ProjectConfig } from './settings.js';

/** Time, so tests can fix it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** What every command receives. */
export interface Deps {
  /** Global settings, resolved once. */
  readonly settings: GlobalSettings;
  readonly output: Output;
  readonly heroku: HerokuApi;
  /** pg_dump, pg_restore and psql, discovered once (on first use). */
  readonly pgTools: PgTools;
  /** drydock.json, read and validated once (on first use: commands that need none never fail on it). */
  readonly project: () => ProjectConfig;
  readonly clock: Clock;
  /**
   * Aborted by the first SIGINT or SIGTERM (reason: an InterruptedError). Long work stops, cleans up
   * and throws an InterruptedError saying what state things are in; the adapters built here stop
   * their children with it.
   */
  readonly signal: AbortSignal;
}

/** Build the real dependencies for one run. */
export function createDeps(settings: GlobalSettings, output: Output, cwd = process.cwd(), signal: AbortSignal = new AbortController().signal): Deps {
  let project: ProjectConfig | undefined;
  return {
    settings,
    output,
    heroku: new HerokuCli({ bin: settings.herokuBin, signal }),
    pgTools: new PgTools({ discoverTools, pgBin: settings.pgBin, env: settings.childEnv, signal }),
    project: () => (project ??= loadProjectConfig(cwd)),
    clock: systemClock,
    signal,
  };
}
