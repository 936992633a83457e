/**
 * What `drydock dupes` reads from the catalog: the table (columns, unique indexes), the foreign keys
 * that point at a table, and the columns elsewhere that look like references to it without one.
 */
import type pg from 'pg';

import type { ColumnFact, ForeignKeyFact, LookalikeFact, OnDelete, TableFact, TableName } from '../../dupes/types.js';

/** The table a name resolves to through search_path (to_regclass: NULL, not an error, when there is none), with its kind. */
const RESOLVE_TABLE = `
  SELECT current_setting('server_version_num')::int AS version, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
         greatest(c.reltuples, 0)::bigint AS estimate
  FROM (VALUES (1)) AS one LEFT JOIN (pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace) ON c.oid = to_regclass($1)`;

/** Columns of a table, in order, without dropped and system columns. */
const COLUMNS = `
  SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
         a.attgenerated <> '' AS generated, a.attidentity::text AS identity
  FROM pg_attribute a
  WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped
  ORDER BY a.attnum`;

/** Unique indexes of a table (valid ones), their key columns (NULL for an expression), partial or not, NULLS NOT DISTINCT (15+). */
function uniqueIndexesSql(pg15: boolean): string {
  return `
  SELECT ic.relname AS name, i.indisprimary AS primary,
         (SELECT json_agg(CASE WHEN k.attnum = 0 THEN NULL ELSE a.attname END ORDER BY k.ord)
            FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, ord)
            LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS columns,
         i.indpred IS NOT NULL AS partial,
         ${pg15 ? 'i.indnullsnotdistinct' : 'false'} AS "nullsNotDistinct"
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
  WHERE i.indrelid = format('%I.%I', $1::text, $2::text)::regclass AND i.indisunique AND i.indisvalid
  ORDER BY i.indisprimary DESC, ic.relname`;
}

/** Foreign keys that point at the tables $1 (regclass text), with columns in key order. */
const FOREIGN_KEYS_TO = `
  SELECT con.conname AS name,
         cn.nspname AS "tableSchema", c.relname AS "tableName",
         fn.nspname AS "refSchema", f.relname AS "refName",
         (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS columns,
         (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS "refColumns",
         con.confdeltype AS "deleteType", con.convalidated AS validated
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
  JOIN pg_class f ON f.oid = con.confrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
  WHERE con.contype = 'f' AND con.confrelid = ANY($1::regclass[]) AND con.conparentid = 0
  ORDER BY cn.nspname, c.relname, con.conname`;

/**
 * Columns of user tables named like a reference to a table (`user_id`, `author_user_id` for users)
 * whose type is the type of its key column, that no foreign key covers. $1 the name pattern, $2 the
 * type (format_type), $3 the table (regclass text).
 */
const LOOKALIKE_COLUMNS = `
  SELECT n.nspname AS schema, c.relname AS name, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
    AND NOT c.relispartition
    AND a.attname ~ $1 AND format_type(a.atttypid, a.atttypmod) = $2
    AND NOT (c.oid = $3::regclass)
    AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.contype = 'f' AND con.conrelid = c.oid AND a.attnum = ANY(con.conkey))
  ORDER BY 1, 2, 3`;

const ON_DELETE: Record<string, OnDelete> = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' };

/**
 * The server's version number and the table `name` resolves to (undefined when none), in one round
 * trip: `kind` is pg_class.relkind, `estimate` the planner's row count.
 */
export async function resolveTable(client: pg.ClientBase, name: string): Promise<{ version: number; table: (TableName & { kind: string; estimate: number }) | undefined }> {
  const { rows } = await client.query<{ version: number; schema: string | null; name: string; kind: string; estimate: string }>(RESOLVE_TABLE, [name]);
  const row = rows[0]!;
  return { version: Number(row.version), table: row.schema === null ? undefined : { schema: row.schema, name: row.name, kind: row.kind, estimate: Number(row.estimate) } };
}

/** Columns and unique indexes of a table. */
export async function readTableFact(client: pg.ClientBase, table: TableName, serverVersion: number): Promise<TableFact> {
  const columns = (await client.query<ColumnFact>(COLUMNS, [table.schema, table.name])).rows;
  const indexes = (await client.query<TableFact['uniqueIndexes'][number]>(uniqueIndexesSql(serverVersion >= 150000), [table.schema, table.name])).rows;
  return { ...table, columns, uniqueIndexes: indexes };
}

/** Foreign keys pointing at any of `tables`. */
export async function readForeignKeysTo(client: pg.ClientBase, tables: readonly TableName[]): Promise<ForeignKeyFact[]> {
  if (!tables.length) return [];
  const names = tables.map((t) => `"${t.schema.replace(/"/g, '""')}"."${t.name.replace(/"/g, '""')}"`);
  const { rows } = await client.query<{ name: string; tableSchema: string; tableName: string; refSchema: string; refName: string; columns: string[]; refColumns: string[]; deleteType: string; validated: boolean }>(FOREIGN_KEYS_TO, [names]);
  return rows.map((r) => ({
    name: r.name,
    table: { schema: r.tableSchema, name: r.tableName },
    columns: r.columns,
    references: { schema: r.refSchema, name: r.refName },
    refColumns: r.refColumns,
    onDelete: ON_DELETE[r.deleteType] ?? 'no action',
    validated: r.validated,
  }));
}

/** Columns that look like references to `table` (name pattern, same type as its key) without a foreign key. */
export async function readLookalikeColumns(client: pg.ClientBase, table: TableName, namePattern: string, type: string): Promise<LookalikeFact[]> {
  const regclass = `"${table.schema.replace(/"/g, '""')}"."${table.name.replace(/"/g, '""')}"`;
  const { rows } = await client.query<{ schema: string; name: string; column: string; type: string }>(LOOKALIKE_COLUMNS, [namePattern, type, regclass]);
  return rows.map((r) => ({ table: { schema: r.schema, name: r.name }, column: r.column, type: r.type }));
}

/** Run one read-only query built by src/dupes/sql.ts; returns its rows. */
export async function runDupesQuery<T extends pg.QueryResultRow>(client: pg.ClientBase, sql: string): Promise<T[]> {
  return (await client.query<T>(sql)).rows;
}

/**
 * Run one read-only query without parallel workers, in the same round trip: a LIMITed scan then stops
 * at its last row (a Gather's workers scan on to the end of the table).
 */
export async function runDupesQuerySerial<T extends pg.QueryResultRow>(client: pg.ClientBase, sql: string): Promise<T[]> {
  const results = (await client.query(`SET LOCAL max_parallel_workers_per_gather = 0; ${sql}; RESET max_parallel_workers_per_gather`)) as unknown as Array<pg.QueryResult<T>>;
  return results[1]!.rows;
}
