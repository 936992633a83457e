/**
 * The schema version of a database, read from whichever migration tool's tracking table it has,
 * so `drydock release` works for Rails, dbmate, Knex, Prisma, Alembic, Django, node-pg-migrate,
 * Flyway, Sequelize and TypeORM apps as well as its own.
 *
 * "0" means no tool has recorded anything: the schema is not set up yet.
 */
import type pg from 'pg';

/** A tracking table and how to read a version from it. */
interface Tracker {
  tool: string;
  table: string;
  /** SQL returning one row {version: text | null, count: bigint}; the table name is known to exist. */
  sql: string;
}

/** Known tracking tables, in the order they are tried (first non-empty wins). */
export const TRACKERS: readonly Tracker[] = [
  { tool: 'drydock/Rails/dbmate', table: 'schema_migrations', sql: `SELECT max(version)::text AS version, count(*) AS count FROM schema_migrations` },
  { tool: 'Flyway', table: 'flyway_schema_history', sql: `SELECT max(installed_rank)::text AS version, count(*) FILTER (WHERE success) AS count FROM flyway_schema_history WHERE success` },
  { tool: 'Prisma', table: '_prisma_migrations', sql: `SELECT max(migration_name) AS version, count(*) AS count FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL` },
  { tool: 'Knex', table: 'knex_migrations', sql: `SELECT max(name) AS version, count(*) AS count FROM knex_migrations` },
  { tool: 'node-pg-migrate', table: 'pgmigrations', sql: `SELECT max(name) AS version, count(*) AS count FROM pgmigrations` },
  { tool: 'Alembic', table: 'alembic_version', sql: `SELECT max(version_num) AS version, count(*) AS count FROM alembic_version` },
  { tool: 'Django', table: 'django_migrations', sql: `SELECT max(applied)::text AS version, count(*) AS count FROM django_migrations` },
  { tool: 'Sequelize', table: '"SequelizeMeta"', sql: `SELECT max(name) AS version, count(*) AS count FROM "SequelizeMeta"` },
  { tool: 'TypeORM', table: 'migrations', sql: `SELECT max("timestamp")::text AS version, count(*) AS count FROM migrations` },
];

/**
 * The migration tools' own bookkeeping tables (and their companions: Rails' ar_internal_metadata, Knex's
 * lock table). Empty, they do not make a database "set up". TypeORM's generic `migrations` is left out:
 * it may be an application table.
 */
export const LEDGER_TABLES: ReadonlySet<string> = new Set([
  ...TRACKERS.filter((t) => t.tool !== 'TypeORM').map((t) => t.table.replace(/^"(.*)"$/, '$1')),
  'drydock_migrations',
  'drydock_baseline',
  'drydock_backfills',
  'ar_internal_metadata',
  'knex_migrations_lock',
]);

/** Whether a qualified table name (schema.name) is a migration tool's bookkeeping table rather than the app's. */
export function isLedgerTable(qualified: string): boolean {
  return LEDGER_TABLES.has(qualified.slice(qualified.indexOf('.') + 1));
}

/** What the database says about its schema version. */
export interface SchemaVersion {
  /** "0" when nothing is recorded. */
  version: string;
  /** The tool whose table answered, undefined for "0". */
  tool: string | undefined;
  /** How many migrations that tool recorded. */
  count: number;
}

/** Read the schema version. Errors (permissions, a broken table) propagate: the caller must not guess. */
export async function detectSchemaVersion(client: pg.ClientBase): Promise<SchemaVersion> {
  const names = TRACKERS.map((t) => t.table);
  const { rows } = await client.query<{ name: string; present: boolean }>(
    `SELECT n AS name, to_regclass(n) IS NOT NULL AS present FROM unnest($1::text[]) AS n`,
    [names],
  );
  const present = new Set(rows.filter((r) => r.present).map((r) => r.name));
  for (const tracker of TRACKERS) {
    if (!present.has(tracker.table)) continue;
    // TypeORM's generic name `migrations` may be an app table: only trust it with the expected columns.
    if (tracker.tool === 'TypeORM' && !(await hasColumns(client, 'migrations', ['timestamp', 'name']))) continue;
    const result = await client.query<{ version: string | null; count: string }>(tracker.sql);
    const count = Number(result.rows[0]?.count ?? 0);
    if (count > 0 && result.rows[0]?.version) return { version: result.rows[0].version, tool: tracker.tool, count };
  }
  return { version: '0', tool: undefined, count: 0 };
}

async function hasColumns(client: pg.ClientBase, table: string, columns: string[]): Promise<boolean> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = ANY($2::text[]) AND NOT attisdropped`,
    [table, columns],
  );
  return Number(rows[0]?.n ?? 0) === columns.length;
}
