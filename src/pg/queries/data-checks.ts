/**
 * What `drydock rehearse`'s data checks read: the unique indexes and NOT VALID constraints of the
 * copy (src/rehearse/data-check-plan.ts plans with them), and each check's own query, run read-only
 * with timeouts so a check never blocks, changes or hangs anything.
 */
import type pg from 'pg';

import type { DataCheckCatalog } from '../../rehearse/data-check-plan.js';
import { withTransaction } from '../client.js';

const USER_NAMESPACES = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

/** Unique indexes (primary keys among them) with their key columns in order; NULL for an expression (attnum 0). INCLUDE columns are not keys. */
export const DATA_CHECK_KEYS = `
  SELECT n.nspname AS schema, t.relname AS "table", i.relname AS index, x.indisprimary AS primary,
         (SELECT json_agg(a.attname ORDER BY k.ord)
          FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
          LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum > 0
          WHERE k.ord <= x.indnkeyatts) AS columns
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  WHERE x.indisunique AND ${USER_NAMESPACES}
  ORDER BY 1, 2, 3`;

/** CHECK, FOREIGN KEY (and, from PostgreSQL 18, NOT NULL) constraints not validated yet, with their definition. */
export const DATA_CHECK_NOT_VALID = `
  SELECT n.nspname AS schema, t.relname AS "table", c.conname AS name, pg_get_constraintdef(c.oid) AS definition
  FROM pg_constraint c
  JOIN pg_class t ON t.oid = c.conrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  WHERE NOT c.convalidated AND c.contype IN ('c', 'f', 'n') AND ${USER_NAMESPACES}
  ORDER BY 1, 2, 3`;

/** The copy's unique keys and NOT VALID constraints. */
export async function readDataCheckCatalog(client: pg.ClientBase): Promise<DataCheckCatalog> {
  const keys = await client.query<DataCheckCatalog['keys'][number]>(DATA_CHECK_KEYS);
  const notValid = await client.query<DataCheckCatalog['notValid'][number]>(DATA_CHECK_NOT_VALID);
  return { keys: keys.rows, notValid: notValid.rows };
}

/** The one row a check query returns (src/rehearse/data-check-sql.ts). */
export interface DataCheckRow {
  violations: number;
  groups: number | null;
  samples: unknown[][];
}

/**
 * Run one check query in a READ ONLY transaction: statement_timeout bounds its time, and lock_timeout
 * keeps it from queueing behind (and so in front of) anything that holds a lock on its tables.
 */
export async function runDataCheckQuery(client: pg.ClientBase, sql: string, limits: { statementTimeoutMs: number; lockTimeoutMs: number }): Promise<DataCheckRow> {
  const begin = `BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.max(1, Math.round(limits.statementTimeoutMs))}; SET LOCAL lock_timeout = ${Math.max(1, Math.round(limits.lockTimeoutMs))}`;
  const row = await withTransaction(client, async () => (await client.query<{ violations: string | null; groups: string | null; samples: unknown[][] | null }>(sql)).rows[0], { begin });
  return { violations: Number(row?.violations ?? 0), groups: row?.groups === null || row?.groups === undefined ? null : Number(row.groups), samples: row?.samples ?? [] };
}
