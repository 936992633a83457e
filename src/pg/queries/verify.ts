/**
 * Catalog and statistics SQL of `drydock verify` (verify/checks.ts decides what the rows mean).
 * Every query reads only: catalogs, pg_stat_* views and pg_sequences. INVALID indexes come from
 * queries/indexes.ts (the same query `migrate` uses).
 */
import type pg from 'pg';

/** System schemas no check looks at. */
const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;

/**
 * Constraints added NOT VALID and never validated (pg_constraint.convalidated = false): Postgres does
 * not check the rows that were there when they were added. Foreign keys and CHECK constraints only
 * (other kinds cannot be NOT VALID). Extensions' own are left out.
 */
export const NOT_VALID_CONSTRAINTS = `
  SELECT n.nspname AS schema, t.relname AS table_name, c.conname AS name, c.contype AS type,
         pg_catalog.pg_get_constraintdef(c.oid) AS definition
  FROM pg_catalog.pg_constraint c
  JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
  WHERE NOT c.convalidated AND c.contype IN ('f', 'c') AND ${USER_SCHEMAS}
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = t.oid AND d.deptype = 'e')
  ORDER BY 1, 2, 3`;

/**
 * Every sequence that has been used, with its last value, its own maximum and, when a column owns it
 * (serial, identity), that column's type: an `integer` column fed by a `bigint` sequence (a serial
 * altered by hand, or made before Postgres 10) overflows at the column's limit, not the sequence's.
 * Descending sequences are left out (they run towards min_value, rare in practice).
 */
export const SEQUENCE_USE = `
  SELECT s.schemaname AS schema, s.sequencename AS name, s.data_type::text AS sequence_type,
         s.last_value::numeric::text AS last_value, s.max_value::numeric::text AS max_value,
         col.table_name, col.column_name, col.column_type
  FROM pg_catalog.pg_sequences s
  JOIN pg_catalog.pg_namespace n ON n.nspname = s.schemaname
  JOIN pg_catalog.pg_class sc ON sc.relname = s.sequencename AND sc.relnamespace = n.oid
  LEFT JOIN LATERAL (
    SELECT tn.nspname || '.' || t.relname AS table_name, a.attname AS column_name, pg_catalog.format_type(a.atttypid, NULL) AS column_type
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
    JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = sc.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass
      AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
    LIMIT 1
  ) col ON true
  WHERE s.last_value IS NOT NULL AND s.increment_by > 0 AND ${USER_SCHEMAS}
  ORDER BY 1, 2`;

/**
 * Foreign keys with no index whose leading columns are the referencing columns (in any order):
 * a DELETE or key UPDATE on the parent then scans the child table for each row, under lock.
 * Partitioned parents' and children's own copies of a key count as one (conparentid = 0).
 */
export const UNINDEXED_FOREIGN_KEYS = `
  SELECT n.nspname AS schema, t.relname AS table_name, c.conname AS name,
         pn.nspname || '.' || p.relname AS referenced,
         array_agg(a.attname ORDER BY k.ord)::text[] AS columns
  FROM pg_catalog.pg_constraint c
  JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
  JOIN pg_catalog.pg_class p ON p.oid = c.confrelid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
  CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
  WHERE c.contype = 'f' AND c.conparentid = 0 AND ${USER_SCHEMAS}
    AND NOT EXISTS (
      SELECT 1 FROM pg_catalog.pg_index i
      WHERE i.indrelid = c.conrelid AND i.indisvalid AND i.indpred IS NULL
        AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] @> c.conkey
        AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] <@ c.conkey
    )
  GROUP BY 1, 2, 3, 4
  ORDER BY 1, 2, 3`;

/**
 * Other sessions on this database that are running a statement, or idle inside a transaction, with
 * how long (seconds): since the statement started, and since the transaction went idle. What
 * `heroku pg:long-running-queries` and pg:diagnose's "Long Queries"/"Idle in Transaction" look at.
 */
export const SESSIONS = `
  SELECT pid, usename AS user_name, application_name, state,
         extract(epoch FROM now() - query_start)::float8 AS query_seconds,
         extract(epoch FROM now() - state_change)::float8 AS state_seconds,
         left(regexp_replace(query, '\\s+', ' ', 'g'), 200) AS query,
         pg_catalog.pg_blocking_pids(pid) AS blocked_by,
         wait_event_type
  FROM pg_catalog.pg_stat_activity
  WHERE datname = current_database() AND pid <> pg_catalog.pg_backend_pid() AND backend_type = 'client backend'
    AND state IS DISTINCT FROM 'idle'
  ORDER BY query_start NULLS LAST`;

/**
 * Buffer cache hit rates since the statistics were last reset: tables (heap) and indexes, the
 * numbers `heroku pg:cache-hit` and pg:diagnose's "Hit Rate" show. NULL when nothing was read yet.
 */
export const CACHE_HIT = `
  SELECT (SELECT sum(heap_blks_hit)::float8 / nullif(sum(heap_blks_hit) + sum(heap_blks_read), 0) FROM pg_catalog.pg_statio_user_tables) AS tables,
         (SELECT sum(heap_blks_hit) + sum(heap_blks_read) FROM pg_catalog.pg_statio_user_tables)::float8 AS table_reads,
         (SELECT sum(idx_blks_hit)::float8 / nullif(sum(idx_blks_hit) + sum(idx_blks_read), 0) FROM pg_catalog.pg_statio_user_indexes) AS indexes,
         (SELECT sum(idx_blks_hit) + sum(idx_blks_read) FROM pg_catalog.pg_statio_user_indexes)::float8 AS index_reads`;

/**
 * The largest tables (total size: heap, indexes, TOAST) with their live and dead rows: the dead-row
 * share estimates the table's bloat (space VACUUM can reuse but not give back), as
 * pg_stat_user_tables counts it. $1: how many.
 */
export const LARGEST_TABLES = `
  SELECT s.schemaname || '.' || s.relname AS table_name,
         pg_catalog.pg_total_relation_size(s.relid)::float8 AS total_bytes,
         pg_catalog.pg_relation_size(s.relid)::float8 AS table_bytes,
         s.n_live_tup::float8 AS live_rows, s.n_dead_tup::float8 AS dead_rows,
         greatest(s.last_autovacuum, s.last_vacuum) AS last_vacuum
  FROM pg_catalog.pg_stat_user_tables s
  ORDER BY pg_catalog.pg_total_relation_size(s.relid) DESC, 1
  LIMIT $1`;

/** A NOT VALID constraint. */
export interface NotValidConstraintRow {
  schema: string;
  table_name: string;
  name: string;
  /** 'f' foreign key, 'c' check. */
  type: string;
  definition: string;
}

/** A used sequence and the column it feeds. */
export interface SequenceRow {
  schema: string;
  name: string;
  sequence_type: string;
  last_value: string;
  max_value: string;
  table_name: string | null;
  column_name: string | null;
  column_type: string | null;
}

/** A foreign key without an index on its columns. */
export interface UnindexedForeignKeyRow {
  schema: string;
  table_name: string;
  name: string;
  referenced: string;
  columns: string[];
}

/** A session that is not idle. */
export interface SessionRow {
  pid: number;
  user_name: string | null;
  application_name: string | null;
  state: string | null;
  query_seconds: number | null;
  state_seconds: number | null;
  query: string | null;
  blocked_by: number[];
  wait_event_type: string | null;
}

/** Cache hit rates (0..1, null when nothing was read) and how many blocks were read. */
export interface CacheHitRow {
  tables: number | null;
  table_reads: number | null;
  indexes: number | null;
  index_reads: number | null;
}

/** One of the largest tables. */
export interface TableSizeRow {
  table_name: string;
  total_bytes: number;
  table_bytes: number;
  live_rows: number;
  dead_rows: number;
  last_vacuum: Date | null;
}

export async function readNotValidConstraintRows(client: pg.ClientBase): Promise<NotValidConstraintRow[]> {
  return (await client.query<NotValidConstraintRow>(NOT_VALID_CONSTRAINTS)).rows;
}

export async function readSequenceUse(client: pg.ClientBase): Promise<SequenceRow[]> {
  return (await client.query<SequenceRow>(SEQUENCE_USE)).rows;
}

export async function readUnindexedForeignKeys(client: pg.ClientBase): Promise<UnindexedForeignKeyRow[]> {
  return (await client.query<UnindexedForeignKeyRow>(UNINDEXED_FOREIGN_KEYS)).rows;
}

export async function readSessions(client: pg.ClientBase): Promise<SessionRow[]> {
  return (await client.query<SessionRow>(SESSIONS)).rows;
}

export async function readCacheHit(client: pg.ClientBase): Promise<CacheHitRow> {
  return (await client.query<CacheHitRow>(CACHE_HIT)).rows[0] ?? { tables: null, table_reads: null, indexes: null, index_reads: null };
}

export async function readLargestTables(client: pg.ClientBase, limit: number): Promise<TableSizeRow[]> {
  return (await client.query<TableSizeRow>(LARGEST_TABLES, [limit])).rows;
}
