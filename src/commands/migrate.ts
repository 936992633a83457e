/**
 * `drydock migrate …`: the SQL migration runner. Flags, rendering and registration; the work is in
 * pipelines/migrate.ts and pipelines/redo.ts.
 */
import { Option, type Command } from 'commander';

import type { Deps } from '../deps.js';
import { ChecksFailed } from '../errors.js';
import { formatDuration } from '../format.js';
import type { MigrationStatus } from '../migrate/types.js';
import {
  migrateBaseline,
  migrateCreate,
  migrateDown,
  migrateMarkApplied,
  migrateMarkUnapplied,
  migrateStatus,
  migrateUp,
  migrateVersion,
  warnInvalidIndexes,
  type MigrationRunResult,
} from '../pipelines/migrate.js';
import { redo, renderRedo } from '../pipelines/redo.js';
import { parseCount, resolveMigrateSettings, type MigrateFlags, type MigrateSettings } from '../settings.js';
import type { RunCommand } from './run.js';

/** Resolve a migrate-family command's settings: flags (and the variables declared on them), drydock.json, defaults. */
export function migrateSettings(deps: Deps, flags: MigrateFlags, cmd: Command, options: { needUrl?: boolean } = {}): MigrateSettings {
  return resolveMigrateSettings(flags, deps.project(), deps.settings, { ...options, sources: (key) => cmd.getOptionValueSource(key) });
}

/** "Applied 2 migration(s) on …", or the dry run's plan. */
export function renderRun(result: MigrationRunResult): string {
  if (result.dryRun) {
    if (!result.planned.length) return `Nothing to ${result.direction === 'up' ? 'apply' : 'roll back'}: ${result.database} is at version ${result.version}.`;
    return [`Would ${result.direction === 'up' ? 'apply' : 'roll back'} ${result.planned.length} migration(s) on ${result.database}:`, ...result.planned.map((p) => `  ${p.version} ${p.name}`)].join('\n');
  }
  if (!result.ran.length) return `${result.database} is up to date (version ${result.version}).`;
  const verb = result.direction === 'up' ? 'Applied' : 'Rolled back';
  return [`${verb} ${result.ran.length} migration(s) on ${result.database}; schema version is now ${result.version}.`, ...result.ran.map((r) => `  ${r.version} ${r.name} (${formatDuration(r.durationMs)})`)].join('\n');
}

const STATUS_LABEL: Record<MigrationStatus['state'], string> = {
  applied: 'applied',
  pending: 'PENDING',
  changed: 'CHANGED',
  'missing-file': 'NO FILE',
  baseline: 'baseline',
  'other-tool': 'external',
};

/** Runs this long (or longer) of versions before the baseline or recorded by another tool are shown as one line. */
const COLLAPSE_RUN = 4;

/** The status table: one line per version, long runs of adopted versions (Rails' hundreds) as one line each, then totals. */
export function renderStatus(rows: MigrationStatus[]): string {
  if (!rows.length) return 'No migrations yet: create one with `drydock migrate create NAME`.';
  const line = (r: MigrationStatus) =>
    `${STATUS_LABEL[r.state].padEnd(8)} ${r.version} ${r.name ?? ''}${r.detail ? `  (${r.detail})` : r.warning ? '  (up section empty: nothing to apply yet)' : ''}`.trimEnd();
  const lines: string[] = [];
  for (let i = 0; i < rows.length; ) {
    const row = rows[i]!;
    let end = i + 1;
    if (row.state === 'baseline' || row.state === 'other-tool') while (end < rows.length && rows[end]!.state === row.state && rows[end]!.detail === row.detail) end += 1;
    if (end - i >= COLLAPSE_RUN) {
      lines.push(`${STATUS_LABEL[row.state].padEnd(8)} ${row.version} … ${rows[end - 1]!.version}  (${end - i} versions, ${row.detail ?? ''})`);
    } else {
      for (let j = i; j < end; j++) lines.push(line(rows[j]!));
    }
    i = end;
  }
  const count = (state: MigrationStatus['state']) => rows.filter((r) => r.state === state).length;
  const pending = count('pending');
  const problems = count('changed') + count('missing-file');
  const baseline = count('baseline');
  const external = count('other-tool');
  const applied = rows.length - pending - baseline - external;
  const parts = [`${applied} applied`, `${pending} pending`];
  if (baseline) parts.push(`${baseline} before the baseline`);
  if (external) parts.push(`${external} recorded by another tool (no file here)`);
  if (problems) parts.push(`${problems} problem(s)`);
  lines.push('', `${parts.join(', ')}.`);
  return lines.join('\n');
}

/** The options every migrate-family command shares (release and postdeploy take them too). */
export function migrateOptions(cmd: Command, options: { dirHelp?: string } = {}): Command {
  return cmd
    .addOption(new Option('--url <url>', 'database URL').env('DATABASE_URL'))
    .addOption(new Option('--dir <dir>', options.dirHelp ?? 'migrations folder (default: drydock.json migrationsDir, else ./migrations)').env('DRYDOCK_MIGRATIONS_DIR'))
    .addOption(new Option('--lock-timeout <duration>', 'lock_timeout for every statement, with its unit, e.g. 5s or 500ms (default 5s)').env('DRYDOCK_LOCK_TIMEOUT'))
    .addOption(new Option('--statement-timeout <duration>', 'statement_timeout, with its unit, e.g. 60s (default: none)').env('DRYDOCK_STATEMENT_TIMEOUT'))
    .option('--lock-retries <n>', 'retries of a migration that hit lock_timeout (default 3)');
}

/** `--lint <mode>`, shared by `migrate up` and `release`. */
export function lintModeOption(what: string): Option {
  return new Option('--lint <mode>', `lint pending migrations first: error refuses unsafe ones, warn ${what}, off skips (default: drydock.json "lint", else error)`).env('DRYDOCK_LINT');
}

/** Register `drydock migrate` and its subcommands. */
export function registerMigrate(program: Command, run: RunCommand): void {
  const migrate = program.command('migrate').description('apply, roll back, inspect and create SQL migrations (migrations/<timestamp>_<name>.sql)');

  migrateOptions(migrate.command('up', { isDefault: true }).description('apply pending migrations (the default)'))
    .option('--to <version>', 'stop after this version')
    .option('--dry-run', 'show the plan, validate and lint the SQL; change nothing')
    .addOption(lintModeOption('only shows them'))
    .option('--command <command>', "run the app's own migration command instead (e.g. \"bin/rails db:migrate\"; drydock.json migrateCommand)")
    .action(async (opts: MigrateFlags & { to?: string; dryRun?: boolean; command?: string }, cmd: Command) => {
      await run(async (deps) => {
        const result = await migrateUp(deps, migrateSettings(deps, opts, cmd), opts);
        if ('command' in result) deps.output.result(result, () => 'migrate: the migration command finished');
        else deps.output.result(result, renderRun);
      });
    });

  migrateOptions(migrate.command('down').description('roll back the newest migration (or --steps N, --to V, --to 0 for all)'))
    .option('--steps <n>', 'how many migrations to roll back (default 1)')
    .option('--to <version>', 'roll back everything newer than this version (0 = all)')
    .option('--dry-run', 'show the plan; change nothing')
    .option('--rollback-command <command>', "run the app's own rollback command instead, once per step (e.g. \"bin/rails db:rollback\"; drydock.json rollbackCommand)")
    .action(async (opts: MigrateFlags & { steps?: string; to?: string; dryRun?: boolean; rollbackCommand?: string }, cmd: Command) => {
      await run(async (deps) => {
        const settings = migrateSettings(deps, opts, cmd);
        const result = await migrateDown(deps, settings, { ...opts, steps: parseCount(opts.steps, '--steps') });
        if ('command' in result) deps.output.result(result, (r) => `migrate: the rollback command ran ${r.steps} time(s)`);
        else deps.output.result(result, renderRun);
      });
    });

  migrateOptions(migrate.command('redo').description('roll back and re-apply the newest migration(s), proving that down undoes up and up comes back identical'))
    .option('--steps <n>', 'how many migrations to redo (default 1)')
    .action(async (opts: MigrateFlags & { steps?: string }, cmd: Command) => {
      await run(async (deps) => {
        const settings = migrateSettings(deps, opts, cmd);
        const result = await redo(deps, settings, parseCount(opts.steps, '--steps') ?? 1);
        deps.output.result(result, renderRedo);
        if (!result.ok) {
          const which = result.migrations.join(', ');
          const message = result.identical
            ? `redo: the down section of ${which} does not undo its up section: ${result.problems[0]!.problem}${result.problems.length > 1 ? ` (and ${result.problems.length - 1} more problem(s), listed above)` : ''}`
            : `redo changed the schema: the down section of ${which} does not undo its up section`;
          throw new ChecksFailed(message, result, {
            hint: 'make the down section drop exactly what the up section creates and restore what it drops (see the problems above)',
          });
        }
      });
    });

  migrateOptions(migrate.command('status').description('list applied and pending migrations, and files changed after they were applied')).action(
    async (opts: MigrateFlags, cmd: Command) => {
      await run(async (deps) => {
        const { rows, invalidIndexes } = await migrateStatus(migrateSettings(deps, opts, cmd));
        deps.output.result(rows, renderStatus);
        warnInvalidIndexes(deps.output, invalidIndexes);
        for (const row of rows) if (row.warning) deps.output.warn(row.warning);
        const problems = rows.filter((r) => r.state === 'changed' || r.state === 'missing-file');
        if (problems.length) {
          throw new ChecksFailed(`${problems.length} applied migration(s) no longer match their files: ${problems.map((p) => `${p.version} (${p.state})`).join(', ')}`, rows, {
            hint: 'never edit an applied migration: restore the file, and put the change in a new migration',
          });
        }
      });
    },
  );

  migrateOptions(migrate.command('version').description('print the schema version (the newest applied migration, 0 when none)')).action(
    async (opts: MigrateFlags, cmd: Command) => {
      await run(async (deps) => {
        deps.output.result(await migrateVersion(migrateSettings(deps, opts, cmd)), (r) => r.version);
      });
    },
  );

  migrate
    .command('create <name>')
    .description('create migrations/<timestamp>_<name>.sql from the template')
    .addOption(new Option('--dir <dir>', 'migrations folder').env('DRYDOCK_MIGRATIONS_DIR'))
    .action(async (name: string, opts: { dir?: string }, cmd: Command) => {
      await run(async (deps) => {
        const created = await migrateCreate(migrateSettings(deps, opts, cmd, { needUrl: false }), name);
        deps.output.result(created, (c) => `created ${c.path}`);
      });
    });

  migrateOptions(migrate.command('baseline <version>').description('adopt an existing database: every version up to and including this one counts as applied, with or without files')).action(
    async (version: string, opts: MigrateFlags, cmd: Command) => {
      await run(async (deps) => {
        const r = await migrateBaseline(migrateSettings(deps, opts, cmd), version);
        deps.output.result(r, () =>
          [
            `baseline ${r.version} recorded on ${r.database}${r.previous ? ` (it was ${r.previous})` : ''}: every version at or before it counts as applied; nothing was run.`,
            r.recordedBefore ? `${r.recordedBefore} recorded version(s) without a file here are before the baseline.` : '',
            r.covered.length ? `${r.covered.length} migration file(s) at or before it will never be applied: ${r.covered.join(', ')}` : '',
          ]
            .filter(Boolean)
            .join('\n'),
        );
      });
    },
  );

  migrateOptions(migrate.command('mark-applied <version>').description('record a migration as applied without running it'))
    .option('--without-file', 'record a version that has no file here (one another tool applied, e.g. a Rails version removed by mistake)')
    .action(async (version: string, opts: MigrateFlags & { withoutFile?: boolean }, cmd: Command) => {
      await run(async (deps) => {
        const r = await migrateMarkApplied(migrateSettings(deps, opts, cmd), version, { withoutFile: opts.withoutFile });
        const what = r.fileName ?? `version ${r.version} (no file)`;
        deps.output.result({ version: r.version, changed: r.changed }, () =>
          r.changed ? `marked ${what} as applied on ${r.database} (${r.fileName ? 'its SQL was not run' : 'recorded as another tool would: nothing was run'})` : `${what} was already recorded as applied on ${r.database}: nothing changed`,
        );
      });
    });

  migrateOptions(migrate.command('mark-unapplied <version>').description('remove a migration from the ledger without running its down section'))
    .option('--force', 'also remove a version drydock did not record (Rails, dbmate, a schema load)')
    .action(async (version: string, opts: MigrateFlags & { force?: boolean }, cmd: Command) => {
      await run(async (deps) => {
        const confirm = deps.output.canAsk() && !deps.settings.ci
          ? async (what: string) => {
              deps.output.warn(what);
              return (await deps.output.ask(`Type the version (${version}) to remove it anyway: `)).trim() === version;
            }
          : undefined;
        const r = await migrateMarkUnapplied(migrateSettings(deps, opts, cmd), version, { force: opts.force, confirm });
        deps.output.result({ version: r.version, changed: r.changed }, () =>
          r.changed ? `removed ${r.version} from the ledger of ${r.database} (its down section was not run)` : `${r.version} was not recorded as applied on ${r.database}: nothing changed`,
        );
      });
    });
}
