/**
 * `drydock restore`: put a Heroku backup back into an app's database, for an on-call engineer at 3 a.m.
 * Unlike `heroku pg:backups:restore`, a missing confirmation on a closed stdin is a refusal (exit 2),
 * never a silent success that restored nothing.
 */
import { createInterface } from 'node:readline/promises';

import type { Command } from 'commander';

import type { Deps } from '../deps.js';
import { ConfigError } from '../errors.js';
import { runRestore, type RestorePlan, type RestoreResult } from '../pipelines/restore.js';
import { pull, renderPull } from './pull.js';
import { parseDuration, resolveApp } from './shared.js';

/** Flags of `drydock restore`. */
export interface RestoreFlags {
  confirm?: string | undefined;
  maintenance?: boolean | undefined;
  scaleDown?: string | undefined;
  safetyBackup?: boolean | undefined;
  dryRun?: boolean | undefined;
  database?: string | undefined;
  toLocal?: string | undefined;
  jobs?: string | undefined;
  transferTimeout?: string | undefined;
}

/** The plan as people read it. */
export function renderPlan(plan: RestorePlan): string {
  const b = plan.backup;
  return [
    `Restore plan for ${plan.app}:`,
    `  backup   ${b.id}${b.createdAt ? `, taken ${b.createdAt}` : ''}${b.ageHours !== undefined ? ` (${b.ageHours} h ago)` : ''}${b.bytes ? `, ${(b.bytes / 1024 ** 2).toFixed(1)} MB` : ''}${b.source ? `, of ${b.source}` : ''}`,
    `  into     ${plan.app}'s ${plan.database} (its current data is REPLACED)`,
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
export function registerRestore(program: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
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
    .option('--transfer-timeout <duration>', 'give up on a capture or restore that has not finished after this long (default 2h)')
    .option('--dry-run', 'show the plan and change nothing')
    .addHelpText('after', '\nExample:\n  drydock restore b012 -a my-app --confirm my-app --maintenance --scale-down worker,clock')
    .action(async (backupArg: string | undefined, opts: RestoreFlags) => {
      await run(async (deps) => {
        const app = await resolveApp(deps.config, { required: true });
        const backup = backupArg ?? 'latest';
        if (backup !== 'latest' && !/^[abr]\d{3,}$/i.test(backup)) {
          throw new ConfigError(`"${backup.slice(0, 30)}" is not a backup id`, { hint: 'use an id such as b012 (see `drydock backups list`) or latest' });
        }
        if (opts.toLocal) {
          const result = await pull(deps, { from: backup === 'latest' ? 'backup' : backup, to: opts.toLocal, jobs: opts.jobs, maxAge: '100000h' });
          deps.output.result(result, renderPull);
          return;
        }
        if (opts.confirm !== undefined && opts.confirm !== app) {
          throw new ConfigError(`--confirm ${opts.confirm} does not match the app ${app}`, { hint: `pass --confirm ${app}; nothing was changed` });
        }
        const scaleDown = (opts.scaleDown ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        const result = await runRestore(deps, {
          app,
          backup,
          database: opts.database ?? 'DATABASE_URL',
          maintenance: Boolean(opts.maintenance),
          scaleDown,
          safetyBackup: opts.safetyBackup !== false,
          dryRun: Boolean(opts.dryRun),
          transferTimeoutMs: parseDuration(opts.transferTimeout ?? (deps.config.env.DRYDOCK_TRANSFER_TIMEOUT as string | undefined), '--transfer-timeout', 's') ?? 2 * 3_600_000,
          confirm: async (plan) => {
            deps.output.info(renderPlan(plan));
            if (opts.confirm === app) return true;
            if (!process.stdin.isTTY || deps.config.ci) {
              throw new ConfigError(`restore of ${app} needs --confirm ${app}`, { hint: `standard input is not a terminal, so drydock cannot ask; nothing was changed` });
            }
            const rl = createInterface({ input: process.stdin, output: process.stderr });
            try {
              const answer = await rl.question(`Type the app name (${app}) to restore into its database: `);
              return answer.trim() === app;
            } finally {
              rl.close();
            }
          },
        });
        deps.output.result(result, renderResult);
      });
    });
}
