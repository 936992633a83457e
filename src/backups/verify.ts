/**
 * Proof that a database holds a backup's data: every table's exact row count equals the count in the
 * archive. Used after `backups verify` restores into a scratch database and after an on-call restore.
 */
import type pg from 'pg';

import { quoteQualified } from '../pg/ident.js';
import type { TableRowCount } from '../pg/pg-tools.js';

/** One table whose rows differ from the backup's. */
export interface RowCountMismatch {
  table: string;
  expected: number;
  /** -1 when the table is missing (or cannot be read). */
  actual: number;
}

/** The comparison of a database with a backup's row counts. */
export interface RowCountCheck {
  tables: number;
  /** Rows counted in the database (missing tables count 0). */
  rows: number;
  mismatches: RowCountMismatch[];
}

/** Count every table of the archive's counts and compare. */
export async function compareRowCounts(client: pg.ClientBase, expected: ReadonlyMap<string, TableRowCount>): Promise<RowCountCheck> {
  const mismatches: RowCountMismatch[] = [];
  let rows = 0;
  for (const { schema, name, rows: want } of expected.values()) {
    const table = `${schema}.${name}`;
    const actual = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteQualified(schema, name)}`).then(
      (r) => Number(r.rows[0]?.n ?? -1),
      () => -1,
    );
    if (actual !== want) mismatches.push({ table, expected: want, actual });
    rows += Math.max(actual, 0);
  }
  return { tables: expected.size, rows, mismatches };
}
