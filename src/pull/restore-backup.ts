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
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { withClient } from '../pg/client.js';
import type { ArchiveSection, PgTools } from '../pg/pg-tools.js';
import type { DbUrl } from '../pg/url.js';
import { addForeignKeys, planForeignKeys, type NotValidForeignKey } from './foreign-keys.js';
import { isCommentEntry, tocWith } from './toc.js';

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
  onStderrLine?: (line: string) => void;
}

/** Restore; returns the foreign keys left NOT VALID (their referenced data was excluded). */
export async function restoreBackupArchive(options: RestoreBackupOptions): Promise<NotValidForeignKey[]> {
  const work = await mkdtemp(join(tmpdir(), 'drydock-toc-'));
  const restore = async (name: string, toc: string, extra: { section: ArchiveSection | ArchiveSection[]; jobs?: number }) => {
    const list = join(work, `${name}.list`);
    await writeFile(list, toc);
    await options.pgTools.restoreArchive(options.target, options.archive, {
      archiveMajor: options.archiveMajor,
      useList: list,
      ...(options.onStderrLine ? { onStderrLine: options.onStderrLine } : {}),
      ...extra,
    });
  };
  try {
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
      const skip = new Set(planned.map((fk) => fk.id));
      const hold = planned.length > 0;
      await restore('rest', tocWith(options.toc, (e) => !skip.has(e.id) && !(hold && isCommentEntry(e))), { section: options.dataLoaded ? 'post-data' : ['data', 'post-data'], jobs: options.jobs });
      const notValid = await addForeignKeys(client, planned);
      if (hold) await restore('comments', tocWith(options.toc, isCommentEntry), { section: 'post-data' });
      return notValid;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
