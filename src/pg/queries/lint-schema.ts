/**
 * What the linter needs to know about a database to judge migrations against it (src/lint/schema-model.ts):
 * every user schema, and every table, view and materialized view with its columns' types, its indexes,
 * its constraints (validated or not), its row estimate and its size. Read in one round trip per query,
 * inside the caller's connection; nothing is written.
 */
import type pg from 'pg';

import type { CatalogSchema, CatalogTable } from '../../lint/schema-model.js';

const USER_NAMESPACES = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

/** User schemas. */
export const LINT_SCHEMAS = `SELECT n.nspname AS name FROM pg_namespace n WHERE ${USER_NAMESPACES} ORDER BY 1`;

/**
 * Relations with their size, columns (type name of the element for arrays, typmod), index names and
 * constraints. reltuples is -1 for a table never analyzed (Postgres 14+); pg_total_relation_size
 * counts the heap, TOAST and indexes (what a rewrite copies and rebuilds); -1 for a partitioned table.
 */
export const LINT_RELATIONS = `
  SELECT n.nspname AS schema, c.relname AS name, c.relkind AS relkind,
         c.reltuples::float8 AS rows,
         -- A partitioned table's own size is 0: its partitions hold the rows, so its size is left unknown (-1).
         CASE WHEN c.relkind = 'p' THEN -1 ELSE pg_total_relation_size(c.oid)::float8 END AS bytes,
         coalesce((
           SELECT json_agg(json_build_object(
                    'name', a.attname,
                    'type', coalesce(et.typname, t.typname),
                    'typeSchema', nullif(tn.nspname, 'pg_catalog'),
                    'typmod', a.atttypmod,
                    'isArray', et.oid IS NOT NULL) ORDER BY a.attnum)
           FROM pg_attribute a
           JOIN pg_type t ON t.oid = a.atttypid
           LEFT JOIN pg_type et ON t.typcategory = 'A' AND et.oid = t.typelem
           JOIN pg_namespace tn ON tn.oid = coalesce(et.typnamespace, t.typnamespace)
           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns,
         coalesce((
           SELECT json_agg(ic.relname ORDER BY ic.relname)
           FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
           WHERE i.indrelid = c.oid), '[]') AS indexes,
         coalesce((
           SELECT json_agg(json_build_object('name', con.conname, 'type', con.contype, 'validated', con.convalidated) ORDER BY con.conname)
           FROM pg_constraint con
           WHERE con.conrelid = c.oid), '[]') AS constraints
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${USER_NAMESPACES}
  ORDER BY n.nspname, c.relname`;

const KINDS: Record<string, CatalogTable['kind']> = { r: 'table', p: 'table', v: 'view', m: 'matview', f: 'foreign' };
const CONSTRAINT_TYPES: Record<string, CatalogTable['constraints'][number]['type']> = { c: 'check', f: 'foreign-key', u: 'unique', p: 'primary-key', x: 'exclusion' };

interface RelationRow {
  schema: string;
  name: string;
  relkind: string;
  rows: number;
  bytes: number;
  columns: CatalogTable['columns'];
  indexes: string[];
  constraints: Array<{ name: string; type: string; validated: boolean }>;
}

/** The database's schema as the linter models it. */
export async function readLintSchema(client: pg.Client): Promise<CatalogSchema> {
  const schemas = await client.query<{ name: string }>(LINT_SCHEMAS);
  const relations = await client.query<RelationRow>(LINT_RELATIONS);
  return {
    schemas: schemas.rows.map((r) => r.name),
    tables: relations.rows.map((r) => ({
      schema: r.schema,
      name: r.name,
      kind: KINDS[r.relkind] ?? 'table',
      rows: r.rows,
      bytes: r.bytes,
      columns: r.columns.map((c) => ({ ...c, typeSchema: c.typeSchema ?? undefined })),
      indexes: r.indexes,
      constraints: r.constraints.map((c) => ({ name: c.name, type: CONSTRAINT_TYPES[c.type] ?? 'other', validated: c.validated })),
    })),
  };
}
