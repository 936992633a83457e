/**
 * The migration runner: applies planned steps one at a time, safely.
 *
 * - Each step runs in its own transaction (unless its section says transaction:false) together with
 *   its ledger row, so a step is either applied and recorded, or neither.
 * - lock_timeout (default 5 s) bounds how long a DDL statement may queue behind other sessions:
 *   while an ALTER TABLE waits for its ACCESS EXCLUSIVE lock, every later query on that table waits
 *   behind it, so a long wait would block production traffic.
 *   https://www.postgresql.org/docs/current/explicit-locking.html
 * - A step that fails on lock_timeout (SQLSTATE 55P03) is retried a few times with backoff.
 * - SQL is checked with the real Postgres parser before anything runs, so a broken file applies nothing.
 */
import type pg from 'pg';

import { runBackfill, type BackfillEvents, type BackfillSettings } from '../backfill/engine.js';
import { findBackfillDirectives, parseBackfillDirective } from '../backfill/directive.js';
import { checkChange, type CheckedChange } from '../backfill/spec.js';
import { DrydockError, InterruptedError, MigrationError } from '../errors.js';
import { formatDuration } from '../format.js';
import { sleep } from '../interrupt.js';
import { withTransaction } from '../pg/client.js';
import { parseQualifiedName } from '../pg/ident.js';
import { resolveBackfillSettings } from '../settings.js';
import { dropIndexConcurrently, readInvalidIndexDetails, readNamedIndex, type InvalidIndex } from '../pg/queries/indexes.js';
import { codeFrame, ensureParser, splitStatements, type Statement } from '../sql/parse.js';
import { recordApplied, removeApplied } from './ledger.js';
import type { MigrationSection, PlannedStep } from './types.js';
import { DEFAULT_RUNNER_SETTINGS, type RunnerSettings } from './runner-settings.js';

export { DEFAULT_RUNNER_SETTINGS, type RunnerSettings };

/** What the runner reports while it works. */
export interface RunnerEvents {
  /** A step hit lock_timeout and will be retried after `delayMs`. */
  onRetry?(step: PlannedStep, attempt: number, delayMs: number): void;
  /** Extra lines (a code frame) that explain a failure. */
  onDetail?(lines: string): void;
  /**
   * Before building an index again, the runner dropped the INVALID index of that name that an earlier
   * failed `CREATE INDEX CONCURRENTLY` of this same statement left behind (`line`: the statement's line in the file).
   */
  onDroppedIndex?(step: PlannedStep, index: InvalidIndex, line: number): void;
  /** Called around every statement, on the step's connection (`drydock rehearse` measures each one). */
  observer?: StatementObserver | undefined;
  /** Progress of a `-- drydock:backfill` migration's batches. */
  backfill?: BackfillEvents | undefined;
}

/**
 * Watches each statement a step runs: `before` right before it is sent, `after` when it finished
 * (its command tag's row count) or failed. Both run on the step's connection, inside its transaction
 * when it has one; after a failure that transaction is aborted, so `after` must not query then.
 */
export interface StatementObserver {
  before(client: pg.ClientBase, step: ValidatedStep, index: number): Promise<void>;
  after(client: pg.ClientBase, step: ValidatedStep, index: number, outcome: { rowCount: number | null } | { error: unknown }): Promise<void>;
}

const LOCK_NOT_AVAILABLE = '55P03';

function sectionOf(step: PlannedStep): MigrationSection {
  const section = step.direction === 'up' ? step.migration.up : step.migration.down;
  if (!section) {
    throw new MigrationError(`migration ${step.migration.fileName} has no down section`, {
      file: step.migration.fileName,
      hint: 'add a `-- migrate:down` section that undoes the up section, or mark it irreversible',
    });
  }
  return section;
}

/** A step's statements, parsed once (the parse tree also tells whether a statement is transaction control). */
export interface ValidatedStep extends PlannedStep {
  section: MigrationSection;
  statements: Statement[];
  /**
   * A backfill migration (`-- drydock:backfill …` in a transaction:false section, alone): its one
   * statement stands for the whole backfill, which the backfill engine runs in batches.
   */
  backfill?: { change: CheckedChange; settings: BackfillSettings; line: number } | undefined;
}

/** Parse every step's SQL before any runs. A syntax error, or transaction control in a transactional section, applies nothing. */
export async function validateSteps(steps: PlannedStep[]): Promise<ValidatedStep[]> {
  if (steps.length === 0) return [];
  await ensureParser();
  const validated: ValidatedStep[] = [];
  for (const step of steps) validated.push(await validateBackfill(validateStep(step)));
  return validated;
}

/**
 * A section with a `-- drydock:backfill` line: it must be transaction:false and hold nothing else (a
 * backfill commits batch by batch, and mixing it with schema changes is what the rule
 * ban-backfill-with-schema-change warns about). Its statement list becomes one statement naming the table.
 */
async function validateBackfill(step: ValidatedStep): Promise<ValidatedStep> {
  const directives = findBackfillDirectives(step.section.sql);
  if (!directives.length) return step;
  const file = step.migration.fileName;
  const first = directives[0]!;
  const line = first.line + step.section.startLine - 1;
  const fail = (message: string, hint: string, at = line) => new MigrationError(`${file}:${at}: ${message}`, { file, line: at, hint: `${hint}; nothing was applied` });
  if (directives.length > 1) throw fail('more than one -- drydock:backfill line: a backfill migration runs one backfill', 'put each backfill in a migration of its own', directives[1]!.line + step.section.startLine - 1);
  if (step.section.transaction) throw fail('a -- drydock:backfill migration commits batch by batch, so it cannot run inside one transaction', `mark the section \`-- migrate:${step.direction} transaction:false\``);
  if (step.statements.length) {
    const other = step.statements[0]!;
    throw fail(`a backfill runs in a migration of its own, without other statements (found ${other.kind.replace(/Stmt$/, '')} at line ${other.line + step.section.startLine - 1})`, 'move the schema change into its own migration before this one (ALTER TABLE first, backfill next, constraints after)');
  }
  let change: CheckedChange;
  let settings: BackfillSettings;
  try {
    const parsed = parseBackfillDirective(first.args);
    settings = resolveBackfillSettings(parsed.flags);
    change = await checkChange(parsed.change);
  } catch (error) {
    if (!(error instanceof DrydockError)) throw error;
    throw fail(error.message, error.hint ?? 'fix the -- drydock:backfill line');
  }
  const name = parseQualifiedName(change.table);
  const text = step.section.sql.slice(first.start, first.end).trim();
  const statement: Statement = {
    text,
    start: first.start,
    end: first.end,
    regionStart: first.start,
    line: first.line,
    column: 1,
    kind: 'UpdateStmt',
    // The table the backfill updates, as a parse tree names it: rehearse probes it like any UPDATE's.
    node: { UpdateStmt: { relation: { relname: name?.name ?? change.table, ...(name && change.table.includes('.') ? { schemaname: name.schema } : {}) } } },
  };
  return { ...step, statements: [statement], backfill: { change, settings, line } };
}

/** Parse one step's SQL and check what its transaction mode allows. */
function validateStep(step: PlannedStep): ValidatedStep {
  const section = sectionOf(step);
  let statements: Statement[];
  try {
    statements = splitStatements(section.sql);
  } catch (error) {
    const e = error as { line?: number; column?: number; message: string };
    const line = (e.line ?? 1) + section.startLine - 1;
    throw new MigrationError(`${step.migration.fileName}:${line}:${e.column ?? 1}: syntax error in the ${step.direction} section: ${stripPosition(e.message)}`, {
      file: step.migration.fileName,
      line,
      column: e.column,
      hint: 'fix the SQL; nothing has been applied',
      cause: error,
    });
  }
  if (statements.length === 0 && step.direction === 'up' && !findBackfillDirectives(section.sql).length) {
    throw new MigrationError(`refusing to apply ${step.migration.fileName}: its up section has no statements`, {
      file: step.migration.fileName,
      line: section.startLine - 1,
      hint: 'nothing was applied; write the SQL to run below `-- migrate:up` (or delete the file if the migration is not needed)',
    });
  }
  if (section.transaction) {
    const control = statements.find((s) => s.kind === 'TransactionStmt');
    if (control) {
      const line = control.line + section.startLine - 1;
      throw new MigrationError(`${step.migration.fileName}:${line}: transaction control (${control.text.trim().split(/\s+/)[0]}) inside a migration that drydock already wraps in a transaction`, {
        file: step.migration.fileName,
        line,
        hint: 'remove BEGIN/COMMIT, or mark the section `-- migrate:up transaction:false` to manage transactions yourself',
      });
    }
    const concurrent = statements.find((s) => /\bCONCURRENTLY\b/i.test(s.text) && /^(IndexStmt|DropStmt|ReindexStmt|AlterTableStmt)$/.test(s.kind) && isConcurrent(s));
    if (concurrent) {
      const line = concurrent.line + section.startLine - 1;
      throw new MigrationError(`${step.migration.fileName}:${line}: ${concurrent.kind === 'IndexStmt' ? 'CREATE INDEX' : 'a'} CONCURRENTLY cannot run inside a transaction`, {
        file: step.migration.fileName,
        line,
        hint: `mark the section \`-- migrate:${step.direction} transaction:false\` (and keep that migration to the concurrent statement)`,
      });
    }
  }
  return { ...step, section, statements };
}

/** True when the parse tree says CONCURRENTLY (the word could also sit in a string or comment). */
function isConcurrent(statement: Statement): boolean {
  const node = statement.node as Record<string, Record<string, unknown>>;
  const inner = Object.values(node)[0] ?? {};
  if (inner.concurrent === true) return true;
  const params = inner.params as Array<{ DefElem?: { defname?: string } }> | undefined;
  return Boolean(params?.some((p) => p.DefElem?.defname === 'concurrently'));
}

/** A `CREATE INDEX CONCURRENTLY`, as its parse tree names it. */
export interface ConcurrentIndexBuild {
  /** The index's name; undefined when the statement lets Postgres choose one. */
  name: string | undefined;
  /** The table, as written (schema undefined: resolved through search_path). */
  table: { schema?: string | undefined; name: string };
  ifNotExists: boolean;
}

/** The index a statement builds concurrently, or undefined when it is not a `CREATE INDEX CONCURRENTLY`. Pure. */
export function concurrentIndexBuild(statement: Pick<Statement, 'kind' | 'node'>): ConcurrentIndexBuild | undefined {
  if (statement.kind !== 'IndexStmt') return undefined;
  const node = (statement.node as { IndexStmt?: { idxname?: string; concurrent?: boolean; if_not_exists?: boolean; relation?: { schemaname?: string; relname?: string } } }).IndexStmt;
  if (!node?.concurrent || !node.relation?.relname) return undefined;
  return { name: node.idxname || undefined, table: { schema: node.relation.schemaname || undefined, name: node.relation.relname }, ifNotExists: Boolean(node.if_not_exists) };
}

function stripPosition(message: string): string {
  return message.replace(/\s*\(line \d+, column \d+\)\s*$/, '').replace(/^.*?:\d+:\d+:\s*/, '');
}

function timeoutsSql(settings: RunnerSettings, local: boolean): string {
  const scope = local ? 'LOCAL ' : '';
  return `SET ${scope}lock_timeout = ${Math.max(0, Math.round(settings.lockTimeoutMs))}; SET ${scope}statement_timeout = ${Math.max(0, Math.round(settings.statementTimeoutMs))}`;
}

/**
 * Apply one validated step; returns its duration in ms. Retries on lock_timeout; throws MigrationError
 * otherwise. Once `signal` aborts no statement starts, and a transactional step whose statements ran
 * is rolled back instead of recorded (the caller cancels a running statement: pg/client cancelOnAbort).
 */
export async function applyStep(client: pg.ClientBase, step: ValidatedStep, settings: RunnerSettings, events: RunnerEvents = {}, signal?: AbortSignal): Promise<number> {
  const started = performance.now();
  if (step.section.transaction) {
    await withLockRetries(step, settings, events, async () => {
      // BEGIN and the timeouts in one round trip (the simple protocol runs them in order).
      await withTransaction(
        client,
        async () => {
          // One statement at a time, so an error without a position still names its statement's line.
          for (const [index, statement] of step.statements.entries()) {
            signal?.throwIfAborted();
            await runSql(client, step, statement, undefined, undefined, events.observer, index);
          }
          signal?.throwIfAborted();
          if (step.direction === 'up') await recordApplied(client, step.migration, performance.now() - started);
          else await removeApplied(client, step.migration.version);
        },
        { begin: `BEGIN; ${timeoutsSql(settings, true)}` },
      );
    }, undefined, signal);
  } else {
    await client.query(timeoutsSql(settings, false));
    try {
      if (step.backfill) await runBackfillStep(client, step, step.backfill, events, signal);
      else for (const [index, statement] of step.statements.entries()) {
        const build = concurrentIndexBuild(statement);
        await withLockRetries(
          step,
          settings,
          events,
          async () => {
            signal?.throwIfAborted();
            if (build) await dropLeftoverIndex(client, step, statement, build, events);
            // A failed CONCURRENTLY statement is not rolled back: what it left is compared with this.
            const invalidBefore = isConcurrent(statement) ? await readInvalidIndexDetails(client) : undefined;
            await runSql(client, step, statement, invalidBefore, build, events.observer, index);
          },
          index,
          signal,
        );
        if (build) await checkIndexBuilt(client, step, statement, build, index);
      }
      if (step.direction === 'up') {
        await withTransaction(client, () => recordApplied(client, step.migration, performance.now() - started));
      } else {
        await removeApplied(client, step.migration.version);
      }
    } finally {
      await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => undefined);
    }
  }
  return performance.now() - started;
}

/** Run a backfill migration's backfill (resuming one this migration started and did not finish), observed as its one statement. */
async function runBackfillStep(client: pg.ClientBase, step: ValidatedStep, backfill: NonNullable<ValidatedStep['backfill']>, events: RunnerEvents, signal: AbortSignal | undefined): Promise<void> {
  const file = step.migration.fileName;
  await events.observer?.before(client, step, 0);
  let rowCount: number;
  try {
    rowCount = (await runBackfill(client, { change: backfill.change, settings: backfill.settings, mode: 'auto' }, events.backfill, signal)).rowsUpdated;
  } catch (error) {
    await events.observer?.after(client, step, 0, { error });
    if (error instanceof InterruptedError || error instanceof MigrationError) throw error;
    const e = error as Error & { hint?: string };
    throw new MigrationError(`${file}:${backfill.line}: ${e.message}`, {
      file,
      line: backfill.line,
      hint: `${e.hint ?? 'fix the cause'}; the migration is not recorded as applied, and running it again resumes the backfill after its last committed batch`,
      cause: error,
    });
  }
  await events.observer?.after(client, step, 0, { rowCount });
}

/** `file:line` of a statement of a step. */
function statementLine(step: ValidatedStep, statement: Statement): number {
  return statement.line + step.section.startLine - 1;
}

/**
 * Before a `CREATE INDEX CONCURRENTLY name ON table` runs again, drop the index `name` when it is
 * exactly what a failed earlier run of this statement leaves: an index of that name, on that table
 * (in that table's schema), INVALID, and not being built by another session. Nothing else is touched:
 * a valid index, or one on another table, makes the statement fail (or skip, with IF NOT EXISTS) as
 * Postgres decides, and checkIndexBuilt reports it.
 */
async function dropLeftoverIndex(client: pg.ClientBase, step: ValidatedStep, statement: Statement, build: ConcurrentIndexBuild, events: RunnerEvents): Promise<void> {
  if (!build.name) return;
  const found = await readNamedIndex(client, build.table, build.name);
  if (!found || found.valid || !found.onTable) return;
  const line = statementLine(step, statement);
  const where = `${step.migration.fileName}:${line}`;
  if (found.building) {
    throw new MigrationError(`${where}: another session is building the index ${found.index} on ${found.table} right now`, {
      file: step.migration.fileName,
      line,
      hint: 'wait for that build to finish (pg_stat_progress_create_index shows it), then run again; nothing was changed by this statement',
    });
  }
  try {
    await dropIndexConcurrently(client, found);
  } catch (error) {
    const e = error as Error & { code?: string };
    throw new MigrationError(`${where}: could not drop the INVALID index ${found.index} that an earlier failed run of this statement left on ${found.table}: ${e.message}`, {
      file: step.migration.fileName,
      line,
      sqlstate: e.code,
      details: postgresDetails(e as PgErrorFields),
      hint: `run again, or drop it yourself (${found.dropSql};) and run again`,
      cause: error,
    });
  }
  events.onDroppedIndex?.(step, found, line);
}

/**
 * After a `CREATE INDEX CONCURRENTLY` succeeded, the index must be there, valid, on its table. With
 * IF NOT EXISTS Postgres "succeeds" without building anything when a relation of that name exists,
 * even an INVALID index or one on another table: that must not be recorded as applied.
 */
async function checkIndexBuilt(client: pg.ClientBase, step: ValidatedStep, statement: Statement, build: ConcurrentIndexBuild, index: number): Promise<void> {
  if (!build.name) return;
  const found = await readNamedIndex(client, build.table, build.name);
  if (found?.valid && found.onTable) return;
  const line = statementLine(step, statement);
  const table = build.table.schema ? `${build.table.schema}.${build.table.name}` : build.table.name;
  const why = !found
    ? `a relation named ${build.name} exists that is not an index on ${table}`
    : !found.onTable
      ? `an index named ${found.index} already exists on another table, ${found.table}`
      : `the index ${found.index} that is there is INVALID (left by an earlier failed build)`;
  const applied = index > 0 ? `statements 1-${index + 1} of this transaction:false section were applied` : 'the statement ran';
  throw new MigrationError(`${step.migration.fileName}:${line}: CREATE INDEX CONCURRENTLY${build.ifNotExists ? ' IF NOT EXISTS' : ''} ${build.name} did not leave a valid index on ${table}: ${why}`, {
    file: step.migration.fileName,
    line,
    hint: `${applied} but the migration is not recorded as applied; ${found && !found.valid && found.onTable ? `the next run drops ${found.index} and builds it again` : 'give the index a name that is not taken, or drop the other relation, and run again'}`,
  });
}

async function withLockRetries(step: ValidatedStep, settings: RunnerSettings, events: RunnerEvents, fn: () => Promise<void>, statementIndex?: number, signal?: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await fn();
      return;
    } catch (error) {
      const failure = error as SqlFailure;
      if (failure.sqlstate === LOCK_NOT_AVAILABLE && attempt <= settings.lockRetries && !signal?.aborted) {
        const delay = Math.round(settings.retryBaseMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5));
        events.onRetry?.(step, attempt, delay);
        await sleep(delay, signal);
        continue;
      }
      throw describeFailure(step, failure, attempt, settings, events, statementIndex);
    }
  }
}

/** What pg's DatabaseError carries beyond its message (https://www.postgresql.org/docs/current/protocol-error-fields.html). */
export interface PgErrorFields {
  detail?: string | undefined;
  hint?: string | undefined;
  position?: string | undefined;
  where?: string | undefined;
  schema?: string | undefined;
  table?: string | undefined;
  column?: string | undefined;
  dataType?: string | undefined;
  constraint?: string | undefined;
}

/**
 * The lines that explain a Postgres error beyond its message: DETAIL (which key is duplicated, which
 * row fails a check), Postgres's own HINT, the objects it names, and the context (the function or
 * statement it happened in). Pure; the output masks them like every other line.
 */
export function postgresDetails(error: PgErrorFields): string[] {
  const lines: string[] = [];
  if (error.detail) lines.push(`detail: ${error.detail}`);
  if (error.hint) lines.push(`postgres hint: ${error.hint}`);
  const qualified = (name: string) => (error.schema ? `${error.schema}.${name}` : name);
  const objects = [
    error.table ? `table ${qualified(error.table)}` : undefined,
    error.column ? `column ${error.column}` : undefined,
    error.dataType ? `type ${error.table ? error.dataType : qualified(error.dataType)}` : undefined,
    error.constraint ? `constraint ${error.constraint}` : undefined,
    !error.table && !error.dataType && error.schema ? `schema ${error.schema}` : undefined,
  ].filter((o): o is string => o !== undefined);
  if (objects.length) lines.push(`object: ${objects.join(', ')}`);
  if (error.where) lines.push(`context: ${error.where}`);
  return lines;
}

/** A pg error annotated with where it happened and what it left. */
interface SqlFailure extends Error, PgErrorFields {
  sqlstate?: string;
  fileLine?: number;
  fileColumn?: number;
  /**
   * For a CONCURRENTLY statement: the INVALID indexes it left behind ([] none; null: could not be
   * checked); undefined for other statements, which either apply or not.
   */
  leftInvalid?: InvalidIndex[] | null;
  /** The index the failing statement builds concurrently. */
  build?: ConcurrentIndexBuild | undefined;
}

async function runSql(client: pg.ClientBase, step: ValidatedStep, statement: Statement, invalidBefore?: InvalidIndex[], build?: ConcurrentIndexBuild, observer?: StatementObserver, index = 0): Promise<void> {
  try {
    await observer?.before(client, step, index);
    let result: pg.QueryResult;
    try {
      result = await client.query(statement.text);
    } catch (error) {
      await observer?.after(client, step, index, { error });
      throw error;
    }
    await observer?.after(client, step, index, { rowCount: result.rowCount });
  } catch (error) {
    const e = error as Error & { code?: string; position?: string };
    const failure = e as SqlFailure;
    failure.sqlstate = e.code;
    const { line, column } = e.position ? lineColumn(step.section.sql, statement.start + Number(e.position) - 1) : statement;
    failure.fileLine = step.section.startLine + line - 1;
    failure.fileColumn = column;
    failure.build = build;
    if (invalidBefore) {
      const before = new Set(invalidBefore.map((i) => i.index));
      failure.leftInvalid = await readInvalidIndexDetails(client).then(
        (now) => now.filter((i) => !before.has(i.index)),
        () => null,
      );
    }
    throw failure;
  }
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

function describeFailure(step: ValidatedStep, failure: SqlFailure, attempts: number, settings: RunnerSettings, events: RunnerEvents, statementIndex?: number): MigrationError {
  if (failure instanceof MigrationError) return failure;
  const file = step.migration.fileName;
  const where = failure.fileLine ? `${file}:${failure.fileLine}:${failure.fileColumn ?? 1}` : file;
  const state = failure.sqlstate ? ` (SQLSTATE ${failure.sqlstate})` : '';
  if (failure.fileLine) events.onDetail?.(codeFrame(step.section.sql, failure.fileLine - step.section.startLine + 1, failure.fileColumn ?? 1, { firstLine: step.section.startLine }));
  const details = postgresDetails(failure);
  const partial = !step.section.transaction && statementIndex !== undefined && statementIndex > 0
    ? ` statements 1-${statementIndex} of this transaction:false section were applied and are not rolled back;`
    : '';
  const left = leftBehind(failure);
  if (failure.sqlstate === LOCK_NOT_AVAILABLE) {
    return new MigrationError(`${where}: gave up after ${attempts} attempts: could not get a lock within lock_timeout ${formatDuration(settings.lockTimeoutMs)} (${failure.message})`, {
      file,
      line: failure.fileLine,
      sqlstate: failure.sqlstate,
      details,
      hint: `another session holds a conflicting lock (a long transaction or query on that table: see pg_stat_activity);${partial}${left ?? ' nothing else was changed;'} run again when it is gone, or raise --lock-timeout`,
      cause: failure,
    });
  }
  const rolledBack = step.section.transaction
    ? ` ${step.direction === 'up' ? 'this migration was rolled back' : 'the rollback was undone'};`
    : `${partial}${left ?? (partial ? '' : ' the failing statement did not apply;')}`;
  return new MigrationError(`${where}: ${step.direction === 'up' ? 'migration' : 'rollback'} failed: ${failure.message}${state}`, {
    file,
    line: failure.fileLine,
    column: failure.fileColumn,
    sqlstate: failure.sqlstate,
    details,
    hint: `${rolledBack.trim()} earlier migrations stay applied; fix the file and run again`,
    cause: failure,
  });
}

/**
 * What a failed CONCURRENTLY statement left behind, said truthfully (Postgres does not roll such a
 * statement back), or undefined for statements that either apply or not.
 */
function leftBehind(failure: SqlFailure): string | undefined {
  const left = failure.leftInvalid;
  if (left === undefined) return undefined;
  if (left === null) return ' the failing CONCURRENTLY statement may have left an INVALID index behind (drydock could not check): `drydock migrate status` lists INVALID indexes;';
  if (!left.length) return ' the failing statement did not apply (it left no INVALID index);';
  const build = failure.build;
  const retried = (i: InvalidIndex) => build?.name !== undefined && i.index.endsWith(`.${build.name}`) && (build.table.schema === undefined || i.table === `${build.table.schema}.${build.table.name}`);
  const fixes = left.map((i) => (retried(i) ? `the next run drops ${i.index} before building it again` : `drop it with ${i.dropSql};`));
  return ` the failing statement left the INVALID index${left.length > 1 ? 'es' : ''} ${left.map((i) => `${i.index} on ${i.table}`).join(', ')} behind (Postgres does not roll back a failed CONCURRENTLY build; queries ignore an INVALID index but writes still update it): ${fixes.join('; ')};`;
}
