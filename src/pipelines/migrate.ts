/**
 * The migration pipeline: read files, connect, take the runner lock, plan, validate, lint (up, when
 * asked), apply one by one. Used by `migrate`, `migrate down`, `release` and `postdeploy`.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';

import type pg from 'pg';

import type { Deps } from '../deps.js';
import { ChecksFailed, ConfigError, InterruptedError, interruptedBy, type InterruptSignal } from '../errors.js';
import type { LintRun } from '../lint/lint.js';
import { runAppCommand } from '../migrate/app-command.js';
import { createMigrationFile, type CreatedMigration } from '../migrate/create.js';
import { loadMigrations } from '../migrate/files.js';
import { ensureLedger, markApplied, markAppliedWithoutFile, readApplied, readLedger, removeApplied, setBaseline } from '../migrate/ledger.js';
import { compareVersions, coveredByBaseline, migrationStatus, outOfOrder, planDown, planUp } from '../migrate/plan.js';
import { applyStep, concurrentIndexBuild, validateSteps, type StatementObserver, type ValidatedStep } from '../migrate/runner.js';
import type { AppliedMigration, MigrationFile, MigrationStatus } from '../migrate/types.js';
import { isMigrationVersion } from '../migrate/version.js';
import { cancelOnAbort, withClient } from '../pg/client.js';
import { MIGRATION_LOCK_KEY, withAdvisoryLock } from '../pg/lock.js';
import { readLintSchema } from '../pg/queries/lint-schema.js';
import { readInvalidIndexDetails, type InvalidIndex } from '../pg/queries/indexes.js';
import { readServerVersion } from '../pg/queries/server-facts.js';
import { describeDb, type DbUrl } from '../pg/url.js';
import { majorOrder } from '../pg/version.js';
import type { LintMode, LintProjectSettings, MigrateSettings, RunnerSettings } from '../settings.js';
import { ensureParser } from '../sql/parse.js';
import { formatDuration } from '../format.js';
import { createPipeline } from './listr.js';

/** What to do. */
export type MigrationAction = { direction: 'up'; to?: string | undefined } | { direction: 'down'; steps?: number | undefined; to?: string | undefined };

/** Options of one run. */
export interface MigrationRunOptions {
  url: DbUrl;
  dir: string;
  action: MigrationAction;
  settings: RunnerSettings;
  /** How long to wait for another runner's lock (ms). */
  lockWaitMs?: number;
  /** Keep retrying the first connection this long (a database that is waking up). */
  connectRetryMs?: number;
  /** Only plan and validate; change nothing. */
  dryRun?: boolean | undefined;
  /**
   * Lint pending migrations (up only) before applying them, for the server's Postgres version:
   * 'error' refuses to apply any with error findings (exit 1), 'warn' shows findings and applies,
   * 'off' (the default here) skips linting.
   */
  lint?: LintMode | undefined;
  /** drydock.json's rule levels and small-table limits for that lint. */
  lintProject?: LintProjectSettings | undefined;
  /** Watches every statement the runner sends (`drydock rehearse`). */
  observer?: StatementObserver | undefined;
  /**
   * Tables (schema.name) whose size in this database says nothing about production's: a rehearsal's
   * copy of a table pulled without its rows. Lint judges them as of unknown size, not as tiny.
   */
  lintUnsizedTables?: ReadonlySet<string> | undefined;
  /** Receives the lint run of the pending migrations, when they were linted. */
  onLint?: ((run: LintRun) => void) | undefined;
}

/** One step that ran. */
export interface StepResult {
  version: string;
  name: string;
  direction: 'up' | 'down';
  durationMs: number;
}

/** The outcome of a run. */
export interface MigrationRunResult {
  database: string;
  direction: 'up' | 'down';
  /** Steps planned (all of them ran unless dryRun). */
  planned: Array<{ version: string; name: string }>;
  ran: StepResult[];
  /** Schema version after the run ("0" when none). */
  version: string;
  dryRun: boolean;
  /** Lint totals of the pending migrations, when they were linted. */
  lint?: { pgVersion: number; errors: number; warnings: number } | undefined;
  /** INVALID indexes in the database after the run (failed concurrent builds' leftovers). */
  invalidIndexes: InvalidIndex[];
}

interface Ctx {
  applied?: AppliedMigration[];
  steps?: ValidatedStep[];
  lint?: LintRun;
  ran: StepResult[];
  /** The step being applied (an interruption rolls it back). */
  current?: ValidatedStep;
}

/** What the runner needs of Deps: output, and the signal that interrupts it (Ctrl-C, SIGTERM). */
type RunnerDeps = Pick<Deps, 'output'> & Partial<Pick<Deps, 'signal'>>;

/** The newest applied version ("0" when none), as the ledger orders them. */
function newestApplied(applied: readonly AppliedMigration[]): string {
  return applied.length ? applied[applied.length - 1]!.version : '0';
}

/** `--to` must look like a version (digits; down also takes 0): a usage error, raised before anything is read or connected. */
function checkToFlag(action: MigrationAction): void {
  if (action.to === undefined || /^\d+$/.test(action.to)) return;
  throw new ConfigError(`--to must be a migration version (the digits that start a migration file's name), not ${JSON.stringify(action.to)}`, {
    hint: `e.g. --to 20260121093000${action.direction === 'down' ? ', or --to 0 to roll back everything' : ''}; \`drydock migrate status\` lists the versions`,
  });
}

/**
 * Run migrations up or down under the runner's advisory lock. Everything is checked before anything
 * changes: the flags, the files, the plan against the ledger (read, never created, while planning) and
 * the SQL of every planned step; the ledger tables are created only right before the first step runs.
 */
export async function runMigrations(deps: RunnerDeps, options: MigrationRunOptions): Promise<MigrationRunResult> {
  checkToFlag(options.action);
  const target = describeDb(options.url);
  const files = await loadMigrations(options.dir);
  deps.output.debug(`read ${files.length} migration file(s) from ${options.dir}`);
  const ctx: Ctx = { ran: [] };
  try {
    return await lockedRun(deps, options, files, ctx, target);
  } catch (error) {
    const by = interruptedBy(deps.signal);
    if (!by) throw error;
    throw interruptedMigration(by, target, ctx, error);
  }
}

/** What an interrupted run did: the migration rolled back (or partly applied), the ones applied before it. */
function interruptedMigration(by: InterruptSignal, target: string, ctx: Ctx, cause: unknown): InterruptedError {
  const step = ctx.current;
  const verb = (s: { direction: 'up' | 'down' }) => (s.direction === 'up' ? 'applied' : 'rolled back');
  const before = ctx.ran.length ? `${ctx.ran.map((r) => `${r.version}_${r.name}`).join(', ')} ${ctx.ran.length === 1 ? 'was' : 'were'} ${verb(ctx.ran[0]!)} before it and stay${ctx.ran.length === 1 ? 's' : ''} so` : `nothing was ${step ? verb(step) : 'changed'} before it`;
  let what: string;
  if (!step) what = `migrations on ${target} stopped before any ran`;
  else if (step.section.transaction) what = `${step.migration.fileName} was ${step.direction === 'up' ? 'rolled back (its running statement was cancelled on the server)' : 'not rolled back (its down section was cancelled and undone)'}; ${before}`;
  else {
    const concurrentBuild = step.statements.some((s) => concurrentIndexBuild(s)?.name !== undefined);
    what = `${step.migration.fileName} (transaction:false) was stopped: its statements that had finished stay applied and it is not recorded as applied${concurrentBuild ? ' (a CREATE INDEX CONCURRENTLY that was running leaves an INVALID index, which the next run drops before building it again)' : ''}; ${before}`;
  }
  return new InterruptedError(by, `interrupted (${by}): ${what}; the migration lock on ${target} was released`, {
    hint: step ? 'run the same command again to continue' : undefined,
    cause,
  });
}

/** Connect, take the runner's lock, run the pipeline; a running statement is cancelled on the server when deps.signal aborts. */
function lockedRun(deps: RunnerDeps, options: MigrationRunOptions, files: MigrationFile[], ctx: Ctx, target: string): Promise<MigrationRunResult> {
  const { action } = options;
  return withClient(
    options.url,
    async (client) => {
      const stopCancelling = cancelOnAbort(options.url, client, deps.signal);
      try {
        return await withAdvisoryLock(
          client,
          MIGRATION_LOCK_KEY,
          async () => {
            await migrationPipeline(deps, options, client, files).run(ctx);
            return {
              database: target,
              direction: action.direction,
              planned: (ctx.steps ?? []).map((s) => ({ version: s.migration.version, name: s.migration.name })),
              ran: ctx.ran,
              version: newestApplied(await readApplied(client)),
              dryRun: Boolean(options.dryRun),
              lint: ctx.lint ? { pgVersion: ctx.lint.pgVersion, errors: ctx.lint.errors, warnings: ctx.lint.warnings } : undefined,
              invalidIndexes: await readInvalidIndexDetails(client),
            };
          },
          {
            waitMs: options.lockWaitMs,
            purpose: 'migration',
            signal: deps.signal,
            onWait: (holder) =>
              deps.output.info(holder ? `waiting for another migration runner (pid ${holder.pid}, ${holder.applicationName || 'unknown'})` : 'waiting for another migration runner'),
          },
        );
      } finally {
        await stopCancelling();
      }
    },
    { retryForMs: options.connectRetryMs ?? 0, applicationName: 'drydock migrate' },
  );
}

/** Plan, lint and apply, on a connection that holds the migration lock. */
function migrationPipeline(deps: RunnerDeps, options: MigrationRunOptions, client: pg.Client, files: MigrationFile[]) {
  const { action } = options;
  return createPipeline<Ctx>(
    [
      {
        title: 'Plan',
        task: async (c, task) => {
          const ledger = await readLedger(client);
          c.applied = ledger.applied;
          const baseline = ledger.baseline?.version;
          const plan = action.direction === 'up' ? planUp(files, c.applied, { to: action.to, baseline }) : planDown(files, c.applied, { steps: action.steps, to: action.to, baseline });
          c.steps = await validateSteps(plan);
          if (action.direction === 'up') {
            const late = outOfOrder(files, c.applied, baseline);
            if (late.length) deps.output.warn(`applying ${late.length} migration(s) older than the newest applied one: ${late.map((m) => m.version).join(', ')}`);
          }
          const verb = action.direction === 'up' ? 'pending' : 'to roll back';
          task.title = c.steps.length ? `Plan: ${c.steps.length} migration(s) ${verb}${options.dryRun ? ' (dry run)' : ''}` : `Plan: nothing ${verb}, the database is up to date`;
        },
      },
      {
        title: 'Lint pending migrations',
        enabled: () => action.direction === 'up' && (options.lint ?? 'off') !== 'off',
        skip: (c) => (!c.steps?.length ? 'nothing pending' : false),
        task: async (c, task) => {
          c.lint = await lintPending(client, c.steps!, options.lintProject, options.lintUnsizedTables);
          options.onLint?.(c.lint);
          const run = c.lint;
          const count = `${c.steps!.length} pending migration(s)`;
          if (!run.findings.length) {
            task.title = `Lint: ${count} safe for Postgres ${run.pgVersion}`;
            return;
          }
          const { lintJson, renderFinding } = await import('../lint/report.js');
          const report = run.findings.map((f) => renderFinding(f)).join('\n\n');
          if (run.errors && options.lint === 'error') {
            deps.output.problems(report);
            const unsafe = run.findings.filter((f) => f.severity === 'error');
            const list = unsafe.slice(0, 5).map((f) => `${basename(f.file)}:${f.line} ${f.rule}`).join(', ') + (unsafe.length > 5 ? `, and ${unsafe.length - 5} more` : '');
            throw new ChecksFailed(`refusing to apply ${unsafe.length} unsafe operation(s) in pending migrations: ${list}`, lintJson(run), {
              hint: 'make the migration safe as the help above shows, or mark a reviewed statement with `-- drydock:safe <rule> <reason>`; --lint warn (DRYDOCK_LINT=warn, drydock.json "lint": "warn") applies it anyway',
            });
          }
          deps.output.problems(report);
          task.title = `Lint: ${run.errors} error(s), ${run.warnings} warning(s)${run.notes ? `, ${run.notes} note(s) on small tables` : ''} in ${count}${run.errors ? ' (applying anyway: lint mode warn)' : ''}`;
        },
      },
      {
        title: action.direction === 'up' ? 'Apply migrations' : 'Roll back migrations',
        skip: (c) => (options.dryRun ? 'dry run' : !c.steps?.length ? 'nothing to do' : false),
        task: (c, task) =>
          task.newListr(
            c.steps!.map((step, index) => ({
              title: `${step.direction === 'up' ? 'apply' : 'roll back'} ${step.migration.fileName}${step.section.transaction ? '' : ' (no transaction)'}`,
              task: async (_c: Ctx, sub) => {
                deps.signal?.throwIfAborted();
                c.current = step;
                // Only now, with every check passed and something to apply, does the database change.
                if (index === 0 && step.direction === 'up') await ensureLedger(client);
                const durationMs = await applyStep(client, step, options.settings, {
                  onRetry: (_s, attempt, delayMs) => {
                    sub.output = `lock_timeout (${formatDuration(options.settings.lockTimeoutMs)}) hit: another session holds a conflicting lock; retry ${attempt}/${options.settings.lockRetries} in ${formatDuration(delayMs)}`;
                  },
                  onDetail: (lines) => deps.output.warn(lines),
                  onDroppedIndex: (s, dropped, line) =>
                    deps.output.warn(`dropped the INVALID index ${dropped.index} on ${dropped.table} that an earlier failed run of ${s.migration.fileName} left behind; line ${line} builds it again`),
                  observer: options.observer,
                }, deps.signal);
                c.current = undefined;
                c.ran.push({ version: step.migration.version, name: step.migration.name, direction: step.direction, durationMs: Math.round(durationMs) });
                sub.title = `${step.direction === 'up' ? 'applied' : 'rolled back'} ${step.migration.fileName} (${formatDuration(durationMs)})`;
              },
            })),
            { concurrent: false, exitOnError: true },
          ),
      },
    ],
    deps.output,
    deps.signal,
  );
}

/**
 * Lint the up sections of pending migrations, in order, for the connected server's Postgres version,
 * against the database's schema as it is now (column types, constraints, sizes), moved forward by each
 * pending migration in turn. The linter is loaded only here: a release with nothing pending never pays
 * for its start-up.
 */
async function lintPending(client: pg.Client, steps: ValidatedStep[], project: LintProjectSettings | undefined, unsized?: ReadonlySet<string>): Promise<LintRun> {
  const [{ SchemaModel }, { checkRuleConfig, displayPath, lintMigration, summarizeLint }] = await Promise.all([import('../lint/schema-model.js'), import('../lint/lint.js')]);
  await ensureParser();
  checkRuleConfig(project?.ruleConfig);
  const { major } = await readServerVersion(client);
  const pgVersion = majorOrder(major);
  const catalog = await readLintSchema(client);
  // Unmeasured (bytes -1) rather than empty: a finding on such a table keeps its severity.
  if (unsized?.size) catalog.tables = catalog.tables.map((t) => (unsized.has(`${t.schema}.${t.name}`) ? { ...t, rows: -1, bytes: -1 } : t));
  const model = new SchemaModel(catalog);
  const options = { pgVersion, model, smallTable: project?.smallTable, ruleConfig: project?.ruleConfig };
  const files = steps.map((step) => lintMigration(displayPath(step.migration.path), step.migration, options));
  return summarizeLint(files, pgVersion);
}

/** `migrate up`: the app's own command when one is configured, else drydock's runner. */
export async function migrateUp(
  deps: RunnerDeps,
  settings: MigrateSettings,
  options: { to?: string | undefined; dryRun?: boolean | undefined; command?: string | undefined },
): Promise<MigrationRunResult | { command: string }> {
  const url = requireUrl(settings);
  const command = options.command ?? settings.migrateCommand;
  if (command) {
    deps.output.info(`migrate: running the app's migration command: ${command}`);
    await runAppCommand(deps.output, command, 'migration command', url.href);
    return { command };
  }
  const result = await runMigrations(deps, { url, dir: settings.dir, settings: settings.runner, action: { direction: 'up', to: options.to }, dryRun: options.dryRun, lint: settings.lint, lintProject: settings.lintProject });
  warnInvalidIndexes(deps.output, result.invalidIndexes);
  return result;
}

/**
 * One warning per INVALID index: which, on which table, why it matters and the fix. An INVALID index
 * is what a failed `CREATE INDEX CONCURRENTLY` leaves (or one interrupted while it ran): queries do
 * not use it, writes still update it, and building it again under the same name fails until it is dropped.
 */
export function invalidIndexWarnings(indexes: readonly InvalidIndex[]): string[] {
  return indexes.map(
    (i) =>
      `INVALID index ${i.index} on ${i.table}: a CREATE INDEX CONCURRENTLY failed or was interrupted and left it; queries do not use it, writes still update it. ` +
      `Fix: ${i.dropSql}; then build it again (\`drydock migrate\` does both when a pending migration builds it)`,
  );
}

/** Warn about INVALID indexes (see invalidIndexWarnings). */
export function warnInvalidIndexes(output: Pick<Deps['output'], 'warn'>, indexes: readonly InvalidIndex[]): void {
  for (const line of invalidIndexWarnings(indexes)) output.warn(line);
}

/** `migrate down`: the app's rollback command (once per step) when one is configured, else drydock's runner. */
export async function migrateDown(
  deps: RunnerDeps,
  settings: MigrateSettings,
  options: { steps?: number | undefined; to?: string | undefined; dryRun?: boolean | undefined; rollbackCommand?: string | undefined },
): Promise<MigrationRunResult | { command: string; steps: number }> {
  const url = requireUrl(settings);
  const rollback = options.rollbackCommand ?? settings.rollbackCommand;
  if (rollback) {
    if (options.to !== undefined) throw new ConfigError("--to needs drydock's own runner; with a rollback command use --steps N", { hint: 'drydock migrate down --steps 2' });
    const steps = options.steps ?? 1;
    for (let i = 0; i < steps; i++) {
      deps.output.info(`migrate: running the app's rollback command (${i + 1}/${steps}): ${rollback}`);
      await runAppCommand(deps.output, rollback, 'rollback command', url.href);
    }
    return { command: rollback, steps };
  }
  if (options.steps !== undefined && options.to !== undefined) throw new ConfigError('give --steps or --to, not both', { hint: 'drydock migrate down --steps 2' });
  return runMigrations(deps, { url, dir: settings.dir, settings: settings.runner, action: { direction: 'down', steps: options.steps, to: options.to }, dryRun: options.dryRun });
}

/** `migrate status`: every file and every recorded version, with their state, and the database's INVALID indexes. */
export async function migrateStatus(settings: MigrateSettings): Promise<{ rows: MigrationStatus[]; invalidIndexes: InvalidIndex[] }> {
  const files = await loadMigrations(settings.dir);
  const { ledger, invalidIndexes } = await withClient(requireUrl(settings), async (client) => ({ ledger: await readLedger(client), invalidIndexes: await readInvalidIndexDetails(client) }));
  return { rows: migrationStatus(files, ledger.applied, ledger.baseline?.version), invalidIndexes };
}

/** `migrate version`: the newest applied version ("0" when none) and how many are recorded. */
export async function migrateVersion(settings: MigrateSettings): Promise<{ version: string; applied: number }> {
  const applied = await withClient(requireUrl(settings), (client) => readApplied(client));
  return { version: newestApplied(applied), applied: applied.length };
}

/** `migrate create NAME`. */
export async function migrateCreate(settings: MigrateSettings, name: string): Promise<CreatedMigration> {
  return createMigrationFile(settings.dir, name);
}

/** What mark-applied / mark-unapplied did. */
export interface MarkResult {
  version: string;
  changed: boolean;
  /** The file's name (mark-applied). */
  fileName?: string | undefined;
  database: string;
}

/** `migrate mark-applied V [--without-file]`: record a version without running it, under the migration lock. */
export async function migrateMarkApplied(settings: MigrateSettings, version: string, options: { withoutFile?: boolean | undefined } = {}): Promise<MarkResult> {
  const url = requireUrl(settings);
  const file = (await loadMigrations(settings.dir)).find((m) => m.version === version);
  if (!file && !options.withoutFile) {
    throw new ConfigError(`no migration file with version ${version} in ${settings.dir}`, {
      hint: `see \`drydock migrate status\` for the versions; to put back a version another tool (Rails, dbmate) recorded, pass --without-file; to count every version up to one as applied, \`drydock migrate baseline ${isMigrationVersion(version) ? version : 'VERSION'}\``,
    });
  }
  if (!file && !isMigrationVersion(version)) throw new ConfigError(`"${version}" is not a migration version (14 digits)`, { hint: 'Rails and dbmate versions are 14-digit UTC timestamps, e.g. 20260121093000' });
  const changed = await withLockedClient(url, async (client) => {
    await ensureLedger(client);
    return file ? markApplied(client, file) : markAppliedWithoutFile(client, version);
  });
  return { version, changed, fileName: file?.fileName, database: describeDb(url) };
}

/** What mark-unapplied needs beyond the version. */
export interface MarkUnappliedOptions {
  /** Remove a version drydock did not record (another tool's) without asking. */
  force?: boolean | undefined;
  /** Asked, when the version is another tool's and force is not set: true to go ahead. Absent: refuse. */
  confirm?: ((what: string) => Promise<boolean>) | undefined;
}

/**
 * `migrate mark-unapplied V`: remove a version from the ledger without running its down section. A
 * version drydock did not record (Rails', dbmate's, a schema load's) is removed only with force or a
 * confirmation: that tool would run its migration again, and without a file drydock cannot put it back.
 */
export async function migrateMarkUnapplied(settings: MigrateSettings, version: string, options: MarkUnappliedOptions = {}): Promise<MarkResult> {
  const url = requireUrl(settings);
  if (!isMigrationVersion(version)) throw new ConfigError(`"${version}" is not a migration version (14 digits)`, { hint: 'see `drydock migrate status` for the versions' });
  const database = describeDb(url);
  const hasFile = await migrationFileExists(settings.dir, version);
  // Decided (and asked) before taking the lock: a person typing must not hold up other runners.
  const record = (await withClient(url, (client) => readApplied(client))).find((a) => a.version === version);
  if (record?.foreign && !options.force) {
    const what = `this deletes the row version = '${version}' from schema_migrations on ${database}, which another tool (Rails, dbmate, a schema load) recorded, not drydock`;
    if (!(options.confirm && (await options.confirm(what)))) {
      throw new ConfigError(`refusing to remove ${version} from the ledger: drydock did not record it (${what.replace(/^this deletes/, 'it would delete')})`, {
        hint: `nothing changed; that tool would run its migration again. Pass --force if that is what you want${hasFile ? '' : `, and \`drydock migrate mark-applied ${version} --without-file\` to put it back`}`,
      });
    }
  }
  const changed = await withLockedClient(url, (client) => removeApplied(client, version));
  return { version, changed, database };
}

/** Whether the migrations folder has a file for `version` (a missing folder has none). */
async function migrationFileExists(dir: string, version: string): Promise<boolean> {
  try {
    return (await loadMigrations(dir)).some((m) => m.version === version);
  } catch {
    return false;
  }
}

/** What `migrate baseline` did. */
export interface BaselineResult {
  database: string;
  version: string;
  /** The baseline it replaced, if any. */
  previous: string | undefined;
  /** Migration files at or before the baseline that are not applied: they will never run. */
  covered: string[];
  /** Versions recorded by another tool (or without files) that now count as before the baseline. */
  recordedBefore: number;
}

/**
 * `migrate baseline V`: record that every version at or before V counts as applied (an existing
 * database adopting drydock), without files and without running anything.
 */
export async function migrateBaseline(settings: MigrateSettings, version: string): Promise<BaselineResult> {
  const url = requireUrl(settings);
  if (!isMigrationVersion(version)) {
    throw new ConfigError(`"${version}" is not a migration version (14 digits)`, {
      hint: 'pass the newest version the database already has, e.g. the last row of schema_migrations (`drydock migrate status` lists them)',
    });
  }
  // A Rails app may have no SQL migrations folder yet: the baseline needs none.
  const files = existsSync(settings.dir) ? await loadMigrations(settings.dir) : [];
  const { previous, applied } = await withLockedClient(url, async (client) => {
    const before = await readApplied(client);
    const { previous } = await setBaseline(client, version);
    return { previous, applied: before };
  });
  const appliedVersions = new Set(applied.map((a) => a.version));
  const fileVersions = new Set(files.map((f) => f.version));
  return {
    database: describeDb(url),
    version,
    previous: previous === version ? undefined : previous,
    covered: files.filter((f) => coveredByBaseline(f.version, version) && !appliedVersions.has(f.version)).map((f) => f.fileName),
    recordedBefore: applied.filter((a) => compareVersions(a.version, version) <= 0 && !fileVersions.has(a.version)).length,
  };
}

function withLockedClient<T>(url: DbUrl, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(url, (client) => withAdvisoryLock(client, MIGRATION_LOCK_KEY, () => fn(client), { purpose: 'migration' }));
}

/** The database of migrate settings resolved with a URL. */
export function requireUrl(settings: MigrateSettings): DbUrl {
  if (!settings.url) throw new ConfigError('no database given: DATABASE_URL is not set', { hint: 'set DATABASE_URL or pass --url postgres://…' });
  return settings.url;
}
