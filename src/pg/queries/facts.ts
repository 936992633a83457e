/**
 * Catalog facts a copy must share with its source: what `drydock pull` compares before it swaps a copy
 * in. Read on the source inside the copy's snapshot and on the scratch copy, with the same queries.
 * System schemas, Heroku's own (`_heroku`) and objects that belong to extensions are left out.
 */
import type pg from 'pg';

import { quoteQualified } from '../ident.js';

/** Schemas a copy leaves out; `$1` of every query below. */
export const FACT_EXCLUDED_SCHEMAS = ['_heroku'];

const USER_NAMESPACE = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_' AND n.nspname <> ALL($1::text[])`;
const NOT_EXTENSION_MEMBER = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

/** Columns of tables, partitioned tables, views and materialized views: relation, column, type. */
export const FACT_COLUMNS = `
  SELECT n.nspname AS schema, c.relname AS relation, c.relkind AS kind, a.attname AS column, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
    a.attnotnull AS not_null
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${USER_NAMESPACE} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`;

/** Indexes with their table and validity. */
export const FACT_INDEXES = `
  SELECT n.nspname AS schema, c.relname AS index, t.relname AS relation, i.indisvalid AS valid, i.indisunique AS is_unique
  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE ${USER_NAMESPACE} AND ${NOT_EXTENSION_MEMBER('pg_class', 't.oid')}`;

/** Table constraints with their type, validation and deferrability. */
export const FACT_CONSTRAINTS = `
  SELECT n.nspname AS schema, t.relname AS relation, k.conname AS name, k.contype AS type, k.convalidated AS validated, k.condeferrable AS deferrable
  FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class t ON t.oid = k.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
  WHERE ${USER_NAMESPACE} AND ${NOT_EXTENSION_MEMBER('pg_class', 't.oid')}`;

/** Sequences (their state is read from each one: see readSequenceStates). */
export const FACT_SEQUENCES = `
  SELECT n.nspname AS schema, c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'S' AND ${USER_NAMESPACE} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}
  ORDER BY 1, 2`;

/** Materialized views and whether they hold data. */
export const FACT_MATVIEWS = `
  SELECT n.nspname AS schema, c.relname AS name, c.relispopulated AS populated
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'm' AND ${USER_NAMESPACE} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`;

/** How many large objects there are. */
export const FACT_LARGE_OBJECTS = `SELECT count(*)::bigint AS n FROM pg_catalog.pg_largeobject_metadata`;

/** A sequence's state: what `setval(seq, lastValue, isCalled)` puts back. */
export interface SequenceState {
  schema: string;
  name: string;
  lastValue: string;
  isCalled: boolean;
}

/**
 * Each sequence's last_value and is_called, read from the sequence itself as pg_dump does
 * (pg_sequences shows no value for one reset with setval(…, false)), 500 sequences per query.
 */
export async function readSequenceStates(client: pg.ClientBase, sequences: ReadonlyArray<{ schema: string; name: string }>): Promise<SequenceState[]> {
  const states: SequenceState[] = [];
  for (let i = 0; i < sequences.length; i += 500) {
    const batch = sequences.slice(i, i + 500);
    const sql = batch.map((s, j) => `SELECT ${j} AS i, last_value::text AS last_value, is_called FROM ${quoteQualified(s.schema, s.name)}`).join(' UNION ALL ');
    const { rows } = await client.query<{ i: number; last_value: string; is_called: boolean }>(sql);
    for (const r of rows) states.push({ schema: batch[r.i]!.schema, name: batch[r.i]!.name, lastValue: r.last_value, isCalled: r.is_called });
  }
  return states;
}

/** An object's name in facts (schema, name, …), unambiguous even with dots or spaces in them. */
export function factKey(...parts: string[]): string {
  return JSON.stringify(parts);
}

/** What a copy must share with its source. */
export interface CatalogFacts {
  /** Per relation (key of schema, name): kind and its columns (name → type, NOT NULL). */
  relations: Map<string, { label: string; kind: string; columns: Map<string, string> }>;
  /** Per index (key of schema, name): its table and validity. */
  indexes: Map<string, { label: string; valid: boolean }>;
  /** Per constraint (key of schema, table, name): type, validated, deferrable. */
  constraints: Map<string, { label: string; type: string; validated: boolean; deferrable: boolean }>;
  /** Per sequence: `last_value is_called`. */
  sequences: Map<string, { label: string; state: string }>;
  /** Per materialized view: populated. */
  matviews: Map<string, { label: string; populated: boolean }>;
  largeObjects: number;
}

/** Read the facts of the connected database (inside a snapshot's transaction on a source). */
export async function readCatalogFacts(client: pg.ClientBase): Promise<CatalogFacts> {
  const args = [FACT_EXCLUDED_SCHEMAS];
  const facts: CatalogFacts = { relations: new Map(), indexes: new Map(), constraints: new Map(), sequences: new Map(), matviews: new Map(), largeObjects: 0 };
  const { rows: columns } = await client.query<{ schema: string; relation: string; kind: string; column: string; type: string; not_null: boolean }>(FACT_COLUMNS, args);
  for (const c of columns) {
    const k = factKey(c.schema, c.relation);
    const relation = facts.relations.get(k) ?? { label: `${c.schema}.${c.relation}`, kind: c.kind, columns: new Map<string, string>() };
    relation.columns.set(c.column, `${c.type}${c.not_null ? ' NOT NULL' : ''}`);
    facts.relations.set(k, relation);
  }
  const { rows: indexes } = await client.query<{ schema: string; index: string; relation: string; valid: boolean }>(FACT_INDEXES, args);
  for (const i of indexes) facts.indexes.set(factKey(i.schema, i.index), { label: `index ${i.schema}.${i.index} on ${i.relation}`, valid: i.valid });
  const { rows: constraints } = await client.query<{ schema: string; relation: string; name: string; type: string; validated: boolean; deferrable: boolean }>(FACT_CONSTRAINTS, args);
  for (const c of constraints) {
    facts.constraints.set(factKey(c.schema, c.relation, c.name), { label: `constraint ${c.name} on ${c.schema}.${c.relation}`, type: c.type, validated: c.validated, deferrable: c.deferrable });
  }
  const { rows: sequences } = await client.query<{ schema: string; name: string }>(FACT_SEQUENCES, args);
  for (const s of await readSequenceStates(client, sequences)) {
    facts.sequences.set(factKey(s.schema, s.name), { label: `sequence ${s.schema}.${s.name}`, state: `${s.lastValue} ${s.isCalled}` });
  }
  const { rows: matviews } = await client.query<{ schema: string; name: string; populated: boolean }>(FACT_MATVIEWS, args);
  for (const m of matviews) facts.matviews.set(factKey(m.schema, m.name), { label: `materialized view ${m.schema}.${m.name}`, populated: m.populated });
  const { rows: lo } = await client.query<{ n: string }>(FACT_LARGE_OBJECTS);
  facts.largeObjects = Number(lo[0]?.n ?? 0);
  return facts;
}
