/**
 * Which backup a command uses: a given id, or the newest completed one of the chosen database. One rule
 * for pull, restore, `backups download` and `backups verify`; each says in its hint what the user can
 * do next.
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

/**
 * The database 'latest' means: only its backups count (an app with a follower lists the follower's
 * backups too). `label` names it in messages ("DATABASE_URL").
 */
export interface ChooseDatabase {
  label: string;
  isOf: (backup: BackupSummary) => boolean;
}

/** The completed backups (not restores or copies), newest first. Pure. */
function completedNewestFirst(backups: readonly BackupSummary[]): BackupSummary[] {
  return backups.filter((b) => b.kind === 'backup' && b.status === 'completed').sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
}

/** The newest completed backup (not a restore or copy), or undefined. Pure. */
export function newestCompleted(backups: readonly BackupSummary[]): BackupSummary | undefined {
  return completedNewestFirst(backups)[0];
}

/**
 * The backup `heroku pg:backups:url` without an id gives the URL of: the app's newest succeeded backup
 * by creation time, whatever its database. Undefined when there is none, or when two completed backups
 * share the newest creation time (the list prints seconds; the CLI compares finer times). Pure.
 */
export function backupOfUrlWithoutId(backups: readonly BackupSummary[]): BackupSummary | undefined {
  const [newest, next] = completedNewestFirst(backups);
  if (!newest?.createdAt || (next && next.createdAt === newest.createdAt)) return undefined;
  return newest;
}

/** Pick `id` (case-insensitive; it must be completed), or for 'latest' the newest completed backup. Pure; throws DrydockError. */
export function chooseBackup(backups: readonly BackupSummary[], id: string | undefined, app: string, hints: ChooseHints, database?: ChooseDatabase): BackupSummary {
  return chooseBackupSkipping(backups, id, app, hints, new Map(), database).backup;
}

/**
 * As chooseBackup, but 'latest' passes over the backups in `skip` (id → why, e.g. safety backups,
 * which hold the data from before a restore) and says which newer completed ones it passed over.
 * A given id is used even when it is in `skip`, or of another database. With `database`, 'latest'
 * only considers that database's backups. Pure; throws DrydockError.
 */
export function chooseBackupSkipping(
  backups: readonly BackupSummary[],
  id: string | undefined,
  app: string,
  hints: ChooseHints,
  skip: ReadonlyMap<string, string>,
  database?: ChooseDatabase,
): { backup: BackupSummary; skipped: Array<{ id: string; why: string }> } {
  if (id !== undefined && id !== 'latest') {
    const found = backups.find((b) => b.id.toLowerCase() === id.toLowerCase());
    if (!found) throw new DrydockError(`backup ${id} not found for ${app}`, { hint: hints.notFound });
    if (found.status !== 'completed') throw new DrydockError(`backup ${found.id} of ${app} is ${found.status}, not completed: only a completed backup can be used`, { hint: hints.notCompleted });
    return { backup: found, skipped: [] };
  }
  const all = completedNewestFirst(backups);
  const completed = database ? all.filter((b) => database.isOf(b)) : all;
  const of = database ? ` of ${database.label}` : '';
  const newest = completed.find((b) => !skip.has(b.id));
  const skipped = completed.slice(0, newest ? completed.indexOf(newest) : completed.length).map((b) => ({ id: b.id, why: skip.get(b.id) ?? '' }));
  if (!newest) {
    if (skipped.length) {
      throw new DrydockError(`${app} has no completed backup${of} other than ${skipped.map((s) => `${s.id} (${s.why})`).join(', ')}`, {
        hint: `name one explicitly if you really mean it (e.g. ${skipped[0]!.id}); ${hints.none}`,
      });
    }
    const others = all.filter((b) => !completed.includes(b));
    const elsewhere = others.length ? ` (${others.slice(0, 3).map((b) => `${b.id} is of ${b.database ?? 'an unnamed database'}`).join(', ')}${others.length > 3 ? ', …' : ''})` : '';
    throw new DrydockError(`${app} has no completed backup${of}${elsewhere}`, { hint: hints.none });
  }
  return { backup: newest, skipped };
}
