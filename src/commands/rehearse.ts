/**
 * `drydock rehearse`: run the pending migrations on the local production copy as `release` would,
 * measure what production would feel, prove they roll back, and reset the copy (pipelines/rehearse.ts).
 *
 * Exit codes: 0 every migration safe (or irreversible) and reversible, 1 a migration is blocking or
 * fails, or a down section does not undo its up section, 2 could not rehearse.
 */
import { Option, type Command } from 'commander';

import { ChecksFailed } from '../errors.js';
import { rehearse } from '../pipelines/rehearse.js';
import { renderRehearsal } from '../rehearse/report.js';
import { DURATION_RANGES, parseDuration, type MigrateFlags } from '../settings.js';
import { migrateSettings } from './migrate.js';
import { localOption } from './options.js';
import type { RunCommand } from './run.js';

interface RehearseFlags extends MigrateFlags {
  to?: string;
  local?: string;
  blockThreshold?: string;
  maxAge?: string;
  keep?: boolean;
  report?: string;
}

/** Register `drydock rehearse`. */
export function registerRehearse(program: Command, run: RunCommand): void {
  program
    .command('rehearse')
    .description('rehearse pending migrations on the local production copy: locks, blocking, rewrites, failures, reversibility')
    .option('--to <name|url>', 'the working database with a pristine snapshot, from `drydock pull` (default: the app name with _ for -)')
    .addOption(localOption())
    .addOption(new Option('--dir <dir>', 'migrations folder (default: drydock.json migrationsDir, else ./migrations)').env('DRYDOCK_MIGRATIONS_DIR'))
    .addOption(new Option('--lock-timeout <duration>', 'lock_timeout for every statement, as release sets it (default 5s)').env('DRYDOCK_LOCK_TIMEOUT'))
    .addOption(new Option('--statement-timeout <duration>', 'statement_timeout, as release sets it (default: none)').env('DRYDOCK_STATEMENT_TIMEOUT'))
    .option('--lock-retries <n>', 'retries of a migration that hit lock_timeout (default 3)')
    .option('--block-threshold <duration>', 'a read or write that waits this long makes a migration blocking (default 1s)')
    .option('--max-age <duration>', 'refuse a pristine snapshot older than this (default 24h)')
    .option('--keep', 'leave the working database as the rehearsal left it (default: reset it to the pristine snapshot)')
    .option('--report <file.md>', 'also write a Markdown report (and to $GITHUB_STEP_SUMMARY when set)')
    .addHelpText(
      'after',
      [
        '',
        'Not done yet: pulling a copy (run `drydock pull` first), the fresh-database comparison, data checks that',
        "predict failures, and other frameworks' migration commands (--command).",
        '',
        'Exit codes: 0 all safe, 1 a migration is blocking or fails or does not roll back, 2 could not rehearse.',
        'Examples:',
        '  drydock pull -a my-app && drydock rehearse -a my-app',
        '  drydock rehearse --to my_app --block-threshold 500ms --report rehearsal.md',
      ].join('\n'),
    )
    .action(async (opts: RehearseFlags, cmd: Command) => {
      await run(async (deps) => {
        const settings = migrateSettings(deps, opts, cmd, { needUrl: false });
        const blockThresholdMs = parseDuration(opts.blockThreshold, '--block-threshold', DURATION_RANGES.blockThreshold) ?? 1_000;
        const maxAgeMs = parseDuration(opts.maxAge, '--max-age', DURATION_RANGES.maxAge) ?? 24 * 3_600_000;
        const report = await rehearse(deps, settings, {
          to: opts.to,
          local: opts.local,
          localSource: cmd.getOptionValueSource('local'),
          blockThresholdMs,
          maxAgeMs,
          keep: Boolean(opts.keep),
          reportFile: opts.report,
        });
        deps.output.result(report, renderRehearsal);
        if (report.exitCode) {
          const bad = report.migrations.filter((m) => m.verdict === 'blocking' || m.verdict === 'fails');
          const what = [...bad.map((m) => `${m.file} ${m.verdict}`), ...(report.reversible.ok ? [] : ['a down section does not undo its up section'])];
          throw new ChecksFailed(`rehearse: ${what.join('; ')}`, report, { hint: 'see the report above: make blocking migrations non-blocking (e.g. CREATE INDEX CONCURRENTLY), fix failing ones for the data, and down sections' });
        }
      });
    });
}
