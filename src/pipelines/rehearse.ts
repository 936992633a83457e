/**
 * `drydock rehearse`: run the pending migrations on a production copy exactly as `release` would
 * (same runner, timeouts, retries; lint in warn mode against the copy's catalog), one at a time, and
 * measure what production would feel; then prove the down sections undo them; then reset the copy.
 *
 * 1. Reset the working database from its pristine snapshot (the one `drydock pull` keeps); when there
 *    is none or it is older than --max-age, pull a fresh copy with -a APP / --from-url, else refuse
 *    (pipelines/rehearse-copy.ts).
 * 2. For each pending migration: first count the existing rows its statements would fail on (read-only
 *    data checks, rehearse/data-checks.ts); then watch its locks and probe its tables (rehearse/watch.ts),
 *    measure each statement (rehearse/recorder.ts), note INVALID indexes and NOT VALID constraints it
 *    left, and reconcile the checks' predictions with what happened.
 * 3. Reversibility: roll back newest first, one at a time, down to the newest irreversible migration;
 *    after each the schema must equal the schema before that migration; then apply them again and the
 *    schema must equal the schema after the first pass.
 * 4. Fresh database (pipelines/rehearse-fresh.ts, unless --no-fresh): build the schema from zero on a
 *    scratch database as a review app would and compare it with the copy.
 * 5. Reset the working database to the snapshot again, unless --keep.
 */
import { appendFile } from 'node:fs/promises';

import type { Deps } from '../deps.js';
import { DrydockError, InterruptedError, interruptedBy, MigrationError } from '../errors.js';
import { formatDuration } from '../format.js';
import { loadMigrations } from '../migrate/files.js';
import { LEDGER_OBJECT } from '../migrate/ledger.js';
import { withClient } from '../pg/client.js';
import { readInvalidIndexDetails } from '../pg/queries/indexes.js';
import { readNotValidConstraints, readRelations, readTempFiles } from '../pg/queries/rehearse.js';
import { describeDb, withDatabase, type DbUrl } from '../pg/url.js';
import { FRESH_WITH_COMMAND_NOT_DONE, rehearseCommand } from '../rehearse/command-run.js';
import { reconcileDataChecks } from '../rehearse/data-check-report.js';
import { runDataChecks } from '../rehearse/data-checks.js';
import { StatementRecorder } from '../rehearse/recorder.js';
import {
  exitCodeOf,
  migrationReport,
  renderRehearsalMarkdown,
  type MigrationMeasurements,
  type MigrationReport,
  type RehearsalReport,
  type ReversibilityProblem,
} from '../rehearse/report.js';
import { MigrationWatch, type WatchOptions } from '../rehearse/watch.js';
import { PRISTINE } from '../rehearse/copy.js';
import { markWithoutData, notRepresentativeNote, type CopyTables } from '../rehearse/without-data.js';
import { dumpSchema, writeFileAtomic } from '../schema/dump.js';
import { objectDiff } from '../schema/objects.js';
import type { MigrateSettings } from '../settings.js';
import { runMigrations, type MigrationRunOptions } from './migrate.js';
import { checkFreshDatabase } from './rehearse-fresh.js';
import { copyTables, localServerUrl, prepareCopy, type CopyRequest } from './rehearse-copy.js';
import { restoreSnapshot, type SnapshotFlags } from './snapshot.js';

export { PRISTINE };

export interface RehearseOptions extends CopyRequest {
  /** A probe that waits this long (ms) makes a migration `blocking`. */
  blockThresholdMs: number;
  /** Leave the working database as the rehearsal left it. */
  keep: boolean;
  /** Write the Markdown report here. */
  reportFile?: string | undefined;
  /** Build a fresh database from the history and compare it with the copy (false: --no-fresh). */
  fresh?: boolean | undefined;
  /** The fresh database's schema file (--schema, DRYDOCK_SCHEMA_FILE), and whether it was named on the command line (then it must exist). */
  schema?: string | undefined;
  schemaRequired?: boolean | undefined;
  /** Lock poll / probe tuning (tests). */
  watch?: WatchOptions | undefined;
  /** statement_timeout of each data check (default 30 s). */
  dataCheckTimeoutMs?: number | undefined;
  /** Rehearse this framework's migration command through drydock's proxy instead of drydock's migrations (--command, drydock.json migrateCommand). */
  command?: string | undefined;
  /** Its rollback command, to check reversibility (--rollback-command, drydock.json rollbackCommand). */
  rollbackCommand?: string | undefined;
}

/** deps for the migration runs rehearse makes: their task lists and progress lines are debug output (rehearse says what it does). */
export function quiet(deps: Deps): Deps {
  return { ...deps, output: deps.output.quieter() };
}

/** Rehearse the pending migrations of `settings.dir` on the working database `flags.to`. */
export async function rehearse(deps: Deps, settings: MigrateSettings, options: RehearseOptions): Promise<RehearsalReport> {
  const snapshotFlags: SnapshotFlags = { to: options.to, local: options.local, localSource: options.localSource };
  // Reset from the pristine snapshot (or pull): whatever an earlier (killed, or --keep) rehearsal left is gone.
  const made = await prepareCopy(deps, options);
  const url = withDatabase(await localServerUrl(deps, snapshotFlags), made.database);
  const tables = await copyTables(url, made);
  const copy = tables.withoutData.size ? { ...made, withoutData: [...tables.withoutData] } : made;
  let resetAfterwards = false;
  try {
    const body = options.command
      ? { ...(await rehearseCommand(deps, settings, { ...options, command: options.command, copyTables: tables }, url)), freshDatabase: { checked: false as const, ok: null, differences: [], note: FRESH_WITH_COMMAND_NOT_DONE } }
      : await rehearseOn(deps, settings, options, url, tables);
    if (!options.keep) {
      await restoreSnapshot(deps, PRISTINE, snapshotFlags);
      resetAfterwards = true;
    }
    const report: RehearsalReport = { copy, thresholdMs: options.blockThresholdMs, ...body, resetAfterwards, exitCode: exitCodeOf(body.migrations, body.reversible.ok, body.freshDatabase.ok) };
    await writeReports(deps, options, report);
    return report;
  } catch (error) {
    const by = interruptedBy(deps.signal);
    if (by) {
      throw new InterruptedError(by, `interrupted (${by}): the rehearsal on ${copy.database} stopped: a statement it was running was cancelled and its sessions (migration, lock poller, probes) are closed; ${copy.database} is left as the rehearsal had it`, {
        hint: `the next \`drydock rehearse\` resets it first; or reset it now: \`drydock snapshot restore ${PRISTINE} --to ${copy.database}\``,
        cause: error,
      });
    }
    if (!options.keep && !resetAfterwards) await restoreSnapshot(deps, PRISTINE, snapshotFlags).catch(() => deps.output.warn(`could not reset ${copy.database} to its ${PRISTINE} snapshot: run \`drydock snapshot restore ${PRISTINE} --to ${copy.database}\``));
    throw error;
  }
}

type Body = Pick<RehearsalReport, 'migrations' | 'notRun' | 'reversible' | 'freshDatabase'>;

async function rehearseOn(deps: Deps, settings: MigrateSettings, options: RehearseOptions, url: DbUrl, tables: CopyTables): Promise<Body> {
  const base: Omit<MigrationRunOptions, 'action'> = { url, dir: settings.dir, settings: settings.runner };
  const files = await loadMigrations(settings.dir);
  const plan = await runMigrations(quiet(deps), { ...base, action: { direction: 'up' }, dryRun: true });
  const pending = plan.planned;
  deps.output.info(`rehearse: ${pending.length} pending migration(s) on ${describeDb(url)}`);

  const schemas = [await dumpSchema(deps.pgTools, url)];
  const migrations: MigrationReport[] = [];
  let failedAt: number | undefined;
  for (const [i, p] of pending.entries()) {
    const file = files.find((f) => f.version === p.version)!;
    // Before the watch starts: the checks' reads never count in the migration's time or locks.
    const dataChecks = await runDataChecks(url, file, { signal: deps.signal, statementTimeoutMs: options.dataCheckTimeoutMs });
    const predicting = dataChecks.checks.filter((c) => c.prediction === 'fails').length;
    if (dataChecks.checks.length) deps.output.info(`rehearse: ${dataChecks.checks.length} data check(s) of ${file.fileName} in ${formatDuration(dataChecks.ms)}${predicting ? `: ${predicting} predict(s) a failure` : ''}`);
    const { existing, invalidBefore, notValidBefore, tempBefore } = await withClient(url, async (client) => ({
      existing: await readRelations(client),
      tempBefore: await readTempFiles(client),
      invalidBefore: await readInvalidIndexDetails(client),
      notValidBefore: await readNotValidConstraints(client),
    }));
    const watch = await MigrationWatch.start(url, existing, options.watch);
    const recorder = new StatementRecorder(watch, existing);
    const findings: MigrationMeasurements['findings'] = [];
    let failure: MigrationMeasurements['failure'];
    let failedSqlstate: string | undefined;
    const started = performance.now();
    try {
      deps.output.info(`rehearse: applying ${file.fileName}`);
      await runMigrations(quiet(deps), {
        ...base,
        action: { direction: 'up', to: p.version },
        lint: 'warn',
        lintProject: settings.lintProject,
        lintUnsizedTables: tables.withoutData,
        observer: recorder,
        onLint: (run) => findings.push(...run.findings.map((f) => ({ rule: f.rule, severity: f.severity, line: f.line, message: f.message }))),
      });
    } catch (error) {
      if (!(error instanceof MigrationError)) {
        await watch.stop().catch(() => undefined);
        throw error;
      }
      failure = { message: error.message, details: [...error.details] };
      failedSqlstate = error.sqlstate;
    }
    const durationMs = performance.now() - started;
    const seen = await watch.stop();
    const leftBehind = await withClient(url, async (client) => {
      const invalid = new Set(invalidBefore.map((x) => x.index));
      const notValid = new Set(notValidBefore);
      return {
        invalidIndexes: (await readInvalidIndexDetails(client)).filter((x) => !invalid.has(x.index)).map((x) => `${x.index} on ${x.table}`),
        notValidConstraints: (await readNotValidConstraints(client)).filter((c) => !notValid.has(c)),
        temp: await readTempFiles(client),
      };
    });
    const tempFiles = recorder.canCountTempFiles && !failure ? { files: leftBehind.temp.files - tempBefore.files, bytes: leftBehind.temp.bytes - tempBefore.bytes } : undefined;
    const predicted = reconcileDataChecks(dataChecks.checks, failure ? { line: recorder.statements.findLast((s) => s.failed)?.line, sqlstate: failedSqlstate } : undefined);
    const report = markWithoutData(migrationReport({ version: p.version, name: p.name, file: file.fileName, irreversible: file.irreversible, durationMs, statements: recorder.statements, watch: seen, leftBehind: { invalidIndexes: leftBehind.invalidIndexes, notValidConstraints: leftBehind.notValidConstraints }, tempFiles, findings, failure, dataChecks: { checks: predicted.checks, ms: dataChecks.ms }, failureCause: predicted.cause }, options.blockThresholdMs), seen.waits, tables, options.blockThresholdMs);
    migrations.push(report);
    deps.output.info(`rehearse: ${report.verdict}: ${file.fileName}: ${report.reason}`);
    for (const t of report.notRepresentative ?? []) deps.output.warn(`rehearse: ${file.fileName}: ${notRepresentativeNote(t)}`);
    if (failure) {
      failedAt = i;
      break;
    }
    schemas.push(await dumpSchema(deps.pgTools, url));
  }
  const applied = migrations.filter((m) => !m.failure);
  const reversible = await checkReversible(deps, base, applied, files, schemas);
  const notRun = failedAt === undefined ? [] : pending.slice(failedAt + 1);
  const fresh = await checkFreshDatabase(deps, settings, { url, files, migrations, notRun, schemas, thresholdMs: options.blockThresholdMs, enabled: options.fresh !== false, schema: options.schema, schemaRequired: options.schemaRequired });
  return { migrations: fresh.migrations, notRun, reversible, freshDatabase: fresh.freshDatabase };
}

/** What differs between two dumps, as readable problems (ledger objects aside). */
function differences(expected: string, actual: string, migration: string, after: string): ReversibilityProblem[] {
  const d = objectDiff(expected, actual);
  return [
    ...d.removed.map((object) => ({ migration, object, problem: `${object} is missing ${after}` })),
    ...d.added.map((object) => ({ migration, object, problem: `${object} is still there ${after}` })),
    ...d.changed.map((object) => ({ migration, object, problem: `${object} differs ${after}` })),
  ].filter((p) => !LEDGER_OBJECT.test(p.object));
}

/**
 * Roll back the applied migrations newest first, one at a time, stopping at the newest irreversible
 * one; after each, the schema must be the schema from before it. Then apply them again: the schema
 * must be the schema after the first pass.
 */
async function checkReversible(deps: Deps, base: Omit<MigrationRunOptions, 'action'>, applied: MigrationReport[], files: Awaited<ReturnType<typeof loadMigrations>>, schemas: string[]): Promise<RehearsalReport['reversible']> {
  const lastIrreversible = applied.map((m) => files.find((f) => f.version === m.version)!.irreversible).lastIndexOf(true);
  const toCheck = applied.slice(lastIrreversible + 1);
  const skipped = applied.slice(0, lastIrreversible + 1).map((m) => m.file);
  const problems: ReversibilityProblem[] = [];
  const checked: string[] = [];
  if (!toCheck.length) return { ok: true, checked, skipped, problems };
  for (let i = applied.length - 1; i > lastIrreversible; i--) {
    const m = applied[i]!;
    try {
      deps.output.info(`rehearse: rolling back ${m.file}`);
      await runMigrations(quiet(deps), { ...base, action: { direction: 'down', steps: 1 } });
    } catch (error) {
      if (!(error instanceof MigrationError)) throw error;
      problems.push({ migration: m.file, object: 'down section', problem: `its down section failed: ${error.message}${error.details.length ? ` (${error.details.join('; ')})` : ''}` });
      return { ok: false, checked, skipped, problems };
    }
    checked.push(m.file);
    // What a newer migration's down section left is still there: blame it on that one only.
    const blamed = new Set(problems.map((p) => p.object));
    problems.push(...differences(schemas[i]!, await dumpSchema(deps.pgTools, base.url), m.file, `after its down section ran (compared with the schema before it)`).filter((p) => !blamed.has(p.object)));
  }
  try {
    deps.output.info(`rehearse: applying ${toCheck.length === 1 ? 'it' : 'them'} again`);
    await runMigrations(quiet(deps), { ...base, action: { direction: 'up', to: applied[applied.length - 1]!.version } });
  } catch (error) {
    if (!(error instanceof MigrationError)) throw error;
    problems.push({ migration: toCheck.map((m) => m.file).join(', '), object: 'up section', problem: `applying again after the rollback failed: ${error.message}` });
    return { ok: false, checked, skipped, problems };
  }
  const again = await dumpSchema(deps.pgTools, base.url);
  const first = schemas[applied.length]!;
  problems.push(...differences(first, again, toCheck.map((m) => m.file).join(', '), 'after down and up again (compared with the schema after the first up)'));
  return { ok: problems.length === 0, checked, skipped, problems };
}

/** --report FILE.md, and the GitHub Actions job summary when GITHUB_STEP_SUMMARY is set. */
async function writeReports(deps: Deps, options: RehearseOptions, report: RehearsalReport): Promise<void> {
  const markdown = renderRehearsalMarkdown(report);
  try {
    if (options.reportFile) await writeFileAtomic(options.reportFile, markdown);
    if (deps.settings.githubStepSummary) await appendFile(deps.settings.githubStepSummary, `${markdown}\n`);
  } catch (error) {
    throw new DrydockError(`could not write the rehearsal report: ${(error as Error).message}`, { cause: error });
  }
}
