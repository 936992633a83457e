/**
 * The SQL of `drydock dupes`, built from the request and the catalog; pure. The report is one
 * `GROUP BY key HAVING count(*) > 1` over the table (what a hand-written query does, never a window
 * over every row), then a look at the few largest groups. The ranking (which row of a group survives)
 * is a window over the rows of the duplicate groups only; the generated migrations run the same SQL.
 */
import { quoteIdent, quoteLiteral, quoteQualified } from '../pg/ident.js';
import { keepOrderBy, REFS_COLUMN, type KeyPart } from './spec.js';
import type { KeepRule, Reference, TableName } from './types.js';

/** What every query needs: the table, the key, the scope and the rule. */
export interface DupesSpec {
  table: TableName;
  key: KeyPart[];
  /** The partial index's predicate (--where). */
  where: string | undefined;
  /** NULLs collide (NULLS NOT DISTINCT, PostgreSQL 15+). */
  nullsNotDistinct: boolean;
  keep: KeepRule;
  /** The primary key's columns. */
  pk: string[];
  /** Level-1 references (rows pointing at the table): most-referenced counts them. */
  references: Reference[];
}

/** The table, qualified and quoted. */
export function tableSql(t: TableName): string {
  return quoteQualified(t.schema, t.name);
}

/** The alias queries give the table: its own name, so `users.created_at` in --keep works too. */
export function aliasOf(spec: Pick<DupesSpec, 'table'>): string {
  return quoteIdent(spec.table.name);
}

/** `schema.table` as the audit table records it. */
export function tableLabel(t: TableName): string {
  return `${t.schema}.${t.name}`;
}

/** Key parts as SQL (each parenthesised: an expression keeps its meaning inside any list). */
function keyList(spec: DupesSpec): string[] {
  return spec.key.map((k) => (k.column !== undefined ? quoteIdent(k.column) : `(${k.text})`));
}

/** The rows that count: the index's predicate and, unless NULLs collide, non-NULL keys (a unique index lets NULLs repeat). */
export function scopeCondition(spec: DupesSpec): string {
  const parts: string[] = [];
  if (spec.where) parts.push(`(${spec.where})`);
  if (!spec.nullsNotDistinct) parts.push(...keyList(spec).map((k) => `${k} IS NOT NULL`));
  return parts.length ? parts.join(' AND ') : 'true';
}

/** The hand-written query's shape: the duplicate keys and their sizes. */
export function duplicateKeysSql(spec: DupesSpec): string {
  const keys = keyList(spec);
  return `SELECT ${keys.map((k, i) => `${k} AS k${i + 1}`).join(', ')}, count(*) AS n FROM ${tableSql(spec.table)} AS ${aliasOf(spec)} WHERE ${scopeCondition(spec)} GROUP BY ${keys.map((_, i) => i + 1).join(', ')} HAVING count(*) > 1`;
}

/**
 * The report's main query, one row: groups, surplus rows, rows in groups, and the `limit` largest
 * groups (json: key as an array of the parts' values, rows). One pass over the table.
 */
export function summarySql(spec: DupesSpec, limit: number): string {
  const ks = spec.key.map((_, i) => `k${i + 1}`);
  return `WITH g AS MATERIALIZED (${duplicateKeysSql(spec)})
SELECT (SELECT count(*) FROM g)::bigint AS groups,
       (SELECT coalesce(sum(n - 1), 0) FROM g)::bigint AS surplus,
       (SELECT coalesce(sum(n), 0) FROM g)::bigint AS "inGroups",
       (SELECT coalesce(json_agg(json_build_object('key', json_build_array(${ks.join(', ')}), 'text', json_build_array(${ks.map((k) => `${k}::text`).join(', ')}), 'types', json_build_array(${ks.map((k) => `pg_typeof(${k})::text`).join(', ')}), 'rows', n) ORDER BY n DESC, ${ks.join(', ')}), '[]'::json)
          FROM (SELECT * FROM g ORDER BY n DESC, ${ks.join(', ')} LIMIT ${Math.max(0, Math.floor(limit))}) x) AS largest`;
}

/** Which rows the ranking looks at. */
export type MemberFilter =
  /** Every row of every duplicate group (the migration). */
  | { kind: 'all-groups' }
  /** The rows of the groups whose keys, as text, are these (the report's samples); null for a NULL part. */
  | { kind: 'keys'; keys: Array<Array<string | null>>; types: string[]; rows?: number | undefined };

/** The member rows, as `SELECT <alias>.* FROM table AS alias WHERE …`. */
function membersSql(spec: DupesSpec, filter: MemberFilter): string {
  const a = aliasOf(spec);
  const keys = keyList(spec);
  const from = `${tableSql(spec.table)} AS ${a}`;
  if (filter.kind === 'keys') {
    // The key's own type and equality (citext, a case-insensitive collation: not the text of one value):
    // a prefilter an index on the key can serve, then the exact tuples.
    const literal = (v: string | null, i: number): string => `${v === null ? 'NULL' : quoteLiteral(v)}::${filter.types[i] ?? 'text'}`;
    const arrays = keys.map((_, i) => `ARRAY[${filter.keys.map((k) => literal(k[i]!, i)).join(', ')}]`);
    const prefilter = keys.map((k, i) => `(${k} = ANY(${arrays[i]})${spec.nullsNotDistinct ? ` OR ${k} IS NULL` : ''})`).join(' AND ');
    const tuples = filter.keys.map((k) => `(${keys.map((key, i) => `${key} IS NOT DISTINCT FROM ${literal(k[i]!, i)}`).join(' AND ')})`);
    // Which group each row is in (drydock_group: the index in filter.keys), as the key's type sees it.
    const group = tuples.length ? `CASE ${tuples.map((t, i) => `WHEN ${t} THEN ${i}`).join(' ')} END` : 'NULL::int';
    // In one snapshot the groups' sizes are exact: the scan stops at their last row.
    return `SELECT * FROM (SELECT ${a}.*, ${group} AS drydock_group FROM ${from} WHERE ${scopeCondition(spec)} AND ${prefilter}) AS ${a} WHERE drydock_group IS NOT NULL${filter.rows ? ` LIMIT ${Math.floor(filter.rows)}` : ''}`;
  }
  if (spec.nullsNotDistinct) {
    // NULLs collide: IN (…) would never match a NULL part, so count each key's rows instead.
    return `SELECT * FROM (SELECT ${a}.*, count(*) OVER (PARTITION BY ${keys.join(', ')}) AS drydock_n FROM ${from} WHERE ${scopeCondition(spec)}) AS ${a} WHERE drydock_n > 1`;
  }
  return `SELECT ${a}.* FROM ${from} WHERE ${scopeCondition(spec)} AND (${keys.join(', ')}) IN (SELECT ${keys.join(', ')} FROM ${from} WHERE ${scopeCondition(spec)} GROUP BY ${keys.map((_, i) => i + 1).join(', ')} HAVING count(*) > 1)`;
}

/** `(a.x, a.y) = (b.u, b.v)` for lists of expressions. */
function tupleEq(left: readonly string[], right: readonly string[]): string {
  return left.length === 1 ? `${left[0]} = ${right[0]}` : `(${left.join(', ')}) = (${right.join(', ')})`;
}

/** Columns a ranking must carry for the migration: the primary key and every column a reference points at. */
export function mapColumns(spec: Pick<DupesSpec, 'pk' | 'references'>): string[] {
  const out = [...spec.pk];
  for (const r of spec.references) for (const c of r.refColumns) if (!out.includes(c)) out.push(c);
  return out;
}

/**
 * Every member row ranked within its group by the rule: its map columns (and the survivor's, as
 * new_<col>), its key as json, drydock_rn (1 = survivor), drydock_rk (rank: two rows with 1 tie), the
 * group size, and the values the rule compared (why). A window over the members only.
 */
export function rankedSql(spec: DupesSpec, filter: MemberFilter, extra: { why?: string[] } = {}): string {
  const a = aliasOf(spec);
  const keys = keyList(spec);
  const cols = mapColumns(spec);
  const members = `drydock_members AS MATERIALIZED (${membersSql(spec, filter)})`;
  let source = `drydock_members AS ${a}`;
  let ctes = [members];
  if (spec.keep.kind === 'most-referenced') {
    const counts = spec.references.map(
      (r) => `SELECT ${spec.pk.map((c) => `${a}.${quoteIdent(c)}`).join(', ')}, count(*) AS n FROM ${tableSql(r.table)} AS drydock_c JOIN drydock_members AS ${a} ON ${tupleEq(r.columns.map((c) => `drydock_c.${quoteIdent(c)}`), r.refColumns.map((c) => `${a}.${quoteIdent(c)}`))} GROUP BY ${spec.pk.map((_, i) => i + 1).join(', ')}`,
    );
    const pkCols = spec.pk.map(quoteIdent);
    const refs = counts.length
      ? `drydock_refcounts AS (SELECT ${pkCols.join(', ')}, sum(n)::bigint AS ${REFS_COLUMN} FROM (${counts.join(' UNION ALL ')}) AS x GROUP BY ${pkCols.join(', ')})`
      : `drydock_refcounts AS (SELECT ${pkCols.map((c) => `${a}.${c}`).join(', ')}, 0::bigint AS ${REFS_COLUMN} FROM drydock_members AS ${a} WHERE false)`;
    ctes = [members, refs];
    source = `(SELECT ${a}.*, coalesce(drydock_r.${REFS_COLUMN}, 0) AS ${REFS_COLUMN} FROM drydock_members AS ${a} LEFT JOIN drydock_refcounts AS drydock_r ON ${tupleEq(spec.pk.map((c) => `${a}.${quoteIdent(c)}`), spec.pk.map((c) => `drydock_r.${quoteIdent(c)}`))}) AS ${a}`;
  }
  const why = extra.why ?? [];
  const select = [
    ...cols.map((c) => `${a}.${quoteIdent(c)} AS ${quoteIdent(`old_${c}`)}`),
    ...cols.map((c) => `first_value(${a}.${quoteIdent(c)}) OVER drydock_w AS ${quoteIdent(`new_${c}`)}`),
    `json_build_array(${keys.join(', ')}) AS drydock_key`,
    `row_number() OVER drydock_w AS drydock_rn`,
    `rank() OVER drydock_w AS drydock_rk`,
    `count(*) OVER (PARTITION BY ${keys.join(', ')}) AS drydock_size`,
    `json_build_array(${why.length ? why.join(', ') : ''}) AS drydock_why`,
    ...(filter.kind === 'keys' ? [`${a}.drydock_group`] : []),
  ];
  return `WITH ${ctes.join(',\n')}
SELECT ${select.join(',\n       ')}
FROM ${source}
WINDOW drydock_w AS (PARTITION BY ${keys.join(', ')} ORDER BY ${keepOrderBy(spec.keep, spec.pk)})`;
}

/** How many groups the rule cannot resolve (two rows tie for first), over all groups. */
export function unresolvedCountSql(spec: DupesSpec): string {
  return `SELECT count(*)::bigint AS unresolved FROM (${rankedSql(spec, { kind: 'all-groups' })}) AS s WHERE drydock_rn = 2 AND drydock_rk = 1`;
}

/** How many of a column's values `lookalikeEvidenceSql` looks at: evidence, not a census (bounded on any table). */
export const EVIDENCE_SAMPLE = 1000;

/**
 * Whether a column that looks like a reference holds values of the table's key: the first
 * EVIDENCE_SAMPLE non-NULL values, each looked up by the key's index (bounded, whatever the sizes).
 */
export function lookalikeEvidenceSql(spec: Pick<DupesSpec, 'table' | 'pk'>, ref: { table: TableName; column: string }): string {
  const pk = quoteIdent(spec.pk[0]!);
  const c = quoteIdent(ref.column);
  return `SELECT EXISTS (SELECT 1 FROM (SELECT ${c} AS v FROM ${tableSql(ref.table)} WHERE ${c} IS NOT NULL LIMIT ${EVIDENCE_SAMPLE}) AS drydock_c WHERE EXISTS (SELECT 1 FROM ${tableSql(spec.table)} AS drydock_t WHERE drydock_t.${pk} = drydock_c.v)) AS found`;
}

/**
 * Read-only check that KEY, --where and --keep name real columns of the table: EXPLAIN plans, it does
 * not scan. most-referenced orders by a count the report makes itself: the primary key stands in.
 */
export function explainSql(spec: Omit<DupesSpec, 'references'>): string {
  const a = aliasOf(spec);
  const order = spec.keep.kind === 'most-referenced' ? spec.pk.map(quoteIdent).join(', ') : keepOrderBy(spec.keep, spec.pk);
  return `EXPLAIN SELECT ${keyList({ ...spec, references: [] }).join(', ')} FROM ${tableSql(spec.table)} AS ${a} WHERE ${scopeCondition({ ...spec, references: [] })} ORDER BY ${order}`;
}
