/**
 * `drydock pull`: production into a local database, fast and safe, for rehearsals (pipelines/pull.ts).
 */
import type { Command } from 'commander';

import { formatAge } from '../format.js';
import { pull, type PullRequest, type PullResult } from '../pipelines/pull.js';
import { localOption, PULL_OPTIONS } from './options.js';
import type { RunCommand } from './run.js';

/** Human rendering. */
export function renderPull(result: PullResult): string {
  if (result.dryRun) return [`Plan (dry run, nothing changed):`, ...(result.plan ?? []).map((l) => `  ${l}`)].join('\n');
  const lines = [`Pulled ${result.source} into ${result.database} in ${result.seconds} s.`];
  if (result.backup) lines.push(`  backup ${result.backup.id}${result.backup.ageHours !== undefined ? `, ${formatAge(result.backup.ageHours)} old` : ''}${result.backup.cached ? ', from the cache' : ''}`);
  lines.push(`  ${result.tables} table(s)${result.rows !== undefined ? `, ${result.rows} row(s)` : ''}, schema version ${result.schemaVersion ?? '0'}`);
  if (result.sessions.length) lines.push(`  ended ${result.sessions.length} other session(s) on ${result.target} for the swap: pid ${result.sessions.map((x) => x.pid).join(', ')}`);
  if (result.snapshotPending) lines.push(`  its pristine snapshot is being taken in the background: connections to ${result.target} wait a few seconds until it is done`);
  if (result.snapshot || result.snapshotPending) lines.push(`  reset to this copy any time: drydock snapshot restore pristine --to ${result.target}`);
  for (const fk of result.notValidForeignKeys) lines.push(`  foreign key ${fk.name} on ${fk.table} is NOT VALID: the data of ${fk.references} was excluded`);
  if (result.databaseSettings?.applied.length) lines.push(`  production's database settings on the copy: ${result.databaseSettings.applied.join('; ')}`);
  if (result.databaseSettings?.unknown) lines.push("  production's database settings are unknown (it could not be asked): the copy has none");
  for (const index of result.invalidIndexes) lines.push(`  index ${index} is INVALID in production, so the copy does not have it`);
  if (result.locale && !result.locale.matched) lines.push(`  production's collation ${result.locale.collate} is not available here: the copy uses the server's default`);
  if (result.scrubbed) lines.push(`  scrubbed before the swap: ${result.snapshot || result.snapshotPending ? 'the working copy and its pristine snapshot hold' : 'the working copy holds'} only scrubbed data`);
  return lines.join('\n');
}

/** Register `drydock pull`. */
export function registerPull(program: Command, run: RunCommand): void {
  program
    .command('pull')
    .description('copy production into a local database (verified, swapped in atomically, kept as a snapshot)')
    .option('--to <name|url>', 'local database to replace (default: the app name with _ for -)')
    .addOption(PULL_OPTIONS.from())
    .addOption(PULL_OPTIONS.fromUrl())
    .addOption(PULL_OPTIONS.capture())
    .addOption(PULL_OPTIONS.database())
    .option('--max-age <duration>', 'refuse a newest backup older than this, with its unit, e.g. 12h or 2d (default 24h)')
    .addOption(PULL_OPTIONS.transferTimeout())
    .addOption(PULL_OPTIONS.excludeTableData())
    .addOption(PULL_OPTIONS.jobs())
    .addOption(PULL_OPTIONS.scrub())
    .option('--no-snapshot', 'do not keep the pristine snapshot')
    .addOption(PULL_OPTIONS.validateForeignKeys())
    .addOption(localOption())
    .option('--dry-run', 'print the plan and change nothing')
    .action(async (opts: PullRequest, cmd: Command) => {
      await run(async (deps) => {
        const result = await pull(deps, { ...opts, localSource: cmd.getOptionValueSource('local'), transferTimeoutSource: cmd.getOptionValueSource('transferTimeout'), databaseSource: cmd.getOptionValueSource('database') });
        deps.output.result(result, renderPull);
      });
    });
}
