/**
 * Safety backups: the backup `drydock restore` captures of the app's data just before it restores
 * another backup over it. It holds the data as it was BEFORE that restore (the damaged data, in an
 * incident), so it is never what `restore latest` means, and listings say what it is.
 *
 * Heroku backups carry no label or note, so drydock knows a safety backup two ways:
 * - recorded: this machine captured it (a small JSON file per app in drydock's cache folder), which
 *   also says which backup was restored;
 * - inferred: on any machine, from Heroku's transfer history, which every engineer sees: the transfer
 *   right after the backup (num + 1, Heroku numbers an app's transfers in one sequence) is a restore.
 *   and it started at most RESTORE_WINDOW_MS after the backup finished. A backup captured just
 *   before a restore holds the pre-restore data, whoever captured it.
 * A safety backup whose restore never started (drydock stopped between the two) is known only to the
 * machine that captured it; and the heroku CLI lists only the 10 newest restores.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { BackupSummary } from '../heroku/cli.js';

/** What a safety backup was taken for. */
export interface SafetyNote {
  /** The backup drydock was about to restore (recorded only). */
  restoreOf: string | undefined;
  /** The restore transfer that followed (r003), when Heroku lists it. */
  restore: string | undefined;
  /** When the safety backup was captured (ISO). */
  at: string | undefined;
  /** recorded: this machine captured it; inferred: from Heroku's transfer history. */
  source: 'recorded' | 'inferred';
}

/** One safety backup this machine captured. */
export interface SafetyRecord {
  app: string;
  /** The safety backup (b003). */
  id: string;
  /** Its created_at as Heroku lists it: an id Heroku re-used (a re-created app) is not this backup. */
  createdAt: string | undefined;
  /** The backup being restored when it was captured. */
  restoreOf: string;
  database: string;
  capturedAt: string;
}

/** How soon after a backup finished the next transfer must start, as a restore, for the backup to count as taken for it. */
export const RESTORE_WINDOW_MS = 10 * 60_000;

function startedSoonAfter(restoreAt: string | undefined, backupAt: string | undefined): boolean {
  const r = Date.parse(restoreAt ?? '');
  const b = Date.parse(backupAt ?? '');
  if (Number.isNaN(r) || Number.isNaN(b)) return false;
  // Heroku's times have whole seconds: a little slack before.
  return r - b >= -60_000 && r - b <= RESTORE_WINDOW_MS;
}

function recordFile(cacheDir: string, app: string): string {
  return join(cacheDir, 'safety-backups', `${app.replace(/[^a-zA-Z0-9_.-]/g, '_')}.json`);
}

/** The safety backups this machine captured for `app` (none when the file is missing or unreadable). */
export async function readSafetyRecords(cacheDir: string, app: string): Promise<SafetyRecord[]> {
  try {
    const parsed = JSON.parse(await readFile(recordFile(cacheDir, app), 'utf8')) as unknown;
    return Array.isArray(parsed) ? (parsed as SafetyRecord[]).filter((r) => r && typeof r.id === 'string' && r.app === app) : [];
  } catch {
    return [];
  }
}

/** Add a record (written to a temporary file and renamed, so a crash never leaves half a file). */
export async function recordSafetyBackup(cacheDir: string, record: SafetyRecord): Promise<void> {
  const file = recordFile(cacheDir, record.app);
  const records = (await readSafetyRecords(cacheDir, record.app)).filter((r) => r.id !== record.id);
  records.push(record);
  await mkdir(join(cacheDir, 'safety-backups'), { recursive: true });
  const part = `${file}.${process.pid}.part`;
  await writeFile(part, JSON.stringify(records.slice(-200), null, 2));
  await rename(part, file);
}

/**
 * Which of `transfers` (every transfer of one app, as `heroku pg:backups` lists them) are safety
 * backups, and why. Pure.
 */
export function findSafetyBackups(transfers: readonly BackupSummary[], records: readonly SafetyRecord[]): Map<string, SafetyNote> {
  const notes = new Map<string, SafetyNote>();
  const byNum = new Map(transfers.map((t) => [t.num, t]));
  for (const b of transfers) {
    if (b.kind !== 'backup') continue;
    const next = byNum.get(b.num + 1);
    const restore = next?.kind === 'restore' && startedSoonAfter(next.createdAt, b.finishedAt ?? b.createdAt) ? next.id : undefined;
    const record = records.find((r) => r.id.toLowerCase() === b.id.toLowerCase() && (!r.createdAt || !b.createdAt || r.createdAt === b.createdAt));
    if (record) notes.set(b.id, { restoreOf: record.restoreOf, restore, at: b.createdAt ?? record.capturedAt, source: 'recorded' });
    else if (restore) notes.set(b.id, { restoreOf: undefined, restore, at: b.createdAt, source: 'inferred' });
  }
  return notes;
}

/** "safety backup before restore of b001 at 2026-03-01T10:00:00Z" (or "… before restore r003 …" when inferred). */
export function describeSafety(note: SafetyNote): string {
  const what = note.restoreOf ? `restore of ${note.restoreOf}${note.restore ? ` (${note.restore})` : ''}` : `restore ${note.restore ?? '?'}`;
  return `safety backup before ${what}${note.at ? ` at ${note.at}` : ''}`;
}
