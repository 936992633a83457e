/**
 * `drydock snapshot save|restore|list|rm`: instant resets for rehearsals (pipelines/snapshot.ts).
 */
import type { Command } from 'commander';

import { formatAge } from '../format.js';
import { listSnapshots, prepareSpare, removeSnapshot, restoreSnapshot, saveSnapshot, type PrepareFlags, type SnapshotFlags, type SnapshotInfo } from '../pipelines/snapshot.js';
import { localOption } from './options.js';
import type { RunCommand } from './run.js';

/** Human rendering of `snapshot list`: each working database, then its snapshots (name, size, age, source). */
export function renderSnapshotList(rows: readonly SnapshotInfo[]): string {
  if (!rows.length) return 'no snapshots';
  const lines: string[] = [];
  for (const target of [...new Set(rows.map((s) => s.target))]) {
    lines.push(target);
    for (const s of rows.filter((r) => r.target === target)) {
      lines.push(`  ${s.name.padEnd(20)} ${`${(s.bytes / 1024 ** 2).toFixed(1)} MB`.padStart(10)}  ${formatAge(s.ageHours).padStart(8)}  ${s.source ?? ''}`.trimEnd());
    }
  }
  return lines.join('\n');
}

/** Register `drydock snapshot`. */
export function registerSnapshot(program: Command, run: RunCommand): void {
  const snapshot = program.command('snapshot').description('save and restore instant copies of the local working database');
  const common = (cmd: Command) =>
    cmd.option('--to <name|url>', 'the working database (default: the app name with _ for -)').addOption(localOption());
  /** The flags with where --local came from. */
  const flags = <T extends SnapshotFlags>(opts: T, cmd: Command): T => ({ ...opts, localSource: cmd.getOptionValueSource('local') });

  common(snapshot.command('save <name>').description('save the working database as a snapshot'))
    .option('--force', 'replace an existing snapshot of that name')
    .action(async (name: string, opts: SnapshotFlags, cmd: Command) => {
      await run(async (deps) => {
        const saved = await saveSnapshot(deps, name, flags(opts, cmd));
        deps.output.result(saved, (s) => `saved snapshot "${s.name}" of ${s.target} (${(s.bytes / 1024 ** 2).toFixed(1)} MB)`);
      });
    });

  common(snapshot.command('restore <name>').description('reset the working database to a snapshot (ends its sessions)'))
    .action(async (name: string, opts: SnapshotFlags, cmd: Command) => {
      await run(async (deps) => {
        const restored = await restoreSnapshot(deps, name, flags(opts, cmd));
        deps.output.result(restored, (s) => `${s.target} reset to snapshot "${s.name}" in ${s.seconds} s${s.prepared ? ' (from the copy prepared in the background)' : ''}`);
      });
    });

  common(snapshot.command('prepare <name>', { hidden: true }).description('background: drop a replaced copy and prepare the next reset'))
    .option('--drop <database>', 'a replaced copy to drop (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
    .option('--take', 'first take the snapshot of the working database a pull handed over (closed to connections)')
    .option('--source <text>', 'with --take: where the data came from')
    .option('--excluded-table-data <pattern>', 'with --take: a table pattern copied without rows (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
    .action(async (name: string, opts: PrepareFlags, cmd: Command) => {
      await run(async (deps) => {
        const spare = await prepareSpare(deps, name, flags(opts, cmd));
        deps.output.result({ spare }, (r) => (r.spare ? `prepared ${r.spare}` : 'nothing to prepare'));
      });
    });

  common(snapshot.command('list').description('list snapshots: name, size, age, source (every working database\'s without --to or -a)'))
    .option('--all', 'snapshots of every working database on the local server')
    .action(async (opts: SnapshotFlags & { all?: boolean }, cmd: Command) => {
      await run(async (deps) => {
        const list = await listSnapshots(deps, flags(opts, cmd));
        deps.output.result(list, renderSnapshotList);
      });
    });

  common(snapshot.command('rm <name>').description('delete a snapshot'))
    .action(async (name: string, opts: SnapshotFlags, cmd: Command) => {
      await run(async (deps) => {
        const { target, removed } = await removeSnapshot(deps, name, flags(opts, cmd));
        deps.output.result({ name, target, removed }, () => `removed snapshot "${name}" of ${target}`);
      });
    });
}

