/**
 * How fast a backfill goes: the size of the next batch and the pause before it. Pure: the engine
 * passes in what the last batch measured, so every decision is unit-tested without a database.
 *
 * - Size: with --batch-time, the next batch is the number of keys the last one got through per ms,
 *   times the target time, growing at most 1.5× per batch (a warm cache can flatter one batch) and
 *   shrinking at once when a batch ran over (a row lock held past the target is what production
 *   feels). With --batch-size the size is fixed, except that a batch that timed out is retried smaller.
 * - Pause: at least --sleep; longer when the server's WAL grew faster than --max-wal-rate over the last
 *   cycle (a Heroku follower replays WAL at a bounded speed: the lag and the replay queue are what
 *   the cap protects); at least the batch's own time when other sessions were seen waiting on the
 *   batch's row locks (their turn comes first), and backing off exponentially after lock or statement timeouts.
 */

/** Pacing settings, resolved (settings.ts). */
export interface PaceSettings {
  /** Fixed rows (keys) per batch; undefined adapts to `batchTimeMs`. */
  batchSize: number | undefined;
  /** Target duration of one batch (ms). */
  batchTimeMs: number;
  /** Pause after every batch (ms). */
  sleepMs: number;
  /** WAL bytes per second the server may produce, as measured across a batch and its pause; undefined: no cap. */
  maxWalBytesPerSec: number | undefined;
}

/** The first batch of an adaptive backfill: small, so a slow table cannot hold locks long before it is measured. */
export const FIRST_BATCH = 1_000;
/** The smallest and largest adaptive batch. */
export const MIN_BATCH = 10;
export const MAX_BATCH = 1_000_000;
/** Growth per batch at most this factor. */
export const MAX_GROWTH = 1.5;
/** No pause is ever longer than this (ms): a cap the app's own writes exceed must not stall the backfill forever between progress lines. */
export const MAX_PAUSE_MS = 10_000;

/** What one finished batch measured. */
export interface BatchMeasure {
  /** Keys in the batch. */
  size: number;
  /** From BEGIN to COMMIT (ms): how long its row locks were held at most. */
  elapsedMs: number;
}

/** The size of the first batch. */
export function firstBatchSize(pace: Pick<PaceSettings, 'batchSize'>): number {
  return pace.batchSize ?? FIRST_BATCH;
}

/**
 * The cost of a row as pacing believes it (ms per row), after a batch: a slower batch is believed at
 * once, a faster one only partly (30 %), so one lucky batch (a warm cache, a quiet moment) cannot
 * make the next one run long; `previous` undefined for the first batch.
 */
export function rowCost(previous: number | undefined, last: BatchMeasure): number {
  const measured = Math.max(1, last.elapsedMs) / Math.max(1, last.size);
  if (previous === undefined || measured >= previous) return measured;
  return 0.7 * previous + 0.3 * measured;
}

/** The size of the next batch after `last`; `costMs` is rowCost's belief (the last batch's own cost without it). */
export function nextBatchSize(pace: Pick<PaceSettings, 'batchSize' | 'batchTimeMs'>, last: BatchMeasure, options: { othersWaited?: boolean; costMs?: number | undefined } = {}): number {
  if (pace.batchSize !== undefined) return pace.batchSize;
  const cost = options.costMs ?? Math.max(1, last.elapsedMs) / Math.max(1, last.size);
  let next = pace.batchTimeMs / cost;
  next = Math.min(next, last.size * MAX_GROWTH);
  // Sessions waited on this batch's row locks: halve it, whatever the rate says.
  if (options.othersWaited) next = Math.min(next, last.size / 2);
  return clampBatch(next);
}

/** The size to retry a batch with after it hit lock_timeout or statement_timeout: half of it. */
export function retryBatchSize(pace: Pick<PaceSettings, 'batchSize'>, failedSize: number): number {
  return clampBatch(failedSize / 2, pace.batchSize === undefined ? MIN_BATCH : 1);
}

function clampBatch(n: number, min = MIN_BATCH): number {
  return Math.max(min, Math.min(MAX_BATCH, Math.floor(n)));
}

/** What happened around one batch, for the pause after it. */
export interface CycleMeasure {
  /** The batch's own time (ms). */
  batchMs: number;
  /** Time since the previous WAL reading, the previous pause included (ms). */
  cycleMs: number;
  /** WAL the server wrote since the previous reading (bytes), this batch's and everyone else's. */
  walBytes: number | undefined;
  /** Sessions that were waiting on this batch's locks when it was about to commit. */
  waitingSessions: number;
}

/** Why a pause is longer than --sleep. */
export type PauseReason = 'wal-rate' | 'lock-waits';

/** The pause after a batch, and why it is longer than --sleep (when it is). */
export function pauseAfter(pace: Pick<PaceSettings, 'sleepMs' | 'maxWalBytesPerSec'>, cycle: CycleMeasure): { ms: number; reason: PauseReason | undefined } {
  let ms = pace.sleepMs;
  let reason: PauseReason | undefined;
  if (pace.maxWalBytesPerSec !== undefined && cycle.walBytes !== undefined && cycle.walBytes > 0) {
    // The pause that brings this cycle's average WAL rate down to the cap.
    const needed = (cycle.walBytes * 1000) / pace.maxWalBytesPerSec - cycle.cycleMs;
    if (needed > ms) {
      ms = needed;
      reason = 'wal-rate';
    }
  }
  if (cycle.waitingSessions > 0 && cycle.batchMs > ms) {
    ms = cycle.batchMs;
    reason = 'lock-waits';
  }
  return { ms: Math.min(MAX_PAUSE_MS, Math.max(0, Math.round(ms))), reason };
}

/** The backoff before retrying a batch that failed on a timeout for the `attempt`-th time in a row (1-based). */
export function retryDelay(attempt: number, pace: Pick<PaceSettings, 'batchTimeMs'>): number {
  return Math.min(MAX_PAUSE_MS, Math.round(Math.max(100, pace.batchTimeMs) * 2 ** (attempt - 1)));
}

/** A WAL position (pg_lsn as text, "16/B374D848") as a byte offset. */
export function lsnBytes(lsn: string): bigint {
  const m = /^([0-9A-F]+)\/([0-9A-F]+)$/i.exec(lsn.trim());
  if (!m) throw new Error(`not a WAL position: ${lsn}`);
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

/** WAL bytes from one position to a later one (0 when it went backwards: another server). */
export function walBytesBetween(from: string, to: string): number {
  const d = lsnBytes(to) - lsnBytes(from);
  return d > 0n ? Number(d) : 0;
}
