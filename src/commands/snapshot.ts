/**
 * `drydock snapshot save|restore|list|rm`: instant resets for rehearsals (pipelines/snapshot.ts).
 */
import type { Command } from 'commander';

import { formatAge } from '../format.js';
import { listSnapshots, prepareSpare, removeSnapshot, restoreSnapshot, saveSnapshot, type SnapshotFlags } from '../pipelines/snapshot.js';
import { localOption } from './options.js';
import type { RunCommand } from './run.js';

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
    .action(async (name: string, opts: SnapshotFlags & { drop?: string[] }, cmd: Command) => {
      await run(async (deps) => {
        const spare = await prepareSpare(deps, name, flags(opts, cmd));
        deps.output.result({ spare }, (r) => (r.spare ? `prepared ${r.spare}` : 'nothing to prepare'));
      });
    });

  common(snapshot.command('list').description('list snapshots: name, size, age, source'))
    .option('--all', 'snapshots of every working database')
    .action(async (opts: SnapshotFlags & { all?: boolean }, cmd: Command) => {
      await run(async (deps) => {
        const list = await listSnapshots(deps, flags(opts, cmd));
        deps.output.result(list, (rows) =>
          rows.length
            ? rows.map((s) => `${s.name.padEnd(20)} ${s.target.padEnd(24)} ${`${(s.bytes / 1024 ** 2).toFixed(1)} MB`.padStart(10)}  ${formatAge(s.ageHours).padStart(8)}  ${s.source ?? ''}`).join('\n')
            : 'no snapshots',
        );
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

