/**
 * Load a schema file into an empty database with psql, then check the applied versions came along.
 */
import { readFile } from 'node:fs/promises';

import { ConfigError, DrydockError } from '../errors.js';
import { withClient } from '../pg/client.js';
import type { PgTools } from '../pg/pg-tools.js';
import { readServerVersion } from '../pg/queries/server-facts.js';
import { describeDb, type DbUrl } from '../pg/url.js';
import { listUserTables, readAppliedVersions } from '../pg/queries/catalog.js';
import { DEFAULT_SCHEMA_FILE } from './dump.js';
import { parseAppliedVersions } from './normalize.js';

/** Options of `loadSchema`. */
export interface LoadSchemaOptions {
  /** The schema file (default db/schema.sql). */
  file?: string | undefined;
  /** Load even though the database already has tables. */
  force?: boolean | undefined;
}

/** What a load did. */
export interface LoadSchemaResult {
  file: string;
  /** The database, without password. */
  database: string;
  /** The versions now in public.schema_migrations (equal to the file's). */
  versions: string[];
  /** Tables that were there before (only with force). */
  existingTables: string[];
}

/** How many existing table names an error lists before "…". */
const LISTED_TABLES = 5;

/**
 * Load a schema file with psql (ON_ERROR_STOP, one transaction: any error leaves the database as it
 * was). Refuses a database that already has tables of its own unless `force`. Afterwards the versions
 * in public.schema_migrations must equal those the file lists. Does not print.
 */
export async function loadSchema(tools: PgTools, url: DbUrl, options: LoadSchemaOptions = {}): Promise<LoadSchemaResult> {
  const file = options.file?.trim() || DEFAULT_SCHEMA_FILE;
  const text = await readSchemaFile(file);
  const expected = parseAppliedVersions(text);
  const where = describeDb(url);

  const { major, tables } = await withClient(url, async (client) => ({ major: (await readServerVersion(client)).major, tables: await listUserTables(client) }));
  if (tables.length > 0 && !options.force) {
    const listed = tables.slice(0, LISTED_TABLES).join(', ') + (tables.length > LISTED_TABLES ? ', …' : '');
    throw new DrydockError(`refusing to load ${file} into ${where}: it already has ${tables.length} table(s) (${listed})`, {
      hint: 'load into an empty database, or pass --force to try anyway (the load runs in one transaction, so a clash changes nothing)',
    });
  }

  // Meta-commands in the file are refused: pg_dump's own \restrict guard is stripped from schema files.
  await tools.psqlFile(url, file, { singleTransaction: true, serverMajor: major, restrict: true });

  const actual = await withClient(url, readAppliedVersions);
  // Compare as sorted sets: ORDER BY in the database follows its collation, not JavaScript's.
  const want = [...new Set(expected)].sort();
  const got = [...actual].sort();
  if (got.length !== want.length || got.some((v, i) => v !== want[i])) {
    const missing = want.filter((v) => !actual.includes(v));
    const extra = actual.filter((v) => !want.includes(v));
    throw new DrydockError(
      `loaded ${file} into ${where}, but schema_migrations does not match the file: ` +
        [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `unexpected ${extra.join(', ')}` : ''].filter(Boolean).join('; '),
      { hint: 'dump the schema again with drydock schema dump and check the INSERT INTO public.schema_migrations at its end' },
    );
  }
  return { file, database: where, versions: actual, existingTables: tables };
}

/** Read a schema file; a missing or unreadable file is a one-line ConfigError. */
async function readSchemaFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError(`schema file ${file} does not exist`, {
        hint: 'write one with drydock schema dump, or pass -f FILE',
        cause: error,
      });
    }
    if (code === 'EISDIR') throw new ConfigError(`schema file ${file} is a directory`, { hint: 'pass -f FILE with a .sql file', cause: error });
    throw new ConfigError(`could not read schema file ${file}: ${(error as Error).message}`, { cause: error });
  }
}
