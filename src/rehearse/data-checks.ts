/**
 * `drydock rehearse`'s data checks: before each migration runs on the copy, count the existing rows
 * that would make its statements fail (duplicates under a new unique index, NULLs under SET NOT
 * NULL, values that do not fit a new type, rows a CHECK or a foreign key rejects). The predictions
 * are reconciled with what running the migration really did by src/rehearse/data-check-report.ts.
 *
 * The checks run on their own connection, each in a READ ONLY transaction with a statement_timeout
 * and a short lock_timeout, before the migration's watch starts: they never count in its measured
 * time or locks, and their own time is reported apart. Which checks and their SQL:
 * src/rehearse/data-check-plan.ts (pure).
 */
import { DrydockError } from '../errors.js';
import { formatDuration } from '../format.js';
import type { MigrationFile } from '../migrate/types.js';
import { cancelOnAbort, withClient } from '../pg/client.js';
import { readDataCheckCatalog, runDataCheckQuery } from '../pg/queries/data-checks.js';
import { readLintSchema } from '../pg/queries/lint-schema.js';
import { readServerVersion } from '../pg/queries/server-facts.js';
import { describeDb, type DbUrl } from '../pg/url.js';
import { majorOrder } from '../pg/version.js';
import { mask } from '../redact.js';
import { ensureParser } from '../sql/parse.js';
import { showSampleValue, type DataCheck, type DataChecksRun, type DataCheckSample } from './data-check-report.js';
import { planDataChecks, type DataCheckPlan } from './data-check-plan.js';

/** How the checks run. */
export interface DataCheckOptions {
  /** statement_timeout of each check (default 30 s): a check that takes longer is reported not checked. */
  statementTimeoutMs?: number | undefined;
  /** lock_timeout of each check (default 500 ms): a check never waits behind a lock. */
  lockTimeoutMs?: number | undefined;
  /** Cancels a running check (Ctrl-C). */
  signal?: AbortSignal | undefined;
}

export const DEFAULT_DATA_CHECK_TIMEOUT_MS = 30_000;
const DEFAULT_LOCK_TIMEOUT_MS = 500;

const QUERY_CANCELED = '57014';
const LOCK_NOT_AVAILABLE = '55P03';

function samplesOf(plan: DataCheckPlan, rows: unknown[][]): DataCheckSample[] {
  return rows.map((row) => (plan.check === 'unique' ? { values: row.slice(0, -1).map(showSampleValue), count: Number(row[row.length - 1]) } : { values: row.map(showSampleValue) }));
}

/** Run one planned check on `client`. Errors of the query become notes; a lost connection is thrown. */
async function runCheck(client: Parameters<typeof runDataCheckQuery>[0], plan: DataCheckPlan, options: DataCheckOptions): Promise<DataCheck> {
  const { sql, mode: _mode, note, ...rest } = plan;
  const base = { ...rest, query: sql, samples: [] as DataCheckSample[] };
  if (sql === undefined) return { ...base, violations: null, prediction: 'unknown', note, ms: 0 };
  const timeoutMs = options.statementTimeoutMs ?? DEFAULT_DATA_CHECK_TIMEOUT_MS;
  const started = performance.now();
  const ms = (): number => Math.round(performance.now() - started);
  try {
    const row = await runDataCheckQuery(client, sql, { statementTimeoutMs: timeoutMs, lockTimeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS });
    if (plan.mode === 'conversion') return { ...base, violations: 0, prediction: 'passes', ms: ms() };
    return { ...base, violations: row.violations, groups: row.groups ?? undefined, samples: samplesOf(plan, row.samples), prediction: row.violations > 0 ? 'fails' : 'passes', ms: ms() };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || options.signal?.aborted) throw error;
    const message = mask((error as Error).message);
    if (code === QUERY_CANCELED) return { ...base, violations: null, prediction: 'unknown', note: `not checked: timed out after ${formatDuration(timeoutMs)}`, ms: ms() };
    if (code === LOCK_NOT_AVAILABLE) return { ...base, violations: null, prediction: 'unknown', note: `not checked: another session holds a lock on ${plan.table}`, ms: ms() };
    // A data exception (class 22) while reading the values: converting or evaluating them fails, as the statement would.
    if (code.startsWith('22')) return { ...base, violations: null, prediction: 'fails', error: message, ms: ms() };
    return { ...base, violations: null, prediction: 'unknown', note: `not checked: the check's query failed: ${message} (SQLSTATE ${code})`, ms: ms() };
  }
}

/**
 * Plan and run the data checks of `migration` on the copy at `url`, as it is right before the
 * migration runs. Each check is read-only and bounded by its timeouts.
 */
export async function runDataChecks(url: DbUrl, migration: MigrationFile, options: DataCheckOptions = {}): Promise<DataChecksRun> {
  const started = performance.now();
  await ensureParser();
  return withClient(
    url,
    async (client) => {
      const stop = cancelOnAbort(url, client, options.signal);
      try {
        let read;
        try {
          // The catalog read sizes every table (an ACCESS SHARE lock each): bounded like the checks.
          await client.query(`SET statement_timeout = ${Math.round(options.statementTimeoutMs ?? DEFAULT_DATA_CHECK_TIMEOUT_MS)}; SET lock_timeout = ${Math.round(options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS)}`);
          read = { catalog: await readLintSchema(client), extras: await readDataCheckCatalog(client), version: await readServerVersion(client) };
        } catch (error) {
          if (typeof (error as { code?: unknown }).code !== 'string' || options.signal?.aborted) throw error;
          throw new DrydockError(`could not read the catalog of ${describeDb(url)} for the data checks: ${mask((error as Error).message)}`, {
            hint: 'another session holds a lock on one of its tables (see pg_stat_activity): end it and rehearse again',
            cause: error,
          });
        }
        const { catalog, extras, version } = read;
        const plans = planDataChecks(migration, { catalog, ...extras, pgVersion: majorOrder(version.major) });
        const checks: DataCheck[] = [];
        for (const plan of plans) {
          options.signal?.throwIfAborted();
          checks.push(await runCheck(client, plan, options));
        }
        return { checks, ms: Math.round(performance.now() - started) };
      } finally {
        await stop();
      }
    },
    { applicationName: 'drydock rehearse data checks' },
  );
}

