/**
 * `drydock rehearse`: run the pending migrations on the local production copy as `release` would,
 * measure what production would feel, prove they roll back, and reset the copy (pipelines/rehearse.ts).
 *
 * Exit codes: 0 every migration safe (or irreversible) and reversible, 1 a migration is blocking or
 * fails, or a down section does not undo its up section, or a fresh database built from the history
 * differs from the copy, 2 could not rehearse.
 */
import { Option, type Command } from 'commander';

import { ChecksFailed, ConfigError } from '../errors.js';
import { rehearse } from '../pipelines/rehearse.js';
import { renderRehearsal } from '../rehearse/report.js';
import { DURATION_RANGES, parseDuration, type MigrateFlags, type MigrateSettings } from '../settings.js';
import { migrateSettings } from './migrate.js';
import type { RehearsePullFlags } from '../pipelines/rehearse-copy.js';
import { localOption, PULL_OPTIONS } from './options.js';
import type { RunCommand } from './run.js';

interface RehearseFlags extends MigrateFlags, RehearsePullFlags {
  to?: string;
  local?: string;
  blockThreshold?: string;
  keep?: boolean;
  report?: string;
  fresh?: boolean;
  schema?: string;
  command?: string;
  rollbackCommand?: string;
}

/** --command / --rollback-command, else drydock.json's migrateCommand / rollbackCommand; checked before anything changes. */
function commandsOf(opts: RehearseFlags, settings: MigrateSettings): { command: string | undefined; rollbackCommand: string | undefined } {
  for (const [flag, value] of [['--command', opts.command], ['--rollback-command', opts.rollbackCommand]] as const) {
    if (value !== undefined && !value.trim()) throw new ConfigError(`${flag} is empty`, { hint: `give the command to run, e.g. ${flag} "npx knex migrate:${flag === '--command' ? 'latest' : 'rollback --all'}"` });
  }
  const command = opts.command ?? settings.migrateCommand;
  if (opts.rollbackCommand !== undefined && !command) {
    throw new ConfigError('--rollback-command needs --command (or migrateCommand in drydock.json)', { hint: 'drydock rehearse --command "npx knex migrate:latest" --rollback-command "npx knex migrate:rollback --all"' });
  }
  return { command, rollbackCommand: command ? (opts.rollbackCommand ?? settings.rollbackCommand) : undefined };
}

/** Register `drydock rehearse`. */
export function registerRehearse(program: Command, run: RunCommand): void {
  program
    .command('rehearse')
    .description('rehearse pending migrations on the local production copy: locks, blocking, rewrites, data checks, failures, reversibility')
    .option('--to <name|url>', 'the working database with a pristine snapshot, from `drydock pull` (default: the app name with _ for -)')
    .addOption(localOption())
    .addOption(new Option('--dir <dir>', 'migrations folder (default: drydock.json migrationsDir, else ./migrations)').env('DRYDOCK_MIGRATIONS_DIR'))
    .addOption(new Option('--lock-timeout <duration>', 'lock_timeout for every statement, as release sets it (default 5s)').env('DRYDOCK_LOCK_TIMEOUT'))
    .addOption(new Option('--statement-timeout <duration>', 'statement_timeout, as release sets it (default: none)').env('DRYDOCK_STATEMENT_TIMEOUT'))
    .option('--lock-retries <n>', 'retries of a migration that hit lock_timeout (default 3)')
    .option('--block-threshold <duration>', 'a read or write that waits this long makes a migration blocking (default 1s)')
    .option('--max-age <duration>', 'a pristine snapshot older than this is pulled again with -a APP or --from-url, else refused (default 24h)')
    .option('--keep', 'leave the working database as the rehearsal left it (default: reset it to the pristine snapshot)')
    .option('--report <file.md>', 'also write a Markdown report (and to $GITHUB_STEP_SUMMARY when set)')
    .addOption(PULL_OPTIONS.fromUrl())
    .addOption(PULL_OPTIONS.from())
    .addOption(PULL_OPTIONS.capture())
    .addOption(PULL_OPTIONS.database())
    .addOption(PULL_OPTIONS.transferTimeout())
    .addOption(PULL_OPTIONS.excludeTableData())
    .addOption(PULL_OPTIONS.jobs())
    .addOption(PULL_OPTIONS.scrub())
    .addOption(PULL_OPTIONS.validateForeignKeys())
    .option('--no-fresh', 'skip building a fresh database from the history (schema file + migrations, or every migration) to compare with the copy: faster')
    .addOption(new Option('--schema <file>', 'schema file the fresh database starts from, as postdeploy (default: drydock.json schemaFile, else db/schema.sql; without one, every migration)').env('DRYDOCK_SCHEMA_FILE'))
    .option('--command <command>', "rehearse the app's own migration command instead, through drydock's Postgres proxy (e.g. \"npx knex migrate:latest\"; drydock.json migrateCommand)")
    .option('--rollback-command <command>', 'with --command: the command that rolls its migrations back, to check reversibility (run again while it rolls back fewer than were applied; drydock.json rollbackCommand)')
    .addHelpText(
      'after',
      [
        '',
        'The copy: the working database is reset from its pristine snapshot; when it has none, or one older than',
        '--max-age, rehearse pulls a fresh copy first with -a APP or --from-url (as `drydock pull`, with the pull',
        'flags above), else it refuses. Timings on tables pulled with --exclude-table-data are marked not representative.',
        '',
        "With --command, the command runs with DATABASE_URL (and PGHOST/PGPORT) pointing at drydock's proxy, which",
        "records every statement; migrations are told apart by the framework's ledger rows (knex_migrations,",
        'schema_migrations, django_migrations, alembic_version, _prisma_migrations …), else the command is one.',
        '',
        'Exit codes: 0 all safe, 1 a migration is blocking or fails or does not roll back, or a fresh database',
        'built from the history differs from the copy, 2 could not rehearse.',
        'Examples:',
        '  drydock rehearse -a my-app                 (pulls first when the copy is missing or older than 24 h)',
        '  drydock rehearse -a my-app --exclude-table-data events --max-age 12h',
        '  drydock rehearse --to my_app --block-threshold 500ms --report rehearsal.md',
        '  drydock rehearse --to my_app --command "npx knex migrate:latest" --rollback-command "npx knex migrate:rollback --all"',
      ].join('\n'),
    )
    .action(async (opts: RehearseFlags, cmd: Command) => {
      await run(async (deps) => {
        const settings = migrateSettings(deps, opts, cmd, { needUrl: false });
        const blockThresholdMs = parseDuration(opts.blockThreshold, '--block-threshold', DURATION_RANGES.blockThreshold) ?? 1_000;
        const maxAgeMs = parseDuration(opts.maxAge, '--max-age', DURATION_RANGES.maxAge) ?? 24 * 3_600_000;
        const { command, rollbackCommand } = commandsOf(opts, settings);
        const report = await rehearse(deps, settings, {
          to: opts.to,
          local: opts.local,
          localSource: cmd.getOptionValueSource('local'),
          blockThresholdMs,
          maxAgeMs,
          pull: {
            from: opts.from,
            fromUrl: opts.fromUrl,
            capture: opts.capture,
            database: opts.database,
            databaseSource: cmd.getOptionValueSource('database'),
            maxAge: opts.maxAge,
            transferTimeout: opts.transferTimeout,
            transferTimeoutSource: cmd.getOptionValueSource('transferTimeout'),
            excludeTableData: opts.excludeTableData,
            jobs: opts.jobs,
            scrub: opts.scrub,
            validateForeignKeys: opts.validateForeignKeys,
          },
          keep: Boolean(opts.keep),
          reportFile: opts.report,
          fresh: opts.fresh !== false,
          schema: opts.schema,
          schemaRequired: cmd.getOptionValueSource('schema') === 'cli',
          command,
          rollbackCommand,
        });
        deps.output.result(report, renderRehearsal);
        if (report.exitCode) {
          const bad = report.migrations.filter((m) => m.verdict === 'blocking' || m.verdict === 'fails');
          const what = [...bad.map((m) => `${m.file} ${m.verdict}`), ...(report.reversible.ok === false ? [report.command ? 'the rollback command does not undo the migration command' : 'a down section does not undo its up section'] : []), ...(report.freshDatabase.ok === false ? ['a fresh database built from the history differs from the copy'] : [])];
          throw new ChecksFailed(`rehearse: ${what.join('; ')}`, report, { hint: `see the report above: make blocking migrations non-blocking (e.g. CREATE INDEX CONCURRENTLY), fix failing ones for the data, and down sections${report.freshDatabase.ok === false ? '; make the history create what only production has (a migration, or `drydock schema dump` for review apps)' : ''}` });
        }
      });
    });
}
