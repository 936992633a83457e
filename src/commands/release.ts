/**
 * `drydock release`: the Procfile `release:` line (`release: npx drydock release`). The contract is
 * in pipelines/release.ts.
 */
import { Option, type Command } from 'commander';

import { release, type ReleaseResult } from '../pipelines/release.js';
import { resolveConnectTimeout, type MigrateFlags } from '../settings.js';
import { lintModeOption, migrateOptions, migrateSettings } from './migrate.js';
import type { RunCommand } from './run.js';

/** Flags of `drydock release`. */
export interface ReleaseFlags extends MigrateFlags {
  /** Run the app's own migration command instead of drydock's runner. */
  command?: string | undefined;
  /** Keep retrying the first connection this long (a database that is waking up). */
  connectTimeout?: string | undefined;
}

function renderRelease(result: ReleaseResult): string {
  switch (result.action) {
    case 'skipped':
      return `release: done, nothing migrated (schema version 0 on ${result.database})`;
    case 'command':
      return `release: done, the migration command finished`;
    default: {
      const ran = result.migrations?.ran.length ?? 0;
      return ran
        ? `release: done, applied ${ran} migration(s); schema version is now ${result.migrations?.version}`
        : `release: done, the database is up to date (schema version ${result.migrations?.version})`;
    }
  }
}

/** Register `drydock release`. */
export function registerRelease(program: Command, run: RunCommand): void {
  migrateOptions(
    program.command('release').description('release phase (Procfile `release: npx drydock release`): migrate when the schema version is non-zero, skip at 0'),
    { dirHelp: 'migrations folder' },
  )
    .option('--command <command>', "run the app's own migration command instead (e.g. \"bin/rails db:migrate\")")
    .addOption(new Option('--connect-timeout <duration>', 'keep retrying the first connection this long (default 30s)').env('DRYDOCK_CONNECT_TIMEOUT'))
    .addOption(lintModeOption('applies them anyway'))
    .action(async (opts: ReleaseFlags, cmd: Command) => {
      await run(async (deps) => {
        const settings = migrateSettings(deps, opts, cmd);
        const connectRetryMs = resolveConnectTimeout(opts.connectTimeout, cmd.getOptionValueSource('connectTimeout'));
        const result = await release(deps, settings, { command: opts.command, connectRetryMs });
        deps.output.result(result, renderRelease);
      });
    });
}
