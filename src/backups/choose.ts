/**
 * Which backup a command uses: a given id, or the newest completed one. One rule for pull, restore,
 * `backups download` and `backups verify`; each says in its hint what the user can do next.
 */
import { DrydockError } from '../errors.js';
import type { BackupSummary } from '../heroku/cli.js';

/** What to tell the user when no backup fits. */
export interface ChooseHints {
  /** After "backup X not found" (e.g. how to list backups). */
  notFound: string;
  /** After "backup X is failed, not completed". */
  notCompleted: string;
  /** After "APP has no completed backup" (e.g. how to capture one). */
  none: string;
}

/** The newest completed backup (not a restore or copy), or undefined. Pure. */
export function newestCompleted(backups: readonly BackupSummary[]): BackupSummary | undefined {
  return backups.filter((b) => b.kind === 'backup' && b.status === 'completed').sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)))[0];
}

/** Pick `id` (case-insensitive; it must be completed), or for 'latest' the newest completed backup. Pure; throws DrydockError. */
export function chooseBackup(backups: readonly BackupSummary[], id: string | undefined, app: string, hints: ChooseHints): BackupSummary {
  if (id !== undefined && id !== 'latest') {
    const found = backups.find((b) => b.id.toLowerCase() === id.toLowerCase());
    if (!found) throw new DrydockError(`backup ${id} not found for ${app}`, { hint: hints.notFound });
    if (found.status !== 'completed') throw new DrydockError(`backup ${found.id} of ${app} is ${found.status}, not completed: only a completed backup can be used`, { hint: hints.notCompleted });
    return found;
  }
  const newest = newestCompleted(backups);
  if (!newest) throw new DrydockError(`${app} has no completed backup`, { hint: hints.none });
  return newest;
}
