/**
 * `drydock backfill`: check the change (exit 2 before any connection when --set or --where does not
 * parse), connect, then either describe what would run (--dry-run: reads only; no table is created)
 * or run the batches (backfill/engine.ts) with their progress on the task: rows, rows per second and
 * time left on a terminal, a timestamped line every 10 % (or 30 s) in plain logs.
 */
import { runBackfill, planBackfill, type BackfillPlan, type BackfillResult, type BackfillSettings, type BatchReport, type ResumeMode } from '../backfill/engine.js';
import { checkChange, type BackfillChange } from '../backfill/spec.js';
import type { Deps } from '../deps.js';
import { formatDuration, formatEta } from '../format.js';
import { withClient } from '../pg/client.js';
import { describeDb, type DbUrl } from '../pg/url.js';
import { shareDone } from '../progress.js';
import { createPipeline } from './listr.js';
import { withStepProgress, type StepProgress } from './progress.js';

/** What `drydock backfill` was asked to do. */
export interface BackfillCommand {
  change: BackfillChange;
  settings: BackfillSettings;
  url: DbUrl;
  mode: Exclude<ResumeMode, 'auto'>;
  restart: boolean;
  dryRun: boolean;
}

/** A dry run's answer: the plan, and that nothing changed. */
export interface BackfillDryRun {
  dryRun: true;
  database: string;
  plan: BackfillPlan;
  settings: BackfillSettings;
}

/** A run's answer. */
export interface BackfillRun extends BackfillResult {
  dryRun: false;
  database: string;
  settings: BackfillSettings;
}

/** Run `drydock backfill`. */
export async function backfill(deps: Deps, request: BackfillCommand): Promise<BackfillDryRun | BackfillRun> {
  const change = await checkChange(request.change);
  const database = describeDb(request.url);
  const engineRequest = { change, settings: request.settings, mode: request.mode, restart: request.restart };
  if (request.dryRun) {
    const { plan } = await withClient(request.url, (client) => planBackfill(client, engineRequest), { applicationName: 'drydock backfill' });
    return { dryRun: true, database, plan, settings: request.settings };
  }
  const state: { result?: BackfillResult } = {};
  // Checked before the task list starts: a missing table, a missing key or a bad column is a one-line error, not a failed task.
  await withClient(request.url, (client) => planBackfill(client, engineRequest), { applicationName: 'drydock backfill' });
  await createPipeline<typeof state>(
    [
      {
        title: `Backfill ${change.table}`,
        task: async (s, task) => {
          s.result = await withStepProgress(task, deps.output.mode, (progress) =>
            withClient(
              request.url,
              (client) =>
                runBackfill(
                  client,
                  engineRequest,
                  {
                    onPlan: (plan) => {
                      task.title = `Backfill ${plan.table} by (${plan.key.join(', ')})`;
                      if (plan.action === 'resume') progress.line(`resuming after key ${describeKeyText(plan.resumeAfter)}: ${plan.doneBefore?.rowsUpdated ?? 0} row(s) were updated by the earlier run`);
                    },
                    onBatch: (report) => showBatch(progress, report),
                    onRetry: (attempt, delayMs, reason, nextSize) => progress.line(`a batch ${reason}: rolled back; retry ${attempt} in ${formatDuration(delayMs)} with ${nextSize} rows`),
                  },
                  deps.signal,
                ),
              { applicationName: 'drydock backfill' },
            ),
          );
          const r = s.result;
          task.title = r.alreadyFinished
            ? `Backfill of ${r.table} had already finished: nothing to do`
            : `Backfilled ${r.table}: ${r.rowsUpdated} row(s) updated in ${r.batches} batch(es), ${formatDuration(r.durationMs)}`;
        },
      },
    ],
    deps.output,
    deps.signal,
  ).run(state);
  return { dryRun: false, database, settings: request.settings, ...state.result! };
}

function describeKeyText(key: readonly string[] | null): string {
  if (!key) return '(none)';
  return key.length === 1 ? key[0]! : `(${key.join(', ')})`;
}

/** A count as people read it: 1,234,567. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** "1,234,000 of ~3,000,000 rows (41 %) at 65,000 rows/s, about 27 s left; batch 12,000 rows in 190 ms". */
export function describeBatch(report: BatchReport): string {
  const total = report.estimatedRows ?? undefined;
  const fraction = shareDone(report.totalScanned, total);
  const rate = report.runMs >= 250 ? (report.rowsScanned * 1000) / report.runMs : undefined;
  const left = total !== undefined && rate ? Math.max(0, total - report.totalScanned) / rate * 1000 : undefined;
  return [
    `${formatCount(report.totalScanned)}${total !== undefined ? ` of ~${formatCount(total)}` : ''} rows`,
    fraction !== undefined ? ` (${Math.floor(fraction * 100)} %)` : '',
    rate !== undefined ? ` at ${formatCount(rate)} rows/s` : '',
    left !== undefined ? `, about ${formatEta(left)} left` : '',
    `; ${formatCount(report.rowsUpdated)} updated; batch ${formatCount(report.size)} rows in ${formatDuration(report.elapsedMs)}`,
    report.pauseReason ? `, pausing ${formatDuration(report.pauseMs)} (${report.pauseReason === 'wal-rate' ? 'WAL rate over --max-wal-rate' : 'sessions waited on the batch'})` : '',
  ].join('');
}

function showBatch(progress: StepProgress, report: BatchReport): void {
  progress.update(describeBatch(report), shareDone(report.totalScanned, report.estimatedRows ?? undefined));
}
