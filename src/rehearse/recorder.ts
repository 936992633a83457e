/**
 * Measures each statement of a migration on the migration's own connection (inside its transaction,
 * so it sees the statement's own changes): wall time, rows changed (the command tag), WAL generated,
 * relations rewritten (a relation that existed before the migration got a new file node) and
 * indexes built, with their size.
 */
import type pg from 'pg';

import type { StatementObserver, ValidatedStep } from '../migrate/runner.js';
import { canForceStatsFlush, forceStatsFlush, readBackendPid, readHeldLocks, readRelations, readRelationSizes, readWalLsn, walBytesBetween, type RelationFact } from '../pg/queries/rehearse.js';
import type { MigrationWatch } from './watch.js';

/** A relation given a new file node (rewritten), or an index built, with its size afterwards. */
export interface RelationWrite {
  relation: string;
  /** 'table', 'index' or 'materialized view'. */
  kind: string;
  bytes: number;
}

/** One statement, measured. */
export interface StatementMeasure {
  /** Line in the migration file. */
  line: number;
  /** The statement's first line (at most 100 characters). */
  sql: string;
  /** ms since the watch started. */
  startMs: number;
  durationMs: number;
  /** The command tag's row count (INSERT/UPDATE/DELETE/…); null when the statement reports none. */
  rowCount: number | null;
  walBytes: number | undefined;
  rewrites: RelationWrite[];
  indexBuilds: RelationWrite[];
  /** The statement failed. */
  failed: boolean;
}

/** pg_class.relkind as reports name it. */
export const KIND_NAMES: Record<string, string> = { r: 'table', p: 'partitioned table', i: 'index', I: 'partitioned index', m: 'materialized view' };

export class StatementRecorder implements StatementObserver {
  readonly statements: StatementMeasure[] = [];
  private pending: { relations: Map<number, RelationFact>; lsn: string; startMs: number } | undefined;

  constructor(
    private readonly watch: MigrationWatch,
    /** Relations that existed before the migration. */
    private readonly existing: ReadonlyMap<number, RelationFact>,
  ) {}

  private pid: number | undefined;

  /** The server can flush statistics on demand, so temporary files can be counted (PostgreSQL 15+). */
  canCountTempFiles: boolean | undefined;

  async before(client: pg.ClientBase, step: ValidatedStep, index: number): Promise<void> {
    this.canCountTempFiles ??= await canForceStatsFlush(client);
    this.pid = await readBackendPid(client);
    this.watch.watchBackend(this.pid);
    await this.watch.probeTables(namedRelations(step.statements[index]!.node, this.existing));
    const relations = await readRelations(client);
    const lsn = await readWalLsn(client);
    this.pending = { relations, lsn, startMs: this.watch.now() };
  }

  async after(client: pg.ClientBase, step: ValidatedStep, index: number, outcome: { rowCount: number | null } | { error: unknown }): Promise<void> {
    const endMs = this.watch.now();
    const pending = this.pending!;
    this.pending = undefined;
    const statement = step.statements[index]!;
    const base = {
      line: statement.line + step.section.startLine - 1,
      sql: firstLine(statement.text),
      startMs: pending.startMs,
      durationMs: endMs - pending.startMs,
    };
    // Its temporary files reach pg_stat_database when this backend is next idle (after the statement
    // outside a transaction, at COMMIT inside one), not up to a second or more later.
    if (this.canCountTempFiles && !('error' in outcome)) await forceStatsFlush(client);
    if ('error' in outcome) {
      // The transaction (if any) is aborted: nothing more can be read on this connection.
      this.statements.push({ ...base, rowCount: null, walBytes: undefined, rewrites: [], indexBuilds: [], failed: true });
      return;
    }
    // Inside a transaction every lock taken so far is still held: none is missed, however brief.
    this.watch.sawLocks(await readHeldLocks(client, this.pid!), pending.startMs, this.watch.now());
    const now = await readRelations(client);
    const walBytes = await walBytesBetween(client, pending.lsn, await readWalLsn(client));
    const rewritten = [...now.values()].filter((r) => this.existing.has(r.oid) && pending.relations.has(r.oid) && pending.relations.get(r.oid)!.fileNode !== r.fileNode);
    const built = [...now.values()].filter((r) => (r.kind === 'i' || r.kind === 'I') && !pending.relations.has(r.oid));
    const sizes = await readRelationSizes(client, [...rewritten, ...built].map((r) => r.oid));
    const describe = (r: RelationFact): RelationWrite => ({ relation: r.name, kind: KIND_NAMES[r.kind] ?? r.kind, bytes: sizes.get(r.oid) ?? 0 });
    this.statements.push({ ...base, rowCount: outcome.rowCount, walBytes, rewrites: rewritten.map(describe), indexBuilds: built.map(describe), failed: false });
  }
}

function firstLine(sql: string): string {
  const line = sql.trim().split('\n')[0]!.trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

/** A table a statement names: schema (undefined when not written) and name. */
export interface NamedTable {
  schema: string | undefined;
  name: string;
}

/** Every table (RangeVar) a parse tree names, CTE names aside. */
export function tablesNamed(node: unknown): NamedTable[] {
  const ctes = new Set<string>();
  const found: NamedTable[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (!value || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    if (typeof record.ctename === 'string') ctes.add(record.ctename);
    if (typeof record.relname === 'string') found.push({ schema: typeof record.schemaname === 'string' && record.schemaname ? record.schemaname : undefined, name: record.relname });
    for (const child of Object.values(record)) walk(child);
  };
  walk(node);
  return found.filter((t) => t.schema !== undefined || !ctes.has(t.name));
}

/**
 * The relations (that existed before the migration) a statement's parse tree names: every RangeVar
 * (`relname`, with `schemaname` when written; without one, `public`, the default search_path's), CTE names aside.
 */
export function namedRelations(node: unknown, existing: ReadonlyMap<number, RelationFact>): number[] {
  const names = new Set(tablesNamed(node).map((t) => `${t.schema ?? 'public'}\0${t.name}`));
  return [...existing.values()].filter((r) => names.has(`${r.schema}\0${r.relname}`)).map((r) => r.oid);
}
