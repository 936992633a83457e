/**
 * The checks of `drydock verify`: their ids and default levels, how drydock.json and flags change a
 * level, and what the catalog rows mean (pure: the rows come from pg/queries/verify.ts and
 * pg/queries/indexes.ts).
 *
 * A finding is an error (exit 1) or a warning (shown, exit 0); a check set to `off` is not reported.
 */
import { ConfigError } from '../errors.js';
import { quoteIdent, quoteQualified } from '../pg/ident.js';
import type { InvalidIndex } from '../pg/queries/indexes.js';
import type { CacheHitRow, NotValidConstraintRow, SequenceRow, SessionRow, TableSizeRow, UnindexedForeignKeyRow } from '../pg/queries/verify.js';

/** How a check's findings count. */
export type CheckLevel = 'error' | 'warn' | 'off';

/** Which part of verify a check belongs to: `release --verify` and postdeploy run contract and leftovers. */
export type CheckPart = 'contract' | 'leftovers' | 'health';

/** One check of verify. */
export interface CheckSpec {
  id: string;
  part: CheckPart;
  level: Exclude<CheckLevel, 'off'>;
  summary: string;
}

/** Every check, in report order: the one registry that flags, drydock.json, docs and tests read. */
export const CHECKS: readonly CheckSpec[] = [
  { id: 'missing-in-database', part: 'contract', level: 'error', summary: 'an object the schema file (or the migrations) has and the database lacks' },
  { id: 'not-in-schema', part: 'contract', level: 'error', summary: 'an object the database has and the schema file does not: drift someone made by hand' },
  { id: 'differs-from-schema', part: 'contract', level: 'error', summary: 'an object both have, defined differently (a column added or changed by hand, another default, NOT NULL …)' },
  { id: 'invalid-index', part: 'leftovers', level: 'error', summary: 'an INVALID index a failed CREATE INDEX CONCURRENTLY left' },
  { id: 'not-valid-constraint', part: 'leftovers', level: 'error', summary: 'a foreign key or CHECK added NOT VALID and never validated' },
  { id: 'sequence-near-limit', part: 'leftovers', level: 'error', summary: "a sequence past 80 % of its column's (or its own) type limit" },
  { id: 'unindexed-foreign-key', part: 'leftovers', level: 'warn', summary: 'a foreign key with no index on its columns: deletes on the parent scan the child' },
  { id: 'ssl', part: 'health', level: 'error', summary: 'the connection to a remote (Heroku) database is not encrypted' },
  { id: 'connections-near-limit', part: 'health', level: 'warn', summary: "connections in use past 80 % of the plan's limit" },
  { id: 'pool-over-limit', part: 'health', level: 'warn', summary: "the app's pools (dynos × processes × pool, release, one-offs) can open more connections than the plan allows" },
  { id: 'long-running-query', part: 'health', level: 'warn', summary: 'a statement running for more than 5 minutes' },
  { id: 'idle-in-transaction', part: 'health', level: 'warn', summary: 'a session idle inside a transaction for more than 1 minute (it holds its locks and snapshot)' },
  { id: 'blocked-query', part: 'health', level: 'warn', summary: "a statement waiting more than 5 s for another session's lock" },
  { id: 'cache-hit-rate', part: 'health', level: 'warn', summary: 'table or index cache hit rate under 99 %' },
  { id: 'table-bloat', part: 'health', level: 'warn', summary: 'a table over 10 MB whose dead rows are more than 20 % of its rows' },
  { id: 'heroku-diagnose', part: 'health', level: 'warn', summary: 'a red or yellow check of `heroku pg:diagnose` (with -a APP)' },
];

/** Thresholds of the checks (the summaries above say the same). */
export const THRESHOLDS = {
  sequenceShare: 0.8,
  connectionShare: 0.8,
  longRunningSeconds: 300,
  idleInTransactionSeconds: 60,
  blockedSeconds: 5,
  cacheHitRate: 0.99,
  /** Fewer block reads than this say nothing about the hit rate. */
  cacheMinReads: 1000,
  bloatDeadShare: 0.2,
  bloatMinBytes: 10 * 1024 * 1024,
  largestTables: 5,
} as const;

/** One thing verify found. */
export interface Finding {
  check: string;
  level: 'error' | 'warn';
  /** What it is about: "index public.users_email_idx", "sequence public.users_id_seq", "connections". */
  object: string;
  message: string;
  /** The statement(s) or step that fixes it, when there is one. */
  fix?: string | undefined;
  /** Where the numbers came from: "pg_catalog.pg_index", "heroku pg:info". */
  source: string;
}

/** A finding before its level is applied. */
export type RawFinding = Omit<Finding, 'level'>;

/** Check id → level, from drydock.json `verifyChecks` and the flags. */
export type CheckLevels = Readonly<Record<string, CheckLevel>>;

const IDS = new Set(CHECKS.map((c) => c.id));

/** Problems with a `verifyChecks` object of drydock.json (unknown ids, bad levels), as messages. */
export function checkLevelProblems(levels: Record<string, unknown>, where: string): string[] {
  const problems: string[] = [];
  for (const [id, level] of Object.entries(levels)) {
    if (!IDS.has(id)) problems.push(`${where}: unknown check "${id}" (known: ${[...IDS].join(', ')})`);
    else if (level !== 'error' && level !== 'warn' && level !== 'off') problems.push(`${where}: "${id}" must be "error", "warn" or "off"`);
  }
  return problems;
}

/** Comma-separated check ids of a flag, each known; throws a one-line ConfigError otherwise. */
export function parseCheckList(value: string | undefined, flag: string): string[] {
  if (value === undefined) return [];
  const ids = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (!ids.length) throw new ConfigError(`${flag} is empty`, { hint: `give check ids separated by commas, e.g. ${flag} unindexed-foreign-key,table-bloat` });
  const unknown = ids.filter((id) => !IDS.has(id));
  if (unknown.length) throw new ConfigError(`${flag}: unknown check ${unknown.map((u) => `"${u}"`).join(', ')}`, { hint: `known checks: ${[...IDS].join(', ')}` });
  return ids;
}

/**
 * Each check's level: the default, then drydock.json's `verifyChecks`, then `--error`, `--warn` and
 * `--skip` (a check named in two flags is an error).
 */
export function resolveCheckLevels(project: Readonly<Record<string, string>> | undefined, flags: { error?: string[]; warn?: string[]; skip?: string[] }): CheckLevels {
  const levels: Record<string, CheckLevel> = Object.fromEntries(CHECKS.map((c) => [c.id, c.level]));
  for (const [id, level] of Object.entries(project ?? {})) levels[id] = level as CheckLevel;
  const seen = new Map<string, string>();
  for (const [flag, level] of [['--error', 'error'], ['--warn', 'warn'], ['--skip', 'off']] as const) {
    const key = flag === '--error' ? 'error' : flag === '--warn' ? 'warn' : 'skip';
    for (const id of flags[key] ?? []) {
      const other = seen.get(id);
      if (other && other !== flag) throw new ConfigError(`check "${id}" is in both ${other} and ${flag}`, { hint: 'name each check in one of --error, --warn and --skip' });
      seen.set(id, flag);
      levels[id] = level;
    }
  }
  return Object.freeze(levels);
}

/** Findings with their levels; those of checks set to off are dropped. */
export function applyLevels(raw: readonly RawFinding[], levels: CheckLevels): Finding[] {
  return raw.flatMap((f) => {
    const level = levels[f.check] ?? 'error';
    return level === 'off' ? [] : [{ ...f, level }];
  });
}

/** Whether any check of `part` is on. */
export function partEnabled(part: CheckPart, levels: CheckLevels): boolean {
  return CHECKS.some((c) => c.part === part && levels[c.id] !== 'off');
}

// ---------------------------------------------------------------------------------------------------
// Leftovers of migrations

/** INVALID indexes: what a failed or interrupted CREATE INDEX CONCURRENTLY leaves. */
export function invalidIndexFindings(indexes: readonly InvalidIndex[]): RawFinding[] {
  return indexes.map((i) => ({
    check: 'invalid-index',
    object: `index ${i.index}`,
    message: `INVALID index ${i.index} on ${i.table}: a CREATE INDEX CONCURRENTLY failed or was interrupted and left it; queries do not use it, writes still update it`,
    fix: `${i.dropSql}; then build it again with CREATE INDEX CONCURRENTLY (a migration marked -- drydock:no-transaction)`,
    source: 'pg_catalog.pg_index (indisvalid = false, no build running)',
  }));
}

/** NOT VALID foreign keys and CHECK constraints: the rows that were there are unchecked. */
export function notValidFindings(rows: readonly NotValidConstraintRow[]): RawFinding[] {
  return rows.map((r) => {
    const table = quoteQualified(r.schema, r.table_name);
    const kind = r.type === 'f' ? 'foreign key' : 'CHECK constraint';
    return {
      check: 'not-valid-constraint',
      object: `constraint ${r.schema}.${r.table_name} ${r.name}`,
      message: `${kind} ${r.name} on ${r.schema}.${r.table_name} is NOT VALID: new rows are checked, the rows that were there are not (${r.definition})`,
      fix: `ALTER TABLE ${table} VALIDATE CONSTRAINT ${quoteIdent(r.name)}; (takes only a SHARE UPDATE EXCLUSIVE lock: reads and writes go on)`,
      source: 'pg_catalog.pg_constraint (convalidated = false)',
    };
  });
}

/** The largest value of an integer type, as a bigint; undefined for other types. */
function typeLimit(type: string | null | undefined): bigint | undefined {
  switch (type) {
    case 'smallint':
      return 32767n;
    case 'integer':
      return 2147483647n;
    case 'bigint':
      return 9223372036854775807n;
    default:
      return undefined;
  }
}

/** A share as "85.0 %". */
export function percent(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}

/**
 * Sequences past `share` of their limit: the smaller of the sequence's own maximum and the limit of
 * the type of the column it feeds (an integer column overflows at 2,147,483,647 whatever its sequence).
 */
export function sequenceFindings(rows: readonly SequenceRow[], share: number = THRESHOLDS.sequenceShare): RawFinding[] {
  const findings: RawFinding[] = [];
  for (const r of rows) {
    const own = BigInt(r.max_value);
    const column = typeLimit(r.column_type);
    const limit = column !== undefined && column < own ? column : own;
    const last = BigInt(r.last_value);
    if (limit <= 0n) continue;
    // Four decimals are plenty for a percentage; bigint keeps 2^63 exact.
    const used = Number((last * 10000n) / limit) / 10000;
    if (used < share) continue;
    const limitedBy = column !== undefined && column < own ? `its column ${r.table_name}.${r.column_name}'s type ${r.column_type}` : `its type ${r.sequence_type}`;
    const seq = quoteQualified(r.schema, r.name);
    const fix = r.table_name && r.column_name && r.column_type !== 'bigint'
      ? `change ${r.table_name}.${r.column_name} to bigint (ALTER TABLE … ALTER COLUMN … TYPE bigint rewrites the table: on a big one, add a bigint column, backfill it in batches and swap), then ALTER SEQUENCE ${seq} AS bigint`
      : `ALTER SEQUENCE ${seq} AS bigint (and any column it feeds)`;
    findings.push({
      check: 'sequence-near-limit',
      object: `sequence ${r.schema}.${r.name}`,
      message: `sequence ${r.schema}.${r.name} is at ${last.toLocaleString('en-US')} of ${limit.toLocaleString('en-US')} (${percent(used)}, limited by ${limitedBy}): inserts fail once it runs out`,
      fix,
      source: 'pg_catalog.pg_sequences (last_value, max_value) and the owning column (pg_depend, pg_attribute)',
    });
  }
  return findings;
}

/** Foreign keys with no index on their columns. */
export function unindexedForeignKeyFindings(rows: readonly UnindexedForeignKeyRow[]): RawFinding[] {
  return rows.map((r) => {
    const name = `${r.table_name}_${r.columns.join('_')}_idx`.slice(0, 63);
    return {
      check: 'unindexed-foreign-key',
      object: `fk constraint ${r.schema}.${r.table_name} ${r.name}`,
      message: `foreign key ${r.name} on ${r.schema}.${r.table_name} (${r.columns.join(', ')}) → ${r.referenced} has no index on its columns: each DELETE (or key UPDATE) on ${r.referenced} scans ${r.schema}.${r.table_name}`,
      fix: `CREATE INDEX CONCURRENTLY ${quoteIdent(name)} ON ${quoteQualified(r.schema, r.table_name)} (${r.columns.map((c) => quoteIdent(c)).join(', ')}); (in a migration marked -- drydock:no-transaction)`,
      source: 'pg_catalog.pg_constraint and pg_index',
    };
  });
}

// ---------------------------------------------------------------------------------------------------
// Health

/** "12 min", "45 s", "2.5 h". */
export function seconds(s: number): string {
  if (s >= 5400) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 120) return `${Math.round(s / 60)} min`;
  return `${Math.round(s)} s`;
}

function who(r: SessionRow): string {
  return `pid ${r.pid}${r.user_name ? ` (${r.user_name}${r.application_name ? `, ${r.application_name}` : ''})` : ''}`;
}

/** Long-running statements, sessions idle in a transaction, and statements waiting for another session's lock. */
export function sessionFindings(rows: readonly SessionRow[]): RawFinding[] {
  const findings: RawFinding[] = [];
  const source = 'pg_stat_activity (the view heroku pg:ps and pg:long-running-queries read)';
  for (const r of rows) {
    const query = r.query ? `: ${r.query}` : '';
    if (r.state?.startsWith('idle in transaction') && (r.state_seconds ?? 0) > THRESHOLDS.idleInTransactionSeconds) {
      findings.push({
        check: 'idle-in-transaction',
        object: `session ${r.pid}`,
        message: `${who(r)} has been idle in a transaction for ${seconds(r.state_seconds ?? 0)}; it keeps its locks and holds back VACUUM${query}`,
        fix: `find why the app leaves the transaction open; end this one with SELECT pg_terminate_backend(${r.pid}) (or heroku pg:kill ${r.pid}); set idle_in_transaction_session_timeout`,
        source,
      });
    } else if (r.state === 'active' && r.blocked_by.length && (r.query_seconds ?? 0) > THRESHOLDS.blockedSeconds) {
      findings.push({
        check: 'blocked-query',
        object: `session ${r.pid}`,
        message: `${who(r)} has waited ${seconds(r.query_seconds ?? 0)} for a lock held by pid ${r.blocked_by.join(', ')}${query}`,
        fix: `see what pid ${r.blocked_by.join(', ')} is doing (heroku pg:blocking, pg:locks); cancel it with SELECT pg_cancel_backend(${r.blocked_by[0]}) if it should not hold the lock`,
        source: `${source}, pg_blocking_pids()`,
      });
    } else if (r.state === 'active' && (r.query_seconds ?? 0) > THRESHOLDS.longRunningSeconds) {
      findings.push({
        check: 'long-running-query',
        object: `session ${r.pid}`,
        message: `${who(r)} has run one statement for ${seconds(r.query_seconds ?? 0)}${query}`,
        fix: `cancel it with SELECT pg_cancel_backend(${r.pid}) (or heroku pg:kill ${r.pid}) if it should not run this long; set a statement_timeout for the app's role`,
        source,
      });
    }
  }
  return findings;
}

/** Table and index cache hit rates under 99 % (with enough reads to mean something). */
export function cacheHitFindings(row: CacheHitRow): RawFinding[] {
  const findings: RawFinding[] = [];
  for (const [what, rate, reads] of [['table', row.tables, row.table_reads], ['index', row.indexes, row.index_reads]] as const) {
    if (rate === null || (reads ?? 0) < THRESHOLDS.cacheMinReads || rate >= THRESHOLDS.cacheHitRate) continue;
    findings.push({
      check: 'cache-hit-rate',
      object: `${what} cache`,
      message: `${what} cache hit rate is ${percent(rate)} (under ${percent(THRESHOLDS.cacheHitRate)}): reads go to disk; the working set may not fit the plan's memory`,
      fix: 'look for sequential scans of big tables (heroku pg:seq-scans) and missing indexes, or move to a plan with more memory',
      source: `pg_statio_user_${what === 'table' ? 'tables' : 'indexes'} since the statistics were last reset (as heroku pg:cache-hit shows it)`,
    });
  }
  return findings;
}

/** Dead rows' share of a table's rows (0 when it has none). */
export function deadShare(t: Pick<TableSizeRow, 'live_rows' | 'dead_rows'>): number {
  const total = t.live_rows + t.dead_rows;
  return total > 0 ? t.dead_rows / total : 0;
}

/** Tables over 10 MB whose dead rows are over 20 % of their rows. */
export function bloatFindings(tables: readonly TableSizeRow[]): RawFinding[] {
  return tables
    .filter((t) => t.table_bytes >= THRESHOLDS.bloatMinBytes && deadShare(t) > THRESHOLDS.bloatDeadShare)
    .map((t) => ({
      check: 'table-bloat',
      object: `table ${t.table_name}`,
      message: `table ${t.table_name} (${megabytes(t.total_bytes)}) has ${Math.round(t.dead_rows).toLocaleString('en-US')} dead rows, ${percent(deadShare(t))} of its rows: space VACUUM can reuse but not give back`,
      fix: `VACUUM (ANALYZE) ${t.table_name}; if autovacuum cannot keep up, lower its autovacuum_vacuum_scale_factor`,
      source: 'pg_stat_user_tables (n_live_tup, n_dead_tup) and pg_total_relation_size',
    }));
}

/** Bytes as "12.3 MB". */
export function megabytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

/** A check of Heroku's report, as the pipeline reads it (heroku/cli.ts DiagnoseReport). */
export interface DiagnoseCheckFact {
  name: string;
  status: string;
  results: unknown;
}

/** "3 row(s)", "count 12", "". */
function diagnoseSummary(results: unknown): string {
  if (Array.isArray(results)) return results.length ? `${results.length} row(s)` : '';
  if (results && typeof results === 'object') {
    const [key, value] = Object.entries(results)[0] ?? [];
    return key === undefined ? '' : `${key.replace(/_/g, ' ')} ${String(value)}`;
  }
  return '';
}

/** Red and yellow checks of a `heroku pg:diagnose` report, each a finding that names the report. */
export function diagnoseFindings(report: { id: string; checks: readonly DiagnoseCheckFact[] }, app: string): RawFinding[] {
  return report.checks
    .filter((c) => c.status === 'red' || c.status === 'yellow')
    .map((c) => {
      const summary = diagnoseSummary(c.results);
      return {
        check: 'heroku-diagnose',
        object: `pg:diagnose ${c.name}`,
        message: `heroku pg:diagnose: ${c.status.toUpperCase()} ${c.name}${summary ? ` (${summary})` : ''}`,
        fix: `see the rows with \`heroku pg:diagnose ${report.id} -a ${app}\``,
        source: `heroku pg:diagnose (report ${report.id})`,
      };
    });
}
