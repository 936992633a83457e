/**
 * `drydock backups list|capture|info|download|verify`: Heroku Postgres backups, and proof they restore
 * (pipelines/backups.ts).
 */
import type { Command } from 'commander';

import { ChecksFailed } from '../errors.js';
import { formatAge, formatBackupSize, hoursSince } from '../format.js';
import type { BackupInfo } from '../heroku/cli.js';
import { resolveApp } from '../heroku/remote.js';
import { describeDatabase } from '../heroku/database.js';
import { backupInfo, captureBackup, downloadBackup, listBackups, verifyBackup, type ListedBackup } from '../pipelines/backups.js';
import { resolveTransferTimeout } from '../settings.js';
import { databaseOption, localOption, transferTimeoutOption } from './options.js';
import type { RunCommand } from './run.js';

function renderList(backups: ListedBackup[]): string {
  if (!backups.length) return 'no backups';
  return [
    'ID     STATUS     CREATED                    AGE        SIZE       DATABASE   NOTE',
    ...backups.map((b) =>
      `${b.id.padEnd(6)} ${b.status.padEnd(10)} ${String(b.createdAt ?? '').padEnd(26)} ${formatAge(hoursSince(b.createdAt)).padEnd(10)} ${formatBackupSize(b.sizeBytes).padEnd(10)} ${(b.database ?? '').padEnd(10)} ${b.safety ? `${b.safety} (the data from before it; never 'latest')` : ''}`.trimEnd(),
    ),
  ].join('\n');
}

/** A backup's details; `logs: false` when its log lines were already shown as they came (capture). */
function renderInfo(b: BackupInfo, options: { logs?: boolean } = {}): string {
  return [
    `${b.id}: ${b.status}, ${b.kind}${b.scheduled ? ' (scheduled)' : ''}`,
    `  created   ${b.createdAt ?? '?'} (${formatAge(hoursSince(b.createdAt))} ago)`,
    `  finished  ${b.finishedAt ?? '-'}`,
    `  size      ${formatBackupSize(b.sizeBytes)} compressed, ${formatBackupSize(b.sourceBytes)} database`,
    `  database  ${b.database ?? '?'}`,
    ...(b.logs.length && options.logs !== false ? ['  logs', ...b.logs.slice(-10).map((l) => `    ${l.createdAt} ${l.message}`)] : []),
  ].join('\n');
}

/** Register `drydock backups`. */
export function registerBackups(program: Command, run: RunCommand): void {
  const backups = program.command('backups').description('list, capture, inspect, download and verify Heroku Postgres backups');

  backups
    .command('list')
    .description("a database's backups with age, size and status")
    .addOption(databaseOption('whose backups to list'))
    .action(async (opts: { database?: string }) => {
      await run(async (deps) => {
        const { database, backups: list } = await listBackups(deps, await resolveApp(deps.settings, { required: true }), opts.database);
        deps.output.result(list, (l) => `backups of ${describeDatabase(database)}\n${renderList(l)}`);
      });
    });

  backups
    .command('capture')
    .description('capture a backup and wait until Heroku says it finished (a failure exits non-zero with Heroku\'s log lines)')
    .addOption(databaseOption('database to back up'))
    .addOption(transferTimeoutOption('the capture'))
    .action(async (opts: { database?: string; transferTimeout?: string }, cmd: Command) => {
      await run(async (deps) => {
        const app = await resolveApp(deps.settings, { required: true });
        const timeoutMs = resolveTransferTimeout(opts.transferTimeout, cmd.getOptionValueSource('transferTimeout'));
        const info = await captureBackup(deps, app, { database: opts.database ?? 'DATABASE_URL', timeoutMs });
        // Heroku's log lines were shown as they arrived: each once (--json still carries them all).
        deps.output.result(info, (b) => renderInfo(b, { logs: false }));
      });
    });

  backups
    .command('info [id]')
    .description('details and logs of a backup (default: the newest of the database)')
    .addOption(databaseOption('whose newest backup, and where its backups are listed'))
    .action(async (id: string | undefined, opts: { database?: string }) => {
      await run(async (deps) => {
        const app = await resolveApp(deps.settings, { required: true });
        deps.output.result(await backupInfo(deps, app, id, opts.database), (b) => renderInfo(b));
      });
    });

  backups
    .command('download [id]')
    .description('download a backup into the cache (or -o FILE), checking its size and that pg_restore reads its table of contents')
    .option('-o, --output <file>', 'also copy it to this file')
    .addOption(databaseOption('whose newest backup, and where its backups are listed'))
    .action(async (id: string | undefined, opts: { output?: string; database?: string }) => {
      await run(async (deps) => {
        const { backup, entry } = await downloadBackup(deps, await resolveApp(deps.settings, { required: true }), id, opts.output, opts.database);
        deps.output.result(entry, (e) =>
          `${backup.id}: ${formatBackupSize(e.bytes)}, md5 ${e.md5}, sha256 ${e.sha256}\n  ${e.fromCache ? 'already in the cache' : 'downloaded'}: ${e.file}${e.output ? `\n  copied to ${e.output}` : ''}`,
        );
      });
    });

  backups
    .command('verify [id]')
    .description('restore a backup into a scratch local database, check tables, rows and schema version, then drop it')
    .addOption(localOption())
    .addOption(databaseOption('whose newest backup, and where its backups are listed'))
    .action(async (id: string | undefined, opts: { local?: string; database?: string }, cmd: Command) => {
      await run(async (deps) => {
        const app = await resolveApp(deps.settings, { required: true });
        const result = await verifyBackup(deps, app, id, { local: opts.local, localSource: cmd.getOptionValueSource('local'), database: opts.database });
        deps.output.result(result, (r) =>
          r.ok
            ? `backup ${r.backup} restores: ${r.tables} table(s), ${r.rows} row(s) match the backup, schema version ${r.schemaVersion} (${r.seconds} s)`
            : [`backup ${r.backup} does NOT restore faithfully:`, ...r.problems.map((p) => `  ${p}`)].join('\n'),
        );
        if (!result.ok) throw new ChecksFailed(`backup ${result.backup} failed verification (${result.problems.length} problem(s))`, result, { hint: 'capture a new backup and verify it; do not rely on this one' });
      });
    });
}
