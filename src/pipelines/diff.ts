/**
 * `drydock diff A B`: compare the schemas of two databases, or of a database and a schema file, with
 * the normalisation `schema dump` and `verify` use (pg_dump --schema-only, normalised, compared object
 * by object: schema/compare.ts). Production against the local copy after a rehearsal is the common case.
 *
 * Each side is one of: a database URL (postgres://…); `heroku:APP` or `heroku:APP:ATTACHMENT` (read with
 * the heroku CLI); a schema file (an existing file, or a path ending in .sql); a database name on the
 * local server (--local, else the PG* variables). Reads only.
 */
import { readFile, stat } from 'node:fs/promises';

import type { Deps } from '../deps.js';
import { ConfigError } from '../errors.js';
import { describeDb, parseDatabaseUrl, withDatabase, type DbUrl } from '../pg/url.js';
import { compareSchemas, type SchemaDifference } from '../schema/compare.js';
import { dumpSchema } from '../schema/dump.js';
import { parseAppliedVersions, schemaDiff } from '../schema/normalize.js';
import { assertAppName, resolveLocalUrl, type ValueSource } from '../settings.js';

/** One side of a diff, resolved. */
export type DiffSide = { kind: 'database'; url: DbUrl; label: string } | { kind: 'file'; path: string; label: string } | { kind: 'heroku'; app: string; database: string; label: string };

/** What diff was asked. */
export interface DiffRequest {
  a: string;
  b: string;
  local?: string | undefined;
  localSource?: ValueSource | undefined;
  /** Also return a unified diff of the two normalised schemas. */
  patch?: boolean | undefined;
}

/** What diff found. */
export interface DiffReport {
  a: string;
  b: string;
  same: boolean;
  exitCode: 0 | 1;
  differences: SchemaDifference[];
  notes: string[];
  /** Migration versions recorded on each side (schema_migrations / the schema file's INSERT). */
  versions: { a: string[]; b: string[] };
  /** A unified diff of the normalised schemas, with --patch. */
  patch?: string | undefined;
}

const HEROKU = /^heroku:([^:]+)(?::(.+))?$/;
const URL = /^postgres(ql)?:\/\//i;

/** What an operand names (see the module comment); files are told apart by existing or ending in .sql. */
export async function resolveSide(deps: Pick<Deps, 'settings'>, operand: string, request: Pick<DiffRequest, 'local' | 'localSource'>): Promise<DiffSide> {
  const text = operand.trim();
  if (!text) throw new ConfigError('an empty operand', { hint: 'give a database URL, heroku:APP, a schema file or a local database name' });
  if (URL.test(text)) {
    const url = parseDatabaseUrl(text, 'database URL', deps.settings.libpq);
    if (!url.database) throw new ConfigError(`${url.redacted} names no database`, { hint: 'for example postgres://localhost:5432/my_app' });
    return { kind: 'database', url, label: describeDb(url) };
  }
  const heroku = HEROKU.exec(text);
  if (heroku) {
    assertAppName(heroku[1]!);
    const database = heroku[2] ?? 'DATABASE_URL';
    return { kind: 'heroku', app: heroku[1]!, database, label: `${heroku[1]}'s ${database}` };
  }
  const file = await stat(text).then((s) => s, () => undefined);
  if (file?.isDirectory()) throw new ConfigError(`${text} is a directory`, { hint: 'give a schema file (db/schema.sql), a database URL, heroku:APP or a local database name' });
  if (file || /\.sql$/i.test(text) || text.includes('/')) {
    if (!file) throw new ConfigError(`schema file ${text} not found`, { hint: 'write one with `drydock schema dump`, or give a database URL, heroku:APP or a local database name' });
    return { kind: 'file', path: text, label: text };
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9_$-]{0,62}$/.test(text)) throw new ConfigError(`"${text.slice(0, 40)}" is neither a database URL, heroku:APP, an existing schema file nor a database name`, { hint: 'for example drydock diff heroku:my-app my_app' });
  const url = withDatabase(resolveLocalUrl(request.local, deps.settings.libpq, request.localSource ?? 'cli'), text);
  return { kind: 'database', url, label: describeDb(url) };
}

/** A side's normalised schema. */
async function schemaOf(deps: Deps, side: DiffSide): Promise<string> {
  if (side.kind === 'file') {
    try {
      return await readFile(side.path, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read schema file ${side.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { hint: 'check the path and its permissions', cause: error });
    }
  }
  const url = side.kind === 'database' ? side.url : parseDatabaseUrl(await deps.heroku.databaseUrl(side.app, side.database), side.label, deps.settings.libpq);
  deps.output.info(`diff: dumping the schema of ${side.label}`);
  return dumpSchema(deps.pgTools, url);
}

/** Compare two schemas. */
export async function diff(deps: Deps, request: DiffRequest): Promise<DiffReport> {
  // Both operands are checked before anything is read.
  const a = await resolveSide(deps, request.a, request);
  const b = await resolveSide(deps, request.b, request);
  const [schemaA, schemaB] = await Promise.all([schemaOf(deps, a), schemaOf(deps, b)]);
  const { differences, notes } = compareSchemas(schemaA, schemaB, { a: a.label, b: b.label, aAt: 'in', bAt: 'in' });
  const same = differences.length === 0;
  const report: DiffReport = { a: a.label, b: b.label, same, exitCode: same ? 0 : 1, differences, notes, versions: { a: parseAppliedVersions(schemaA), b: parseAppliedVersions(schemaB) } };
  if (request.patch) report.patch = schemaDiff(schemaA, schemaB, { labelA: a.label, labelB: b.label, maxLines: 400 });
  return report;
}
