/**
 * `drydock restore`: put a Heroku backup back into an app's database, for an on-call engineer at 3 a.m.
 * Unlike `heroku pg:backups:restore`, a missing confirmation on a closed stdin is a refusal (exit 2),
 * never a silent success that restored nothing.
 */
import type { Command } from 'commander';

import { formatAge } from '../format.js';
import { restore, type RestorePlan, type RestoreRequest, type RestoreResult } from '../pipelines/restore.js';
import { transferTimeoutOption } from './options.js';
import { renderPull } from './pull.js';
import type { RunCommand } from './run.js';

/** The plan as people read it. */
export function renderPlan(plan: RestorePlan): string {
  const b = plan.backup;
  return [
    `Restore plan for ${plan.app}:`,
    `  backup   ${b.id}${b.createdAt ? `, taken ${b.createdAt}` : ''}${b.ageSeconds !== undefined ? ` (${formatAge(b.ageSeconds / 3600)} ago)` : ''}${b.bytes ? `, ${(b.bytes / 1024 ** 2).toFixed(1)} MB` : ''}${b.source ? `, of ${b.source}` : ''}`,
    ...(b.safety ? [`  NOTE     ${b.id} is a ${b.safety}: it holds the data as it was BEFORE that restore`] : []),
    ...plan.skipped.map((s) => `  skipped  ${s.id} (${s.why}): latest never means a safety backup; name it to restore it`),
    `  into     ${plan.app}'s ${plan.database} (its current data is REPLACED)`,
    '  checked',
    ...plan.checks.map((c) => `    - ${c}`),
    '  steps',
    ...plan.steps.map((s, i) => `    ${i + 1}. ${s}`),
  ].join('\n');
}

function renderResult(result: RestoreResult): string {
  if (result.dryRun) return `${renderPlan(result.plan)}\n\nDry run: nothing was changed.`;
  const lines = [`Restored backup ${result.plan.backup.id} into ${result.plan.app}'s ${result.plan.database}.`];
  if (result.verified) lines.push(`  verified: ${result.verified.tables} table(s), ${result.verified.rowsChecked} row(s), schema version ${result.verified.schemaVersion}`);
  if (result.safetyBackup) lines.push(`  safety backup of the data before the restore: ${result.safetyBackup}`, `  undo: ${result.undo}`);
  else lines.push('  no safety backup was taken (--no-safety-backup): this restore cannot be undone by drydock');
  return lines.join('\n');
}

/** Register `drydock restore`. */
export function registerRestore(program: Command, run: RunCommand): void {
  program
    .command('restore [backup]')
    .description('restore a Heroku backup (an id such as b012, or latest) into the app database: guarded, verified, reversible')
    .option('--confirm <app>', 'the app name, typed again: required (on a terminal you are asked instead)')
    .option('--maintenance', 'turn maintenance mode on during the restore (put back afterwards)')
    .option('--scale-down <types>', 'comma-separated process types to scale to 0 during the restore (put back afterwards)')
    .option('--no-safety-backup', 'skip the safety backup of the current data (the restore cannot be undone then)')
    .option('--database <attachment>', 'the database to restore into', 'DATABASE_URL')
    .option('--to-local <name>', 'restore the backup into a local database instead (as drydock pull does)')
    .option('--jobs <n>', 'with --to-local: parallel restore jobs')
    .addOption(transferTimeoutOption('a capture or restore'))
    .option('--dry-run', 'show the plan and change nothing')
    .addHelpText('after', '\nExample:\n  drydock restore b012 -a my-app --confirm my-app --maintenance --scale-down worker,clock')
    .action(async (backup: string | undefined, opts: Omit<RestoreRequest, 'backup'>, cmd: Command) => {
      await run(async (deps) => {
        const outcome = await restore(deps, { ...opts, backup, transferTimeoutSource: cmd.getOptionValueSource('transferTimeout') }, (plan) => deps.output.info(renderPlan(plan)));
        if ('local' in outcome) deps.output.result(outcome.local, renderPull);
        else deps.output.result(outcome.heroku, renderResult);
      });
    });
}
