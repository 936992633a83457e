/**
 * What a backfill changes, checked before anything runs: the SET list and the --where predicate must
 * parse as one UPDATE with the real Postgres parser (so `--set "a = 1; DROP TABLE users"` or a typo
 * is refused with the parser's message, exit 2, nothing changed), and the columns it assigns must not
 * be the primary key the batches walk. Pure apart from loading the parser.
 */
import { createHash } from 'node:crypto';

import { ConfigError } from '../errors.js';
import { ensureParser, splitStatements, SqlSyntaxError } from '../sql/parse.js';

/** What a backfill changes (identifies it for --resume). */
export interface BackfillChange {
  /** The table as given (resolved through search_path by the database). */
  table: string;
  /** The SET list, as given and trimmed. */
  set: string;
  /** The predicate, trimmed; undefined for every row. */
  where: string | undefined;
}

/** The columns a valid SET list assigns. */
export interface CheckedChange extends BackfillChange {
  columns: string[];
}

/** Parse `--set` and `--where` as one UPDATE; throw ConfigError (exit 2) naming the flag otherwise. */
export async function checkChange(change: BackfillChange): Promise<CheckedChange> {
  if (!change.table.trim()) throw new ConfigError('the table name is empty', { hint: 'for example drydock backfill users --set "email_lower = lower(email)"' });
  if (!change.set.trim()) throw new ConfigError('--set is empty', { hint: 'give the assignment to make, for example --set "email_lower = lower(email)"' });
  if (change.where !== undefined && !change.where.trim()) throw new ConfigError('--where is empty', { hint: 'leave --where out to update every row, or give a predicate such as --where "email_lower IS NULL"' });
  await ensureParser();
  // The predicate alone first, so a stray `)` cannot close the parenthesis the batch puts around it.
  if (change.where !== undefined) {
    const where = parseOne(`SELECT WHERE ${change.where}`, '--where', change.where, 'a boolean SQL expression, for example --where "email_lower IS NULL"');
    if (where.kind !== 'SelectStmt' || /;/.test(stripStrings(change.where))) {
      throw new ConfigError(`--where must be one SQL condition, not "${shorten(change.where)}"`, { hint: 'for example --where "email_lower IS NULL"' });
    }
  }
  const update = parseOne(`UPDATE backfill_target SET ${change.set}${change.where !== undefined ? ` WHERE (${change.where})` : ''}`, '--set', change.set, 'assignments as in UPDATE … SET, for example --set "email_lower = lower(email)"');
  const node = (update.node as { UpdateStmt?: { targetList?: Array<{ ResTarget?: { name?: string } }>; fromClause?: unknown[]; whereClause?: unknown; returningClause?: unknown; returningList?: unknown[] } }).UpdateStmt;
  // FROM, RETURNING or a WHERE hidden in --set would change what a batch touches: only assignments.
  const extra = node && (node.fromClause?.length || node.returningClause || node.returningList?.length || (change.where === undefined && node.whereClause));
  if (update.kind !== 'UpdateStmt' || !node?.targetList?.length || extra) {
    throw new ConfigError(`--set must be a list of assignments, not "${shorten(change.set)}"`, { hint: 'for example --set "email_lower = lower(email), updated_at = now()"' });
  }
  const columns = [...new Set(node.targetList.map((t) => t.ResTarget?.name).filter((n): n is string => typeof n === 'string'))];
  return { table: change.table.trim(), set: change.set.trim(), where: change.where?.trim(), columns };
}

function parseOne(sql: string, flag: string, given: string, what: string): { kind: string; node: unknown } {
  let statements;
  try {
    statements = splitStatements(sql);
  } catch (error) {
    const reason = error instanceof SqlSyntaxError ? error.parserMessage : String(error);
    throw new ConfigError(`${flag} does not parse: ${reason} in "${shorten(given)}"`, { hint: `${flag} takes ${what}; nothing was changed`, cause: error });
  }
  if (statements.length !== 1) {
    throw new ConfigError(`${flag} must not hold more than one statement: "${shorten(given)}"`, { hint: `${flag} takes ${what}; nothing was changed` });
  }
  return statements[0]!;
}

/** The text without its string literals, quoted identifiers and comments (to look for a `;`). */
function stripStrings(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\//g, '');
}

function shorten(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 80 ? `${one.slice(0, 79)}…` : one;
}

/** A short fingerprint of what a backfill changes: the same table, SET list and predicate give the same one. */
export function changeFingerprint(change: { table: string; set: string; where: string | undefined }): string {
  return createHash('sha256').update(JSON.stringify([change.table, change.set, change.where ?? null])).digest('hex').slice(0, 16);
}

/** What differs between a recorded backfill and the one asked for ([] when they are the same change). */
export function changeDifferences(recorded: { set: string; where: string | undefined }, asked: { set: string; where: string | undefined }): string[] {
  const out: string[] = [];
  if (recorded.set !== asked.set) out.push(`--set was "${shorten(recorded.set)}", now "${shorten(asked.set)}"`);
  if ((recorded.where ?? null) !== (asked.where ?? null)) {
    out.push(`--where was ${recorded.where === undefined ? 'not given' : `"${shorten(recorded.where)}"`}, now ${asked.where === undefined ? 'not given' : `"${shorten(asked.where)}"`}`);
  }
  return out;
}
