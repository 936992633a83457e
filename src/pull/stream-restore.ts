/**
 * Restore a backup while it downloads. The download lands in the cache's .part file as usual (size and
 * checksum checked at the end, kept for the next pull); a reader follows that file into a sequential
 * `pg_restore --section=pre-data --section=data` (the way `pg_dump -Fc | pg_restore` reads a pipe), so
 * tables load while later bytes are still on the wire. Over a slow link the data load hides behind
 * the download. Each table's own indexes and keys are built as soon as its data is in, from the partial
 * file (early-post-data.ts); the rest of post-data (the last table's indexes, foreign keys, triggers…)
 * then runs with pg_restore --jobs from the complete file (restore-backup.ts).
 *
 * The archive's table of contents sits at its head: it is read (pg_restore --list on the partial file)
 * as soon as it is complete, to pre-create extensions and filter the list before anything loads.
 * A sequential load is slower than pg_restore --jobs from a file, so in `auto` mode a download that
 * will be over within a few seconds (a fast link) is simply waited for.
 * A failed or corrupt download fails the restore with the download's own error; a failed restore
 * aborts the download. Either way the caller drops the scratch database.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { PgTools } from '../pg/pg-tools.js';
import type { DbUrl } from '../pg/url.js';
import type { CachedBackup } from '../backups/cache.js';
import { tocWith } from '../backups/toc.js';
import { cancelOnAbort, withClient } from '../pg/client.js';
import { quoteQualified } from '../pg/ident.js';
import { DataLoadTracker, planEarlyPostData, type EarlyTable } from './early-post-data.js';
import { tailFile, type FileTail } from './tail-file.js';

/** How the restore follows the download. */
export type StreamMode =
  /** Stream unless the download will be over in a few seconds (a fast link: pg_restore --jobs from the file wins). */
  | 'auto'
  /** Always stream (DRYDOCK_STREAM_RESTORE=1). */
  | 'always';

/** In auto mode: a download projected to end within this many seconds is waited for instead. */
export const STREAM_MIN_REMAINING_SECONDS = 8;
/** In auto mode: how long the download is watched before deciding. */
const DECIDE_AFTER_MS = 1_000;

export interface DownloadWhileRestoringOptions {
  /** Start the download into the cache, passing on its hooks (downloadToCache). */
  download: (hooks: { onPartOpened: (part: string) => void; onBytes: (bytes: number, total: number | undefined) => void; signal: AbortSignal }) => Promise<CachedBackup>;
  mode: StreamMode;
  archiveMajor: number;
  pgTools: PgTools;
  target: DbUrl;
  /** Given the archive's table of contents: prepare the target (extensions) and return the entries to restore. */
  prepare: (toc: string) => Promise<string>;
  /** Called when the load starts following the download. */
  onStreaming?: () => void;
  onStderrLine?: (line: string) => void;
}

export interface DownloadWhileRestoringResult {
  cached: CachedBackup;
  /** The archive's whole table of contents. */
  toc: string;
  /** The entries chosen by `prepare`. */
  list: string;
  /** Their pre-data and data were loaded during the download (false: the download was fast, nothing loaded yet). */
  streamed: boolean;
  /** The post-data entries (tables' own indexes and keys) already built while the download went on. */
  built: ReadonlySet<number>;
  /** The tables (`schema.name`) analyzed once their data and indexes were in. */
  analyzed: ReadonlySet<string>;
}

/** Download a backup and load its schema and data at the same time. */
export async function downloadWhileRestoring(options: DownloadWhileRestoringOptions): Promise<DownloadWhileRestoringResult> {
  const abort = new AbortController();
  let tail: FileTail | undefined;
  let part: string | undefined;
  let done = false;
  let failure: { error: Error } | undefined;
  const started = Date.now();
  let progress = { bytes: 0, total: undefined as number | undefined };
  let file: string | undefined;
  const download = options
    .download({
      signal: abort.signal,
      onBytes: (bytes, total) => (progress = { bytes, total }),
      onPartOpened: (path) => {
        part = path;
        tail = tailFile(path);
      },
    })
    .then(
      (cached) => {
        done = true;
        file = cached.file;
        tail?.finish();
        return cached;
      },
      (error: unknown) => {
        failure = { error: error instanceof Error ? error : new Error(String(error)) };
        tail?.fail();
        throw error;
      },
    );
  download.catch(() => undefined);
  const work = await mkdtemp(join(tmpdir(), 'drydock-stream-'));
  let early: EarlyBuilder | undefined;
  try {
    const toc = await tableOfContents();
    const list = await options.prepare(toc);
    if (options.mode === 'auto' && !(await worthStreaming())) {
      return { cached: await download, toc, list, streamed: false, built: new Set(), analyzed: new Set() };
    }
    const listFile = join(work, 'restore.list');
    await writeFile(listFile, list);
    if (!tail || !part) throw failure?.error ?? new Error('the download never started');
    const partFile = part;
    // The partial file is renamed when the download completes: a tool that found it gone reads the whole one.
    const fromArchive = async <T>(use: (archive: string) => Promise<T>): Promise<T> => {
      const archive = file ?? partFile;
      try {
        return await use(archive);
      } catch (error) {
        if (archive === file || file === undefined) throw error;
        return use(file);
      }
    };
    // The table of contents is complete: it says which entries each table's data unlocks.
    const plan = planEarlyPostData(await fromArchive((archive) => options.pgTools.listArchive(archive, options.archiveMajor, { dependencies: true })), list);
    early = earlyBuilder(list, fromArchive);
    const tracker = new DataLoadTracker(plan, (table) => early!.add(table));
    options.onStreaming?.();
    const restore = options.pgTools.restoreArchive(options.target, tail.readable, {
      archiveMajor: options.archiveMajor,
      section: ['pre-data', 'data'],
      useList: listFile,
      onStderrLine: (line) => {
        tracker.line(line);
        options.onStderrLine?.(line);
      },
    });
    restore.catch(() => abort.abort());
    const [downloaded, restored] = await Promise.allSettled([download, restore]);
    // A broken download explains a broken restore: report the download.
    if (downloaded.status === 'rejected') throw downloaded.reason;
    if (restored.status === 'rejected') throw restored.reason;
    // Tables not yet built (the last one, unless pg_restore named an item after it, and any that queued
    // behind the run under way) are left to the final step, which builds them with --jobs.
    const { built, analyzed } = await early.finish();
    return { cached: downloaded.value, toc, list, streamed: true, built, analyzed };
  } catch (error) {
    abort.abort();
    await early?.cancel();
    await download.catch(() => undefined);
    throw error;
  } finally {
    tail?.dispose();
    await rm(work, { recursive: true, force: true });
  }

  /**
   * Builds the entries of the tables it is given, one pg_restore at a time, each run taking all that
   * queued up while the previous ran, in one transaction: a run that fails leaves nothing behind, and its
   * entries to the final step (which reports the error, if it is one). Then ANALYZEs those tables whose
   * statistics are complete, as the live copy does with a stream that has nothing left to copy.
   */
  function earlyBuilder(list: string, fromArchive: <T>(use: (archive: string) => Promise<T>) => Promise<T>): EarlyBuilder {
    const queue: EarlyTable[] = [];
    const built = new Set<number>();
    const analyzed = new Set<string>();
    const stop = new AbortController();
    let running: Promise<void> | undefined;
    let closed = false;
    let runs = 0;
    const kick = (): void => {
      if (running || closed || !queue.length) return;
      const tables = queue.splice(0);
      const ids = new Set(tables.flatMap((t) => t.entryIds));
      running = (async () => {
        if (ids.size) {
          const listFile = join(work, `early-${++runs}.list`);
          await writeFile(listFile, tocWith(list, (e) => ids.has(e.id)));
          await fromArchive((archive) => options.pgTools.restoreArchive(options.target, archive, { archiveMajor: options.archiveMajor, useList: listFile, singleTransaction: true, signal: stop.signal, pgOptions: EARLY_BUILD_OPTIONS }));
          for (const id of ids) built.add(id);
        }
        const toAnalyze = tables.flatMap((t) => (t.analyze ? [t.analyze] : []));
        if (toAnalyze.length && !stop.signal.aborted) {
          await withClient(options.target, async (client) => {
            const stopCancelling = cancelOnAbort(options.target, client, stop.signal);
            try {
              await client.query(`ANALYZE ${toAnalyze.map((t) => quoteQualified(t.schema, t.name)).join(', ')}`);
            } finally {
              await stopCancelling();
            }
          }, { applicationName: 'drydock pull (analyze)' });
          for (const t of toAnalyze) analyzed.add(`${t.schema}.${t.name}`);
        }
      })()
        .catch(() => {
          // Left to the final step; stop building early (the server may be short of something).
          closed = true;
        })
        .finally(() => {
          running = undefined;
          kick();
        });
    };
    return {
      add: (table) => {
        queue.push(table);
        kick();
      },
      finish: async () => {
        closed = true;
        while (running) await running;
        return { built, analyzed };
      },
      cancel: async () => {
        closed = true;
        stop.abort();
        while (running) await running;
      },
    };
  }

  /** Watch the download for a moment: stream only when it has more than a few seconds to go. */
  async function worthStreaming(): Promise<boolean> {
    while (!done && !failure && Date.now() - started < DECIDE_AFTER_MS) await sleep(50);
    if (failure) throw failure.error;
    if (done) return false;
    const { bytes, total } = progress;
    if (total === undefined || bytes === 0) return true;
    const remainingSeconds = ((total - bytes) / bytes) * ((Date.now() - started) / 1000);
    return remainingSeconds > STREAM_MIN_REMAINING_SECONDS;
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

/**
 * An early build leaves the other core to the load it runs beside: no parallel workers (a btree build
 * would otherwise take every core, and the load would fall behind the download).
 */
const EARLY_BUILD_OPTIONS = '-c max_parallel_maintenance_workers=0';

/** Builds tables' own post-data entries while the download goes on. */
interface EarlyBuilder {
  /** Queue a table whose data is in. */
  add(table: EarlyTable): void;
  /** Take nothing more; wait for the run under way; the entries built and the tables analyzed. */
  finish(): Promise<{ built: ReadonlySet<number>; analyzed: ReadonlySet<string> }>;
  /** Stop the run under way (its transaction rolls back). */
  cancel(): Promise<void>;
}
