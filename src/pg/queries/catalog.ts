/**
 * What schema dump and load read from a database: the applied migration versions and whether it has
 * any tables of its own yet.
 */
import type pg from 'pg';

import { VERSIONS_TABLE } from '../../schema/normalize.js';

/** Whether public.schema_migrations exists (to_regclass gives NULL instead of an error when it does not). */
export const HAS_VERSIONS_TABLE = `SELECT to_regclass('${VERSIONS_TABLE}') IS NOT NULL AS present`;

/** The applied versions, as text, in order. */
export const APPLIED_VERSIONS = `SELECT version::text AS version FROM ${VERSIONS_TABLE} ORDER BY version`;

/**
 * Tables (plain, partitioned, foreign) and materialized views that are not the system's and not an
 * extension's own (postgis' spatial_ref_sys lives in public but belongs to the extension).
 */
export const USER_TABLES = `
  SELECT n.nspname AS schema, c.relname AS name
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'f', 'm')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
    AND NOT EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
    )
  ORDER BY n.nspname, c.relname`;

/**
 * The tables whose rows a dump or a pull copies (plain tables and partitions; not the system's, not an
 * extension's own, not in the schemas $1): what --exclude-table-data patterns must name.
 */
/**
 * The partitioned tables a table is a partition of, nearest first, as json [{schema, name}]: a
 * partitioned parent holds no rows itself, so a pattern naming it stands for its partitions. Correlated
 * on `c` (a pg_class row); plain inheritance parents hold rows of their own and are not listed.
 */
export const PARTITIONED_ANCESTORS_SQL = `
    coalesce((
      WITH RECURSIVE up(oid, depth) AS (
        SELECT i.inhparent, 1 FROM pg_inherits i WHERE i.inhrelid = c.oid
        UNION ALL SELECT i.inhparent, up.depth + 1 FROM pg_inherits i JOIN up ON i.inhrelid = up.oid WHERE up.depth < 100)
      SELECT json_agg(json_build_object('schema', pn.nspname, 'name', p.relname) ORDER BY up.depth)
      FROM up JOIN pg_class p ON p.oid = up.oid JOIN pg_namespace pn ON pn.oid = p.relnamespace
      WHERE p.relkind = 'p'
    ), '[]'::json)`;

export const DATA_TABLES = `
  SELECT n.nspname AS schema, c.relname AS name, ${PARTITIONED_ANCESTORS_SQL} AS "partitionOf"
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r'
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
    AND n.nspname <> ALL($1::text[])
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY 1, 2`;

/** A table whose rows a copy moves, and the partitioned tables it is a partition of (nearest first). */
export interface DataTable {
  schema: string;
  name: string;
  partitionOf: Array<{ schema: string; name: string }>;
}

/** The tables whose rows are copied (DATA_TABLES), outside `excludedSchemas`. */
export async function readDataTables(client: pg.ClientBase, excludedSchemas: readonly string[]): Promise<DataTable[]> {
  const { rows } = await client.query<DataTable>(DATA_TABLES, [excludedSchemas]);
  return rows;
}

/** The versions in public.schema_migrations, in order; [] when the table does not exist. */
export async function readAppliedVersions(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ present: boolean }>(HAS_VERSIONS_TABLE);
  if (!rows[0]?.present) return [];
  const result = await client.query<{ version: string }>(APPLIED_VERSIONS);
  return result.rows.map((r) => r.version);
}

/** Qualified names of the database's own tables (schema.name), in order. */
export async function listUserTables(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ schema: string; name: string }>(USER_TABLES);
  return rows.map((r) => `${r.schema}.${r.name}`);
}

/** How many large objects the database holds (data that lives outside any table). */
export const LARGE_OBJECT_COUNT = `SELECT count(*)::bigint AS n FROM pg_catalog.pg_largeobject_metadata`;

/**
 * Sequences that have been used (is_called: pg_sequences shows a last_value): their position is data even
 * when no table is left. An extension's own, and those owned by a table column (serial, identity: the
 * table is listed already), are left out.
 */
export const USED_SEQUENCES = `
  SELECT s.schemaname || '.' || s.sequencename AS name
  FROM pg_catalog.pg_sequences s
  WHERE s.last_value IS NOT NULL
    AND NOT EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = (quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename))::regclass
        AND (d.deptype = 'e' OR (d.deptype IN ('a', 'i') AND d.refclassid = 'pg_class'::regclass))
    )
  ORDER BY 1`;

/** Data a database holds outside its tables: large objects and used sequences. */
export async function readDataOutsideTables(client: pg.ClientBase): Promise<{ largeObjects: number; usedSequences: string[] }> {
  const lobs = await client.query<{ n: string }>(LARGE_OBJECT_COUNT);
  const sequences = await client.query<{ name: string }>(USED_SEQUENCES);
  return { largeObjects: Number(lobs.rows[0]?.n ?? 0), usedSequences: sequences.rows.map((r) => r.name) };
}

/**
 * Relations of a copy as ANALYZE without a list would take them (plain and partitioned tables,
 * materialized views; not the system's), with the planner's row estimate.
 */
export const RELATIONS = `
  SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, greatest(c.reltuples, 0)::bigint AS estimate
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  ORDER BY 1, 2`;

/** A relation of RELATIONS. */
export interface Relation {
  schema: string;
  name: string;
  /** pg_class.relkind: r table, p partitioned table, m materialized view. */
  kind: 'r' | 'p' | 'm';
  /** reltuples, at least 0 (fresh after ANALYZE). */
  estimate: number;
}

/** The database's tables and materialized views with their row estimates. */
export async function listRelations(client: pg.ClientBase): Promise<Relation[]> {
  const { rows } = await client.query<{ schema: string; name: string; kind: Relation['kind']; estimate: string }>(RELATIONS);
  return rows.map((r) => ({ schema: r.schema, name: r.name, kind: r.kind, estimate: Number(r.estimate) }));
}

/** Indexes that are INVALID (a failed or unfinished CREATE INDEX CONCURRENTLY), qualified names. */
export const INVALID_INDEXES = `
  SELECT n.nspname || '.' || c.relname AS name FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE NOT i.indisvalid ORDER BY 1`;

/** The database's INVALID indexes (schema.name). */
export async function readInvalidIndexes(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(INVALID_INDEXES);
  return rows.map((r) => r.name);
}
