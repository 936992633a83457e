/**
 * Indexes a failed `CREATE INDEX CONCURRENTLY` can leave behind: Postgres does not roll such a build
 * back, it leaves the index INVALID (pg_index.indisvalid = false). Queries ignore it, writes keep it
 * up to date, and the next `CREATE INDEX CONCURRENTLY` of the same name fails with "already exists"
 * (or, with IF NOT EXISTS, silently skips and leaves the INVALID one in place).
 * https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
 *
 * An index that another session is building right now is INVALID too; pg_stat_progress_create_index
 * (Postgres 12+) tells the two apart, so a running build is never reported or dropped as a leftover.
 */
import type pg from 'pg';

import { quoteQualified } from '../ident.js';

/** Whether the server has pg_stat_progress_create_index (Postgres 12+). */
const HAS_PROGRESS_VIEW = `SELECT current_setting('server_version_num')::int >= 120000 AS progress`;

/** `AND NOT <a build of the index in i.indexrelid is running>`, or '' before Postgres 12. */
function notBuilding(progress: boolean): string {
  return progress ? 'AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid)' : '';
}

/** INVALID indexes that no session is building, with their table. */
function invalidIndexesSql(progress: boolean): string {
  return `
  SELECT n.nspname AS schema, c.relname AS name, tn.nspname AS table_schema, t.relname AS table_name
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_class t ON t.oid = i.indrelid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
  WHERE NOT i.indisvalid ${notBuilding(progress)}
  ORDER BY 1, 2`;
}

/**
 * The index named $2 in the schema of the table $1 (a quoted, possibly qualified name resolved like
 * the migration resolves it, through search_path): whether it is valid, which table it is on, and
 * whether a build of it is running. No row when there is no such table or no such index.
 */
function namedIndexSql(progress: boolean): string {
  return `
  SELECT n.nspname AS schema, c.relname AS name, i.indisvalid AS valid, i.indrelid = tc.oid AS on_table,
         tn.nspname AS table_schema, t.relname AS table_name,
         ${progress ? 'EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid)' : 'false'} AS building
  FROM pg_catalog.pg_class tc
  JOIN pg_catalog.pg_namespace n ON n.oid = tc.relnamespace
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = $2 AND c.relkind IN ('i', 'I')
  JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
  JOIN pg_catalog.pg_class t ON t.oid = i.indrelid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
  WHERE tc.oid = to_regclass($1::text)`;
}

/** An INVALID index: its qualified name and its table's. */
export interface InvalidIndex {
  /** schema.name of the index. */
  index: string;
  /** schema.name of its table. */
  table: string;
  /** The statement that drops it without blocking writes. */
  dropSql: string;
}

/** An index found by name (see readNamedIndex). */
export interface NamedIndex extends InvalidIndex {
  /** The index's schema and name, apart. */
  schema: string;
  name: string;
  valid: boolean;
  /** It is on the table that was asked about. */
  onTable: boolean;
  /** Another session is building it right now (always false before Postgres 12). */
  building: boolean;
}

async function hasProgressView(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ progress: boolean }>(HAS_PROGRESS_VIEW);
  return Boolean(rows[0]?.progress);
}

/** The database's INVALID indexes that no session is building (leftovers of failed concurrent builds), with their tables. */
export async function readInvalidIndexDetails(client: pg.ClientBase): Promise<InvalidIndex[]> {
  const { rows } = await client.query<{ schema: string; name: string; table_schema: string; table_name: string }>(invalidIndexesSql(await hasProgressView(client)));
  return rows.map((r) => ({ index: `${r.schema}.${r.name}`, table: `${r.table_schema}.${r.table_name}`, dropSql: dropSql(r) }));
}

/**
 * The index `name` in the schema of `table` (`schema` undefined: resolved through search_path, as the
 * migration's own statement resolves it), or undefined when the table or the index does not exist.
 */
export async function readNamedIndex(client: pg.ClientBase, table: { schema?: string | undefined; name: string }, name: string): Promise<NamedIndex | undefined> {
  const relation = table.schema === undefined ? quoteQualified(table.name) : quoteQualified(table.schema, table.name);
  const { rows } = await client.query<{ schema: string; name: string; valid: boolean; on_table: boolean; table_schema: string; table_name: string; building: boolean }>(
    namedIndexSql(await hasProgressView(client)),
    [relation, name],
  );
  const r = rows[0];
  return r && { schema: r.schema, name: r.name, index: `${r.schema}.${r.name}`, table: `${r.table_schema}.${r.table_name}`, dropSql: dropSql(r), valid: r.valid, onTable: r.on_table, building: r.building };
}

/** `DROP INDEX CONCURRENTLY IF EXISTS "schema"."name"`: drops an index without blocking writes. */
function dropSql(index: { schema: string; name: string }): string {
  return `DROP INDEX CONCURRENTLY IF EXISTS ${quoteQualified(index.schema, index.name)}`;
}

/** Drop an index without blocking writes (outside a transaction); it is gone afterwards either way. */
export async function dropIndexConcurrently(client: pg.ClientBase, index: { schema: string; name: string }): Promise<void> {
  await client.query(dropSql(index));
}
