/**
 * The ledger: which versions a database has applied.
 *
 * `schema_migrations(version varchar primary key)` is the table Rails and dbmate use, so an existing
 * Rails database reports its version correctly. drydock's extra facts (checksum, name, applied_at,
 * duration) live in `drydock_migrations`, which other tools ignore; a version in schema_migrations
 * without a drydock_migrations row was recorded by another tool (Rails, dbmate, a schema load).
 *
 * An adopted database may have a baseline: one row in `drydock_baseline` saying "every version at or
 * before V counts as applied", with or without files and rows. The table is created only by
 * `drydock migrate baseline`, so ledgers written before it existed read as they always did.
 */
import type pg from 'pg';

import type { AppliedMigration, Ledger, MigrationFile } from './types.js';

/** A dump object label (schema/objects.ts) that names one of the ledger tables (or backfill's progress table) or their constraints: the runner's, not the app's schema. */
export const LEDGER_OBJECT = /\b(schema_migrations|drydock_migrations|drydock_baseline|drydock_backfills)\b/;

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

/** The baseline: at most one row (the primary key is a constant). */
export const ENSURE_BASELINE = `
  CREATE TABLE IF NOT EXISTS drydock_baseline (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version varchar NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
  );`;

const LEDGER_EXISTS = `SELECT to_regclass('schema_migrations') IS NOT NULL AS sm, to_regclass('drydock_migrations') IS NOT NULL AS dm, to_regclass('drydock_baseline') IS NOT NULL AS bl`;

interface Present {
  sm: boolean;
  dm: boolean;
  bl: boolean;
}

/** Make sure the ledger tables exist. */
export async function ensureLedger(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<Present>(LEDGER_EXISTS);
  if (rows[0]?.sm && rows[0]?.dm) return;
  await client.query(ENSURE_LEDGER);
}

/** Every applied version, oldest first, with drydock's facts where it recorded them. */
export async function readApplied(client: pg.ClientBase): Promise<AppliedMigration[]> {
  return (await readLedger(client)).applied;
}

/** The applied versions (see readApplied) and the baseline, if one was recorded. */
export async function readLedger(client: pg.ClientBase): Promise<Ledger> {
  const { rows: exists } = await client.query<Present>(LEDGER_EXISTS);
  const present = exists[0] ?? { sm: false, dm: false, bl: false };
  let applied: AppliedMigration[] = [];
  if (present.sm) {
    const sql = present.dm
      ? `SELECT s.version, d.name, d.checksum, d.applied_at, d.duration_ms, d.version IS NULL AS is_foreign
         FROM schema_migrations s LEFT JOIN drydock_migrations d USING (version) ORDER BY s.version`
      : `SELECT version, NULL AS name, NULL AS checksum, NULL AS applied_at, NULL AS duration_ms, true AS is_foreign FROM schema_migrations ORDER BY version`;
    const { rows } = await client.query<{ version: string; name: string | null; checksum: string | null; applied_at: Date | null; duration_ms: number | null; is_foreign: boolean }>(sql);
    applied = rows.map((r) => ({
      version: r.version,
      name: r.name ?? undefined,
      checksum: r.checksum ?? undefined,
      appliedAt: r.applied_at ?? undefined,
      durationMs: r.duration_ms ?? undefined,
      ...(r.is_foreign ? { foreign: true } : {}),
    }));
  }
  let baseline: Ledger['baseline'];
  if (present.bl) {
    const { rows } = await client.query<{ version: string; recorded_at: Date }>('SELECT version, recorded_at FROM drydock_baseline');
    if (rows[0]) baseline = { version: rows[0].version, recordedAt: rows[0].recorded_at };
  }
  return { applied, baseline };
}

/**
 * Record "every version at or before `version` is applied" (`migrate baseline`), replacing an earlier
 * baseline. The version itself goes into schema_migrations too (if missing), so every tool that reads
 * the schema version (release, Rails, dbmate) sees the database at it. Returns the previous baseline.
 */
export async function setBaseline(client: pg.ClientBase, version: string): Promise<{ previous: string | undefined; insertedVersion: boolean }> {
  await client.query(ENSURE_LEDGER + ENSURE_BASELINE);
  const { rows } = await client.query<{ version: string }>('SELECT version FROM drydock_baseline');
  await client.query(
    `INSERT INTO drydock_baseline (version) VALUES ($1)
     ON CONFLICT (only_row) DO UPDATE SET version = EXCLUDED.version, recorded_at = now()`,
    [version],
  );
  const { rowCount } = await client.query('INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING', [version]);
  return { previous: rows[0]?.version, insertedVersion: (rowCount ?? 0) > 0 };
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

/**
 * Record a version another tool applied, without a file (`migrate mark-applied V --without-file`): a
 * schema_migrations row only, as that tool would have written it. Returns false if it already was recorded.
 */
export async function markAppliedWithoutFile(client: pg.ClientBase, version: string): Promise<boolean> {
  const { rowCount } = await client.query('INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING', [version]);
  return (rowCount ?? 0) > 0;
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
