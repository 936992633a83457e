/**
 * What `drydock backfill` reads and writes besides the batches: the table and its primary key, row
 * estimates, and its progress table `drydock_backfills` (one row per table, written in the same
 * transaction as each batch, so what it says is exactly what was committed).
 */
import type pg from 'pg';

import type { KeyColumn } from '../../backfill/keyset.js';

/** The table a backfill names, as the database resolves it. */
export interface BackfillTable {
  oid: number;
  /** schema.name, quoted where needed. */
  name: string;
  /** pg_class.relkind. */
  kind: string;
  /** pg_class.reltuples; undefined when the table was never analyzed or vacuumed. */
  estimatedRows: number | undefined;
  /** The primary key, in index order ([] without one). */
  key: KeyColumn[];
  /** Every column's name. */
  columns: string[];
}

const TABLE = `
  SELECT c.oid::int8 AS oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name, c.relkind::text AS kind, c.reltuples::float8 AS reltuples,
    COALESCE((SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) ORDER BY k.ord)
      FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = c.oid AND i.indisprimary), '[]') AS key,
    (SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.oid = to_regclass($1)`;

/** The table `name` (as SQL writes it: users, app.users, "Order Items"), or undefined when there is none. */
export async function readBackfillTable(client: pg.ClientBase, name: string): Promise<BackfillTable | undefined> {
  let rows: Array<{ oid: string; name: string; kind: string; reltuples: number; key: KeyColumn[]; columns: string[] | null }>;
  try {
    ({ rows } = await client.query(TABLE, [name]));
  } catch (error) {
    // to_regclass refuses a malformed name (42602 invalid_name, 42601): that is no such table.
    if (['42602', '42601', '3F000'].includes((error as { code?: string }).code ?? '')) return undefined;
    throw error;
  }
  const row = rows[0];
  if (!row) return undefined;
  return { oid: Number(row.oid), name: row.name, kind: row.kind, estimatedRows: row.reltuples >= 0 ? row.reltuples : undefined, key: row.key, columns: row.columns ?? [] };
}

/** The planner's estimate of the rows `predicate` matches in `table` (EXPLAIN: nothing runs). */
export async function estimateMatchingRows(client: pg.ClientBase, table: string, predicate: string): Promise<number | undefined> {
  const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(`EXPLAIN (FORMAT JSON) SELECT 1 FROM ${table} WHERE (${predicate})`);
  return rows[0]?.['QUERY PLAN'][0]?.Plan['Plan Rows'];
}

/** Plan (never run) a statement with its parameters: Postgres checks the columns, types and functions it names. */
export async function explainStatement(client: pg.ClientBase, sql: string, params: unknown[]): Promise<void> {
  await client.query(`EXPLAIN ${sql}`, params);
}

/** The progress table. */
export const PROGRESS_TABLE = 'drydock_backfills';

const ENSURE_PROGRESS = `
  CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (
    table_name text PRIMARY KEY,
    fingerprint text NOT NULL,
    set_sql text NOT NULL,
    where_sql text,
    key_columns text[] NOT NULL,
    last_key text[],
    rows_updated bigint NOT NULL DEFAULT 0,
    rows_scanned bigint NOT NULL DEFAULT 0,
    batches integer NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
  )`;

/** One backfill's recorded progress. */
export interface BackfillProgress {
  table: string;
  fingerprint: string;
  set: string;
  where: string | undefined;
  keyColumns: string[];
  /** The last key done, as text; undefined before the first batch. */
  lastKey: string[] | undefined;
  rowsUpdated: number;
  rowsScanned: number;
  batches: number;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | undefined;
}

/** Create the progress table when it is missing. */
export async function ensureProgressTable(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ ok: boolean }>(`SELECT to_regclass('${PROGRESS_TABLE}') IS NOT NULL AS ok`);
  if (!rows[0]?.ok) await client.query(ENSURE_PROGRESS);
}

/** The recorded progress of the backfill of `table` (its quoted qualified name), or undefined (also when the progress table does not exist: read-only). */
export async function readProgress(client: pg.ClientBase, table: string): Promise<BackfillProgress | undefined> {
  const { rows: exists } = await client.query<{ ok: boolean }>(`SELECT to_regclass('${PROGRESS_TABLE}') IS NOT NULL AS ok`);
  if (!exists[0]?.ok) return undefined;
  const { rows } = await client.query<{
    table_name: string;
    fingerprint: string;
    set_sql: string;
    where_sql: string | null;
    key_columns: string[];
    last_key: string[] | null;
    rows_updated: string;
    rows_scanned: string;
    batches: number;
    started_at: Date;
    updated_at: Date;
    finished_at: Date | null;
  }>(`SELECT * FROM ${PROGRESS_TABLE} WHERE table_name = $1`, [table]);
  const r = rows[0];
  if (!r) return undefined;
  return {
    table: r.table_name,
    fingerprint: r.fingerprint,
    set: r.set_sql,
    where: r.where_sql ?? undefined,
    keyColumns: r.key_columns,
    lastKey: r.last_key ?? undefined,
    rowsUpdated: Number(r.rows_updated),
    rowsScanned: Number(r.rows_scanned),
    batches: r.batches,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at ?? undefined,
  };
}

/** Start (or start over) the backfill of a table: its progress row, at the beginning. */
export async function startProgress(client: pg.ClientBase, p: { table: string; fingerprint: string; set: string; where: string | undefined; keyColumns: string[] }): Promise<void> {
  await client.query(
    `INSERT INTO ${PROGRESS_TABLE} (table_name, fingerprint, set_sql, where_sql, key_columns) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (table_name) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, set_sql = EXCLUDED.set_sql, where_sql = EXCLUDED.where_sql, key_columns = EXCLUDED.key_columns,
       last_key = NULL, rows_updated = 0, rows_scanned = 0, batches = 0, started_at = now(), updated_at = now(), finished_at = NULL`,
    [p.table, p.fingerprint, p.set, p.where ?? null, p.keyColumns],
  );
}

/**
 * Record a batch, inside its transaction (so it commits with the batch or not at all), and read in
 * the same round trip what pacing needs: the WAL position and how many sessions wait on this one's locks.
 */
export const RECORD_BATCH = `
  WITH recorded AS (
    UPDATE ${PROGRESS_TABLE} SET last_key = $2, rows_updated = rows_updated + $3, rows_scanned = rows_scanned + $4, batches = batches + 1, updated_at = now()
    WHERE table_name = $1 RETURNING 1
  )
  SELECT (SELECT count(*) FROM recorded)::int AS recorded, pg_current_wal_lsn()::text AS lsn,
    (SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND pg_backend_pid() = ANY (pg_blocking_pids(pid)))::int AS waiting`;

/** Mark the backfill of `table` finished. */
export async function finishProgress(client: pg.ClientBase, table: string): Promise<void> {
  await client.query(`UPDATE ${PROGRESS_TABLE} SET finished_at = now(), updated_at = now() WHERE table_name = $1`, [table]);
}

/** The server's WAL position now (pg_current_wal_lsn, as text), or undefined on a standby. */
export async function readWalPosition(client: pg.ClientBase): Promise<string | undefined> {
  const { rows } = await client.query<{ lsn: string | null }>('SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS lsn');
  return rows[0]?.lsn ?? undefined;
}
