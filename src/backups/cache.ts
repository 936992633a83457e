/**
 * The backup cache: downloads of Heroku backups, keyed by app and backup id, verified by size and
 * checksum, written to a .part file and renamed only when complete. A second pull of the same backup
 * downloads nothing.
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

/**
 * Stream `url` into the cache as `app/id`, checking Content-Length and the S3-style ETag (an MD5 of the
 * body) when present. Nothing is kept unless complete and intact.
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
  } = {},
): Promise<CachedBackup> {
  const paths = cachePaths(root, app, id);
  await mkdir(paths.dir, { recursive: true });
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  let bytes = 0;
  const response = await new Promise<import('node:http').IncomingMessage>((resolvePromise, reject) => {
    const request = httpsGet(url, { timeout: options.timeoutMs ?? 60_000, ...(options.signal ? { signal: options.signal } : {}) }, resolvePromise);
    request.on('timeout', () => request.destroy(new Error('no data for too long')));
    request.on('error', reject);
  }).catch((error: Error) => {
    throw new DrydockError(`downloading backup ${id} failed: ${error.message}`, { hint: 'check the network and run again; nothing was kept', cause: error });
  });
  if ((response.statusCode ?? 0) >= 300) {
    response.resume();
    throw new DrydockError(`downloading backup ${id} failed: HTTP ${response.statusCode}`, {
      hint: 'the backup URL may have expired; run again to fetch a fresh one',
    });
  }
  const total = response.headers['content-length'] ? Number(response.headers['content-length']) : undefined;
  const etag = String(response.headers.etag ?? '').replace(/"/g, '');
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
    const md5hex = md5.digest('hex');
    if (/^[0-9a-f]{32}$/.test(etag) && etag !== md5hex) throw new Error(`checksum mismatch: MD5 ${md5hex}, expected ${etag}`);
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
