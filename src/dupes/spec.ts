/**
 * What `drydock dupes TABLE KEY [--where SQL] [--keep RULE]` asks, read and checked before anything
 * touches a database: the key's parts (columns or expressions, exactly what the unique index will be
 * on), the index's predicate, and the rule that picks each group's survivor. Pure; the parser must be
 * loaded (ensureParser). Whether the columns exist is the database's to say (the pipeline EXPLAINs).
 */
import { ConfigError } from '../errors.js';
import { quoteIdent } from '../pg/ident.js';
import { isKeyword, splitTopLevel, sqlTokens, type SqlToken } from '../sql/expression-text.js';
import { splitStatements } from '../sql/parse.js';
import type { ColumnFact, KeepRule } from './types.js';

/** One part of the key: its SQL text, and the column when it is a plain column. */
export interface KeyPart {
  text: string;
  column: string | undefined;
}

/** Column names that say when a row was made, in the order `oldest`/`newest` look for them. */
export const CREATED_COLUMNS: readonly string[] = ['created_at', 'inserted_at', 'created_on', 'date_created', 'created'];

const KEY_EXAMPLE = 'for example `drydock dupes users email`, `drydock dupes users "lower(email)"` or `drydock dupes memberships "user_id, room_id"`';

function parseOne(sql: string): Record<string, unknown> | undefined {
  const statements = splitStatements(sql);
  if (statements.length !== 1 || statements[0]!.kind !== 'SelectStmt') return undefined;
  return (statements[0]!.node as { SelectStmt: Record<string, unknown> }).SelectStmt;
}

function parseFailure(what: string, input: string, error: unknown, hint: string): ConfigError {
  const reason = error instanceof Error ? (error as { parserMessage?: string }).parserMessage ?? error.message.split('\n')[0] : String(error);
  return new ConfigError(`${what} ${JSON.stringify(input.length > 80 ? `${input.slice(0, 79)}…` : input)} is not valid SQL: ${reason}`, { hint });
}

function hasKind(node: unknown, kinds: readonly string[]): boolean {
  if (Array.isArray(node)) return node.some((n) => hasKind(n, kinds));
  if (node === null || typeof node !== 'object') return false;
  return Object.entries(node as Record<string, unknown>).some(([k, v]) => kinds.includes(k) || hasKind(v, kinds));
}

/** The text of tokens [from, to) of `text`. */
function slice(text: string, tokens: readonly SqlToken[], from: number, to: number): string {
  return text.slice(tokens[from]!.start, tokens[to - 1]!.end);
}

/**
 * The key: one or more comma-separated columns or expressions (`email`, `lower(email)`,
 * `tenant_id, lower(email)`). Parts given as separate arguments are joined with commas.
 */
export function parseKey(parts: readonly string[]): KeyPart[] {
  const input = parts.map((p) => p.trim()).filter(Boolean).join(', ');
  if (!input) throw new ConfigError('KEY is empty', { hint: KEY_EXAMPLE });
  const tokens = sqlTokens(input);
  if (!tokens.length) throw new ConfigError('KEY is empty', { hint: KEY_EXAMPLE });
  let select: Record<string, unknown> | undefined;
  try {
    select = parseOne(`SELECT ${input} FROM drydock_key`);
  } catch (error) {
    throw parseFailure('KEY', input, error, KEY_EXAMPLE);
  }
  const ranges = splitTopLevel(tokens, 0, tokens.length);
  const targets = (select?.targetList as Array<{ ResTarget: { name?: string; val?: unknown } }> | undefined) ?? [];
  if (!select || select.fromClause === undefined || (select.fromClause as unknown[]).length !== 1 || select.whereClause || select.groupClause || select.sortClause || select.limitCount || targets.length !== ranges.length || ranges.some(([a, b]) => a >= b)) {
    throw new ConfigError(`KEY ${JSON.stringify(input)} is not a list of columns or expressions`, { hint: KEY_EXAMPLE });
  }
  return ranges.map(([a, b], i) => {
    const target = targets[i]!.ResTarget;
    const text = slice(input, tokens, a, b);
    if (target.name) throw new ConfigError(`KEY part ${JSON.stringify(text)} has an alias`, { hint: 'give the expression alone, as the unique index will have it' });
    if (hasKind(target.val, ['SubLink', 'A_Star'])) {
      throw new ConfigError(`KEY part ${JSON.stringify(text)} is not something a unique index can be on`, { hint: 'use columns, or an expression over the columns of this table such as lower(email)' });
    }
    if (hasKind(target.val, ['FuncCall']) && /\b(count|sum|min|max|avg|row_number|rank|array_agg|string_agg)\s*\(/i.test(text)) {
      throw new ConfigError(`KEY part ${JSON.stringify(text)} is an aggregate or window function`, { hint: 'use columns, or an expression over one row such as lower(email)' });
    }
    const ref = (target.val as { ColumnRef?: { fields?: Array<{ String?: { sval: string } }> } }).ColumnRef;
    const column = ref?.fields?.length === 1 && ref.fields[0]!.String ? ref.fields[0]!.String.sval : undefined;
    return { text, column };
  });
}

/** --where: the unique index's predicate (a partial index); only rows matching it are de-duplicated. */
export function parseWhere(input: string | undefined): string | undefined {
  if (input === undefined) return undefined;
  const text = input.trim().replace(/;+\s*$/, '');
  if (!text) throw new ConfigError('--where is empty', { hint: 'give the condition of the partial unique index, e.g. --where "deleted_at IS NULL"' });
  let select: Record<string, unknown> | undefined;
  try {
    select = parseOne(`SELECT 1 FROM drydock_where WHERE ${text}`);
  } catch (error) {
    throw parseFailure('--where', text, error, 'give a boolean condition on the table\'s columns, e.g. --where "deleted_at IS NULL"');
  }
  if (!select?.whereClause || select.groupClause || select.sortClause || select.limitCount || hasKind(select.whereClause, ['SubLink'])) {
    throw new ConfigError(`--where ${JSON.stringify(text)} is not a condition a partial unique index can have`, { hint: 'give a condition on this table\'s columns, without subqueries, e.g. --where "deleted_at IS NULL"' });
  }
  return text;
}

/** The sort expressions of an ORDER BY list, without ASC/DESC/NULLS FIRST|LAST. */
function sortExpressions(list: string, tokens: readonly SqlToken[]): string[] {
  return splitTopLevel(tokens, 0, tokens.length).map(([a, b]) => {
    let end = b;
    while (end > a + 1) {
      const t = tokens[end - 1]!;
      if (isKeyword(t, 'ASC') || isKeyword(t, 'DESC')) end -= 1;
      else if ((isKeyword(t, 'FIRST') || isKeyword(t, 'LAST')) && isKeyword(tokens[end - 2], 'NULLS')) end -= 2;
      else break;
    }
    return slice(list, tokens, a, end);
  });
}

const KEEP_HINT = '--keep oldest, newest, most-referenced, or "ORDER BY <expressions>" (the first row survives), e.g. --keep "ORDER BY last_sign_in_at DESC NULLS LAST, id"';

/**
 * --keep: which row of a group survives. oldest/newest use the first of CREATED_COLUMNS the table
 * has, then the primary key (always a total order); most-referenced counts the rows that point at
 * each, then oldest; "ORDER BY …" is the user's order as written: two rows that tie for first are a
 * group the rule cannot resolve.
 */
export function parseKeep(input: string | undefined, columns: readonly ColumnFact[]): KeepRule {
  const value = (input ?? 'oldest').trim();
  const lower = value.toLowerCase();
  const created = CREATED_COLUMNS.find((c) => columns.some((col) => col.name === c));
  if (lower === 'oldest' || lower === 'newest') return { kind: lower, column: created };
  if (lower === 'most-referenced' || lower === 'most_referenced') return { kind: 'most-referenced' };
  const tokens = sqlTokens(value);
  if (!(isKeyword(tokens[0], 'ORDER') && isKeyword(tokens[1], 'BY')) || tokens.length < 3) {
    throw new ConfigError(`--keep ${JSON.stringify(value)} is not a rule`, { hint: KEEP_HINT });
  }
  const list = value.slice(tokens[2]!.start).replace(/;+\s*$/, '');
  let select: Record<string, unknown> | undefined;
  try {
    select = parseOne(`SELECT 1 FROM drydock_keep ORDER BY ${list}`);
  } catch (error) {
    throw parseFailure('--keep', value, error, KEEP_HINT);
  }
  if (!select?.sortClause || select.limitCount || hasKind(select.sortClause, ['SubLink'])) throw new ConfigError(`--keep ${JSON.stringify(value)} is not an ORDER BY list`, { hint: KEEP_HINT });
  if (/\bUSING\b/i.test(list)) throw new ConfigError('--keep "ORDER BY … USING operator" is not supported', { hint: 'use ASC or DESC' });
  const listTokens = sqlTokens(list);
  return { kind: 'order-by', orderBy: list, expressions: sortExpressions(list, listTokens) };
}

/** The name of the column that counts references in the most-referenced rule's queries. */
export const REFS_COLUMN = 'drydock_refs';

/**
 * The ORDER BY list (without the words) that puts each group's survivor first, over the table's
 * columns (unqualified or qualified by the table's name). `pk` is the primary key's columns.
 */
export function keepOrderBy(rule: KeepRule, pk: readonly string[]): string {
  const pkAsc = pk.map((c) => `${quoteIdent(c)} ASC`);
  const pkDesc = pk.map((c) => `${quoteIdent(c)} DESC`);
  switch (rule.kind) {
    case 'oldest':
      return [...(rule.column ? [`${quoteIdent(rule.column)} ASC NULLS LAST`] : []), ...pkAsc].join(', ');
    case 'newest':
      return [...(rule.column ? [`${quoteIdent(rule.column)} DESC NULLS LAST`] : []), ...pkDesc].join(', ');
    case 'most-referenced':
      return [`${REFS_COLUMN} DESC`, ...pkAsc].join(', ');
    case 'order-by':
      return rule.orderBy;
  }
}

/** The expressions whose values say why a row survives (shown next to each member of a group). */
export function keepExpressions(rule: KeepRule, pk: readonly string[]): string[] {
  switch (rule.kind) {
    case 'oldest':
    case 'newest':
      return rule.column ? [quoteIdent(rule.column)] : [];
    case 'most-referenced':
      return [REFS_COLUMN];
    case 'order-by':
      return rule.expressions.filter((e) => !pk.some((c) => e === c || e === quoteIdent(c)));
  }
}

/** True when the rule always picks one row (built-in rules end with the primary key). */
export function isTotalOrder(rule: KeepRule): boolean {
  return rule.kind !== 'order-by';
}

/** The rule in words, for reports and the generated migration's comments. */
export function describeKeep(rule: KeepRule, pk: readonly string[]): string {
  const key = pk.join(', ');
  switch (rule.kind) {
    case 'oldest':
      return rule.column ? `oldest: the earliest ${rule.column} survives (then the lowest ${key})` : `oldest: the lowest ${key} survives (the table has no created_at column)`;
    case 'newest':
      return rule.column ? `newest: the latest ${rule.column} survives (then the highest ${key})` : `newest: the highest ${key} survives (the table has no created_at column)`;
    case 'most-referenced':
      return `most-referenced: the row the most rows point at survives (then the lowest ${key})`;
    case 'order-by':
      return `ORDER BY ${rule.orderBy}: the first row survives; rows that tie for first are not resolved`;
  }
}

/** The index name drydock gives the unique index: `<table>_<columns>_key`, as Postgres would name a UNIQUE constraint, at most 63 bytes. */
export function uniqueIndexName(table: string, key: readonly KeyPart[]): string {
  const cols = key.map((k) => k.column ?? (k.text.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? ['expr']).filter((w) => !/^(lower|upper|coalesce|trim|btrim)$/i.test(w)).join('_') ?? 'expr');
  const name = `${table}_${cols.join('_')}_key`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return name.length <= 63 ? name : name.slice(0, 63);
}
