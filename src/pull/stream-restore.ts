/**
 * Restore a backup while it downloads. The download lands in the cache's .part file as usual (size and
 * checksum checked at the end, kept for the next pull); a reader follows that file into a sequential
 * `pg_restore --section=pre-data --section=data` (the way `pg_dump -Fc | pg_restore` reads a pipe), so
 * tables load while later bytes are still on the wire. Over a slow link the data load hides behind
 * the download. Indexes, keys and the rest (post-data) then run with pg_restore --jobs from the
 * complete file (restore-backup.ts).
 *
 * The archive's table of contents sits at its head: it is read (pg_restore --list on the partial file)
 * as soon as it is complete, to pre-create extensions and filter the list before anything loads.
 * A failed or corrupt download fails the restore with the download's own error; a failed restore
 * aborts the download. Either way the caller drops the scratch database.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { PgTools } from '../pg/pg-tools.js';
import type { DbUrl } from '../pg/url.js';
import type { CachedBackup } from './cache.js';
import { tailFile, type FileTail } from './tail-file.js';

export interface DownloadWhileRestoringOptions {
  /** Start the download into the cache, passing on its hooks (downloadToCache). */
  download: (hooks: { onPartOpened: (part: string) => void; signal: AbortSignal }) => Promise<CachedBackup>;
  archiveMajor: number;
  pgTools: PgTools;
  target: DbUrl;
  /** Given the archive's table of contents: prepare the target (extensions) and return the entries to restore. */
  prepare: (toc: string) => Promise<string>;
  onStderrLine?: (line: string) => void;
}

export interface DownloadWhileRestoringResult {
  cached: CachedBackup;
  /** The archive's whole table of contents. */
  toc: string;
  /** The entries chosen by `prepare`: its pre-data and data are loaded. */
  list: string;
}

/** Download a backup and load its schema and data at the same time. */
export async function downloadWhileRestoring(options: DownloadWhileRestoringOptions): Promise<DownloadWhileRestoringResult> {
  const abort = new AbortController();
  let tail: FileTail | undefined;
  let part: string | undefined;
  let done = false;
  let failure: { error: unknown } | undefined;
  const download = options
    .download({
      signal: abort.signal,
      onPartOpened: (path) => {
        part = path;
        tail = tailFile(path);
      },
    })
    .then(
      (cached) => {
        done = true;
        tail?.finish();
        return cached;
      },
      (error: unknown) => {
        failure = { error };
        tail?.fail();
        throw error;
      },
    );
  download.catch(() => undefined);
  const work = await mkdtemp(join(tmpdir(), 'drydock-stream-'));
  try {
    const toc = await tableOfContents();
    const list = await options.prepare(toc);
    const listFile = join(work, 'restore.list');
    await writeFile(listFile, list);
    if (!tail) throw failure?.error ?? new Error('the download never started');
    const restore = options.pgTools.restoreArchive(options.target, tail.readable, {
      archiveMajor: options.archiveMajor,
      section: ['pre-data', 'data'],
      useList: listFile,
      ...(options.onStderrLine ? { onStderrLine: options.onStderrLine } : {}),
    });
    restore.catch(() => abort.abort());
    const [downloaded, restored] = await Promise.allSettled([download, restore]);
    // A broken download explains a broken restore: report the download.
    if (downloaded.status === 'rejected') throw downloaded.reason;
    if (restored.status === 'rejected') throw restored.reason;
    return { cached: downloaded.value, toc, list };
  } catch (error) {
    abort.abort();
    await download.catch(() => undefined);
    throw error;
  } finally {
    tail?.dispose();
    await rm(work, { recursive: true, force: true });
  }

  /** pg_restore --list of the partial file, retried as it grows, until the whole table of contents is in. */
  async function tableOfContents(): Promise<string> {
    let tryAt = 64 * 1024;
    for (;;) {
      if (failure) throw failure.error;
      if (done) return options.pgTools.listArchive((await download).file, options.archiveMajor);
      const size = part ? ((await stat(part).catch(() => undefined))?.size ?? 0) : 0;
      if (part && size >= tryAt) {
        const toc = await options.pgTools.listArchive(part, options.archiveMajor).catch(() => undefined);
        if (toc !== undefined) return toc;
        tryAt = size * 2;
      } else {
        await sleep(100);
      }
    }
  }
}
