/**
 * What `drydock rehearse` reads while a migration runs: the relations that existed before it, their
 * file nodes (a changed one is a rewrite), the locks the migration's backend holds, WAL positions, and
 * constraints left NOT VALID. Each is one named query.
 */
import type pg from 'pg';

/** A relation of the database's own (not the system's, not drydock's ledger). */
export interface RelationFact {
  oid: number;
  /** schema.name, quoted where needed */
  name: string;
  /** The schema and the relation's name, unquoted. */
  schema: string;
  relname: string;
  /** pg_class.relkind: r table, p partitioned table, i index, m materialized view, S sequence … */
  kind: string;
  fileNode: number;
}

/** drydock's ledger tables (and backfill's progress table): the runner writes them for every migration; they are not the app's. */
const LEDGER_TABLES = `'schema_migrations', 'drydock_migrations', 'drydock_baseline', 'drydock_backfills'`;

const RELATIONS = `
  SELECT c.oid::int8 AS oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name, n.nspname AS schema, c.relname, c.relkind::text AS kind, c.relfilenode::int8 AS file_node
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
    AND c.relkind IN ('r', 'p', 'i', 'I', 'm')
    AND NOT (c.relkind IN ('r', 'p') AND c.relname IN (${LEDGER_TABLES}))
    AND NOT (c.relkind = 'i' AND EXISTS (
      SELECT 1 FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid WHERE x.indexrelid = c.oid AND t.relname IN (${LEDGER_TABLES})))`;

/** The app's tables, indexes and materialized views, by oid (as this session sees them: inside its transaction, its own changes). */
export async function readRelations(client: pg.ClientBase): Promise<Map<number, RelationFact>> {
  const { rows } = await client.query<{ oid: string; name: string; schema: string; relname: string; kind: string; file_node: string }>(RELATIONS);
  return new Map(rows.map((r) => [Number(r.oid), { oid: Number(r.oid), name: r.name, schema: r.schema, relname: r.relname, kind: r.kind, fileNode: Number(r.file_node) }]));
}

/** Bytes of the main fork of each relation (0 for one that is gone). */
export async function readRelationSizes(client: pg.ClientBase, oids: readonly number[]): Promise<Map<number, number>> {
  if (!oids.length) return new Map();
  const { rows } = await client.query<{ oid: string; bytes: string | null }>(`SELECT o AS oid, pg_relation_size(o::oid) AS bytes FROM unnest($1::int8[]) AS o`, [oids]);
  return new Map(rows.map((r) => [Number(r.oid), Number(r.bytes ?? 0)]));
}

/** The backend's own pid. */
export async function readBackendPid(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0]!.pid;
}

/** The current WAL insert position, as text (e.g. 0/16B3748). */
export async function readWalLsn(client: pg.ClientBase): Promise<string> {
  const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
  return rows[0]!.lsn;
}

/** Bytes of WAL between two positions. */
export async function walBytesBetween(client: pg.ClientBase, from: string, to: string): Promise<number> {
  const { rows } = await client.query<{ bytes: string }>('SELECT pg_wal_lsn_diff($2::pg_lsn, $1::pg_lsn)::int8 AS bytes', [from, to]);
  return Number(rows[0]!.bytes);
}

/** A relation lock a backend holds (granted) in the current database. */
export interface HeldLock {
  oid: number;
  mode: string;
}

/** The relation locks backend `pid` holds in this database right now. */
export async function readHeldLocks(client: pg.ClientBase, pid: number): Promise<HeldLock[]> {
  const { rows } = await client.query<{ oid: string; mode: string }>(
    `SELECT relation::int8 AS oid, mode FROM pg_locks
     WHERE pid = $1 AND locktype = 'relation' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [pid],
  );
  return rows.map((r) => ({ oid: Number(r.oid), mode: r.mode }));
}

/** Constraints not validated yet (`NOT VALID`), as "schema.table constraint". */
export async function readNotValidConstraints(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ label: string }>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(t.relname) || ' ' || quote_ident(c.conname) AS label
     FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE NOT c.convalidated ORDER BY 1`,
  );
  return rows.map((r) => r.label);
}

/** One probe of what the app would feel: a read (ACCESS SHARE) of the table. */
export function readProbeSql(table: string): string {
  return `SELECT 1 FROM ${table} LIMIT 1`;
}

/**
 * One probe of a write: ROW EXCLUSIVE on the table (what INSERT, UPDATE and DELETE take), in a
 * transaction that is rolled back: it queues exactly like a write would and changes nothing.
 */
export const WRITE_PROBE = (table: string): string => `BEGIN; LOCK TABLE ${table} IN ROW EXCLUSIVE MODE; ROLLBACK`;

/** Temporary files written in this database so far (cumulative statistics). */
export async function readTempFiles(client: pg.ClientBase): Promise<{ files: number; bytes: number }> {
  const { rows } = await client.query<{ files: string; bytes: string }>('SELECT temp_files::int8 AS files, temp_bytes::int8 AS bytes FROM pg_stat_database WHERE datname = current_database()');
  return { files: Number(rows[0]?.files ?? 0), bytes: Number(rows[0]?.bytes ?? 0) };
}

/** True when the server has pg_stat_force_next_flush() (PostgreSQL 15+). */
export async function canForceStatsFlush(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>("SELECT current_setting('server_version_num')::int >= 150000 AS ok");
  return Boolean(rows[0]?.ok);
}

/**
 * Make this backend report its pending statistics (temporary files among them) as soon as it is idle
 * (PostgreSQL 15+: otherwise they wait up to a second or more, and another session would not see them).
 */
export async function forceStatsFlush(client: pg.ClientBase): Promise<void> {
  await client.query('SELECT pg_stat_force_next_flush()');
}
