/**
 * Reading the SQL files drydock parses (migrations, files given to `lint`): regular files only, and
 * at most MAX_SQL_FILE_BYTES, so a device (/dev/zero) or a huge file is refused at once instead of
 * exhausting memory. Failures are one-line errors naming the path (fsError).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { DrydockError, fsError } from './errors.js';

/** Non-blocking, so opening a FIFO does not wait for a writer (it is then refused as not a regular file). */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** The largest SQL file drydock reads: 10 MB (a migration that big belongs in a data load, not a migration). */
export const MAX_SQL_FILE_BYTES = 10 * 1024 * 1024;

/** Why a file of this kind or size is refused, or undefined when it may be read. */
function refusal(info: { isFile(): boolean; size: number }, display: string): DrydockError | undefined {
  if (!info.isFile()) {
    return new DrydockError(`cannot read ${display}: it is not a regular file`, { hint: 'give SQL files (or folders of them), not devices, pipes or sockets' });
  }
  if (info.size > MAX_SQL_FILE_BYTES) {
    return new DrydockError(`cannot read ${display}: it is ${(info.size / 1024 / 1024).toFixed(0)} MB, over drydock's limit of ${MAX_SQL_FILE_BYTES / 1024 / 1024} MB for an SQL file`, {
      hint: 'load data that big with psql or COPY, outside migrations; split the schema changes into smaller files',
    });
  }
  return undefined;
}

/**
 * Open an SQL file for reading and run `read` on it once it is known to be a regular file within the
 * limit; the checks and the read use the same descriptor, so what was checked is what is read.
 */
function withSqlFile<T>(path: string, display: string, read: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (error) {
    throw fsError(error, 'read', display);
  }
  try {
    const info = fstatSync(fd);
    const refused = refusal(info, display);
    if (refused) throw refused;
    return read(fd, info.size);
  } catch (error) {
    throw fsError(error, 'read', display);
  } finally {
    closeSync(fd);
  }
}

/** Read an SQL file (synchronously: a folder of small files reads faster this way), refusing devices, pipes and files over the limit. */
export function readSqlFileSync(path: string, display = path): Buffer {
  return withSqlFile(path, display, (fd, size) => {
    const buffer = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, buffer, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return buffer.subarray(0, at);
  });
}

/**
 * readSqlFileSync as text (UTF-8, invalid bytes as U+FFFD, like Buffer#toString): Node decodes the file
 * as it reads it, in one call, which for a folder of hundreds of small files is measurably cheaper.
 */
export function readSqlTextSync(path: string, display = path): string {
  return withSqlFile(path, display, (fd) => readFileSync(fd, 'utf8'));
}

/**
 * Create `dir` and its missing parents. Not `mkdir({ recursive: true })`: Node's loops forever where
 * mkdir answers ENOENT for a folder whose parent exists (/proc). Each missing level is created in
 * turn; a failure is a one-line error naming the folder.
 */
export async function ensureDir(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    try {
      const info = await stat(at);
      if (!info.isDirectory()) throw new DrydockError(`cannot create the folder ${dir}: ${at === resolve(dir) ? 'a file has that name' : `${at} is a file`}`, { hint: 'move the file away, or choose another folder' });
      break;
    } catch (error) {
      if (error instanceof DrydockError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || dirname(at) === at) throw fsError(error, 'create the folder', dir);
      missing.push(at);
      at = dirname(at);
    }
  }
  for (const level of missing.reverse()) {
    try {
      await mkdir(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && (await stat(level).catch(() => undefined))?.isDirectory()) continue;
      const refused = (error as NodeJS.ErrnoException).code === 'ENOENT'; // its parent exists: a file system like /proc
      throw fsError(error, 'create the folder', level, refused ? { hint: 'that file system does not take new folders: choose a path on an ordinary one' } : {});
    }
  }
}
