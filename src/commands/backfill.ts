/**
 * `drydock backfill TABLE --set "col = expr"`: update a table's rows in short keyset batches,
 * resumable and throttled. Flags, rendering and registration; the work is in pipelines/backfill.ts.
 */
import { Option, type Command } from 'commander';

import type { BackfillPlan } from '../backfill/engine.js';
import { ConfigError } from '../errors.js';
import { formatBytes, formatDuration } from '../format.js';
import { backfill, formatCount, type BackfillDryRun, type BackfillRun } from '../pipelines/backfill.js';
import { resolveBackfillSettings, resolveBackfillUrl, type BackfillFlags } from '../settings.js';
import { localOption } from './options.js';
import type { RunCommand } from './run.js';

interface Flags extends BackfillFlags {
  set?: string;
  where?: string;
  url?: string;
  to?: string;
  local?: string;
  resume?: boolean;
  restart?: boolean;
  dryRun?: boolean;
}

/** The pacing settings as one line: "batches of 200 ms, no pause, no WAL cap, lock_timeout 200 ms". */
function describePace(r: BackfillDryRun | BackfillRun): string {
  const s = r.settings;
  return [
    s.pace.sleepMs ? `--sleep ${formatDuration(s.pace.sleepMs)} between batches` : 'no pause between batches unless throttled',
    s.pace.maxWalBytesPerSec ? `WAL capped at ${formatBytes(s.pace.maxWalBytesPerSec)}/s` : 'no WAL cap',
    `lock_timeout ${formatDuration(s.lockTimeoutMs)}, statement_timeout ${formatDuration(s.statementTimeoutMs)} per batch`,
  ].join('; ');
}

function renderPlan(r: BackfillDryRun): string {
  const p: BackfillPlan = r.plan;
  const key = p.resumeAfter ? (p.resumeAfter.length === 1 ? p.resumeAfter[0] : `(${p.resumeAfter.join(', ')})`) : undefined;
  const lines = [
    `Dry run on ${r.database}: nothing was changed${p.progressTableExists ? '' : ' (and drydock_backfills, the progress table, was not created)'}.`,
    p.action === 'finished'
      ? `The same backfill of ${p.table} already finished (${formatCount(p.doneBefore?.rowsUpdated ?? 0)} rows): a run would do nothing.`
      : p.action === 'resume'
        ? `Would resume the backfill of ${p.table} after key ${key} (${formatCount(p.doneBefore?.rowsUpdated ?? 0)} rows updated in ${p.doneBefore?.batches ?? 0} batches so far).`
        : `Would update ${p.table}${p.where ? ` where ${p.where}` : ''}: SET ${p.set}`,
    `  rows: ~${p.estimatedRows === null ? '? (never analyzed)' : formatCount(p.estimatedRows)} in the table, ~${p.estimatedMatching === null ? '?' : formatCount(p.estimatedMatching)} matching (planner estimates)`,
    `  batches: by primary key (${p.key.join(', ')}), ${p.batching}${p.estimatedBatches !== null ? `: about ${formatCount(p.estimatedBatches)} batches` : ''}, each its own transaction`,
    `  pacing: ${describePace(r)}`,
    '  each batch runs:',
    ...p.sql.split('\n').map((l) => `    ${l}`),
  ];
  return lines.join('\n');
}

function renderRun(r: BackfillRun): string {
  if (r.alreadyFinished) return `The backfill of ${r.table} with these arguments had already finished (${formatCount(r.totalRowsUpdated)} rows): nothing to do.`;
  const lines = [
    `Backfilled ${r.table} on ${r.database}: ${formatCount(r.rowsUpdated)} row(s) updated${r.resumed ? ` by this run (${formatCount(r.totalRowsUpdated)} in all, resumed)` : ''}, ${formatCount(r.rowsScanned)} scanned, in ${formatCount(r.batches)} batch(es) and ${formatDuration(r.durationMs)} (${formatCount(r.rowsPerSecond)} rows/s).`,
    `  longest batch ${formatDuration(r.longestBatchMs)} (the longest any row stayed locked), median ${formatDuration(r.medianBatchMs)}; batch size ${formatCount(r.batchSize.first)} at first, up to ${formatCount(r.batchSize.max)}`,
    `  paused ${formatDuration(r.pausedMs)}${r.walPauses ? `, ${r.walPauses} pause(s) for the WAL cap` : ''}${r.lockWaitPauses ? `, ${r.lockWaitPauses} for sessions waiting on a batch` : ''}${r.retries ? `, ${r.retries} batch(es) retried after a timeout` : ''}${r.walBytes !== null ? `; ${formatBytes(r.walBytes)} of WAL written by the server meanwhile` : ''}`,
  ];
  return lines.join('\n');
}

/** Register `drydock backfill`. */
export function registerBackfill(program: Command, run: RunCommand): void {
  program
    .command('backfill <table>')
    .description('update a table in short primary-key batches: resumable, throttled, with progress (--set "col = expr" [--where SQL])')
    .option('--set <assignments>', 'the SET list, as in UPDATE … SET: "email_lower = lower(email)"')
    .option('--where <sql>', 'only rows matching this condition (evaluated when each batch runs)')
    .option('--batch-size <n>', 'a fixed number of rows per batch (default: sized by --batch-time)')
    .option('--batch-time <duration>', 'how long one batch (and its row locks) should last; the size adapts (default 200ms)')
    .option('--sleep <duration>', 'pause between batches (default 0: pause only for the WAL cap and lock waits)')
    .option('--max-wal-rate <rate>', "slow down when the server's WAL grows faster than this, e.g. 20MB/s (default: no cap)")
    .option('--lock-timeout <duration>', "a batch's lock_timeout (default: the batch time; 1s with --batch-size)")
    .option('--statement-timeout <duration>', "a batch's statement_timeout: a batch running longer is rolled back and retried smaller (default 1.5× the batch time; 60s with --batch-size)")
    .option('--lock-retries <n>', 'give up after this many timed-out attempts of one batch in a row (default 10)')
    .addOption(new Option('--url <url>', 'database URL').env('DATABASE_URL'))
    .option('--to <name>', 'a database on the local server instead of --url (e.g. the copy `drydock pull` made)')
    .addOption(localOption())
    .option('--resume', 'continue the recorded, unfinished backfill of this table (same --set and --where)')
    .option('--restart', 'abandon an unfinished backfill of this table and start from the first key')
    .option('--dry-run', 'say what would run (rows, batches, the SQL); change nothing, create nothing')
    .action(async (table: string, opts: Flags, cmd: Command) => {
      await run(async (deps) => {
        if (opts.set === undefined) throw new ConfigError('--set is required: the assignment to make', { hint: `for example drydock backfill ${table} --set "email_lower = lower(email)"` });
        if (opts.resume && opts.restart) throw new ConfigError('--resume and --restart both given', { hint: '--resume continues the recorded backfill; --restart abandons it and starts over: choose one' });
        const settings = resolveBackfillSettings(opts);
        const url = resolveBackfillUrl(
          { url: opts.url, urlSource: cmd.getOptionValueSource('url'), to: opts.to, local: opts.local, localSource: cmd.getOptionValueSource('local') },
          deps.settings.libpq,
        );
        const result = await backfill(deps, {
          change: { table, set: opts.set, where: opts.where },
          settings,
          url,
          mode: opts.resume ? 'resume' : 'start',
          restart: Boolean(opts.restart),
          dryRun: Boolean(opts.dryRun),
        });
        if (result.dryRun) deps.output.result(result, renderPlan);
        else deps.output.result(result, renderRun);
      });
    });
}
