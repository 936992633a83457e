/**
 * `drydock release`: the Procfile `release:` line (`release: npx --no drydock release`). The contract is
 * in pipelines/release.ts.
 */
import { Option, type Command } from 'commander';

import { release, type ReleaseResult } from '../pipelines/release.js';
import { resolveConnectTimeout, resolveReviewApp, type MigrateFlags } from '../settings.js';
import { lintModeOption, migrateOptions, migrateSettings } from './migrate.js';
import type { RunCommand } from './run.js';
import { checkLevelOptions, checkLevelsOf, type CheckLevelFlags } from './verify.js';

/** Flags of `drydock release`. */
export interface ReleaseFlags extends MigrateFlags, CheckLevelFlags {
  /** Run the app's own migration command instead of drydock's runner. */
  command?: string | undefined;
  /** Keep retrying the first connection this long (a database that is waking up). */
  connectTimeout?: string | undefined;
  /** --review-app / --no-review-app (else DRYDOCK_REVIEW_APP, else Heroku's review-app markers). */
  reviewApp?: boolean | undefined;
  /** --verify: check the schema contract and leftovers after migrating. */
  verify?: boolean | undefined;
}

function renderRelease(result: ReleaseResult): string {
  switch (result.action) {
    case 'skipped':
      return `release: done, nothing migrated (schema version 0 on ${result.database}, a review app: its postdeploy sets the schema up)`;
    case 'command':
      return `release: done, the migration command finished${result.fromZero ? ' (a new database, migrated from zero)' : ''}`;
    default: {
      const ran = result.migrations?.ran.length ?? 0;
      if (result.fromZero) return `release: done, a new database: applied ${ran} migration(s) from zero; schema version is now ${result.migrations?.version}`;
      return ran
        ? `release: done, applied ${ran} migration(s); schema version is now ${result.migrations?.version}`
        : `release: done, the database is up to date (schema version ${result.migrations?.version})`;
    }
  }
}

/** Register `drydock release`. */
export function registerRelease(program: Command, run: RunCommand): void {
  checkLevelOptions(migrateOptions(
    program
      .command('release')
      .description('release phase (Procfile `release: npx --no drydock release`): run pending migrations; on a new, empty database migrate from zero, except on a review app (its postdeploy sets it up)'),
    { dirHelp: 'migrations folder' },
  ))
    .option('--command <command>', "run the app's own migration command instead (e.g. \"bin/rails db:migrate\")")
    .addOption(new Option('--connect-timeout <duration>', 'keep retrying the first connection this long (default 30s)').env('DRYDOCK_CONNECT_TIMEOUT'))
    .option('--review-app', "treat this app as a review app: on a new, empty database leave the schema to postdeploy (default: DRYDOCK_REVIEW_APP, else Heroku's HEROKU_PR_NUMBER/HEROKU_BRANCH)")
    .option('--no-review-app', 'treat this app as not a review app: on a new, empty database migrate from zero')
    .addOption(lintModeOption('applies them anyway'))
    .addOption(new Option('--verify', 'after migrating, check the schema contract and what migrations leave half-done (as `drydock verify`): an INVALID index, a NOT VALID constraint or a schema that differs from the schema file fails the release (levels: drydock.json "verifyChecks", --error/--warn/--skip)'))
    .action(async (opts: ReleaseFlags, cmd: Command) => {
      await run(async (deps) => {
        const settings = migrateSettings(deps, opts, cmd);
        const connectRetryMs = resolveConnectTimeout(opts.connectTimeout, cmd.getOptionValueSource('connectTimeout'));
        const reviewApp = resolveReviewApp(opts.reviewApp, deps.settings);
        const verify = opts.verify ? checkLevelsOf(opts, deps.project().verifyChecks) : undefined;
        const result = await release(deps, settings, { command: opts.command, connectRetryMs, reviewApp, app: deps.settings.app, verify });
        deps.output.result(result, renderRelease);
      });
    });
}
