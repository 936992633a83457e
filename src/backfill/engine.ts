/**
 * Runs a backfill on one connection: checks the table and the change, decides whether it starts or
 * resumes, then walks the primary key in batches, each one short transaction:
 *
 *   the batch's upper bound (the next N keys after the cursor, an index range scan; locks no row)
 *   BEGIN; SET LOCAL lock_timeout, statement_timeout
 *   UPDATE … WHERE key > cursor AND key <= bound AND (--where)
 *   record the bound and the counts in drydock_backfills (+ read the WAL position and who waits on us)
 *   COMMIT
 *
 * Progress commits with the batch, so a backfill killed at any moment (SIGKILL, a dyno restart)
 * resumes exactly after its last committed batch: no row is updated twice and none is skipped.
 * A batch that hits lock_timeout or statement_timeout is rolled back and retried smaller after a
 * backoff; on SIGINT/SIGTERM the batch in flight finishes (it is short by construction), then the run stops.
 *
 * Rows inserted while it runs are visited when their key is above the cursor (serial and identity
 * keys: new rows land ahead of it) and not when below (random UUIDs): the app must write the new
 * value for new rows itself, which is the usual order (deploy the code, then backfill the old rows).
 * --where is evaluated when the batch runs, on the row as it is then.
 */
import type pg from 'pg';

import { DrydockError, InterruptedError, interruptedBy, type InterruptSignal } from '../errors.js';
import { formatDuration } from '../format.js';
import { mayLeave, sleep } from '../interrupt.js';
import {
  ensureProgressTable,
  estimateMatchingRows,
  explainStatement,
  finishProgress,
  readBackfillTable,
  readProgress,
  readWalPosition,
  RECORD_BATCH,
  startProgress,
  type BackfillProgress,
  type BackfillTable,
} from '../pg/queries/backfill.js';
import { batchSql, boundKey, describeBatchSql, type KeysetTable } from './keyset.js';
import { firstBatchSize, nextBatchSize, pauseAfter, retryBatchSize, rowCost, retryDelay, walBytesBetween, type PaceSettings, type PauseReason } from './pace.js';
import { changeDifferences, changeFingerprint, type CheckedChange } from './spec.js';

/** A backfill's settings, resolved (settings.ts resolveBackfillSettings). */
export interface BackfillSettings {
  pace: PaceSettings;
  /** lock_timeout of each batch (ms). */
  lockTimeoutMs: number;
  /** statement_timeout of each batch's statements (ms). */
  statementTimeoutMs: number;
  /** Consecutive timed-out attempts of one batch before giving up. */
  lockRetries: number;
}

/** Start, resume, or (migrations) resume when the same backfill is unfinished and start otherwise. */
export type ResumeMode = 'start' | 'resume' | 'auto';

/** What to run. */
export interface BackfillRequest {
  change: CheckedChange;
  settings: BackfillSettings;
  mode: ResumeMode;
  /** Abandon an unfinished backfill of the table and start over. */
  restart?: boolean | undefined;
}

/** The table, checked, and what a run would do. */
export interface BackfillPlan {
  table: string;
  key: string[];
  set: string;
  where: string | null;
  /** pg_class.reltuples (null: never analyzed). */
  estimatedRows: number | null;
  /** The planner's estimate of the rows --where matches (estimatedRows without --where). */
  estimatedMatching: number | null;
  /** Batches of a fixed --batch-size over the estimated rows (null when batches adapt to --batch-time). */
  estimatedBatches: number | null;
  /** "adapts to 200 ms per batch, starting at 1000 rows" or "1000 rows per batch". */
  batching: string;
  /** The statements of one batch. */
  sql: string;
  /** start: from the first key; resume: after `resumeAfter`; finished: the same backfill already finished. */
  action: 'start' | 'resume' | 'finished';
  /** The key the run would continue after (resume). */
  resumeAfter: string[] | null;
  /** Rows already done by earlier runs (resume). */
  doneBefore: { rowsUpdated: number; rowsScanned: number; batches: number } | null;
  /** Whether the progress table exists yet. */
  progressTableExists: boolean;
}

/** One batch done (after commit). */
export interface BatchReport {
  batch: number;
  size: number;
  scanned: number;
  updated: number;
  elapsedMs: number;
  /** Totals of this run. */
  rowsUpdated: number;
  rowsScanned: number;
  /** Totals including earlier runs (resume). */
  totalScanned: number;
  estimatedRows: number | null;
  /** Ms since this run started. */
  runMs: number;
  pauseMs: number;
  pauseReason: PauseReason | undefined;
  lastKey: string[];
}

/** What a run reports as it goes. */
export interface BackfillEvents {
  onPlan?(plan: BackfillPlan): void;
  onBatch?(report: BatchReport): void;
  /** A batch hit a timeout and is retried smaller after `delayMs`. */
  onRetry?(attempt: number, delayMs: number, reason: string, nextSize: number): void;
}

/** A finished run. */
export interface BackfillResult {
  table: string;
  key: string[];
  set: string;
  where: string | null;
  /** Continued an earlier run. */
  resumed: boolean;
  /** The same backfill had already finished: nothing ran. */
  alreadyFinished: boolean;
  /** Counts of this run. */
  rowsUpdated: number;
  rowsScanned: number;
  batches: number;
  /** Including earlier runs. */
  totalRowsUpdated: number;
  durationMs: number;
  rowsPerSecond: number;
  /** The longest batch, BEGIN to COMMIT: the longest any row lock was held (ms). */
  longestBatchMs: number;
  medianBatchMs: number;
  batchSize: { first: number; last: number; max: number };
  pausedMs: number;
  /** Pauses made longer by the WAL cap, by sessions waiting on a batch; batches retried after a timeout. */
  walPauses: number;
  lockWaitPauses: number;
  retries: number;
  walBytes: number | null;
}

const LOCK_NOT_AVAILABLE = '55P03';
const QUERY_CANCELED = '57014';

/** The advisory lock that keeps two backfills off one table: "dfil" and the table's oid. */
function lockKey(oid: number): string {
  return ((0x6466696cn << 32n) | BigInt(oid)).toString();
}

/** Read the table and the change and decide what a run would do; changes nothing (no table is created). */
export async function planBackfill(client: pg.ClientBase, request: BackfillRequest): Promise<{ plan: BackfillPlan; table: BackfillTable; progress: BackfillProgress | undefined; keyset: KeysetTable }> {
  const { change } = request;
  const table = await readBackfillTable(client, change.table);
  if (!table) {
    throw new DrydockError(`table ${change.table} does not exist`, { hint: 'name the table as SQL does (users, app.users, "Order Items"); the search_path of the connection applies; nothing was changed' });
  }
  if (table.kind !== 'r' && table.kind !== 'p') {
    const what = { v: 'a view', m: 'a materialized view', f: 'a foreign table', S: 'a sequence', i: 'an index' }[table.kind] ?? `not a table (relkind ${table.kind})`;
    throw new DrydockError(`${table.name} is ${what}: backfill updates the rows of a table`, { hint: 'name the table whose rows to update; nothing was changed' });
  }
  if (!table.key.length) {
    throw new DrydockError(`${table.name} has no primary key: backfill walks a table in primary-key order (keyset batches), which needs a unique, non-null key to know where each batch ends and where a stopped run resumes`, {
      hint: `add one first (ALTER TABLE ${table.name} ADD PRIMARY KEY (…), built from a unique index made CONCURRENTLY), or update it in hand-written batches; nothing was changed`,
    });
  }
  const missing = change.columns.filter((c) => !table.columns.includes(c));
  if (missing.length) {
    throw new DrydockError(`--set assigns ${missing.map((c) => `"${c}"`).join(', ')}, which ${missing.length > 1 ? 'are not columns' : 'is not a column'} of ${table.name}`, {
      hint: `the columns of ${table.name} are ${table.columns.join(', ')}; nothing was changed`,
    });
  }
  const keyNames = table.key.map((k) => k.name);
  const keyAssigned = change.columns.filter((c) => keyNames.includes(c));
  if (keyAssigned.length) {
    throw new DrydockError(`--set assigns the primary key column ${keyAssigned.join(', ')} of ${table.name}: the batches walk that key, so changing it would move rows past or behind the cursor`, {
      hint: 'update the key some other way (a new column, then a swap); nothing was changed',
    });
  }
  const keyset: KeysetTable = { table: table.name, key: table.key, set: change.set, where: change.where };
  // Postgres checks the columns, types and functions of --set and --where by planning the UPDATE (not running it).
  try {
    await explainStatement(client, batchSql(keyset, true).update, table.key.map(() => null));
  } catch (error) {
    const e = error as Error & { code?: string };
    if (!e.code) throw error;
    throw new DrydockError(`--set${change.where !== undefined ? '/--where' : ''} cannot update ${table.name}: ${e.message} (SQLSTATE ${e.code})`, {
      hint: 'fix the expression (Postgres planned the UPDATE without running it); nothing was changed',
      cause: error,
    });
  }
  const progress = await readProgress(client, table.name);
  const fingerprint = changeFingerprint({ table: table.name, set: change.set, where: change.where });
  const action = decideAction(request, table, progress, fingerprint);
  const pace = request.settings.pace;
  const estimatedMatching = change.where !== undefined ? ((await estimateMatchingRows(client, table.name, change.where)) ?? null) : (table.estimatedRows ?? null);
  const estimatedRows = table.estimatedRows ?? null;
  const plan: BackfillPlan = {
    table: table.name,
    key: keyNames,
    set: change.set,
    where: change.where ?? null,
    estimatedRows,
    estimatedMatching,
    estimatedBatches: pace.batchSize !== undefined && estimatedRows !== null ? Math.max(1, Math.ceil(Math.max(0, estimatedRows - (action === 'resume' ? (progress?.rowsScanned ?? 0) : 0)) / pace.batchSize)) : null,
    batching: pace.batchSize !== undefined ? `${pace.batchSize} rows per batch` : `adapts to ${formatDuration(pace.batchTimeMs)} per batch, starting at ${firstBatchSize(pace)} rows`,
    sql: describeBatchSql(keyset),
    action,
    resumeAfter: action === 'resume' ? (progress?.lastKey ?? null) : null,
    doneBefore: action !== 'start' && progress ? { rowsUpdated: progress.rowsUpdated, rowsScanned: progress.rowsScanned, batches: progress.batches } : null,
    progressTableExists: progress !== undefined || (await progressTableExists(client)),
  };
  return { plan, table, progress, keyset };
}

async function progressTableExists(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(`SELECT to_regclass('drydock_backfills') IS NOT NULL AS ok`);
  return Boolean(rows[0]?.ok);
}

/** A key as messages show it: `42` or `(7, b)`. */
export function describeKey(key: readonly string[] | undefined): string {
  if (!key) return 'none yet';
  return key.length === 1 ? key[0]! : `(${key.join(', ')})`;
}

/** Start, resume or refuse, from what the progress table holds. Throws DrydockError (exit 2) when it must refuse. */
export function decideAction(request: BackfillRequest, table: BackfillTable, progress: BackfillProgress | undefined, fingerprint: string): BackfillPlan['action'] {
  const { change, mode, restart } = request;
  const keyNames = table.key.map((k) => k.name);
  const same = progress !== undefined && progress.fingerprint === fingerprint && progress.keyColumns.join('\0') === keyNames.join('\0');
  const unfinished = progress !== undefined && progress.finishedAt === undefined;
  const where = (p: BackfillProgress) => `${p.rowsUpdated} row(s) updated in ${p.batches} batch(es), the last at key ${describeKey(p.lastKey)}, ${p.updatedAt.toISOString()}`;
  if (restart) return 'start';
  if (mode === 'start') {
    if (unfinished) {
      throw new DrydockError(`an unfinished backfill of ${table.name} is recorded in drydock_backfills (${where(progress)})`, {
        hint: same
          ? 'run the same command with --resume to continue it, or with --restart to start over from the first key (rows it already updated are updated again); nothing was changed'
          : `it was started with other arguments (--set "${progress.set}"${progress.where !== undefined ? ` --where "${progress.where}"` : ''}): finish it with those and --resume, or pass --restart to abandon it; nothing was changed`,
      });
    }
    return 'start';
  }
  if (!progress) {
    if (mode === 'auto') return 'start';
    throw new DrydockError(`--resume: no backfill of ${table.name} is recorded in drydock_backfills`, { hint: 'run the command without --resume to start it; nothing was changed' });
  }
  if (!same) {
    const diffs = changeDifferences(progress, { set: change.set, where: change.where });
    if (progress.keyColumns.join('\0') !== keyNames.join('\0')) diffs.push(`the primary key was (${progress.keyColumns.join(', ')}), now (${keyNames.join(', ')})`);
    if (mode === 'auto' && !unfinished) return 'start';
    throw new DrydockError(`${mode === 'resume' ? '--resume: ' : ''}the ${unfinished ? 'unfinished' : 'recorded'} backfill of ${table.name} was started with different arguments: ${diffs.join('; ')}`, {
      hint: mode === 'auto'
        ? `finish it with \`drydock backfill ${table.name} --set "${progress.set}"${progress.where !== undefined ? ` --where "${progress.where}"` : ''} --resume\`, or delete its row from drydock_backfills to abandon it, then run the migration again; nothing was changed`
        : unfinished
        ? `resume it with its own arguments (--set "${progress.set}"${progress.where !== undefined ? ` --where "${progress.where}"` : ''} --resume), or pass --restart to abandon it and start this one; nothing was changed`
        : 'it finished: run this one without --resume to start it; nothing was changed',
    });
  }
  // A migration applied again (after its down section ran, in rehearse or redo) backfills again.
  if (!unfinished && mode === 'auto') return 'start';
  return unfinished ? 'resume' : 'finished';
}

/** Run (or resume) a backfill on `client` (a session of its own: it takes an advisory lock and commits batch by batch). */
export async function runBackfill(client: pg.ClientBase, request: BackfillRequest, events: BackfillEvents = {}, signal?: AbortSignal): Promise<BackfillResult> {
  const { plan, table, progress, keyset } = await planBackfill(client, request);
  events.onPlan?.(plan);
  const started = performance.now();
  const base = {
    table: plan.table,
    key: plan.key,
    set: plan.set,
    where: plan.where,
  };
  if (plan.action === 'finished') {
    return { ...base, resumed: false, alreadyFinished: true, rowsUpdated: 0, rowsScanned: 0, batches: 0, totalRowsUpdated: progress?.rowsUpdated ?? 0, durationMs: 0, rowsPerSecond: 0, longestBatchMs: 0, medianBatchMs: 0, batchSize: { first: 0, last: 0, max: 0 }, pausedMs: 0, walPauses: 0, lockWaitPauses: 0, retries: 0, walBytes: null };
  }
  const { rows: locked } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [lockKey(table.oid)]);
  if (!locked[0]?.ok) {
    throw new DrydockError(`another drydock backfill of ${table.name} is running (it holds the table's backfill lock)`, {
      hint: 'wait for it to finish or stop it (it records its progress; resume it with --resume); nothing was changed',
    });
  }
  try {
    return await walk(client, request, plan, keyset, progress, started, events, signal);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey(table.oid)]).catch(() => undefined);
  }
}

async function walk(
  client: pg.ClientBase,
  request: BackfillRequest,
  plan: BackfillPlan,
  keyset: KeysetTable,
  progress: BackfillProgress | undefined,
  started: number,
  events: BackfillEvents,
  signal: AbortSignal | undefined,
): Promise<BackfillResult> {
  const { settings } = request;
  const pace = settings.pace;
  await ensureProgressTable(client);
  let cursor: string[] | undefined;
  let before = { rowsUpdated: 0, rowsScanned: 0 };
  if (plan.action === 'resume' && progress) {
    // Read again under the lock: what the last committed batch recorded.
    const fresh = (await readProgress(client, plan.table)) ?? progress;
    cursor = fresh.lastKey;
    before = { rowsUpdated: fresh.rowsUpdated, rowsScanned: fresh.rowsScanned };
  } else {
    await startProgress(client, { table: plan.table, fingerprint: changeFingerprint({ table: plan.table, set: keyset.set, where: keyset.where }), set: keyset.set, where: keyset.where, keyColumns: plan.key });
  }
  const firstSql = batchSql(keyset, true);
  const nextSql = batchSql(keyset, false);
  const timeouts = `BEGIN; SET LOCAL lock_timeout = ${Math.round(settings.lockTimeoutMs)}; SET LOCAL statement_timeout = ${Math.round(settings.statementTimeoutMs)}`;

  let size = firstBatchSize(pace);
  const sizes = { first: size, last: size, max: 0 };
  const batchTimes: number[] = [];
  let rowsUpdated = 0;
  let rowsScanned = 0;
  let pausedMs = 0;
  let walPauses = 0;
  let lockWaitPauses = 0;
  let retries = 0;
  let attempt = 0;
  const firstLsn = await readWalPosition(client);
  let lastLsn = firstLsn;
  let lastLsnAt = performance.now();
  let batchNo = 0;
  let costMs: number | undefined;

  const stopped = (by: InterruptSignal): InterruptedError =>
    new InterruptedError(
      by,
      `interrupted (${by}): backfill of ${plan.table} stopped after ${batchNo} batch(es) of this run; ${rowsUpdated} row(s) updated now, ${before.rowsUpdated + rowsUpdated} in all; progress is recorded up to key ${describeKey(cursor)} and no batch is left open`,
      { hint: 'run the same command with --resume to continue where it stopped' },
    );

  for (;;) {
    const by = interruptedBy(signal);
    if (by) throw stopped(by);
    const sql = cursor ? nextSql : firstSql;
    const left = mayLeave(`an open batch on ${plan.table} (Postgres rolls it back when the connection closes; progress stays at key ${describeKey(cursor)})`);
    let outcome: { done: true } | { done: false; hi: string[]; scanned: number; updated: number; lsn: string; waiting: number; txMs: number };
    try {
      // The bound is a read that locks no row: it runs before the batch's transaction, which then holds
      // row locks only for the UPDATE, the progress row and the COMMIT.
      const bound = await client.query<Record<string, unknown>>(sql.bound, [...(cursor ?? []), size]);
      const row = bound.rows[0];
      if (!row) {
        outcome = { done: true };
      } else {
        const hi = boundKey(keyset.key, row);
        const scanned = Number(row.scanned);
        const t0 = performance.now();
        await client.query(timeouts);
        try {
          const updated = (await client.query(sql.update, [...(cursor ?? []), ...hi])).rowCount ?? 0;
          const rec = await client.query<{ recorded: number; lsn: string; waiting: number }>(RECORD_BATCH, [plan.table, hi, updated, scanned]);
          if (rec.rows[0]?.recorded !== 1) throw new DrydockError(`the progress row of ${plan.table} in drydock_backfills is gone: was it deleted while the backfill ran?`, { hint: 'run the backfill again (its batch was rolled back)' });
          await client.query('COMMIT');
          outcome = { done: false, hi, scanned, updated, lsn: rec.rows[0].lsn, waiting: rec.rows[0].waiting, txMs: performance.now() - t0 };
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }
    } catch (error) {
      const code = (error as { code?: string }).code;
      if ((code === LOCK_NOT_AVAILABLE || code === QUERY_CANCELED) && !signal?.aborted) {
        attempt += 1;
        const reason = code === LOCK_NOT_AVAILABLE ? `waited longer than lock_timeout ${formatDuration(settings.lockTimeoutMs)} for a lock` : `ran longer than statement_timeout ${formatDuration(settings.statementTimeoutMs)}`;
        if (attempt > settings.lockRetries) {
          throw new DrydockError(`backfill of ${plan.table}: a batch of ${size} rows ${reason} ${attempt} times in a row; gave up (progress is recorded up to key ${describeKey(cursor)}, ${before.rowsUpdated + rowsUpdated} row(s) updated in all)`, {
            hint: `find what holds locks on ${plan.table} (pg_stat_activity, pg_locks) and run the same command with --resume; a longer --lock-timeout or a smaller --batch-time also helps`,
            cause: error,
          });
        }
        retries += 1;
        size = retryBatchSize(pace, size);
        const delay = retryDelay(attempt, pace);
        events.onRetry?.(attempt, delay, reason, size);
        left();
        await pause(delay, signal, stopped);
        pausedMs += delay;
        continue;
      }
      if (signal?.aborted && code === QUERY_CANCELED) throw stopped(interruptedBy(signal) ?? 'SIGINT');
      if (error instanceof DrydockError) throw error;
      const e = error as Error;
      throw new DrydockError(`backfill of ${plan.table}: batch ${batchNo + 1} failed and was rolled back: ${e.message}${code ? ` (SQLSTATE ${code})` : ''}`, {
        hint: `progress is recorded up to key ${describeKey(cursor)} (${before.rowsUpdated + rowsUpdated} row(s) updated in all); fix the cause and run the same command with --resume`,
        cause: error,
      });
    } finally {
      left();
    }
    if (outcome.done) break;
    attempt = 0;
    const now = performance.now();
    const elapsedMs = outcome.txMs;
    batchNo += 1;
    cursor = outcome.hi;
    rowsUpdated += outcome.updated;
    rowsScanned += outcome.scanned;
    batchTimes.push(elapsedMs);
    sizes.last = size;
    sizes.max = Math.max(sizes.max, size);
    const walBytes = lastLsn !== undefined ? walBytesBetween(lastLsn, outcome.lsn) : undefined;
    const pauseDecision = pauseAfter(pace, { batchMs: elapsedMs, cycleMs: now - lastLsnAt, walBytes, waitingSessions: outcome.waiting });
    lastLsn = outcome.lsn;
    lastLsnAt = now;
    if (pauseDecision.reason === 'wal-rate') walPauses += 1;
    if (pauseDecision.reason === 'lock-waits') lockWaitPauses += 1;
    const finishedScan = outcome.scanned < size;
    events.onBatch?.({
      batch: batchNo,
      size,
      scanned: outcome.scanned,
      updated: outcome.updated,
      elapsedMs,
      rowsUpdated,
      rowsScanned,
      totalScanned: before.rowsScanned + rowsScanned,
      estimatedRows: plan.estimatedRows,
      runMs: now - started,
      pauseMs: finishedScan ? 0 : pauseDecision.ms,
      pauseReason: pauseDecision.reason,
      lastKey: cursor,
    });
    costMs = rowCost(costMs, { size, elapsedMs });
    size = nextBatchSize(pace, { size, elapsedMs }, { othersWaited: outcome.waiting > 0, costMs });
    // A short batch reached the end of the key range: check once more without pausing (rows inserted meanwhile), then stop.
    if (!finishedScan && pauseDecision.ms > 0) {
      await pause(pauseDecision.ms, signal, stopped);
      pausedMs += pauseDecision.ms;
    }
  }
  await finishProgress(client, plan.table);
  const durationMs = performance.now() - started;
  const endLsn = firstLsn !== undefined ? await readWalPosition(client) : undefined;
  const sorted = [...batchTimes].sort((a, b) => a - b);
  return {
    table: plan.table,
    key: plan.key,
    set: plan.set,
    where: plan.where,
    resumed: plan.action === 'resume',
    alreadyFinished: false,
    rowsUpdated,
    rowsScanned,
    batches: batchNo,
    totalRowsUpdated: before.rowsUpdated + rowsUpdated,
    durationMs: Math.round(durationMs),
    rowsPerSecond: durationMs > 0 ? Math.round((rowsUpdated * 1000) / durationMs) : 0,
    longestBatchMs: Math.round(sorted[sorted.length - 1] ?? 0),
    medianBatchMs: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
    batchSize: { first: sizes.first, last: sizes.last, max: sizes.max },
    pausedMs: Math.round(pausedMs),
    walPauses,
    lockWaitPauses,
    retries,
    walBytes: firstLsn !== undefined && endLsn !== undefined ? walBytesBetween(firstLsn, endLsn) : null,
  };
}

/** Sleep, turning an interruption into the backfill's own InterruptedError (what was done, how to resume). */
async function pause(ms: number, signal: AbortSignal | undefined, stopped: (by: InterruptSignal) => InterruptedError): Promise<void> {
  try {
    await sleep(ms, signal);
  } catch (error) {
    const by = interruptedBy(signal);
    if (by) throw stopped(by);
    throw error;
  }
}
