/**
 * The backup cache: downloads of Heroku backups, keyed by app and backup id, written to a .part file
 * and renamed only when complete and proven whole. A second pull of the same backup downloads nothing.
 *
 * How a download is proven whole: every byte Content-Length promised arrived, the size is the size
 * Heroku lists for the backup, and pg_restore reads the archive's whole table of contents. The ETag
 * proves nothing: real backups are uploaded in parts, so theirs is `<hex>-<parts>` (not an MD5), and an
 * encrypted single-part object's 32 hex digits are not the file's MD5 either. The MD5 and SHA-256
 * drydock records are of the bytes it kept.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { DrydockError } from '../errors.js';

/** What the cache knows about one downloaded backup. */
export interface CachedBackup {
  app: string;
  id: string;
  file: string;
  bytes: number;
  md5: string;
  sha256: string;
  downloadedAt: string;
  /** Backup creation time as Heroku reported it: a re-used id with another time is a different backup. */
  createdAt: string | undefined;
}

/** Progress of a download. */
export interface DownloadProgress {
  bytes: number;
  total: number | undefined;
}


function safeSegment(text: string): string {
  return text.replace(/[^a-zA-Z0-9_.-]/g, '_');
}

/** Paths of one backup in the cache. */
export function cachePaths(root: string, app: string, id: string): { dir: string; file: string; meta: string; part: string } {
  const dir = join(root, 'backups', safeSegment(app));
  const base = join(dir, safeSegment(id));
  return { dir, file: `${base}.dump`, meta: `${base}.json`, part: `${base}.dump.part` };
}

/** A cached backup, if present and intact (size matches; with `deep`, the checksum too). */
export async function findCached(root: string, app: string, id: string, createdAt: string | undefined, options: { deep?: boolean } = {}): Promise<CachedBackup | undefined> {
  const paths = cachePaths(root, app, id);
  let meta: CachedBackup;
  try {
    meta = JSON.parse(await readFile(paths.meta, 'utf8')) as CachedBackup;
    const info = await stat(paths.file);
    if (info.size !== meta.bytes) return undefined;
  } catch {
    return undefined;
  }
  if (createdAt && meta.createdAt && createdAt !== meta.createdAt) return undefined;
  if (options.deep) {
    const { sha256 } = await hashFile(paths.file);
    if (sha256 !== meta.sha256) return undefined;
  }
  return { ...meta, file: paths.file };
}

/** md5 and sha256 of a file. */
export async function hashFile(path: string): Promise<{ md5: string; sha256: string }> {
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    md5.update(chunk as Buffer);
    sha.update(chunk as Buffer);
  }
  return { md5: md5.digest('hex'), sha256: sha.digest('hex') };
}

/** Free bytes on the file system holding `path` (its nearest existing parent). */
export async function freeBytes(path: string): Promise<number | undefined> {
  let p = path;
  for (let i = 0; i < 20; i++) {
    try {
      const s = await statfs(p);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      const parent = join(p, '..');
      if (parent === p) return undefined;
      p = parent;
    }
  }
  return undefined;
}

/** How far the downloaded size may be from the size Heroku lists (which the CLI prints rounded to 2 decimals). */
export function sizeTolerance(expected: number): number {
  return Math.max(1024, Math.ceil(expected * 0.02));
}

/** An S3 error body (`<Code>…</Code><Message>…</Message>`) as one short line. */
function s3ErrorText(body: string): string {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1];
  return [code, message].filter(Boolean).join(': ').slice(0, 200);
}

/**
 * Stream `url` into the cache as `app/id`. Kept only when proven whole (see the top of this file):
 * Content-Length, Heroku's size for the backup (`expectedBytes`), and `verifyArchive` (pg_restore
 * --list) on the complete file. A refused URL (403: signed URLs expire) is asked for again once with
 * `freshUrl`.
 */
export async function downloadToCache(
  root: string,
  app: string,
  id: string,
  url: string,
  options: {
    createdAt?: string | undefined;
    onProgress?: (p: DownloadProgress) => void;
    timeoutMs?: number;
    /** Awaited after the first chunk is written (test hook: lets a kill test stop a download midway). */
    afterFirstChunk?: () => Promise<void>;
    /** Called once the .part file is (re)created, before any byte is written: a reader may follow it from here. */
    onPartOpened?: (part: string) => void;
    /** Abort the download (nothing is kept). */
    signal?: AbortSignal;
    /** Every chunk's running total (onProgress is throttled for display). */
    onBytes?: (bytes: number, total: number | undefined) => void;
    /** The backup's size as Heroku lists it (approximate): a download far from it is refused. */
    expectedBytes?: number | undefined;
    /** A new signed URL, for when `url` is refused (expired). */
    freshUrl?: () => Promise<string>;
    /** Read the complete file's table of contents (pg_restore --list); rejects when it is not a whole archive. */
    verifyArchive?: (file: string) => Promise<string>;
    /** Awaited before the file is kept: a rejection discards it (the URL proved not to be the backup's). */
    beforeKeep?: () => Promise<void>;
  } = {},
): Promise<CachedBackup> {
  const paths = cachePaths(root, app, id);
  await mkdir(paths.dir, { recursive: true });
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  let bytes = 0;
  const request = (from: string) =>
    new Promise<import('node:http').IncomingMessage>((resolvePromise, reject) => {
      const req = httpsGet(from, { timeout: options.timeoutMs ?? 60_000, ...(options.signal ? { signal: options.signal } : {}) }, resolvePromise);
      req.on('timeout', () => req.destroy(new Error('no data for too long')));
      req.on('error', reject);
    }).catch((error: Error) => {
      throw new DrydockError(`downloading backup ${id} failed: ${error.message}`, { hint: 'check the network and run again; nothing was kept', cause: error });
    });
  let response = await request(url);
  let refreshed = false;
  // Heroku's URLs are signed and expire: S3 answers 403 ("Request has expired"). Ask for a fresh one, once.
  if (response.statusCode === 403 && options.freshUrl) {
    response.resume();
    response = await request(await options.freshUrl());
    refreshed = true;
  }
  if ((response.statusCode ?? 0) >= 300) {
    const status = response.statusCode;
    const body = await readSmallBody(response);
    const why = s3ErrorText(body);
    throw new DrydockError(`downloading backup ${id} failed: HTTP ${status}${why ? ` (${why})` : ''}`, {
      hint:
        status === 403
          ? refreshed
            ? 'a freshly signed URL was refused too: check `heroku pg:backups:url` for this backup, and the clock of this machine'
            : 'the backup URL was refused (signed URLs expire); run again to fetch a fresh one'
          : 'run again; nothing was kept',
    });
  }
  const total = response.headers['content-length'] ? Number(response.headers['content-length']) : undefined;
  let lastReport = 0;
  let first = true;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      md5.update(chunk);
      sha.update(chunk);
      const now = Date.now();
      options.onBytes?.(bytes, total);
      if (now - lastReport > 250) {
        lastReport = now;
        options.onProgress?.({ bytes, total });
      }
      if (first && options.afterFirstChunk) {
        first = false;
        options.afterFirstChunk().then(() => done(null, chunk), done);
        return;
      }
      done(null, chunk);
    },
  });
  try {
    const out = createWriteStream(paths.part);
    out.once('open', () => options.onPartOpened?.(paths.part));
    await pipeline(response, meter, out);
    if (response.readableAborted || (!response.complete && total !== undefined)) throw new Error('the connection closed early');
    if (total !== undefined && bytes !== total) throw new Error(`got ${bytes} of ${total} bytes`);
    const expected = options.expectedBytes;
    if (expected !== undefined && expected > 0 && Math.abs(bytes - expected) > sizeTolerance(expected)) {
      throw new Error(`got ${bytes} bytes, but Heroku lists the backup as about ${expected} bytes`);
    }
    if (options.verifyArchive) {
      const toc = await options.verifyArchive(paths.part).catch((error: unknown) => {
        throw new Error(`the file is not a whole PostgreSQL archive: pg_restore could not read its table of contents (${(error as Error).message.split('\n')[0]})`);
      });
      if (!/^\d+; \d+ \d+ /m.test(toc)) throw new Error('the file is not a whole PostgreSQL archive: its table of contents lists nothing');
    }
    await options.beforeKeep?.();
    const md5hex = md5.digest('hex');
    const entry: CachedBackup = { app, id, file: paths.file, bytes, md5: md5hex, sha256: sha.digest('hex'), downloadedAt: new Date().toISOString(), createdAt: options.createdAt };
    await rename(paths.part, paths.file);
    await writeFile(paths.meta, JSON.stringify(entry, null, 2));
    options.onProgress?.({ bytes, total });
    return entry;
  } catch (error) {
    await rm(paths.part, { force: true });
    if (error instanceof DrydockError) throw error;
    throw new DrydockError(`downloading backup ${id} failed: ${(error as Error).message}`, {
      hint: 'nothing was kept and nothing local was changed; run again to retry the download',
      cause: error,
    });
  }
}

/** Up to 4 KB of an error response's body (an S3 XML error), then the rest is discarded. */
async function readSmallBody(response: import('node:http').IncomingMessage): Promise<string> {
  let text = '';
  try {
    for await (const chunk of response) {
      if (text.length < 4096) text += (chunk as Buffer).toString('utf8');
    }
  } catch {
    // a cut error body says nothing more
  }
  return text.slice(0, 4096);
}

/** Remove a cached backup, so the next run downloads it again (a damaged archive must not be reused). */
export async function evictCached(root: string, app: string, id: string): Promise<void> {
  const paths = cachePaths(root, app, id);
  await Promise.all([paths.file, paths.meta, paths.part].map((f) => rm(f, { force: true })));
}

/**
 * Whether pg_restore's error says the archive itself is damaged (flipped or missing bytes in its data)
 * rather than something about the target database. Pure.
 */
export function isDamagedArchive(message: string): boolean {
  return /could not uncompress data|could not read from input file|unexpected end of file|unrecognized data block type|found unexpected block ID|did not find magic string|invalid (stored block|distance|code|block type)|incorrect (header|data) check|corrupt/i.test(message);
}

/** Every message and stderr tail along an error's cause chain. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth += 1) {
    parts.push(e instanceof Error ? e.message : typeof e === 'string' ? e : '', (e as { stderrTail?: string }).stderrTail ?? '');
  }
  return parts.join('\n');
}

/**
 * The error to show when reading or restoring a cached backup failed: when the archive is damaged (its
 * size and table of contents were right, its data is not), the cached copy is removed and the error
 * says so; otherwise `error` itself. When the failure does not say (a parallel pg_restore only reports
 * that a worker died), `probe` reads the archive's data once more to find out.
 */
export async function damagedArchiveError(error: unknown, root: string, app: string, id: string, probe?: () => Promise<unknown>): Promise<unknown> {
  let text = errorText(error);
  if (!isDamagedArchive(text) && probe) {
    const probed = await probe().then(
      () => undefined,
      (e: unknown) => e,
    );
    if (probed === undefined) return error;
    text = errorText(probed);
  }
  if (!isDamagedArchive(text)) return error;
  await evictCached(root, app, id).catch(() => undefined);
  const line = text.split('\n').flatMap((l) => l.split(' | ')).find((l) => isDamagedArchive(l))?.trim().slice(0, 200) ?? '';
  return new DrydockError(`backup ${id} is damaged: its size and table of contents are right, but pg_restore cannot read its data (${line})`, {
    hint: 'the damaged copy was removed from the cache: run again to download it again',
    cause: error,
  });
}
