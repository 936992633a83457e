/**
 * How far a live copy's data has come, from the bytes and rows its COPY streams have moved (counted in
 * copy-pipe.ts) and what the source said of each table: its size on disk and the planner's row
 * estimate. Pure: copy-live.ts takes the readings, this turns them into shares, a rate and a line.
 */
import { formatBytes, formatEta, formatRate } from '../format.js';
import { etaFrom, formatPercent, MAX_RUNNING_FRACTION, MIN_RATE_MS, shareDone } from '../progress.js';

/** A table being copied, as far as it has come. */
export interface RunningTable {
  /** schema.name */
  table: string;
  /** Bytes and CopyData messages (about the rows) read so far. */
  bytes: number;
  rows: number;
  /** What the source said: size on disk (main fork) and the planner's estimate (0: unknown). */
  sizeOnDisk: number;
  estimatedRows: number;
}

/** A reading of the whole data copy. */
export interface LiveCopyProgress {
  startedAt: number;
  now: number;
  tablesDone: number;
  tablesTotal: number;
  /** Size on disk of the finished tables, and of all tables to copy (the weights of the estimate). */
  sizeDone: number;
  sizeTotal: number;
  /** Bytes moved so far, finished and running tables together. */
  bytesCopied: number;
  running: RunningTable[];
}

/**
 * Share of one running table done: by rows when the planner has an estimate (COPY's bytes are not the
 * bytes on disk: TOAST, formats), else by bytes against the size on disk; undefined when neither is known.
 */
export function tableShare(t: RunningTable): number | undefined {
  if (t.estimatedRows > 0) return shareDone(t.rows, t.estimatedRows);
  return shareDone(t.bytes, t.sizeOnDisk);
}

/** Share of the whole copy done, each table weighted by its size on disk (by count when no table has a size). */
export function copyShare(p: LiveCopyProgress): number | undefined {
  if (p.tablesTotal === 0) return undefined;
  if (p.sizeTotal > 0) {
    const running = p.running.reduce((a, t) => a + (tableShare(t) ?? 0) * t.sizeOnDisk, 0);
    return Math.min(MAX_RUNNING_FRACTION, (p.sizeDone + running) / p.sizeTotal);
  }
  const running = p.running.reduce((a, t) => a + (tableShare(t) ?? 0), 0);
  return Math.min(MAX_RUNNING_FRACTION, (p.tablesDone + running) / p.tablesTotal);
}

/** How many running tables a line names (the largest first). */
const SHOWN_TABLES = 2;

/**
 * One line: "2/5 tables, 37 %, 120.4 MB at 40.1 MB/s, about 12 s left; public.events 61 % (48.0 MB,
 * 610000 of ~1000000 rows)".
 */
export function describeCopyProgress(p: LiveCopyProgress): string {
  const elapsedMs = Math.max(0, p.now - p.startedAt);
  const share = copyShare(p);
  const rate = elapsedMs >= MIN_RATE_MS ? (p.bytesCopied * 1000) / elapsedMs : undefined;
  const eta = etaFrom(share, elapsedMs);
  const head = [
    `${p.tablesDone}/${p.tablesTotal} tables`,
    ...(share !== undefined ? [formatPercent(share)] : []),
    `${formatBytes(p.bytesCopied)}${rate !== undefined ? ` at ${formatRate(rate)}` : ''}`,
    ...(eta !== undefined ? [`about ${formatEta(eta)} left`] : []),
  ].join(', ');
  const running = [...p.running]
    .sort((a, b) => b.sizeOnDisk - a.sizeOnDisk)
    .slice(0, SHOWN_TABLES)
    .map((t) => {
      const share = tableShare(t);
      const rows = t.estimatedRows > 0 ? `, ${t.rows} of ~${t.estimatedRows} rows` : `, ${t.rows} rows`;
      return `${t.table}${share !== undefined ? ` ${formatPercent(share)}` : ''} (${formatBytes(t.bytes)}${rows})`;
    });
  const more = p.running.length > SHOWN_TABLES ? ` and ${p.running.length - SHOWN_TABLES} more` : '';
  return running.length ? `${head}; copying ${running.join(', ')}${more}` : head;
}
