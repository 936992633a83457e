/**
 * What `drydock rehearse` reads about its copy's tables: each table with the partitioned tables it
 * belongs to, to find those a pull copied without rows (--exclude-table-data names a table or its
 * partitioned parent).
 */
import type pg from 'pg';

import type { CopyTable } from '../../rehearse/without-data.js';

const COPY_TABLES = `
  SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name, n.nspname AS schema, c.relname,
    coalesce((
      SELECT json_agg(json_build_object('schema', an.nspname, 'relname', ac.relname) ORDER BY a.level)
      FROM pg_partition_ancestors(c.oid) WITH ORDINALITY AS a(relid, level)
      JOIN pg_class ac ON ac.oid = a.relid
      JOIN pg_namespace an ON an.oid = ac.relnamespace
      WHERE a.relid <> c.oid
    ), '[]'::json) AS ancestors
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

/** The database's tables and partitioned tables, each with its partitioned ancestors (nearest first). */
export async function readCopyTables(client: pg.ClientBase): Promise<CopyTable[]> {
  const { rows } = await client.query<{ name: string; schema: string; relname: string; ancestors: Array<{ schema: string; relname: string }> }>(COPY_TABLES);
  return rows.map((r) => ({ name: r.name, schema: r.schema, relname: r.relname, ancestors: r.ancestors }));
}
