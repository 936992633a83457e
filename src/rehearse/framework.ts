/**
 * Reading another framework's session (`drydock rehearse --command`): which recorded statements are
 * the framework's own bookkeeping (its ledger table, catalog queries, SET, advisory locks) rather than
 * the migrations' work, and where one migration ends and the next begins (the ledger row the framework
 * writes for each). Pure, given parsed statements.
 */
import { ensureParser, splitStatements } from '../sql/parse.js';
import { tablesNamed, type NamedTable } from './recorder.js';
import type { ParsedSql, RecordedStatement, SqlSplitter } from './wire-session.js';

/** A framework's ledger table: the row it writes per migration, and when. */
export interface FrameworkLedger {
  /** The table, unquoted (any schema). */
  table: string;
  framework: string;
  /** Columns whose values name the migration, joined with '.'. */
  nameColumns: readonly string[];
  /** The row is written after the migration ran ('end', most) or before it ('start', Prisma). */
  at: 'start' | 'end';
}

/** Ledger tables of the frameworks drydock recognises. */
export const FRAMEWORK_LEDGERS: readonly FrameworkLedger[] = [
  { table: 'knex_migrations', framework: 'Knex', nameColumns: ['name'], at: 'end' },
  { table: 'schema_migrations', framework: 'Rails', nameColumns: ['version'], at: 'end' },
  { table: 'django_migrations', framework: 'Django', nameColumns: ['app', 'name'], at: 'end' },
  { table: 'alembic_version', framework: 'Alembic', nameColumns: ['version_num'], at: 'end' },
  { table: '_prisma_migrations', framework: 'Prisma', nameColumns: ['migration_name'], at: 'start' },
  { table: 'SequelizeMeta', framework: 'Sequelize', nameColumns: ['name'], at: 'end' },
  { table: 'pgmigrations', framework: 'node-pg-migrate', nameColumns: ['name'], at: 'end' },
  { table: 'kysely_migration', framework: 'Kysely', nameColumns: ['name'], at: 'end' },
  { table: 'mikro_orm_migrations', framework: 'MikroORM', nameColumns: ['name'], at: 'end' },
  { table: 'flyway_schema_history', framework: 'Flyway', nameColumns: ['script'], at: 'end' },
  { table: 'goose_db_version', framework: 'goose', nameColumns: ['version_id'], at: 'end' },
  { table: 'drydock_migrations', framework: 'drydock', nameColumns: ['version'], at: 'end' },
];

/** Other tables frameworks keep for themselves (locks, metadata): bookkeeping, never a migration's work. */
const OTHER_BOOKKEEPING_TABLES = ['knex_migrations_lock', 'kysely_migration_lock', 'ar_internal_metadata', 'drydock_baseline', 'drydock_backfills'];

const BOOKKEEPING_TABLES = new Set([...FRAMEWORK_LEDGERS.map((l) => l.table), ...OTHER_BOOKKEEPING_TABLES]);

/** True for a framework's ledger or lock table (by its unquoted name). */
export function isBookkeepingTable(relname: string): boolean {
  return BOOKKEEPING_TABLES.has(relname);
}

/** A schema dump object that belongs to a framework's bookkeeping (its table, sequence, key, index). */
export function isBookkeepingObject(label: string): boolean {
  // Labels look like "table public.knex_migrations", "sequence public.knex_migrations_id_seq",
  // "constraint public.knex_migrations knex_migrations_pkey".
  const names = label.split(/[\s.]+/).slice(1);
  return names.some((n) => [...BOOKKEEPING_TABLES].some((t) => n === t || n.startsWith(`${t}_`) || n === `"${t}"`));
}

/** What a recorded statement is to the rehearsal. */
export type StatementRole =
  /** Work of the migrations: measured, probed, linted, reported. */
  | 'migration'
  /** Session and transaction control (SET, BEGIN, COMMIT …): linted for their context, not reported. */
  | 'session'
  /** The framework's own: its ledger, catalog and information_schema queries, SELECT 1, advisory locks. */
  | 'bookkeeping';

const SESSION_KINDS = new Set(['TransactionStmt', 'VariableSetStmt', 'VariableShowStmt', 'DiscardStmt', 'DeallocateStmt', 'ListenStmt', 'UnlistenStmt', 'NotifyStmt', 'CheckPointStmt']);
const CATALOG_SCHEMAS = new Set(['pg_catalog', 'information_schema']);

function isCatalog(t: NamedTable): boolean {
  return (t.schema !== undefined && (CATALOG_SCHEMAS.has(t.schema) || t.schema.startsWith('pg_'))) || (t.schema === undefined && t.name.startsWith('pg_'));
}

/** A plain read: SELECT without INTO, locking clause or data-changing WITH. */
function isPlainSelect(kind: string, node: unknown): boolean {
  if (kind !== 'SelectStmt') return false;
  const select = (node as { SelectStmt?: Record<string, unknown> }).SelectStmt ?? {};
  if (select.intoClause) return false;
  const ctes = ((select.withClause as { ctes?: unknown[] } | undefined)?.ctes ?? []) as Array<{ CommonTableExpr?: { ctequery?: Record<string, unknown> } }>;
  return !ctes.some((c) => {
    const query = Object.keys(c.CommonTableExpr?.ctequery ?? {})[0];
    return query === 'InsertStmt' || query === 'UpdateStmt' || query === 'DeleteStmt' || query === 'MergeStmt';
  });
}

/** The role of a statement (see StatementRole); a statement that did not parse counts as the migration's. */
export function statementRole(statement: Pick<ParsedSql, 'kind' | 'node'>): StatementRole {
  const { kind, node } = statement;
  if (kind === undefined) return 'migration';
  if (SESSION_KINDS.has(kind)) return 'session';
  const tables = tablesNamed(node);
  const own = tables.filter((t) => !isCatalog(t) && !isBookkeepingTable(t.name));
  if (own.length) return 'migration';
  // Anything on the framework's ledger and lock tables, whatever it does to them.
  if (tables.some((t) => isBookkeepingTable(t.name))) return 'bookkeeping';
  // Reads of the catalog or of no table at all: SELECT 1, version(), pg_advisory_lock(…), current_schema().
  if (isPlainSelect(kind, node)) return 'bookkeeping';
  return 'migration';
}

/** A migration the framework recorded in its ledger. */
export interface LedgerMark {
  ledger: FrameworkLedger;
  /** The migration names the row(s) hold (one per row). */
  names: string[];
}

/** The value of an expression in a VALUES list or SET: a constant, or a text bind parameter. */
function valueOf(expr: unknown, params: RecordedStatement['params']): string | undefined {
  const record = expr as Record<string, Record<string, unknown>> | undefined;
  if (!record) return undefined;
  if (record.TypeCast) return valueOf(record.TypeCast.arg, params);
  if (record.A_Const) {
    const c = record.A_Const as { sval?: { sval?: string }; ival?: { ival?: number }; fval?: { fval?: string } };
    if (c.sval) return c.sval.sval ?? '';
    if (c.ival) return String(c.ival.ival ?? 0);
    if (c.fval) return c.fval.fval;
    return undefined;
  }
  if (record.ParamRef) {
    const n = (record.ParamRef as { number?: number }).number ?? 0;
    const value = params?.[n - 1];
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

function ledgerOf(node: unknown, kind: string): FrameworkLedger | undefined {
  const relname = ((node as Record<string, { relation?: { relname?: string } }>)[kind]?.relation?.relname) ?? '';
  return FRAMEWORK_LEDGERS.find((l) => l.table === relname);
}

/**
 * The migration(s) a statement records in a framework's ledger: an INSERT of ledger rows (Knex,
 * Rails, Django, Prisma …) or Alembic's UPDATE of its one version row. Undefined for anything else.
 */
export function ledgerMark(statement: Pick<RecordedStatement, 'kind' | 'node' | 'params'>): LedgerMark | undefined {
  const { kind, node, params } = statement;
  if (kind === 'InsertStmt') {
    const ledger = ledgerOf(node, kind);
    if (!ledger) return undefined;
    const insert = (node as { InsertStmt: { cols?: Array<{ ResTarget?: { name?: string } }>; selectStmt?: { SelectStmt?: { valuesLists?: Array<{ List?: { items?: unknown[] } }> } } } }).InsertStmt;
    const columns = (insert.cols ?? []).map((c) => c.ResTarget?.name ?? '');
    const rows = insert.selectStmt?.SelectStmt?.valuesLists ?? [];
    const names = rows
      .map((row) => {
        const items = row.List?.items ?? [];
        const parts = ledger.nameColumns.map((column) => {
          const at = columns.indexOf(column);
          return at === -1 ? undefined : valueOf(items[at], params);
        });
        return parts.every((p) => p !== undefined) ? parts.join('.') : undefined;
      })
      .filter((n): n is string => n !== undefined);
    return { ledger, names };
  }
  if (kind === 'UpdateStmt') {
    const ledger = ledgerOf(node, kind);
    if (ledger?.table !== 'alembic_version') return undefined;
    const targets = (node as { UpdateStmt: { targetList?: Array<{ ResTarget?: { name?: string; val?: unknown } }> } }).UpdateStmt.targetList ?? [];
    const value = valueOf(targets.find((t) => t.ResTarget?.name === 'version_num')?.ResTarget?.val, params);
    return { ledger, names: value === undefined ? [] : [value] };
  }
  return undefined;
}

/**
 * How many migrations a statement takes out of a framework's ledger (a rollback): the rows a DELETE
 * from a ledger removed, or 1 for Alembic's UPDATE of its version row (a downgrade step).
 */
export function ledgerRemovals(statement: Pick<RecordedStatement, 'kind' | 'node' | 'rowCount' | 'error'>): number {
  if (statement.error || !statement.kind) return 0;
  if (statement.kind === 'DeleteStmt' && ledgerOf(statement.node, 'DeleteStmt')) return statement.rowCount ?? 0;
  if (statement.kind === 'UpdateStmt' && ledgerOf(statement.node, 'UpdateStmt')?.table === 'alembic_version') return 1;
  return 0;
}

/** drydock's parser as the proxy's splitter: undefined (not a throw) for SQL it cannot parse. */
export async function parserSplitter(): Promise<SqlSplitter> {
  await ensureParser();
  return (sql: string) => {
    try {
      return splitStatements(sql).map((s) => ({ text: s.text, kind: s.kind, node: s.node }));
    } catch {
      return undefined;
    }
  };
}
