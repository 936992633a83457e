/**
 * Is a DEFAULT expression volatile? From Postgres 11, ADD COLUMN with a non-volatile default only
 * records the value in the catalog; a volatile one (random(), gen_random_uuid(), clock_timestamp(),
 * nextval()) must be computed per row, so Postgres rewrites the whole table under ACCESS EXCLUSIVE.
 * https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
 *
 * The parse tree does not say which functions are volatile (that lives in pg_proc.provolatile), so
 * functions are looked up in two lists of built-ins; an unknown function counts as possibly volatile.
 */
import { asKind, stringList, type PgNode } from './ast.js';

/** Built-in (and common extension) functions that are VOLATILE. */
const VOLATILE_FUNCTIONS = new Set([
  'random',
  'random_normal',
  'setseed',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'gen_random_bytes',
  'gen_salt',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'setval',
  'txid_current',
  'pg_current_xact_id',
  'currval',
  'lastval',
]);

/** Built-in functions that are IMMUTABLE or STABLE (evaluated once for ADD COLUMN … DEFAULT). */
const NON_VOLATILE_FUNCTIONS = new Set([
  'now',
  'transaction_timestamp',
  'statement_timestamp',
  'current_timestamp',
  'localtimestamp',
  'current_date',
  'current_setting',
  'timezone',
  'date_trunc',
  'date_part',
  'extract',
  'to_timestamp',
  'to_date',
  'to_char',
  'to_number',
  'make_date',
  'make_time',
  'make_timestamp',
  'make_timestamptz',
  'make_interval',
  'date',
  'age',
  'lower',
  'upper',
  'initcap',
  'trim',
  'btrim',
  'ltrim',
  'rtrim',
  'concat',
  'concat_ws',
  'format',
  'length',
  'char_length',
  'replace',
  'substr',
  'substring',
  'left',
  'right',
  'lpad',
  'rpad',
  'repeat',
  'md5',
  'sha224',
  'sha256',
  'sha384',
  'sha512',
  'encode',
  'decode',
  'nullif',
  'abs',
  'round',
  'floor',
  'ceil',
  'ceiling',
  'trunc',
  'power',
  'sqrt',
  'greatest',
  'least',
  'array_fill',
  'array_append',
  'array_prepend',
  'array_cat',
  'jsonb_build_object',
  'jsonb_build_array',
  'json_build_object',
  'json_build_array',
  'to_json',
  'to_jsonb',
  'jsonb_object',
  'json_object',
  'row_to_json',
  'to_tsvector',
  'uuid_nil',
  'uuid_ns_dns',
  'uuid_ns_url',
  'uuid_ns_oid',
  'uuid_ns_x500',
  'uuid_generate_v3',
  'uuid_generate_v5',
  'inet',
  'point',
  'int4',
  'int8',
  'numeric',
  'text',
  'bool',
  'pg_backend_pid',
  'current_database',
  'current_schema',
  'version',
]);

/** Why a default may be volatile: the function that makes it so, and whether it is known to be. */
export interface Volatility {
  /** The function as written, e.g. 'gen_random_uuid()'. */
  culprit: string;
  /** True for a built-in known to be VOLATILE; false for a function drydock cannot judge. */
  known: boolean;
}

/**
 * Undefined when the expression is certainly not volatile (constants, casts, operators,
 * CURRENT_TIMESTAMP, now() …); otherwise the first function that is or may be volatile.
 */
export function volatility(expr: unknown): Volatility | undefined {
  let found: Volatility | undefined;
  const visit = (node: unknown): void => {
    if (found || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    for (const [key, value] of Object.entries(node as PgNode)) {
      if (found) return;
      switch (key) {
        case 'FuncCall': {
          const call = value as { funcname?: PgNode[]; args?: PgNode[] };
          const names = stringList(call.funcname);
          const name = (names[names.length - 1] ?? '').toLowerCase();
          const shown = `${names.join('.')}()`;
          if (VOLATILE_FUNCTIONS.has(name)) found = { culprit: shown, known: true };
          else if (!NON_VOLATILE_FUNCTIONS.has(name) || (names.length > 1 && names[0] !== 'pg_catalog')) found = { culprit: shown, known: false };
          else visit(call.args);
          break;
        }
        case 'SubLink':
          found = { culprit: 'a subquery', known: false };
          break;
        case 'A_Const':
        case 'SQLValueFunction':
        case 'ColumnRef':
        case 'ParamRef':
          break;
        default:
          if (value !== null && typeof value === 'object') visit(value);
      }
    }
  };
  visit(expr);
  return found;
}

/** The default expression among a column's constraints (undefined when none, or DEFAULT NULL). */
export function nonNullDefault(constraints: Array<{ contype: string; raw_expr?: PgNode }>): PgNode | undefined {
  for (const c of constraints) {
    if (c.contype !== 'CONSTR_DEFAULT' || !c.raw_expr) continue;
    const cast = asKind<{ arg?: PgNode }>(c.raw_expr, 'TypeCast');
    const value = cast ? cast.arg : c.raw_expr;
    if (asKind<{ isnull?: boolean }>(value, 'A_Const')?.isnull) return undefined;
    return c.raw_expr;
  }
  return undefined;
}
