/**
 * From what the proxy recorded while another framework's migration command ran, to one set of
 * measurements per migration (the same MigrationMeasurements drydock's own runner produces, so the
 * verdict is decided the same way). Pure.
 *
 * - Migrations are told apart by the ledger row the framework writes for each (rehearse/framework.ts);
 *   without one, the whole command is one migration.
 * - A migration's locks are held until its transaction ends, which may be after later migrations ran
 *   (Knex and Alembic run a whole batch in one transaction by default): the probes' waits on the tables
 *   it touched count for it until then.
 */
import type { PgNode } from '../lint/ast.js';
import { blockingLocks, type BlockingLockMode } from '../lint/locks.js';
import { postgresDetails } from '../migrate/runner.js';
import type { RelationFact } from '../pg/queries/rehearse.js';
import { ledgerMark, statementRole, type FrameworkLedger } from './framework.js';
import { namedRelations, tablesNamed, type RelationWrite, type StatementMeasure } from './recorder.js';
import type { MigrationMeasurements } from './report.js';
import type { LockSpan, ProbeWait, WatchResult } from './watch.js';
import type { RecordedStatement, RecordedTransaction } from './wire-session.js';

/** The statements of one migration, as the ledger rows split them. */
export interface CommandSegment {
  /** The migration(s) its ledger row names; empty when the framework never recorded it. */
  names: string[];
  ledger: FrameworkLedger | undefined;
  statements: RecordedStatement[];
}

/**
 * Split the recorded statements (in the order they started) at the framework's ledger rows. A row
 * written after the migration (Knex, Rails, Django, Alembic) ends its segment, together with the
 * COMMIT of the transaction it was written in; a row written before it (Prisma) starts one.
 * `rest` holds what came after the last recorded migration (a failing one, the framework's clean-up).
 */
export function splitByLedger(statements: readonly RecordedStatement[]): { segments: CommandSegment[]; rest: RecordedStatement[] } {
  const segments: CommandSegment[] = [];
  let current: CommandSegment = { names: [], ledger: undefined, statements: [] };
  let closing: { connection: number; transaction: number } | undefined;
  const hasWork = (segment: CommandSegment): boolean => segment.statements.some((s) => statementRole(s) === 'migration');
  for (const s of statements) {
    if (closing) {
      if (s.connection === closing.connection && s.transaction === closing.transaction && statementRole(s) !== 'migration') {
        current.statements.push(s);
        continue;
      }
      segments.push(current);
      current = { names: [], ledger: undefined, statements: [] };
      closing = undefined;
    }
    const mark = s.error ? undefined : ledgerMark(s);
    if (mark?.ledger.at === 'start') {
      if (current.ledger || hasWork(current)) {
        segments.push(current);
        current = { names: [], ledger: undefined, statements: [] };
      }
      current.names = mark.names;
      current.ledger = mark.ledger;
      current.statements.push(s);
      continue;
    }
    current.statements.push(s);
    if (mark) {
      current.names = mark.names;
      current.ledger = mark.ledger;
      if (s.transaction !== undefined) closing = { connection: s.connection, transaction: s.transaction };
      else {
        segments.push(current);
        current = { names: [], ledger: undefined, statements: [] };
      }
    }
  }
  if (closing || current.ledger) {
    segments.push(current);
    return { segments, rest: [] };
  }
  return { segments, rest: current.statements };
}

/** A relation the command rewrote or built (compared before and after it), to attribute to a statement. */
export interface CommandWrite extends RelationWrite {
  /** Unquoted name of the relation. */
  relname: string;
  rewritten: boolean;
}

/** Everything measured while the command ran. */
export interface CommandMeasurements {
  command: string;
  /** Recorded statements in the order they started. */
  statements: readonly RecordedStatement[];
  transactions: readonly RecordedTransaction[];
  watch: WatchResult;
  /** Relations that existed before the command (the framework's ledger excluded). */
  existing: ReadonlyMap<number, RelationFact>;
  /** WAL each statement generated, when measured. */
  walBytes: ReadonlyMap<RecordedStatement, number>;
  /** Relations rewritten or built (committed when the command ended). */
  writes: readonly CommandWrite[];
  /** Lint findings on each statement. */
  findings: ReadonlyMap<RecordedStatement, MigrationMeasurements['findings']>;
  /** INVALID indexes and NOT VALID constraints that were not there before: label and the name to look for in the SQL. */
  leftBehind: { invalidIndexes: Array<{ label: string; name: string }>; notValidConstraints: Array<{ label: string; name: string }> };
  /** The command failed: its exit code and the tail of its output. */
  failed: { exitCode: number | undefined; output: string } | undefined;
}

/** The first line of a statement, at most 100 characters. */
export function firstLine(sql: string): string {
  const line = sql.trim().split('\n')[0]!.trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

/** The row count a statement's tag reports as rows changed (not rows read). */
function rowsChanged(s: RecordedStatement): number | null {
  if (s.rowCount === null || s.error) return null;
  if (/^(SELECT|MOVE|FETCH)\b/.test(s.tag ?? '')) return s.kind === 'CreateTableAsStmt' || s.kind === 'SelectStmt' ? (hasInto(s.node) ? s.rowCount : null) : s.rowCount;
  if (/^COPY\b/.test(s.tag ?? '')) return (s.node as { CopyStmt?: { is_from?: boolean } } | undefined)?.CopyStmt?.is_from ? s.rowCount : null;
  return s.rowCount;
}

function hasInto(node: unknown): boolean {
  const record = node as { SelectStmt?: { intoClause?: unknown }; CreateTableAsStmt?: unknown } | undefined;
  return Boolean(record?.CreateTableAsStmt || record?.SelectStmt?.intoClause);
}

function nameIn(s: RecordedStatement, relname: string): boolean {
  if (tablesNamed(s.node).some((t) => t.name === relname)) return true;
  const index = (s.node as { IndexStmt?: { idxname?: string } } | undefined)?.IndexStmt?.idxname;
  return index === relname || s.sql.toLowerCase().includes(relname.toLowerCase());
}

/** The statement (of `work`) that most likely wrote a relation: the last one naming it, else the last one. */
function writerOf(work: readonly RecordedStatement[], relname: string): RecordedStatement | undefined {
  return [...work].reverse().find((s) => !s.error && nameIn(s, relname)) ?? work.at(-1);
}

function clip<T extends { startMs: number; endMs: number }>(item: T, fromMs: number, toMs: number): T | undefined {
  const startMs = Math.max(item.startMs, fromMs);
  const endMs = Math.min(item.endMs, toMs);
  return endMs > startMs ? { ...item, startMs, endMs } : undefined;
}

/** pg_locks' names of the lock modes. */
const PG_LOCK_MODE: Record<BlockingLockMode, string> = { 'ACCESS EXCLUSIVE': 'AccessExclusiveLock', EXCLUSIVE: 'ExclusiveLock', 'SHARE ROW EXCLUSIVE': 'ShareRowExclusiveLock', SHARE: 'ShareLock' };

/**
 * The blocking locks a statement takes by Postgres's lock table, on relations that existed before,
 * held from its start to the end of its transaction (or of itself): for locks too brief for the poll
 * to see (an autocommitted ADD COLUMN holds ACCESS EXCLUSIVE for a millisecond).
 */
function expectedLocks(s: RecordedStatement, existing: ReadonlyMap<number, RelationFact>, untilMs: number): LockSpan[] {
  if (!s.kind || s.error) return [];
  const fields = (s.node as Record<string, PgNode> | undefined)?.[s.kind];
  if (!fields) return [];
  return blockingLocks(s.kind, fields).flatMap((lock) => {
    if (!lock.table) return [];
    const schema = lock.table.schemaname ?? 'public';
    const relation = [...existing.values()].find((r) => r.schema === schema && r.relname === lock.table!.relname);
    return relation ? [{ relation: relation.name, mode: PG_LOCK_MODE[lock.mode], firstMs: s.startMs, lastMs: untilMs, inferred: true }] : [];
  });
}

/** How a segment is named in the report. */
function labelOf(segment: CommandSegment, previous: string | undefined, command: string, anyLedger: boolean): { version: string; name: string; file: string } {
  if (segment.names.length) {
    const name = segment.names.join(', ');
    return { version: /^\d+/.exec(segment.names[0]!)?.[0] ?? '', name, file: name };
  }
  if (segment.ledger) return { version: '', name: `${segment.ledger.framework} migration`, file: `${segment.ledger.framework} migration` };
  if (!anyLedger) return { version: '', name: command, file: command };
  // It never reached the ledger (it failed, or this is the framework's clean-up after the last one).
  const where = previous ? `the migration after ${previous}` : 'the first migration';
  return { version: '', name: '', file: `${where} (not recorded by the framework)` };
}

/** The failure of the command, told from its last SQL error, else its exit. */
function failureOf(segment: CommandSegment, failed: NonNullable<CommandMeasurements['failed']>, ordinal: ReadonlyMap<RecordedStatement, number>): MigrationMeasurements['failure'] {
  const error = [...segment.statements].reverse().find((s) => s.error && s.error.severity !== 'NOTICE');
  const exit = `the command failed${failed.exitCode === undefined ? '' : ` (exit ${failed.exitCode})`}`;
  if (error?.error) {
    const n = ordinal.get(error);
    const where = n === undefined ? firstLine(error.sql) : `statement ${n}`;
    const details = [...postgresDetails(error.error), `statement: ${firstLine(error.sql)}`, exit];
    return { message: `${where}: ${error.error.message}${error.error.code ? ` (SQLSTATE ${error.error.code})` : ''}`, details };
  }
  return { message: `${exit}${failed.output ? `: ${failed.output}` : ''}`, details: [] };
}

/** One MigrationMeasurements per migration the command ran. */
export function commandMigrations(m: CommandMeasurements): MigrationMeasurements[] {
  const { segments: marked, rest } = splitByLedger(m.statements);
  const anyLedger = marked.length > 0;
  const segments = [...marked];
  const restHasWork = rest.some((s) => statementRole(s) === 'migration');
  if (m.failed || restHasWork) segments.push({ names: [], ledger: undefined, statements: rest });
  const work = m.statements.filter((s) => statementRole(s) === 'migration');
  const ordinal = new Map(work.map((s, i) => [s, i + 1]));
  const transactions = m.transactions;
  const writes = new Map<RecordedStatement, { rewrites: RelationWrite[]; indexBuilds: RelationWrite[] }>();
  for (const w of m.writes) {
    const by = writerOf(work, w.relname);
    if (!by) continue;
    const entry = writes.get(by) ?? { rewrites: [], indexBuilds: [] };
    (w.rewritten ? entry.rewrites : entry.indexBuilds).push({ relation: w.relation, kind: w.kind, bytes: w.bytes });
    writes.set(by, entry);
  }
  const leftIn = (list: Array<{ label: string; name: string }>) => {
    const at = new Map<CommandSegment, string[]>();
    for (const item of list) {
      const by = writerOf(work, item.name);
      const segment = (by && segments.find((s) => s.statements.includes(by))) ?? segments.at(-1);
      if (segment) at.set(segment, [...(at.get(segment) ?? []), item.label]);
    }
    return at;
  };
  const invalid = leftIn(m.leftBehind.invalidIndexes);
  const notValid = leftIn(m.leftBehind.notValidConstraints);

  // Each migration's window: from its first statement to its last, and on to the end of its transactions
  // (its locks are held until then); and the relations its statements name (undefined: one did not parse).
  const windows = segments.map((segment) => {
    const own = segment.statements.filter((s) => statementRole(s) === 'migration');
    const startMs = (own[0] ?? segment.statements[0])?.startMs ?? 0;
    const endMs = Math.max(startMs, ...segment.statements.map((s) => s.endMs));
    const holdEndMs = Math.max(endMs, ...own.map((s) => (s.transaction === undefined ? s.endMs : (transactions[s.transaction]?.endMs ?? endMs))));
    const named = own.some((s) => s.kind === undefined) ? undefined : new Set(own.flatMap((s) => namedRelations(s.node, m.existing)).map((oid) => m.existing.get(oid)!.name));
    return { own, startMs, endMs, holdEndMs, named };
  });
  // A lock the poll saw belongs to the first migration that names its relation and still held its locks
  // then (the poll may see it late, while a later migration runs); else to the one running when it was seen.
  const ownerOf = (l: LockSpan): number => {
    const holder = windows.findIndex((w) => w.named?.has(l.relation) && l.firstMs >= w.startMs && l.firstMs <= w.holdEndMs);
    return holder !== -1 ? holder : windows.findIndex((w) => l.firstMs >= w.startMs && l.firstMs <= w.endMs);
  };
  const owners = new Map(m.watch.locks.map((l) => [l, ownerOf(l)]));

  let previous: string | undefined;
  return segments.map((segment, index) => {
    const { own, startMs, endMs, holdEndMs, named } = windows[index]!;
    const touched = named && new Set(named);
    const locks: LockSpan[] = m.watch.locks
      .filter((l) => owners.get(l) === index || !touched || touched.has(l.relation))
      .map((l) => ({ ...l, firstMs: Math.max(l.firstMs, startMs), lastMs: Math.min(l.lastMs, holdEndMs) }))
      .filter((l) => l.lastMs >= l.firstMs);
    // What the poll did not see, the statements' own lock modes tell.
    for (const s of own) {
      const until = s.transaction === undefined ? s.endMs : (transactions[s.transaction]?.endMs ?? s.endMs);
      for (const expected of expectedLocks(s, m.existing, until)) {
        const seen = locks.find((l) => l.relation === expected.relation && l.mode === expected.mode);
        // Seen by the poll, perhaps late: held from the statement's start all the same (as the runner's rehearsal counts it).
        if (seen) seen.firstMs = Math.min(seen.firstMs, expected.firstMs);
        else locks.push(expected);
      }
    }
    for (const l of locks) touched?.add(l.relation);
    const waits = m.watch.waits.filter((w) => !touched || touched.has(w.table)).map((w) => clip(w, startMs, holdEndMs)).filter((w): w is ProbeWait => w !== undefined);
    const statements: StatementMeasure[] = own.map((s) => ({
      line: ordinal.get(s)!,
      sql: firstLine(s.sql),
      startMs: s.startMs,
      durationMs: s.endMs - s.startMs,
      rowCount: rowsChanged(s),
      walBytes: m.walBytes.get(s),
      rewrites: writes.get(s)?.rewrites ?? [],
      indexBuilds: writes.get(s)?.indexBuilds ?? [],
      failed: Boolean(s.error),
    }));
    const label = labelOf(segment, previous, m.command, anyLedger);
    previous = label.file;
    const isLast = index === segments.length - 1;
    return {
      ...label,
      irreversible: false,
      durationMs: endMs - startMs,
      statements,
      watch: { locks, waits, probed: m.watch.probed },
      leftBehind: { invalidIndexes: invalid.get(segment) ?? [], notValidConstraints: notValid.get(segment) ?? [] },
      tempFiles: undefined,
      findings: own.flatMap((s) => m.findings.get(s) ?? []),
      failure: isLast && m.failed ? failureOf(segment, m.failed, ordinal) : undefined,
    };
  });
}
