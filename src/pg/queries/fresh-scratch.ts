/**
 * Catalog SQL for the scratch databases `drydock rehearse` builds a fresh schema in (rehearse/fresh.ts
 * names and marks them; local/fresh-scratch.ts creates and drops them).
 */
import type pg from 'pg';

/** Databases whose comment starts with $1 (drydock's scratch marker), with that comment. */
const MARKED_DATABASES = `
  SELECT d.datname, shobj_description(d.oid, 'pg_database') AS comment
  FROM pg_catalog.pg_database d
  WHERE starts_with(coalesce(shobj_description(d.oid, 'pg_database'), ''), $1)
  ORDER BY d.datname`;

/** Every database whose comment starts with `marker`. */
export async function readMarkedDatabases(client: pg.ClientBase, marker: string): Promise<Array<{ name: string; comment: string }>> {
  const { rows } = await client.query<{ datname: string; comment: string }>(MARKED_DATABASES, [marker]);
  return rows.map((r) => ({ name: r.datname, comment: r.comment }));
}
