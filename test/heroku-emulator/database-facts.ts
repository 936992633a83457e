/**
 * Real facts about an app's backing database, read with `pg` on each request, so `pg:info`
 * shows what the server really is (its version above all: drydock's parity checks depend on it).
 */
import pg from 'pg';

import { backingUrl } from './tls-databases.js';

/** What the Data API reports about one database. */
export interface DatabaseFacts {
  /** `SHOW server_version` up to the first space, e.g. "15.20". */
  version: string;
  sizeBytes: number;
  /** User tables (ordinary and partitioned), system schemas excluded. */
  tables: number;
  connections: number;
  maxConnections: number;
}

const TABLES_SQL = `
  SELECT count(*)::int AS n
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;

/** Connect to `url` and read its facts; throws when the database can't be reached. */
export async function readDatabaseFacts(url: string): Promise<DatabaseFacts> {
  // ssl: false: the backing databases are local test servers (the URL's sslmode, if any, still wins).
  // A database published over TLS (the `tls` option) is read directly, as Heroku's own machinery does.
  const client = new pg.Client({ connectionString: backingUrl(url), connectionTimeoutMillis: 5_000, ssl: false });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const version = await client.query<{ server_version: string }>('SHOW server_version');
    const max = await client.query<{ max_connections: string }>('SHOW max_connections');
    const size = await client.query<{ bytes: string }>('SELECT pg_database_size(current_database())::text AS bytes');
    const tables = await client.query<{ n: number }>(TABLES_SQL);
    // The app's sessions, not this one.
    const conns = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    return {
      version: (version.rows[0]?.server_version ?? '').split(' ')[0] ?? '',
      sizeBytes: Number(size.rows[0]?.bytes ?? 0),
      tables: tables.rows[0]?.n ?? 0,
      connections: conns.rows[0]?.n ?? 0,
      maxConnections: Number(max.rows[0]?.max_connections ?? 0),
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Bytes as Heroku prints them: "7.6 MB", "512 B". */
export function humanBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** "heroku-postgresql:standard-0" → "Standard 0". */
export function planTitle(plan: string): string {
  const tier = plan.split(':')[1] ?? plan;
  return tier
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}
