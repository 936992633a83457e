/**
 * What one client session did, read from its protocol messages (rehearse/pg-wire.ts) as the proxy
 * forwards them: every statement with its SQL, when it started and ended, its command tag and row
 * count or its error, and the transactions it ran in (from ReadyForQuery's status). Pure: it is fed
 * messages and a clock.
 *
 * The backend answers a session's requests in order, so a queue of what was asked is enough to pair
 * each answer with its statement:
 * - a simple Query ('Q') may hold several statements: one CommandComplete each; an error ends the rest;
 * - the extended protocol runs a statement at Execute ('E'), with the SQL of the Parse ('P') its Bind
 *   ('B') names; after an error the backend skips everything up to the next Sync ('S');
 * - ReadyForQuery ('Z') answers each Query and Sync, with the transaction status (I, T or E).
 * A statement starts when it is sent or when the one before it on the session ended, whichever is
 * later (pipelined requests wait their turn on the server).
 */
import { decodeBackendKey, decodeBind, decodeClose, decodeCommandComplete, decodeError, decodeExecute, decodeParse, decodeQuery, decodeReadyForQuery, rowCountOfTag, type TransactionStatus, type WireError, type WireMessage } from './pg-wire.js';

/** A statement's text as the parser split it; `kind` and `node` are undefined when it did not parse. */
export interface ParsedSql {
  text: string;
  kind: string | undefined;
  node: unknown;
}

/** Splits SQL into statements with drydock's parser; undefined when it does not parse. */
export type SqlSplitter = (sql: string) => ParsedSql[] | undefined;

/** One statement the session ran (or tried to). */
export interface RecordedStatement {
  connection: number;
  /** The backend process that ran it (pg_stat_activity.pid). */
  backendPid: number | undefined;
  sql: string;
  /** The text was longer than the proxy keeps. */
  truncated: boolean;
  kind: string | undefined;
  node: unknown;
  /** Text parameters of its Bind (a framework's ledger row arrives this way); never reported. */
  params: ReadonlyArray<string | null | undefined> | undefined;
  protocol: 'simple' | 'extended';
  /** ms on the recording's clock. */
  startMs: number;
  endMs: number;
  /** CommandComplete's tag ("CREATE INDEX", "INSERT 0 1"), undefined for an error. */
  tag: string | undefined;
  /** The tag's row count (see rowCountOfTag). */
  rowCount: number | null;
  error: WireError | undefined;
  /** It ran inside a transaction block (BEGIN … COMMIT, or several statements in one Query). */
  inTransaction: boolean;
  /** Index of its transaction in WireRecording.transactions. */
  transaction: number | undefined;
}

/** A transaction block of one session, from its first statement to the ReadyForQuery that ended it. */
export interface RecordedTransaction {
  connection: number;
  startMs: number;
  endMs: number | undefined;
  outcome: 'commit' | 'rollback' | 'open';
}

/** One client connection through the proxy. */
export interface RecordedConnection {
  id: number;
  backendPid: number | undefined;
  startMs: number;
  endMs: number | undefined;
  user: string | undefined;
  database: string | undefined;
  applicationName: string | undefined;
  /** The startup packet's `options` (`-c lock_timeout=5s` …). */
  options: string | undefined;
  /** The session failed before it was ready (authentication, a missing database …). */
  startupError: WireError | undefined;
}

/** Everything the sessions through one proxy did, on one clock. */
export class WireRecording {
  readonly statements: RecordedStatement[] = [];
  readonly transactions: RecordedTransaction[] = [];
  readonly connections: RecordedConnection[] = [];
  /** Told of each statement as it is recorded (its answer just arrived). */
  onStatement: ((statement: RecordedStatement) => void) | undefined;

  constructor(
    /** ms on the rehearsal's clock (MigrationWatch.now). */
    readonly now: () => number,
    readonly split: SqlSplitter,
  ) {}

  /** A new session's recorder. */
  session(): WireSession {
    const connection: RecordedConnection = { id: this.connections.length + 1, backendPid: undefined, startMs: this.now(), endMs: undefined, user: undefined, database: undefined, applicationName: undefined, options: undefined, startupError: undefined };
    this.connections.push(connection);
    return new WireSession(this, connection);
  }

  /** The statements in the order they started. */
  ordered(): RecordedStatement[] {
    return [...this.statements].sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  }
}

interface Prepared {
  sql: string;
  truncated: boolean;
  parsed: ParsedSql | undefined;
}

/** A statement sent and not answered yet. */
interface Pending {
  sync: false;
  sql: string;
  truncated: boolean;
  parsed: ParsedSql | undefined;
  params: ReadonlyArray<string | null | undefined> | undefined;
  protocol: 'simple' | 'extended';
  sentMs: number;
  inTransaction: boolean;
  transaction: number | undefined;
  /** Not a statement worth recording (an empty query, a function call). */
  quiet: boolean;
}

/** A Query's or Sync's ReadyForQuery to come. */
interface SyncPoint {
  sync: true;
}

const BEGINS = new Set(['TRANS_STMT_BEGIN', 'TRANS_STMT_START']);
const ENDS = new Set(['TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK', 'TRANS_STMT_PREPARE', 'TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED']);

/** The TransactionStmt kind of a parsed statement ('TRANS_STMT_BEGIN' …), else undefined. */
export function transactionKind(parsed: ParsedSql | undefined): string | undefined {
  if (parsed?.kind !== 'TransactionStmt') return undefined;
  return (parsed.node as { TransactionStmt?: { kind?: string } }).TransactionStmt?.kind;
}

/** One session's recorder: feed it the frontend and backend messages in the order they pass. */
export class WireSession {
  private readonly prepared = new Map<string, Prepared>();
  private readonly portals = new Map<string, { prepared: Prepared | undefined; params: Array<string | null | undefined> }>();
  private readonly queue: Array<Pending | SyncPoint> = [];
  /** The SQL of the last Parse since the last Sync (an error there has no Execute to go to). */
  private groupParse: Prepared | undefined;
  /** In a transaction block, as far as what was sent tells (ReadyForQuery corrects it). */
  private inBlock = false;
  private ready = false;
  private openTransaction: number | undefined;
  /** The tag of the statement that ended the open transaction block (COMMIT, or ROLLBACK: also a COMMIT's after an error). */
  private endTag: string | undefined;
  /** An error since the last ReadyForQuery (it rolls back an implicit transaction). */
  private failedSinceReady = false;
  private lastEndMs = 0;
  private cached: { message: WireMessage; parsed: ParsedSql[] } | undefined;

  constructor(
    private readonly recording: WireRecording,
    readonly connection: RecordedConnection,
  ) {}

  /** The startup packet's parameters. */
  startup(params: Readonly<Record<string, string>>): void {
    this.connection.user = params.user;
    this.connection.database = params.database ?? params.user;
    this.connection.applicationName = params.application_name;
    this.connection.options = params.options;
  }

  /**
   * The statements a frontend message carries (Query: each of its statements; Parse: its one), parsed,
   * before it is forwarded; undefined for other messages. Cached for `frontend`.
   */
  statementsOf(message: WireMessage): ParsedSql[] | undefined {
    if (!message.body || (message.type !== 'Q' && message.type !== 'P')) return undefined;
    if (this.cached?.message === message) return this.cached.parsed;
    const sql = message.type === 'Q' ? decodeQuery(message.body) : decodeParse(message.body).sql;
    const parsed = message.truncated ? [{ text: sql, kind: undefined, node: undefined }] : (this.recording.split(sql) ?? [{ text: sql, kind: undefined, node: undefined }]);
    this.cached = { message, parsed };
    return parsed;
  }

  /** A frontend message was forwarded. */
  frontend(message: WireMessage): void {
    const body = message.body;
    switch (message.type) {
      case 'Q': {
        const statements = this.statementsOf(message)!.filter((s) => s.text.trim() !== '');
        if (!statements.length) this.send({ sql: '', truncated: false, parsed: undefined, params: undefined, protocol: 'simple', quiet: true }, false);
        // Several statements in one Query run as one implicit transaction unless they say otherwise.
        for (const parsed of statements) this.send({ sql: parsed.text, truncated: message.truncated, parsed, params: undefined, protocol: 'simple', quiet: false }, statements.length > 1);
        this.queue.push({ sync: true });
        break;
      }
      case 'P': {
        const { name } = decodeParse(body!);
        const parsed = this.statementsOf(message)!;
        const prepared: Prepared = { sql: parsed.map((p) => p.text).join(';\n'), truncated: message.truncated, parsed: parsed.length === 1 ? parsed[0] : undefined };
        this.prepared.set(name, prepared);
        this.groupParse = prepared;
        break;
      }
      case 'B': {
        const { portal, statement, params } = decodeBind(body!);
        this.portals.set(portal, { prepared: this.prepared.get(statement), params });
        break;
      }
      case 'E': {
        const { portal } = decodeExecute(body!);
        const bound = this.portals.get(portal);
        const prepared = bound?.prepared;
        this.send({ sql: prepared?.sql ?? '', truncated: prepared?.truncated ?? false, parsed: prepared?.parsed, params: bound?.params, protocol: 'extended', quiet: !prepared || prepared.sql.trim() === '' }, false);
        break;
      }
      case 'S':
        this.queue.push({ sync: true });
        break;
      case 'C': {
        const { kind, name } = decodeClose(body!);
        if (kind === 'S') this.prepared.delete(name);
        else this.portals.delete(name);
        break;
      }
      case 'F':
        // A function call: answered like a Query, with its own ReadyForQuery.
        this.send({ sql: '', truncated: false, parsed: undefined, params: undefined, protocol: 'simple', quiet: true }, false);
        this.queue.push({ sync: true });
        break;
      default:
        // CopyData, CopyDone, CopyFail, Describe, Flush, Terminate, authentication: nothing to record.
        break;
    }
  }

  private send(item: Omit<Pending, 'sync' | 'sentMs' | 'inTransaction' | 'transaction'>, implicitBlock: boolean): void {
    const kind = transactionKind(item.parsed);
    const inTransaction = this.inBlock || implicitBlock || (kind !== undefined && BEGINS.has(kind));
    if (inTransaction && this.openTransaction === undefined && !item.quiet) this.beginTransaction();
    const pending: Pending = { ...item, sync: false, sentMs: this.recording.now(), inTransaction, transaction: inTransaction ? this.openTransaction : undefined };
    this.queue.push(pending);
    if (kind !== undefined && BEGINS.has(kind)) this.inBlock = true;
    if (kind !== undefined && ENDS.has(kind)) this.inBlock = false;
  }

  private beginTransaction(): void {
    this.openTransaction = this.recording.transactions.length;
    this.endTag = undefined;
    this.recording.transactions.push({ connection: this.connection.id, startMs: this.recording.now(), endMs: undefined, outcome: 'open' });
  }

  /** A backend message was read (before it is forwarded to the client). */
  backend(message: WireMessage): void {
    const body = message.body;
    switch (message.type) {
      case 'K':
        this.connection.backendPid = decodeBackendKey(body!);
        break;
      case 'C': {
        this.complete({ tag: decodeCommandComplete(body!), error: undefined });
        break;
      }
      case 'I':
        this.complete({ tag: undefined, error: undefined });
        break;
      case 's':
        this.complete({ tag: 'SUSPENDED', error: undefined });
        break;
      case 'E': {
        const error = decodeError(body!);
        if (!this.ready) {
          this.connection.startupError = error;
          break;
        }
        this.failedSinceReady = true;
        if (!this.complete({ tag: undefined, error }) && this.groupParse) {
          // A Parse or Bind failed and no Execute follows: record the statement it was for.
          const now = this.recording.now();
          this.record({ sync: false, sql: this.groupParse.sql, truncated: this.groupParse.truncated, parsed: this.groupParse.parsed, params: undefined, protocol: 'extended', sentMs: now, inTransaction: this.inBlock, transaction: this.inBlock ? this.openTransaction : undefined, quiet: false }, { tag: undefined, error });
        }
        // The rest of the Query, or everything up to the next Sync, is skipped by the server.
        const sync = this.queue.findIndex((q) => q.sync);
        this.queue.splice(0, sync === -1 ? this.queue.length : sync);
        break;
      }
      case 'Z':
        this.readyForQuery(decodeReadyForQuery(body!));
        break;
      default:
        break;
    }
  }

  /** The head statement got its answer; false when there was none waiting. */
  private complete(outcome: { tag: string | undefined; error: WireError | undefined }): boolean {
    const head = this.queue[0];
    if (!head || head.sync) return false;
    this.queue.shift();
    this.record(head, outcome);
    return true;
  }

  private record(item: Pending, outcome: { tag: string | undefined; error: WireError | undefined }): void {
    const now = this.recording.now();
    const startMs = Math.max(item.sentMs, this.lastEndMs);
    this.lastEndMs = now;
    const kind = transactionKind(item.parsed);
    if (outcome.tag && ((kind !== undefined && ENDS.has(kind)) || (!item.parsed && /^(COMMIT|ROLLBACK)$/.test(outcome.tag)))) this.endTag = outcome.tag;
    if (item.quiet) return;
    const statement: RecordedStatement = {
      connection: this.connection.id,
      backendPid: this.connection.backendPid,
      sql: item.sql,
      truncated: item.truncated,
      kind: item.parsed?.kind,
      node: item.parsed?.node,
      params: item.params,
      protocol: item.protocol,
      startMs,
      endMs: now,
      tag: outcome.tag,
      rowCount: outcome.tag ? rowCountOfTag(outcome.tag) : null,
      error: outcome.error,
      inTransaction: item.inTransaction,
      transaction: item.transaction,
    };
    this.recording.statements.push(statement);
    this.recording.onStatement?.(statement);
  }

  private readyForQuery(status: TransactionStatus): void {
    this.ready = true;
    // Whatever was queued before this sync point and not answered was skipped by the server.
    const sync = this.queue.findIndex((q) => q.sync);
    this.queue.splice(0, sync + 1);
    this.groupParse = undefined;
    this.inBlock = status !== 'I';
    if (status === 'I' && this.openTransaction !== undefined) {
      // COMMIT reports ROLLBACK when the transaction had failed; an implicit one ends with its Query.
      this.endTransaction(this.endTag === 'ROLLBACK' || (this.endTag === undefined && this.failedSinceReady) ? 'rollback' : 'commit');
    } else if (status !== 'I' && this.openTransaction === undefined) this.beginTransaction();
    this.failedSinceReady = false;
  }

  private endTransaction(outcome: 'commit' | 'rollback'): void {
    const transaction = this.recording.transactions[this.openTransaction!]!;
    transaction.endMs = this.recording.now();
    transaction.outcome = outcome;
    this.openTransaction = undefined;
    this.endTag = undefined;
  }

  /** The connection closed: statements still waiting never finished; an open transaction is rolled back. */
  closed(): void {
    const error: WireError = { severity: 'FATAL', code: '', message: 'the connection closed before the statement finished' };
    for (const item of this.queue.splice(0)) if (!item.sync) this.record(item, { tag: undefined, error });
    if (this.openTransaction !== undefined) this.endTransaction('rollback');
    this.connection.endMs = this.recording.now();
  }
}
