/**
 * The SQL of one keyset batch, built from the table's primary key: a batch is the next `limit` keys
 * after the cursor, in key order (an index range scan on the primary key, never OFFSET), and the
 * UPDATE touches exactly the rows between the cursor (exclusive) and the batch's last key
 * (inclusive). Each batch starts where the previous one ended, so its cost does not grow as the
 * backfill moves through the table, and no key is visited twice. Pure.
 *
 * Key values travel as text and are cast back to the key column's type (`$1::bigint`), so any key
 * type with a btree order works (integer, uuid, text with its collation, timestamps, composites of
 * them). A composite key compares as a row: `(a, b) > ($1, $2)`, which btree can use directly.
 * https://www.postgresql.org/docs/current/functions-comparisons.html#ROW-WISE-COMPARISON
 */
import { quoteIdent } from '../pg/ident.js';

/** One primary-key column: its name and its type as format_type() prints it. */
export interface KeyColumn {
  name: string;
  type: string;
}

/** What a batch is built from. */
export interface KeysetTable {
  /** The table, quoted and schema-qualified ("public"."users"). */
  table: string;
  /** The primary key, in index order. */
  key: readonly KeyColumn[];
  /** The SET list, as given ("email_lower = lower(email)"). */
  set: string;
  /** The --where predicate, as given; undefined updates every row. */
  where?: string | undefined;
}

/** The statements of one batch, with `$n` parameters: see the functions below for their order. */
export interface BatchSql {
  /**
   * The batch's upper bound: the last key of the next `limit` keys after the cursor, as text, and how
   * many keys that is (`scanned`). Parameters: the cursor's key values (none for the first batch), then the limit.
   */
  bound: string;
  /** The UPDATE of the rows from the cursor (exclusive) to the bound (inclusive). Parameters: the cursor's values (none for the first batch), then the bound's. */
  update: string;
}

/** `(a, b)` or `a`: the key as SQL names it (with `alias.` before each column when given). */
export function keyTuple(key: readonly KeyColumn[], alias?: string): string {
  const cols = key.map((k) => (alias ? `${alias}.${quoteIdent(k.name)}` : quoteIdent(k.name)));
  return cols.length === 1 ? cols[0]! : `(${cols.join(', ')})`;
}

/** `($1::bigint, $2::text)` or `$1::bigint`: the key's values as parameters from `$first` on. */
export function keyParams(key: readonly KeyColumn[], first: number): string {
  const params = key.map((k, i) => `$${first + i}::${k.type}`);
  return params.length === 1 ? params[0]! : `(${params.join(', ')})`;
}

/** The bound and update statements of a batch; `first` is true before any key was done (no lower bound). */
export function batchSql(t: KeysetTable, first: boolean): BatchSql {
  const n = t.key.length;
  const order = t.key.map((k) => quoteIdent(k.name)).join(', ');
  const orderDesc = t.key.map((k) => `${quoteIdent(k.name)} DESC`).join(', ');
  const lower = first ? undefined : `${keyTuple(t.key)} > ${keyParams(t.key, 1)}`;
  const limitParam = `$${first ? 1 : n + 1}`;
  const asText = t.key.map((k) => `${quoteIdent(k.name)}::text AS ${quoteIdent(`k_${k.name}`)}`).join(', ');
  const bound = [
    `SELECT ${asText}, count(*) OVER () AS scanned`,
    `FROM (SELECT ${order} FROM ${t.table}${lower ? ` WHERE ${lower}` : ''} ORDER BY ${order} LIMIT ${limitParam}) AS batch`,
    `ORDER BY ${orderDesc} LIMIT 1`,
  ].join('\n');
  const upperFirst = first ? 1 : n + 1;
  const conditions = [lower, `${keyTuple(t.key)} <= ${keyParams(t.key, upperFirst)}`, t.where !== undefined ? `(${t.where})` : undefined].filter(Boolean);
  const update = `UPDATE ${t.table} SET ${t.set}\nWHERE ${conditions.join('\n  AND ')}`;
  return { bound, update };
}

/** Every key column's value of a bound row (its `k_<name>` columns), in key order. */
export function boundKey(key: readonly KeyColumn[], row: Record<string, unknown>): string[] {
  return key.map((k) => {
    const value = row[`k_${k.name}`];
    if (typeof value !== 'string') throw new Error(`primary key column ${k.name} read as ${value === null ? 'NULL' : typeof value}, not as text`);
    return value;
  });
}

/** The statements as a person reads them in a dry run: parameters named after what they hold. */
export function describeBatchSql(t: KeysetTable): string {
  const { bound, update } = batchSql(t, false);
  const names = [...t.key.map((k) => `:last_${k.name}`), ':batch_size'];
  const upd = [...t.key.map((k) => `:last_${k.name}`), ...t.key.map((k) => `:bound_${k.name}`)];
  const fill = (sql: string, labels: string[]) => sql.replace(/\$(\d+)/g, (_, d: string) => labels[Number(d) - 1] ?? `$${d}`);
  return `${fill(bound, names)};\n${fill(update, upd)};`;
}
