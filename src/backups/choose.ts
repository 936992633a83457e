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
  return chooseBackupSkipping(backups, id, app, hints, new Map()).backup;
}

/**
 * As chooseBackup, but 'latest' passes over the backups in `skip` (id → why, e.g. safety backups,
 * which hold the data from before a restore) and says which newer completed ones it passed over.
 * A given id is used even when it is in `skip`. Pure; throws DrydockError.
 */
export function chooseBackupSkipping(
  backups: readonly BackupSummary[],
  id: string | undefined,
  app: string,
  hints: ChooseHints,
  skip: ReadonlyMap<string, string>,
): { backup: BackupSummary; skipped: Array<{ id: string; why: string }> } {
  if (id !== undefined && id !== 'latest') {
    const found = backups.find((b) => b.id.toLowerCase() === id.toLowerCase());
    if (!found) throw new DrydockError(`backup ${id} not found for ${app}`, { hint: hints.notFound });
    if (found.status !== 'completed') throw new DrydockError(`backup ${found.id} of ${app} is ${found.status}, not completed: only a completed backup can be used`, { hint: hints.notCompleted });
    return { backup: found, skipped: [] };
  }
  const completed = backups.filter((b) => b.kind === 'backup' && b.status === 'completed').sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
  const newest = completed.find((b) => !skip.has(b.id));
  const skipped = completed.slice(0, newest ? completed.indexOf(newest) : completed.length).map((b) => ({ id: b.id, why: skip.get(b.id) ?? '' }));
  if (!newest) {
    if (skipped.length) {
      throw new DrydockError(`${app} has no completed backup other than ${skipped.map((s) => `${s.id} (${s.why})`).join(', ')}`, {
        hint: `name one explicitly if you really mean it (e.g. ${skipped[0]!.id}); ${hints.none}`,
      });
    }
    throw new DrydockError(`${app} has no completed backup`, { hint: hints.none });
  }
  return { backup: newest, skipped };
}
