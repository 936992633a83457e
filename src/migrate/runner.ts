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

import { MigrationError } from '../errors.js';
import { sleep } from '../interrupt.js';
import { withTransaction } from '../pg/client.js';
import { codeFrame, ensureParser, splitStatements, type Statement } from '../sql/parse.js';
import { recordApplied, removeApplied } from './ledger.js';
import type { MigrationSection, PlannedStep } from './types.js';

/** Timeouts and retries of a run. */
export interface RunnerSettings {
  /** lock_timeout for every statement (ms). */
  lockTimeoutMs: number;
  /** statement_timeout (ms); 0 = none. */
  statementTimeoutMs: number;
  /** How many times a step that hit lock_timeout is retried. */
  lockRetries: number;
  /** First retry delay (ms), doubled each time, with jitter. */
  retryBaseMs: number;
}

/** Defaults, as in strong_migrations: short lock waits, a few retries. */
export const DEFAULT_RUNNER_SETTINGS: RunnerSettings = {
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 0,
  lockRetries: 3,
  retryBaseMs: 1_000,
};

/** What the runner reports while it works. */
export interface RunnerEvents {
  /** A step hit lock_timeout and will be retried after `delayMs`. */
  onRetry?(step: PlannedStep, attempt: number, delayMs: number): void;
  /** Extra lines (a code frame) that explain a failure. */
  onDetail?(lines: string): void;
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
}

/** Parse every step's SQL before any runs. A syntax error, or transaction control in a transactional section, applies nothing. */
export async function validateSteps(steps: PlannedStep[]): Promise<ValidatedStep[]> {
  if (steps.length === 0) return [];
  await ensureParser();
  return steps.map((step) => {
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
    if (statements.length === 0 && step.direction === 'up') {
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
  });
}

/** True when the parse tree says CONCURRENTLY (the word could also sit in a string or comment). */
function isConcurrent(statement: Statement): boolean {
  const node = statement.node as Record<string, Record<string, unknown>>;
  const inner = Object.values(node)[0] ?? {};
  if (inner.concurrent === true) return true;
  const params = inner.params as Array<{ DefElem?: { defname?: string } }> | undefined;
  return Boolean(params?.some((p) => p.DefElem?.defname === 'concurrently'));
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
          signal?.throwIfAborted();
          await runSql(client, step, step.section.sql, 0);
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
      for (const [index, statement] of step.statements.entries()) {
        await withLockRetries(step, settings, events, () => (signal?.throwIfAborted(), runSql(client, step, statement.text, statement.start)), index, signal);
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

/** A pg error annotated with where it happened. */
interface SqlFailure extends Error {
  sqlstate?: string;
  fileLine?: number;
  fileColumn?: number;
}

async function runSql(client: pg.ClientBase, step: ValidatedStep, sql: string, offsetInSection: number): Promise<void> {
  try {
    await client.query(sql);
  } catch (error) {
    const e = error as Error & { code?: string; position?: string };
    const failure = e as SqlFailure;
    failure.sqlstate = e.code;
    if (e.position) {
      const { line, column } = lineColumn(step.section.sql, offsetInSection + Number(e.position) - 1);
      failure.fileLine = step.section.startLine + line - 1;
      failure.fileColumn = column;
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
  if (failure.fileLine) events.onDetail?.(codeFrame(step.section.sql, failure.fileLine - step.section.startLine + 1, failure.fileColumn ?? 1));
  const partial = !step.section.transaction && statementIndex !== undefined && statementIndex > 0
    ? ` statements 1-${statementIndex} of this transaction:false section were applied and are not rolled back;`
    : '';
  if (failure.sqlstate === LOCK_NOT_AVAILABLE) {
    return new MigrationError(`${where}: gave up after ${attempts} attempts: could not get a lock within lock_timeout ${settings.lockTimeoutMs} ms (${failure.message})`, {
      file,
      line: failure.fileLine,
      sqlstate: failure.sqlstate,
      hint: `another session holds a conflicting lock (a long transaction or query on that table: see pg_stat_activity);${partial} nothing else was changed; run again when it is gone, or raise --lock-timeout`,
      cause: failure,
    });
  }
  const rolledBack = step.section.transaction ? ` ${step.direction === 'up' ? 'this migration was rolled back' : 'the rollback was undone'};` : partial || ' the failing statement did not apply;';
  return new MigrationError(`${where}: ${step.direction === 'up' ? 'migration' : 'rollback'} failed: ${failure.message}${state}`, {
    file,
    line: failure.fileLine,
    column: failure.fileColumn,
    sqlstate: failure.sqlstate,
    hint: `${rolledBack.trim()} earlier migrations stay applied; fix the file and run again`,
    cause: failure,
  });
}
