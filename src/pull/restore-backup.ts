/**
 * Restore a whole backup archive into an empty local database with pg_restore --jobs, adding the
 * foreign keys that were valid in production without re-checking them (foreign-keys.ts):
 *
 * 1. pre-data (tables, types, functions), so the keys can be planned against real tables (skipped
 *    when the caller already loaded pre-data and data while downloading: stream-restore.ts);
 * 2. data and post-data, in parallel, without the planned keys and without comments (a comment on a
 *    key needs the key);
 * 3. the planned keys, in one transaction;
 * 4. the comments of post-data.
 *
 * Steps 2–4 (restoreAroundForeignKeys) and the list-file plumbing (listRestorer) serve the live copy too.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type pg from 'pg';

import { formatEta } from '../format.js';
import { withClient } from '../pg/client.js';
import { etaFrom, formatPercent, shareDone } from '../progress.js';
import type { ArchiveSection, PgTools } from '../pg/pg-tools.js';
import type { DbUrl } from '../pg/url.js';
import { RestoreItemCounter } from '../pg/restore-progress.js';
import { addForeignKeys, planForeignKeys, type NotValidForeignKey, type PlannedForeignKey } from './foreign-keys.js';
import { isCommentEntry, isEventTriggerEntry, tocEntries, tocWith, type TocEntry } from '../backups/toc.js';

export interface RestoreBackupOptions {
  archive: string;
  archiveMajor: number;
  /** The table of contents to restore (already filtered: pre-created schemas, excluded data). */
  toc: string;
  target: DbUrl;
  jobs: number;
  pgTools: PgTools;
  excludedData: (schema: string, name: string) => boolean;
  validateForeignKeys: boolean;
  /** pre-data and data are already in (downloadWhileRestoring): restore post-data only. */
  dataLoaded?: boolean;
  /** Post-data entries already built (downloadWhileRestoring builds tables' own indexes early). */
  built?: ReadonlySet<number>;
  /** Items restored (pg_restore --verbose's lines counted) of the items this restore runs through pg_restore. */
  onProgress?: (progress: RestoreItemsProgress) => void;
}

/** How far a restore has come, in archive items. */
export interface RestoreItemsProgress {
  done: number;
  total: number;
  /** The newest item pg_restore named ("INDEX public.users_email_idx"). */
  item: string | undefined;
  /** When the items started (ms): the pace for the time left. */
  startedAt: number;
}

/** "pg_restore: 120 of 456 items (26 %), about 30 s left; now INDEX public.users_email_idx". */
export function describeRestoreProgress(p: RestoreItemsProgress, now: number = Date.now()): string {
  const share = shareDone(p.done, p.total);
  const eta = etaFrom(share, now - p.startedAt);
  return `pg_restore: ${p.done} of ${p.total} items${share !== undefined ? ` (${formatPercent(share)})` : ''}${eta !== undefined ? `, about ${formatEta(eta)} left` : ''}${p.item ? `; now ${p.item}` : ''}`;
}

/** Writes a filtered table of contents to a list file in `workDir` and restores it (pg_restore -L). */
export type ListRestorer = (name: string, toc: string, extra?: { section?: ArchiveSection | ArchiveSection[]; jobs?: number }) => Promise<void>;

/** A ListRestorer for one archive into one database. */
export function listRestorer(options: {
  pgTools: PgTools;
  target: DbUrl;
  archive: string;
  archiveMajor: number;
  workDir: string;
  onStderrLine?: ((line: string) => void) | undefined;
}): ListRestorer {
  return async (name, toc, extra = {}) => {
    const list = join(options.workDir, `${name}.list`);
    await writeFile(list, toc);
    await options.pgTools.restoreArchive(options.target, options.archive, {
      archiveMajor: options.archiveMajor,
      useList: list,
      ...(options.onStderrLine ? { onStderrLine: options.onStderrLine } : {}),
      ...extra,
    });
  };
}

/**
 * Restore `toc`'s entries (but those `skip` names) around the planned foreign keys: pg_restore without
 * the keys and, when there are any, without comments (a comment on a key needs the key); then the keys;
 * then the comments of post-data. Returns the keys left NOT VALID.
 */
export async function restoreAroundForeignKeys(options: {
  restore: ListRestorer;
  client: pg.Client;
  planned: readonly PlannedForeignKey[];
  toc: string;
  skip?: (entry: TocEntry) => boolean;
  section: ArchiveSection | ArchiveSection[];
  jobs: number;
}): Promise<NotValidForeignKey[]> {
  const keys = new Set(options.planned.map((fk) => fk.id));
  const hold = keys.size > 0;
  // Event triggers come last, so they cannot observe (and record) the restore's own DDL.
  const eventTriggers = tocWith(options.toc, isEventTriggerEntry);
  const rest = tocWith(options.toc, (e) => !options.skip?.(e) && !keys.has(e.id) && !isEventTriggerEntry(e) && !(hold && isCommentEntry(e)));
  await options.restore('rest', rest, { section: options.section, jobs: options.jobs });
  const notValid = await addForeignKeys(options.client, options.planned);
  if (hold) await options.restore('comments', tocWith(options.toc, (e) => isCommentEntry(e) && !isEventTriggerEntry(e)), { section: 'post-data' });
  if (tocEntries(eventTriggers).length) await options.restore('event-triggers', eventTriggers, { section: 'post-data' });
  return notValid;
}

/** Restore; returns the foreign keys left NOT VALID (their referenced data was excluded). */
export async function restoreBackupArchive(options: RestoreBackupOptions): Promise<NotValidForeignKey[]> {
  const workDir = await mkdtemp(join(tmpdir(), 'drydock-toc-'));
  const { onProgress } = options;
  const counter = new RestoreItemCounter();
  let items = new Set(tocEntries(options.toc).map((e) => e.id));
  const startedAt = Date.now();
  const report = (): void => onProgress?.({ done: Math.min(counter.done, items.size), total: items.size, item: counter.current, startedAt });
  const restore = listRestorer({ ...options, workDir, onStderrLine: onProgress ? (line) => counter.line(line).counted && report() : undefined });
  try {
    if (onProgress && options.dataLoaded) {
      // Only post-data is left: the items of the list pg_restore runs for that section.
      const postData = new Set(tocEntries(await options.pgTools.listArchive(options.archive, options.archiveMajor, { section: 'post-data' })).map((e) => e.id));
      items = new Set([...items].filter((id) => postData.has(id) && !options.built?.has(id)));
    }
    report();
    if (!options.dataLoaded) await restore('pre-data', options.toc, { section: 'pre-data' });
    return await withClient(options.target, async (client) => {
      const planned = await planForeignKeys({
        toc: options.toc,
        archive: options.archive,
        archiveMajor: options.archiveMajor,
        pgTools: options.pgTools,
        target: client,
        excludedData: options.excludedData,
        validate: options.validateForeignKeys,
      });
      // The keys drydock adds itself are not pg_restore's items.
      for (const fk of planned) items.delete(fk.id);
      return restoreAroundForeignKeys({
        restore,
        client,
        planned,
        toc: options.toc,
        ...(options.built?.size ? { skip: (e: TocEntry) => options.built!.has(e.id) } : {}),
        section: options.dataLoaded ? 'post-data' : ['data', 'post-data'],
        jobs: options.jobs,
      });
    });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
