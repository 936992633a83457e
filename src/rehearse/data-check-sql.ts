/**
 * The queries of `drydock rehearse`'s data checks (src/rehearse/data-check-plan.ts decides which).
 * Every query is read-only and returns exactly one row:
 *
 * - `violations` (int8): rows that would make the statement fail;
 * - `groups` (int8 or NULL): for a unique check, how many distinct duplicated keys;
 * - `samples` (json): up to three arrays of values (each cut to SAMPLE_CHARS + 1 characters, so the
 *   reader knows it was cut), with the group's row count last for a unique check.
 *
 * A "conversion" query does not count: it converts every value as the statement would, and an error
 * (a data exception) means some value does not convert. Pure; identifiers go through quoteIdent.
 */
import { showType, type RangeVar, type TypeInfo } from '../lint/ast.js';
import { quoteIdent, quoteLiteral } from '../pg/ident.js';

/** Sample values are cut to this many characters. */
export const SAMPLE_CHARS = 40;
/** At most this many samples per check. */
export const SAMPLE_ROWS = 3;

/** A relation as a FROM item: `ONLY` when the statement said ONLY (libpg_query leaves `inh` out then). */
export function relationSql(rel: RangeVar, alias?: string): string {
  const only = rel.inh === true ? '' : 'ONLY ';
  return `${only}${rel.schemaname ? `${quoteIdent(rel.schemaname)}.` : ''}${quoteIdent(rel.relname)}${alias ? ` AS ${alias}` : ''}`;
}

const cut = (value: string): string => `left((${value})::text, ${SAMPLE_CHARS + 1})`;

/** Up to SAMPLE_ROWS arrays of `values` from the rows of `from` where `where` holds. */
function samplesSql(values: readonly string[], from: string, where: string, distinct = false): string {
  if (!values.length) return `'[]'::json`;
  const columns = values.map((v, i) => `${cut(v)} AS s${i + 1}`).join(', ');
  const picked = values.map((_, i) => `x.s${i + 1}`).join(', ');
  return `(SELECT coalesce(json_agg(json_build_array(${picked})), '[]') FROM (SELECT ${distinct ? 'DISTINCT ' : ''}${columns} FROM ${from} WHERE ${where} LIMIT ${SAMPLE_ROWS}) x)`;
}

/** Rows of `from` where `where` holds, with samples of `values`. */
export function countSql(from: string, where: string, values: readonly string[] = [], distinct = false): string {
  return `SELECT count(*)::int8 AS violations, NULL::int8 AS groups, ${samplesSql(values, from, where, distinct)} AS samples FROM ${from} WHERE ${where}`;
}

/** Every row of `rel` (a column added NOT NULL without a value fails on each). */
export function allRowsSql(rel: RangeVar): string {
  return `SELECT count(*)::int8 AS violations, NULL::int8 AS groups, '[]'::json AS samples FROM ${relationSql(rel)}`;
}

/** One key of a unique check: its SQL (a quoted column or a parenthesised expression) and its collation. */
export interface UniqueKey {
  sql: string;
  /** `"C"`, `"de-x-icu"` (already quoted), when the index element names one. */
  collation?: string | undefined;
}

/**
 * Groups of rows with the same key, as a unique index over `keys` would see them: only rows matching
 * the partial index's `where`, and, unless NULLS NOT DISTINCT, only rows whose keys are all non-null
 * (a NULL never equals another NULL). `violations` counts the rows in duplicated groups.
 */
export function uniqueSql(rel: RangeVar, keys: readonly UniqueKey[], where: string | undefined, nullsNotDistinct: boolean): string {
  const conditions = [...(where === undefined ? [] : [`(${where})`]), ...(nullsNotDistinct ? [] : keys.map((k) => `(${k.sql}) IS NOT NULL`))];
  const selected = keys.map((k, i) => `(${k.sql})${k.collation ? ` COLLATE ${k.collation}` : ''} AS k${i + 1}`).join(', ');
  const groupBy = keys.map((_, i) => i + 1).join(', ');
  const sampled = [...keys.map((_, i) => cut(`d.k${i + 1}`)), 'd.n'].join(', ');
  return [
    `WITH dup AS (SELECT ${selected}, count(*) AS n FROM ${relationSql(rel)}${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''} GROUP BY ${groupBy} HAVING count(*) > 1)`,
    `SELECT coalesce(sum(n), 0)::int8 AS violations, count(*)::int8 AS groups,`,
    `(SELECT coalesce(json_agg(json_build_array(${sampled}) ORDER BY d.n DESC), '[]') FROM (SELECT * FROM dup ORDER BY n DESC LIMIT ${SAMPLE_ROWS}) d) AS samples`,
    'FROM dup',
  ].join(' ');
}

/**
 * Rows of `rel` whose `columns` reference no row of `ref` (`refColumns`): a foreign key's orphans.
 * MATCH SIMPLE (the default): a row with any NULL key passes. MATCH FULL: a row passes when all its
 * keys are NULL, and fails when only some are. The referenced table is read with its partitions.
 */
export function orphansSql(rel: RangeVar, columns: readonly string[], ref: RangeVar, refColumns: readonly string[], matchFull: boolean): string {
  const own = columns.map((c) => `c.${quoteIdent(c)}`);
  const match = `NOT EXISTS (SELECT 1 FROM ${relationSql({ ...ref, inh: true }, 'p')} WHERE ${refColumns.map((r, i) => `p.${quoteIdent(r)} = ${own[i]!}`).join(' AND ')})`;
  const where = matchFull
    ? `NOT (${own.map((c) => `${c} IS NULL`).join(' AND ')}) AND (${own.map((c) => `${c} IS NULL`).join(' OR ')} OR ${match})`
    : `${own.map((c) => `${c} IS NOT NULL`).join(' AND ')} AND ${match}`;
  return countSql(relationSql(rel, 'c'), where, own, true);
}

/** Converts every value of `value` to `target` as the statement would; fails (a data exception) on the first that does not convert. */
export function conversionSql(rel: RangeVar, value: string, target: string): string {
  // Multiplied, so the conversion's result is used: a subquery output nobody reads may be dropped by the planner.
  return `SELECT (0 * count((${value})::${target}))::int8 AS violations, NULL::int8 AS groups, '[]'::json AS samples FROM ${relationSql(rel)}`;
}

// ---------------------------------------------------------------------------------------------
// Whether the values of a column fit a new type

/** How to check that values fit a new type. */
export type TypeFit =
  /** The conversion cannot fail on any value. */
  | { kind: 'never' }
  /** Rows where `bad` holds fail; `problem` says what is wrong with them ("longer than 50 characters"). */
  | { kind: 'count'; bad: string; problem: string }
  /** No count: convert every value and see (conversionSql). */
  | { kind: 'conversion' }
  /** Not checked, and why. */
  | { kind: 'unchecked'; note: string };

const STRING_TYPES = new Set(['text', 'varchar', 'bpchar', 'citext', 'name']);
const INT_RANGES: Record<string, [string, string]> = {
  int2: ['-32768', '32767'],
  int4: ['-2147483648', '2147483647'],
  int8: ['-9223372036854775808', '9223372036854775807'],
};
/** Decimal digits an integer type can need (for numeric(p,s) targets). */
const INT_DIGITS: Record<string, number> = { int2: 5, int4: 10, int8: 19 };
const INT_ORDER = ['int2', 'int4', 'int8'];
const FLOAT_TYPES = new Set(['float4', 'float8']);
/** Conversions between date/time types that always succeed (from → to). */
const SAFE_TIME: Record<string, string[]> = {
  date: ['timestamp', 'timestamptz'],
  timestamp: ['timestamptz', 'date', 'time'],
  timestamptz: ['timestamp', 'date', 'time', 'timetz'],
  time: ['interval', 'timetz'],
};

/** PostgreSQL's whitespace, as the input functions skip it. */
const WS = '[ \\t\\n\\r\\f\\v]*';

/** Input a type accepts, before PostgreSQL 16 (no pg_input_is_valid): a regular expression, case-insensitive. */
function inputPattern(type: string, pgVersion: number): string | undefined {
  const number = '[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)(e[+-]?[0-9]+)?';
  switch (type) {
    case 'int2':
    case 'int4':
    case 'int8':
      return `^${WS}[+-]?[0-9]+${WS}$`;
    case 'numeric':
      // NaN, and from PostgreSQL 14 infinities.
      return `^${WS}(${number}|nan${pgVersion >= 14 ? '|[+-]?(inf|infinity)' : ''})${WS}$`;
    case 'bool':
      return `^${WS}(t|tr|tru|true|f|fa|fal|fals|false|y|ye|yes|n|no|on|of|off|1|0)${WS}$`;
    case 'uuid':
      return '^([0-9a-f]{4}(-?[0-9a-f]{4}){7}|\\{[0-9a-f]{4}(-?[0-9a-f]{4}){7}\\})$';
    default:
      return undefined;
  }
}

function sameType(a: TypeInfo, b: TypeInfo): boolean {
  return a.name === b.name && a.isArray === b.isArray && (a.schema ?? '') === (b.schema ?? '') && a.typmods.length === b.typmods.length && a.typmods.every((m, i) => m === b.typmods[i]);
}

/** `value` (a numeric expression) does not fit numeric(p,s): rounded to s digits, it needs more than p - s integer digits. NaN fits. */
function numericOverflow(value: string, p: number, s: number): string {
  return `${value} <> 'NaN' AND abs(round(${value}, ${s})) >= power(10::numeric, ${p - s})`;
}

/**
 * How to check that the values of `value` (SQL; of type `from` when known) convert to `to` (written
 * `targetSql`) as ALTER COLUMN … TYPE converts them: an assignment, so a too-long string is an error
 * (an explicit cast would cut it). `pgVersion` is the server's major: from 16, pg_input_is_valid
 * checks text input for any type.
 */
export function typeFit(from: TypeInfo | undefined, to: TypeInfo, targetSql: string, value: string, pgVersion: number): TypeFit {
  const label = showType(to);
  if (from && sameType(from, to)) return { kind: 'never' };
  if (to.isArray || from?.isArray) {
    if ((to.name === 'varchar' || to.name === 'bpchar' || to.name === 'bit' || to.name === 'varbit') && to.typmods.length) return { kind: 'unchecked', note: `arrays of ${label.replace(/\[\]$/, '')} are not checked` };
    return { kind: 'conversion' };
  }
  if (to.name === 'text' || to.name === 'citext' || (to.name === 'varchar' && !to.typmods.length)) return { kind: 'never' };
  if ((to.name === 'varchar' || to.name === 'bpchar') && to.typmods.length) {
    const n = to.typmods[0]!;
    if (from && (from.name === 'varchar' || from.name === 'bpchar') && from.typmods.length && from.typmods[0]! <= n) return { kind: 'never' };
    // Assigning a longer string is an error, unless what is cut is only spaces.
    return { kind: 'count', bad: `char_length(rtrim((${value})::text, ' ')) > ${n}`, problem: `longer than ${n} characters` };
  }
  if (to.name === 'bit' || to.name === 'varbit') return { kind: 'unchecked', note: `conversions to ${label} are not checked` };
  const isString = from !== undefined && STRING_TYPES.has(from.name);
  const textInput = (): TypeFit => {
    if (pgVersion >= 16) return { kind: 'count', bad: `NOT pg_input_is_valid((${value})::text, ${quoteLiteral(targetSql)})`, problem: `not valid as ${label}` };
    const pattern = inputPattern(to.name, pgVersion);
    if (!pattern) return { kind: 'conversion' };
    const syntax = `(${value})::text !~* ${quoteLiteral(pattern)}`;
    if (to.name in INT_RANGES) {
      const [lo, hi] = INT_RANGES[to.name]!;
      return { kind: 'count', bad: `CASE WHEN ${syntax} THEN true ELSE btrim((${value})::text)::numeric NOT BETWEEN ${lo} AND ${hi} END`, problem: `not valid as ${label}` };
    }
    if (to.name === 'numeric' && to.typmods.length) {
      const [p, s = 0] = to.typmods as [number, number?];
      return { kind: 'count', bad: `CASE WHEN ${syntax} THEN true ELSE ${numericOverflow(`btrim((${value})::text)::numeric`, p, s)} END`, problem: `not valid as ${label}` };
    }
    return { kind: 'count', bad: syntax, problem: `not valid as ${label}` };
  };
  if (to.name in INT_RANGES) {
    const [lo, hi] = INT_RANGES[to.name]!;
    if (from && from.name in INT_RANGES) {
      if (INT_ORDER.indexOf(from.name) <= INT_ORDER.indexOf(to.name)) return { kind: 'never' };
      return { kind: 'count', bad: `(${value}) NOT BETWEEN ${lo} AND ${hi}`, problem: `outside the range of ${label}` };
    }
    // numeric and floats round to the nearest integer; NaN and infinities sort above every number.
    if (from && (from.name === 'numeric' || FLOAT_TYPES.has(from.name))) return { kind: 'count', bad: `round(${value}) NOT BETWEEN ${lo} AND ${hi}`, problem: `outside the range of ${label} once rounded` };
    return isString ? textInput() : { kind: 'conversion' };
  }
  if (to.name === 'numeric') {
    const [p, s = 0] = to.typmods as [number?, number?];
    if (from && from.name in INT_RANGES) {
      if (p === undefined || p - s >= INT_DIGITS[from.name]!) return { kind: 'never' };
      return { kind: 'count', bad: numericOverflow(`(${value})::numeric`, p, s), problem: `too large for ${label}` };
    }
    if (from && (from.name === 'numeric' || FLOAT_TYPES.has(from.name))) {
      if (p === undefined) return from.name === 'numeric' || pgVersion >= 14 ? { kind: 'never' } : { kind: 'conversion' };
      const [fp, fs = 0] = from.typmods as [number?, number?];
      if (from.name === 'numeric' && fp !== undefined && fp - fs <= p - s && fs <= s) return { kind: 'never' };
      return { kind: 'count', bad: numericOverflow(`(${value})::numeric`, p, s), problem: `too large for ${label}` };
    }
    return isString ? textInput() : { kind: 'conversion' };
  }
  // A numeric (or a float8 made float4) can be too large for a float: that is left to the conversion.
  if (FLOAT_TYPES.has(to.name) && from && (from.name in INT_RANGES || (from.name === 'float4' && to.name === 'float8'))) return { kind: 'never' };
  if (from && SAFE_TIME[from.name]?.includes(to.name)) return { kind: 'never' };
  return isString ? textInput() : { kind: 'conversion' };
}
