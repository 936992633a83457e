/**
 * The ledger: which versions a database has applied.
 *
 * `schema_migrations(version varchar primary key)` is the table Rails and dbmate use, so an existing
 * Rails database reports its version correctly. drydock's extra facts (checksum, name, applied_at,
 * duration) live in `drydock_migrations`, which other tools ignore.
 */
import type pg from 'pg';

import type { AppliedMigration, MigrationFile } from './types.js';

/** Create both tables if missing (call while holding the migration lock). */
export const ENSURE_LEDGER = `
  CREATE TABLE IF NOT EXISTS schema_migrations (version varchar PRIMARY KEY);
  CREATE TABLE IF NOT EXISTS drydock_migrations (
    version varchar PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL
  );`;

const LEDGER_EXISTS = `SELECT to_regclass('schema_migrations') IS NOT NULL AS sm, to_regclass('drydock_migrations') IS NOT NULL AS dm`;

/** Make sure the ledger tables exist. */
export async function ensureLedger(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ sm: boolean; dm: boolean }>(LEDGER_EXISTS);
  if (rows[0]?.sm && rows[0]?.dm) return;
  await client.query(ENSURE_LEDGER);
}

/** Every applied version, oldest first, with drydock's facts where it recorded them. */
export async function readApplied(client: pg.ClientBase): Promise<AppliedMigration[]> {
  const { rows: exists } = await client.query<{ sm: boolean; dm: boolean }>(LEDGER_EXISTS);
  if (!exists[0]?.sm) return [];
  const sql = exists[0].dm
    ? `SELECT s.version, d.name, d.checksum, d.applied_at, d.duration_ms
       FROM schema_migrations s LEFT JOIN drydock_migrations d USING (version) ORDER BY s.version`
    : `SELECT version, NULL AS name, NULL AS checksum, NULL AS applied_at, NULL AS duration_ms FROM schema_migrations ORDER BY version`;
  const { rows } = await client.query<{ version: string; name: string | null; checksum: string | null; applied_at: Date | null; duration_ms: number | null }>(sql);
  return rows.map((r) => ({
    version: r.version,
    name: r.name ?? undefined,
    checksum: r.checksum ?? undefined,
    appliedAt: r.applied_at ?? undefined,
    durationMs: r.duration_ms ?? undefined,
  }));
}

/** Record an applied migration (inside the migration's transaction when it has one). */
export async function recordApplied(client: pg.ClientBase, migration: MigrationFile, durationMs: number): Promise<void> {
  // One round trip. The schema_migrations insert has no ON CONFLICT on purpose: a version recorded
  // twice is a bug (or a race) and must fail the migration's transaction.
  await client.query(
    `WITH applied AS (INSERT INTO schema_migrations (version) VALUES ($1) RETURNING version)
     INSERT INTO drydock_migrations (version, name, checksum, duration_ms)
     SELECT version, $2, $3, $4 FROM applied
     ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, checksum = EXCLUDED.checksum,
       applied_at = now(), duration_ms = EXCLUDED.duration_ms`,
    [migration.version, migration.name, migration.checksum, Math.round(durationMs)],
  );
}

/** Record a version as applied without running it (`migrate mark-applied`). Returns false if it already was. */
export async function markApplied(client: pg.ClientBase, migration: MigrationFile): Promise<boolean> {
  const { rowCount } = await client.query('INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING', [migration.version]);
  await client.query(
    `INSERT INTO drydock_migrations (version, name, checksum, duration_ms) VALUES ($1, $2, $3, 0) ON CONFLICT (version) DO NOTHING`,
    [migration.version, migration.name, migration.checksum],
  );
  return (rowCount ?? 0) > 0;
}

/** Remove a version from the ledger (rollback, or `migrate mark-unapplied`). Returns false if it was not there. */
export async function removeApplied(client: pg.ClientBase, version: string): Promise<boolean> {
  const { rowCount } = await client.query('DELETE FROM schema_migrations WHERE version = $1', [version]);
  const { rows } = await client.query<{ dm: boolean }>(`SELECT to_regclass('drydock_migrations') IS NOT NULL AS dm`);
  if (rows[0]?.dm) await client.query('DELETE FROM drydock_migrations WHERE version = $1', [version]);
  return (rowCount ?? 0) > 0;
}
