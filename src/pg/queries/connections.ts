/**
 * How many connections a server, the connected role and the database allow, and how many are in use:
 * what a live pull sizes its parallel streams by (pull/connection-budget.ts).
 */
import type pg from 'pg';

/**
 * One row, readable by any role (pg_stat_activity lists every session, with details hidden from others).
 * max_connections less the slots kept for superusers (and, from PostgreSQL 16, reserved_connections);
 * rolconnlimit and datconnlimit are -1 when unlimited. Only client backends count (not autovacuum,
 * WAL senders or background workers, which have their own slots).
 */
export const CONNECTION_USE = `
  SELECT current_setting('max_connections')::int
           - current_setting('superuser_reserved_connections')::int
           - coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) AS server_limit,
         (SELECT count(*)::int FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend') AS server_used,
         r.rolconnlimit AS role_limit,
         (SELECT count(*)::int FROM pg_catalog.pg_stat_activity WHERE usename = current_user AND backend_type = 'client backend') AS role_used,
         d.datconnlimit AS database_limit,
         (SELECT count(*)::int FROM pg_catalog.pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend') AS database_used
  FROM pg_catalog.pg_roles r, pg_catalog.pg_database d
  WHERE r.rolname = current_user AND d.datname = current_database()`;

/** The connected server's limits and use (limits undefined where there is none). */
export interface ConnectionUse {
  server: { limit: number; used: number };
  role: { name: string; limit: number | undefined; used: number };
  database: { name: string; limit: number | undefined; used: number };
}

/** Read the connection limits and use as seen from `client` (its own session counts as used). */
export async function readConnectionUse(client: pg.ClientBase): Promise<ConnectionUse> {
  const { rows } = await client.query<{
    server_limit: number;
    server_used: number;
    role_limit: number;
    role_used: number;
    database_limit: number;
    database_used: number;
  }>(CONNECTION_USE);
  const { rows: names } = await client.query<{ role: string; database: string }>('SELECT current_user AS role, current_database() AS database');
  const r = rows[0];
  if (!r) throw new Error('the server returned no connection facts');
  const limit = (n: number): number | undefined => (n >= 0 ? n : undefined);
  return {
    server: { limit: r.server_limit, used: r.server_used },
    role: { name: names[0]?.role ?? '', limit: limit(r.role_limit), used: r.role_used },
    database: { name: names[0]?.database ?? '', limit: limit(r.database_limit), used: r.database_used },
  };
}
