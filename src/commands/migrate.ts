/**
 * `drydock migrate …`: the SQL migration runner.
 */
import { resolve } from 'node:path';

import type { Command } from 'commander';

import { resolveDatabaseUrl } from '../config.js';
import type { Deps } from '../deps.js';
import { ChecksFailed, ConfigError } from '../errors.js';
import { createMigrationFile } from '../migrate/create.js';
import { loadMigrations } from '../migrate/files.js';
import { ensureLedger, markApplied, readApplied, removeApplied } from '../migrate/ledger.js';
import { migrationStatus } from '../migrate/plan.js';
import { DEFAULT_RUNNER_SETTINGS, type RunnerSettings } from '../migrate/runner.js';
import type { MigrationStatus } from '../migrate/types.js';
import { withClient } from '../pg/client.js';
import { acquireAdvisoryLock, MIGRATION_LOCK_KEY, releaseAdvisoryLock } from '../pg/lock.js';
import { describeDb, type DbUrl } from '../pg/url.js';
import { runMigrations, formatMs, type MigrationRunResult } from '../pipelines/migrate.js';
import { LINT_MODES, loadProjectConfig, type LintMode, type ProjectConfig } from '../project-config.js';
import { redo, renderRedo } from '../pipelines/redo.js';
import { parseDuration, runAppCommand } from './shared.js';

/** Flags shared by the migrate subcommands. */
export interface MigrateFlags {
  url?: string | undefined;
  dir?: string | undefined;
  lockTimeout?: string | undefined;
  statementTimeout?: string | undefined;
  lockRetries?: string | undefined;
  /** What to do with lint findings in pending migrations: error, warn or off. */
  lint?: string | undefined;
}

/** Where and how migrations run, resolved from flags, env, drydock.json and defaults. */
export interface MigrateSetup {
  url: DbUrl;
  dir: string;
  settings: RunnerSettings;
  project: ProjectConfig;
  /** Lint pending migrations before applying them: refuse unsafe ones (error), only show them (warn), or skip (off). */
  lint: LintMode;
}

function parseCount(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new ConfigError(`${flag} must be a whole number, not "${value}"`, { hint: `for example ${flag} 3` });
  return Number(value);
}

function parseLintMode(value: string | undefined, source: string): LintMode | undefined {
  if (value === undefined) return undefined;
  const mode = value.trim().toLowerCase();
  if (!LINT_MODES.includes(mode as LintMode)) {
    throw new ConfigError(`${source} must be one of ${LINT_MODES.join(', ')}, not "${value}"`, { hint: `for example ${source.startsWith('--') ? `${source} warn` : `${source}=warn`}` });
  }
  return mode as LintMode;
}

/** Resolve where and how to migrate (needs no database connection). */
export function resolveMigrateSetup(deps: Deps, flags: MigrateFlags, options: { needUrl?: boolean } = {}): Omit<MigrateSetup, 'url'> & { url: DbUrl | undefined } {
  const env = deps.config.env;
  const project = loadProjectConfig();
  const dir = resolve(flags.dir ?? env.DRYDOCK_MIGRATIONS_DIR ?? project.migrationsDir ?? 'migrations');
  const settings: RunnerSettings = {
    lockTimeoutMs: parseDuration(flags.lockTimeout, '--lock-timeout', 'ms') ?? parseDuration(env.DRYDOCK_LOCK_TIMEOUT, 'DRYDOCK_LOCK_TIMEOUT', 'ms') ?? project.lockTimeoutMs ?? DEFAULT_RUNNER_SETTINGS.lockTimeoutMs,
    statementTimeoutMs:
      parseDuration(flags.statementTimeout, '--statement-timeout', 'ms') ?? parseDuration(env.DRYDOCK_STATEMENT_TIMEOUT, 'DRYDOCK_STATEMENT_TIMEOUT', 'ms') ?? project.statementTimeoutMs ?? DEFAULT_RUNNER_SETTINGS.statementTimeoutMs,
    lockRetries: parseCount(flags.lockRetries, '--lock-retries') ?? project.lockRetries ?? DEFAULT_RUNNER_SETTINGS.lockRetries,
    retryBaseMs: parseDuration(env.DRYDOCK_LOCK_RETRY_BASE, 'DRYDOCK_LOCK_RETRY_BASE', 'ms') ?? DEFAULT_RUNNER_SETTINGS.retryBaseMs,
  };
  const url = options.needUrl === false ? undefined : resolveDatabaseUrl(flags.url, env);
  const lint = parseLintMode(flags.lint, '--lint') ?? parseLintMode(env.DRYDOCK_LINT, 'DRYDOCK_LINT') ?? project.lint ?? 'error';
  return { url, dir, settings, project, lint };
}

function renderRun(result: MigrationRunResult): string {
  if (result.dryRun) {
    if (!result.planned.length) return `Nothing to ${result.direction === 'up' ? 'apply' : 'roll back'}: ${result.database} is at version ${result.version}.`;
    return [`Would ${result.direction === 'up' ? 'apply' : 'roll back'} ${result.planned.length} migration(s) on ${result.database}:`, ...result.planned.map((p) => `  ${p.version} ${p.name}`)].join('\n');
  }
  if (!result.ran.length) return `${result.database} is up to date (version ${result.version}).`;
  const verb = result.direction === 'up' ? 'Applied' : 'Rolled back';
  return [`${verb} ${result.ran.length} migration(s) on ${result.database}; schema version is now ${result.version}.`, ...result.ran.map((r) => `  ${r.version} ${r.name} (${formatMs(r.durationMs)})`)].join('\n');
}

function renderStatus(rows: MigrationStatus[]): string {
  if (!rows.length) return 'No migrations yet: create one with `drydock migrate create NAME`.';
  const label: Record<MigrationStatus['state'], string> = { applied: 'applied', pending: 'PENDING', changed: 'CHANGED', 'missing-file': 'NO FILE' };
  const lines = rows.map((r) => `${label[r.state].padEnd(8)} ${r.version} ${r.name ?? ''}${r.detail ? `  (${r.detail})` : ''}`);
  const pending = rows.filter((r) => r.state === 'pending').length;
  const problems = rows.filter((r) => r.state === 'changed' || r.state === 'missing-file').length;
  lines.push('', `${rows.length - pending} applied, ${pending} pending${problems ? `, ${problems} problem(s)` : ''}.`);
  return lines.join('\n');
}

async function withLockedClient<T>(url: DbUrl, fn: (client: import('pg').Client) => Promise<T>): Promise<T> {
  return withClient(url, async (client) => {
    await acquireAdvisoryLock(client, MIGRATION_LOCK_KEY, { purpose: 'migration' });
    try {
      return await fn(client);
    } finally {
      await releaseAdvisoryLock(client, MIGRATION_LOCK_KEY);
    }
  });
}

function commonOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'database URL (default: DATABASE_URL)')
    .option('--dir <dir>', 'migrations folder (default: DRYDOCK_MIGRATIONS_DIR, drydock.json, else ./migrations)')
    .option('--lock-timeout <ms>', 'lock_timeout for every statement, e.g. 5s (default 5s)')
    .option('--statement-timeout <ms>', 'statement_timeout, e.g. 60s (default: none)')
    .option('--lock-retries <n>', 'retries of a migration that hit lock_timeout (default 3)');
}

/** Register `drydock migrate` and its subcommands. */
export function registerMigrate(program: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  const migrate = program.command('migrate').description('apply, roll back, inspect and create SQL migrations (migrations/<timestamp>_<name>.sql)');

  commonOptions(migrate.command('up', { isDefault: true }).description('apply pending migrations (the default)'))
    .option('--to <version>', 'stop after this version')
    .option('--dry-run', 'show the plan, validate and lint the SQL; change nothing')
    .option('--lint <mode>', 'lint pending migrations first: error refuses unsafe ones, warn only shows them, off skips (default: DRYDOCK_LINT, drydock.json "lint", else error)')
    .option('--command <command>', "run the app's own migration command instead (e.g. \"bin/rails db:migrate\"; drydock.json migrateCommand)")
    .action(async (opts: MigrateFlags & { to?: string; dryRun?: boolean; command?: string }) => {
      await run(async (deps) => {
        const setup = resolveMigrateSetup(deps, opts);
        const command = opts.command ?? setup.project.migrateCommand;
        if (command) {
          deps.output.info(`migrate: running the app's migration command: ${command}`);
          await runAppCommand(deps, command, 'migration command', setup.url!.href);
          deps.output.result({ command }, () => 'migrate: the migration command finished');
          return;
        }
        const result = await runMigrations(deps, { url: setup.url!, dir: setup.dir, settings: setup.settings, action: { direction: 'up', to: opts.to }, dryRun: opts.dryRun, lint: setup.lint });
        deps.output.result(result, renderRun);
      });
    });

  commonOptions(migrate.command('down').description('roll back the newest migration (or --steps N, --to V, --to 0 for all)'))
    .option('--steps <n>', 'how many migrations to roll back (default 1)')
    .option('--to <version>', 'roll back everything newer than this version (0 = all)')
    .option('--dry-run', 'show the plan; change nothing')
    .option('--rollback-command <command>', "run the app's own rollback command instead, once per step (e.g. \"bin/rails db:rollback\"; drydock.json rollbackCommand)")
    .action(async (opts: MigrateFlags & { steps?: string; to?: string; dryRun?: boolean; rollbackCommand?: string }) => {
      await run(async (deps) => {
        const setup = resolveMigrateSetup(deps, opts);
        const steps = parseCount(opts.steps, '--steps');
        const rollback = opts.rollbackCommand ?? setup.project.rollbackCommand;
        if (rollback) {
          if (opts.to !== undefined) throw new ConfigError('--to needs drydock\'s own runner; with a rollback command use --steps N', { hint: 'drydock migrate down --steps 2' });
          for (let i = 0; i < (steps ?? 1); i++) {
            deps.output.info(`migrate: running the app's rollback command (${i + 1}/${steps ?? 1}): ${rollback}`);
            await runAppCommand(deps, rollback, 'rollback command', setup.url!.href);
          }
          deps.output.result({ command: rollback, steps: steps ?? 1 }, (r) => `migrate: the rollback command ran ${r.steps} time(s)`);
          return;
        }
        if (steps !== undefined && opts.to !== undefined) throw new ConfigError('give --steps or --to, not both', { hint: 'drydock migrate down --steps 2' });
        const result = await runMigrations(deps, { url: setup.url!, dir: setup.dir, settings: setup.settings, action: { direction: 'down', steps, to: opts.to }, dryRun: opts.dryRun });
        deps.output.result(result, renderRun);
      });
    });

  commonOptions(migrate.command('redo').description('roll back and re-apply the newest migration(s), and check the schema comes back identical'))
    .option('--steps <n>', 'how many migrations to redo (default 1)')
    .action(async (opts: MigrateFlags & { steps?: string }) => {
      await run(async (deps) => {
        const setup = resolveMigrateSetup(deps, opts);
        const result = await redo(deps, { url: setup.url!, dir: setup.dir, settings: setup.settings, steps: parseCount(opts.steps, '--steps') ?? 1 });
        deps.output.result(result, renderRedo);
        if (!result.identical) {
          throw new ChecksFailed(`redo changed the schema: the down section of ${result.migrations.join(', ')} does not undo its up section`, result, {
            hint: 'make the down section drop exactly what the up section creates (see the diff above)',
          });
        }
      });
    });

  commonOptions(migrate.command('status').description('list applied and pending migrations, and files changed after they were applied'))
    .action(async (opts: MigrateFlags) => {
      await run(async (deps) => {
        const setup = resolveMigrateSetup(deps, opts);
        const files = await loadMigrations(setup.dir);
        const applied = await withClient(setup.url!, (client) => readApplied(client));
        const rows = migrationStatus(files, applied);
        deps.output.result(rows, renderStatus);
        const problems = rows.filter((r) => r.state === 'changed' || r.state === 'missing-file');
        if (problems.length) {
          throw new ChecksFailed(`${problems.length} applied migration(s) no longer match their files: ${problems.map((p) => `${p.version} (${p.state})`).join(', ')}`, rows, {
            hint: 'never edit an applied migration: restore the file, and put the change in a new migration',
          });
        }
      });
    });

  commonOptions(migrate.command('version').description('print the schema version (the newest applied migration, 0 when none)'))
    .action(async (opts: MigrateFlags) => {
      await run(async (deps) => {
        const setup = resolveMigrateSetup(deps, opts);
        const applied = await withClient(setup.url!, (client) => readApplied(client));
        const version = applied.length ? applied[applied.length - 1]!.version : '0';
        deps.output.result({ version, applied: applied.length }, (r) => r.version);
      });
    });

  migrate
    .command('create <name>')
    .description('create migrations/<timestamp>_<name>.sql from the template')
    .option('--dir <dir>', 'migrations folder')
    .action(async (name: string, opts: { dir?: string }) => {
      await run(async (deps) => {
        const setup = resolveMigrateSetup(deps, opts, { needUrl: false });
        const created = await createMigrationFile(setup.dir, name);
        deps.output.result(created, (c) => `created ${c.path}`);
      });
    });

  commonOptions(migrate.command('mark-applied <version>').description('record a migration as applied without running it (baselining an existing schema)'))
    .action(async (version: string, opts: MigrateFlags) => {
      await run(async (deps) => {
        const setup = resolveMigrateSetup(deps, opts);
        const file = (await loadMigrations(setup.dir)).find((m) => m.version === version);
        if (!file) throw new ConfigError(`no migration file with version ${version} in ${setup.dir}`, { hint: 'see `drydock migrate status` for the versions' });
        const changed = await withLockedClient(setup.url!, async (client) => {
          await ensureLedger(client);
          return markApplied(client, file);
        });
        const where = describeDb(setup.url!);
        deps.output.result({ version, changed }, () => (changed ? `marked ${file.fileName} as applied on ${where} (its SQL was not run)` : `${file.fileName} was already recorded as applied on ${where}: nothing changed`));
      });
    });

  commonOptions(migrate.command('mark-unapplied <version>').description('remove a migration from the ledger without running its down section'))
    .action(async (version: string, opts: MigrateFlags) => {
      await run(async (deps) => {
        const setup = resolveMigrateSetup(deps, opts);
        if (!/^\d{14}$/.test(version)) throw new ConfigError(`"${version}" is not a migration version (14 digits)`, { hint: 'see `drydock migrate status` for the versions' });
        const changed = await withLockedClient(setup.url!, (client) => removeApplied(client, version));
        const where = describeDb(setup.url!);
        deps.output.result({ version, changed }, () => (changed ? `removed ${version} from the ledger of ${where} (its down section was not run)` : `${version} was not recorded as applied on ${where}: nothing changed`));
      });
    });
}
