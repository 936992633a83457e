/**
 * `drydock verify`: the database holds what its schema says, nothing a migration left half-done, and is
 * healthy (pipelines/verify.ts). Exit codes: 0 clean (warnings allowed), 1 a check at level error found
 * something, 2 could not check.
 */
import { Option, type Command } from 'commander';

import { ChecksFailed } from '../errors.js';
import { verify } from '../pipelines/verify.js';
import type { MigrateFlags } from '../settings.js';
import { CHECKS, parseCheckList, resolveCheckLevels, type CheckLevels } from '../verify/checks.js';
import { renderVerify } from '../verify/report.js';
import { migrateSettings } from './migrate.js';
import { databaseOption, localOption } from './options.js';
import type { RunCommand } from './run.js';

/** --error / --warn / --skip: check ids. */
export interface CheckLevelFlags {
  error?: string | undefined;
  warn?: string | undefined;
  skip?: string | undefined;
}

interface VerifyFlags extends MigrateFlags, CheckLevelFlags {
  schema?: string | undefined;
  database?: string | undefined;
  local?: string | undefined;
}

/** The options that set check levels (shared with release --verify and postdeploy). */
export function checkLevelOptions(cmd: Command): Command {
  return cmd
    .option('--error <checks>', 'comma-separated checks whose findings fail (exit 1)')
    .option('--warn <checks>', 'comma-separated checks whose findings only warn')
    .option('--skip <checks>', 'comma-separated checks not to run');
}

/** Check levels from drydock.json's verifyChecks and the flags. */
export function checkLevelsOf(flags: CheckLevelFlags, verifyChecks: Readonly<Record<string, string>> | undefined): CheckLevels {
  return resolveCheckLevels(verifyChecks, { error: parseCheckList(flags.error, '--error'), warn: parseCheckList(flags.warn, '--warn'), skip: parseCheckList(flags.skip, '--skip') });
}

/** Register `drydock verify`. */
export function registerVerify(program: Command, run: RunCommand): void {
  checkLevelOptions(
    program
      .command('verify')
      .description('after a migration: the database holds exactly what the schema file says, nothing half-done (INVALID indexes, NOT VALID constraints, sequences near their limit, unindexed foreign keys), and is healthy (SSL, connections and pools, long and blocked sessions, cache hit, bloat)')
      .addOption(new Option('--url <url>', "database URL (-a APP reads the app's instead)").env('DATABASE_URL'))
      .addOption(databaseOption('with -a APP, the database to verify'))
      .addOption(new Option('--schema <file>', 'schema file the database must match (default: drydock.json schemaFile, else db/schema.sql; behind the database or missing: built from it and the migrations on a scratch database)').env('DRYDOCK_SCHEMA_FILE'))
      .addOption(new Option('--dir <dir>', 'migrations folder, for the migrations the schema file does not list (default: drydock.json migrationsDir, else ./migrations)').env('DRYDOCK_MIGRATIONS_DIR'))
      .addOption(localOption()),
  )
    .addHelpText(
      'after',
      [
        '',
        'Checks (level; drydock.json "verifyChecks" and --error/--warn/--skip change it):',
        ...CHECKS.map((c) => `  ${c.id.padEnd(24)} ${c.level.padEnd(5)} ${c.summary}`),
        '',
        'With -a APP the numbers come from the heroku CLI where Heroku has them (pg:info for connections and the',
        "plan's limit, ps:scale for the formation, config for the pool sizes) and from the database's statistics",
        'views otherwise; the report says which for each.',
        '',
        'Exit codes: 0 clean (warnings allowed), 1 a check at level error found something, 2 could not check.',
        'Examples:',
        '  drydock verify -a my-app',
        '  drydock verify --url "$DATABASE_URL" --schema db/schema.sql --json',
        '  drydock verify -a my-app --error unindexed-foreign-key --skip cache-hit-rate,table-bloat',
      ].join('\n'),
    )
    .action(async (opts: VerifyFlags, cmd: Command) => {
      await run(async (deps) => {
        const settings = migrateSettings(deps, { dir: opts.dir }, cmd, { needUrl: false });
        const levels = checkLevelsOf(opts, deps.project().verifyChecks);
        const report = await verify(deps, settings, {
          url: opts.url,
          urlSource: cmd.getOptionValueSource('url'),
          database: opts.database,
          databaseNamed: cmd.getOptionValueSource('database') === 'cli',
          schema: opts.schema,
          schemaRequired: cmd.getOptionValueSource('schema') === 'cli',
          local: opts.local,
          localSource: cmd.getOptionValueSource('local'),
          levels,
        });
        deps.output.result(report, renderVerify);
        if (report.exitCode) {
          const checks = [...new Set(report.findings.filter((f) => f.level === 'error').map((f) => f.check))];
          throw new ChecksFailed(`verify: ${report.errors} error(s) (${checks.join(', ')})`, report, { hint: 'each finding above says how to fix it; --warn CHECK or drydock.json "verifyChecks" makes a check only warn' });
        }
      });
    });
}
