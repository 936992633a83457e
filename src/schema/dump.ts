/**
 * Dump a database's schema into the stable schema-file form (db/schema.sql), and write it safely.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { fsError } from '../errors.js';
import { ensureDir } from '../files.js';
import { withClient } from '../pg/client.js';
import type { PgTools } from '../pg/pg-tools.js';
import { readServerVersion } from '../pg/queries/server-facts.js';
import type { DbUrl } from '../pg/url.js';
import { readAppliedVersions } from '../pg/queries/catalog.js';
import { normalizeDump, parseAppliedVersions } from './normalize.js';

/** Where schema dump writes and schema load reads by default. */
export const DEFAULT_SCHEMA_FILE = 'db/schema.sql';

/**
 * The normalised schema of a database: pg_dump --schema-only through `normalizeDump`, with the applied
 * versions of public.schema_migrations appended. Does not print or write.
 */
export async function dumpSchema(tools: PgTools, url: DbUrl, options: { lockWaitTimeoutMs?: number | undefined } = {}): Promise<string> {
  const { major, versions } = await withClient(url, async (client) => ({ major: (await readServerVersion(client)).major, versions: await readAppliedVersions(client) }));
  const raw = await tools.dumpSchema(url, { serverMajor: major, lockWaitTimeoutMs: options.lockWaitTimeoutMs });
  return normalizeDump(raw, versions);
}

/** Counts shown after a dump. */
export interface SchemaSummary {
  tables: number;
  versions: number;
  bytes: number;
}

/** How many tables and versions a schema file holds, and its size. Pure. */
export function summarizeSchema(schema: string): SchemaSummary {
  return {
    tables: (schema.match(/^CREATE (?:UNLOGGED |FOREIGN )?TABLE /gm) ?? []).length,
    versions: parseAppliedVersions(schema).length,
    bytes: Buffer.byteLength(schema, 'utf8'),
  };
}

/**
 * Write `text` to `path` atomically: a temporary file in the same directory, then rename over the
 * target, so a reader never sees half a schema and a failed dump leaves the old file in place.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await ensureDir(dir);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text, { encoding: 'utf8', flag: 'wx' });
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw fsError(error, 'write in the folder', dir);
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw fsError(error, 'write', path, (error as NodeJS.ErrnoException).code === 'EISDIR' ? { hint: 'give the path of a file, e.g. db/schema.sql' } : {});
  }
}
