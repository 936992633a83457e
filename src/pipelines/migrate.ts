/**
 * The migration pipeline: read files, connect, take the runner lock, plan, validate, lint (up, when
 * asked), apply one by one. Used by `migrate`, `migrate down`, `release` and `postdeploy`.
 */
import { basename } from 'node:path';

import type pg from 'pg';

import type { Deps } from '../deps.js';
import { ChecksFailed } from '../errors.js';
import type { LintRun } from '../lint/lint.js';
import { loadMigrations } from '../migrate/files.js';
import { ensureLedger, readApplied } from '../migrate/ledger.js';
import { outOfOrder, planDown, planUp } from '../migrate/plan.js';
import { applyStep, validateSteps, type RunnerSettings, type ValidatedStep } from '../migrate/runner.js';
import type { AppliedMigration, MigrationFile } from '../migrate/types.js';
import { connect } from '../pg/client.js';
import { acquireAdvisoryLock, MIGRATION_LOCK_KEY, releaseAdvisoryLock } from '../pg/lock.js';
import { readServerVersion } from '../pg/queries/server-facts.js';
import { describeDb, type DbUrl } from '../pg/url.js';
import { majorOrder } from '../pg/version.js';
import type { LintMode } from '../project-config.js';
import { ensureParser } from '../sql/parse.js';
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
}

interface Ctx {
  files?: MigrationFile[];
  client?: pg.Client;
  locked?: boolean;
  applied?: AppliedMigration[];
  steps?: ValidatedStep[];
  lint?: LintRun;
  ran: StepResult[];
}

/** Run migrations up or down under the runner's advisory lock. */
export async function runMigrations(deps: Deps, options: MigrationRunOptions): Promise<MigrationRunResult> {
  const { action } = options;
  const target = describeDb(options.url);
  const ctx: Ctx = { ran: [] };
  const pipeline = createPipeline<Ctx>(
    [
      {
        title: `Read migrations from ${options.dir}`,
        task: async (c, task) => {
          c.files = await loadMigrations(options.dir);
          task.title = `Read ${c.files.length} migration file(s) from ${options.dir}`;
        },
      },
      {
        title: `Connect to ${target}`,
        task: async (c) => {
          c.client = await connect(options.url, { retryForMs: options.connectRetryMs ?? 0, applicationName: 'drydock migrate' });
        },
      },
      {
        title: 'Take the migration lock',
        task: async (c, task) => {
          await acquireAdvisoryLock(c.client!, MIGRATION_LOCK_KEY, {
            waitMs: options.lockWaitMs,
            purpose: 'migration',
            onWait: (holder) => {
              task.output = holder ? `waiting for another migration runner (pid ${holder.pid}, ${holder.applicationName || 'unknown'})` : 'waiting for another migration runner';
              task.title = `Take the migration lock (${task.output})`;
            },
          });
          c.locked = true;
          task.title = 'Took the migration lock';
        },
      },
      {
        title: 'Plan',
        task: async (c, task) => {
          if (action.direction === 'up' && !options.dryRun) await ensureLedger(c.client!);
          c.applied = await readApplied(c.client!);
          const plan = action.direction === 'up' ? planUp(c.files!, c.applied, { to: action.to }) : planDown(c.files!, c.applied, { steps: action.steps, to: action.to });
          c.steps = await validateSteps(plan);
          if (action.direction === 'up') {
            const late = outOfOrder(c.files!, c.applied);
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
          c.lint = await lintPending(c.client!, c.steps!);
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
          task.title = `Lint: ${run.errors} error(s), ${run.warnings} warning(s) in ${count}${run.errors ? ' (applying anyway: lint mode warn)' : ''}`;
        },
      },
      {
        title: action.direction === 'up' ? 'Apply migrations' : 'Roll back migrations',
        skip: (c) => (options.dryRun ? 'dry run' : !c.steps?.length ? 'nothing to do' : false),
        task: (c, task) =>
          task.newListr(
            c.steps!.map((step) => ({
              title: `${step.direction === 'up' ? 'apply' : 'roll back'} ${step.migration.fileName}${step.section.transaction ? '' : ' (no transaction)'}`,
              task: async (_c: Ctx, sub) => {
                const durationMs = await applyStep(c.client!, step, options.settings, {
                  onRetry: (_s, attempt, delayMs) => {
                    sub.output = `lock_timeout (${options.settings.lockTimeoutMs} ms) hit: another session holds a conflicting lock; retry ${attempt}/${options.settings.lockRetries} in ${(delayMs / 1000).toFixed(1)} s`;
                  },
                  onDetail: (lines) => deps.output.warn(lines),
                });
                c.ran.push({ version: step.migration.version, name: step.migration.name, direction: step.direction, durationMs: Math.round(durationMs) });
                sub.title = `${step.direction === 'up' ? 'applied' : 'rolled back'} ${step.migration.fileName} (${formatMs(durationMs)})`;
              },
            })),
            { concurrent: false, exitOnError: true },
          ),
      },
    ],
    deps.output,
  );
  try {
    await pipeline.run(ctx);
    const applied = ctx.client ? await readApplied(ctx.client) : [];
    return {
      database: target,
      direction: action.direction,
      planned: (ctx.steps ?? []).map((s) => ({ version: s.migration.version, name: s.migration.name })),
      ran: ctx.ran,
      version: applied.length ? applied[applied.length - 1]!.version : '0',
      dryRun: Boolean(options.dryRun),
      lint: ctx.lint ? { pgVersion: ctx.lint.pgVersion, errors: ctx.lint.errors, warnings: ctx.lint.warnings } : undefined,
    };
  } finally {
    if (ctx.client) {
      if (ctx.locked) await releaseAdvisoryLock(ctx.client, MIGRATION_LOCK_KEY);
      await ctx.client.end().catch(() => undefined);
    }
  }
}

/**
 * Lint the up sections of pending migrations, in order, for the connected server's Postgres version.
 * The linter is loaded only here: a release with nothing pending never pays for its start-up.
 */
async function lintPending(client: pg.Client, steps: ValidatedStep[]): Promise<LintRun> {
  const [{ SchemaMemory }, { displayPath, lintMigration, summarizeLint }] = await Promise.all([import('../lint/context.js'), import('../lint/lint.js')]);
  await ensureParser();
  const { major } = await readServerVersion(client);
  const pgVersion = majorOrder(major);
  const memory = new SchemaMemory();
  const files = steps.map((step) => lintMigration(displayPath(step.migration.path), step.migration, { pgVersion, memory }));
  return summarizeLint(files, pgVersion);
}

/** "12 ms", "1.4 s". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
