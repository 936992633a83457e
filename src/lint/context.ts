/**
 * What the linter knows about a migration section as it walks its statements in order:
 *
 * - whether the next statement runs inside a transaction block: drydock's own (a section without
 *   `transaction:false`), an explicit BEGIN … COMMIT in the SQL, a DO block (which runs as one
 *   statement, so in one transaction), or `--assume-in-transaction` for plain files;
 * - tables and indexes created earlier in the same migration (new and empty, so locking them hurts
 *   nobody);
 * - whether lock_timeout is in force (SET, SET LOCAL until the transaction ends, set_config; drydock's
 *   runner always sets it for drydock migrations);
 * - constraints added NOT VALID and validated, and column types declared, earlier in the migration;
 * - production's Postgres version.
 *
 * Rules read this state; only the linter (lint.ts) moves it forward, after every rule has seen a statement.
 */
import { alterCommands, asKind, columnConstraints, columnRefName, constInteger, constString, notNullConstraintColumn, stringList, typeInfo, type ColumnDefNode, type ConstraintNode, type PgNode, type RangeVar, type TypeInfo } from './ast.js';
import { blockingLocks } from './locks.js';
import type { LintStatement, PendingConstraint, Report, RuleContext } from './types.js';

/**
 * What earlier migrations of the same run declared, carried into later ones: column types (so
 * changing-column-type can compare old and new) and constraints added NOT VALID (so a later
 * VALIDATE + SET NOT NULL is recognised). Tables created earlier are not carried: in a later
 * migration they are existing tables that may hold data.
 */
export class SchemaMemory {
  readonly columnTypes = new Map<string, TypeInfo>();
  readonly constraints = new Map<string, PendingConstraint>();
}

/** Settings of one section's walk. */
export interface ContextOptions {
  /** Production's major, ordered by release (majorOrder: 9.6 stays 9.6). */
  pgVersion: number;
  /** A drydock migration: its runner sets lock_timeout for every statement. */
  isDrydockMigration: boolean;
  /** drydock wraps the section in one transaction. */
  runnerTransaction: boolean;
  /** Plain files: they run inside a transaction someone else opens (Flyway, a wrapper script). */
  assumeInTransaction: boolean;
  /** Declarations of earlier migrations in the same run. */
  memory?: SchemaMemory | undefined;
  /** Every statement of the section (DO block contents included), for hasSchemaChange. */
  statements?: readonly LintStatement[] | undefined;
}

type LockTimeoutScope = 'none' | 'session' | 'transaction';

/** The per-section state rules read through RuleContext. */
export class LintContext implements RuleContext {
  readonly pgVersion: number;
  readonly isDrydockMigration: boolean;
  readonly runnerTransaction: boolean;
  inTransaction: boolean;
  transactionId = 0;

  /** relname → schemas it was created in ('' when unqualified). Tables, indexes and views share one namespace. */
  private readonly created = new Map<string, Set<string>>();
  private readonly pending = new Map<string, PendingConstraint>();
  private readonly validatedNotNull = new Set<string>();
  private readonly validatedNames: Array<{ table: string; name: string }> = [];
  private readonly columnTypes = new Map<string, TypeInfo>();
  private readonly memory: SchemaMemory | undefined;
  private lockTimeout: LockTimeoutScope = 'none';
  private readonly seen = new Set<string>();
  private reporter: ((report: Report) => void) | undefined;
  private readonly sectionStatements: readonly LintStatement[];
  private schemaChange: boolean | undefined;

  constructor(options: ContextOptions) {
    this.sectionStatements = options.statements ?? [];
    this.pgVersion = options.pgVersion;
    this.isDrydockMigration = options.isDrydockMigration;
    this.runnerTransaction = options.runnerTransaction;
    this.inTransaction = options.runnerTransaction || options.assumeInTransaction;
    this.memory = options.memory;
  }

  /** Hand what this migration declared to the migrations after it (call after its up section). */
  remember(): void {
    if (!this.memory) return;
    for (const [key, type] of this.columnTypes) this.memory.columnTypes.set(key, type);
    // In a later migration they are no longer in the same transaction as anything.
    for (const [key, constraint] of this.pending) this.memory.constraints.set(key, { ...constraint, transactionId: -1 });
  }

  /** Whether the section changes the schema of a table it did not create (worked out on first use: only backfills ask). */
  get hasSchemaChange(): boolean {
    this.schemaChange ??= LintContext.sectionChangesSchema(this.sectionStatements);
    return this.schemaChange;
  }

  get hasLockTimeout(): boolean {
    return this.isDrydockMigration || this.lockTimeout !== 'none';
  }

  isNew(rel: RangeVar | undefined): boolean {
    if (!rel) return false;
    const schemas = this.created.get(rel.relname);
    if (!schemas) return false;
    return !rel.schemaname || schemas.has('') || schemas.has(rel.schemaname);
  }

  isExisting(rel: RangeVar | undefined): boolean {
    return !this.isNew(rel);
  }

  pendingConstraint(table: RangeVar, name: string): PendingConstraint | undefined {
    const key = `${table.relname}\0${name}`;
    return this.pending.get(key) ?? this.memory?.constraints.get(key);
  }

  hasValidatedNotNullCheck(table: RangeVar, column: string): boolean {
    if (this.validatedNotNull.has(`${table.relname}\0${column}`)) return true;
    // Validated here but added NOT VALID in an earlier migration: judge by the name (users_email_not_null).
    const needle = column.toLowerCase();
    return this.validatedNames.some((v) => v.table === table.relname && v.name.toLowerCase().includes(needle));
  }

  knownColumnType(table: RangeVar, column: string): TypeInfo | undefined {
    const key = `${table.relname}\0${column}`;
    return this.columnTypes.get(key) ?? this.memory?.columnTypes.get(key);
  }

  firstTime(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  report(report: Report): void {
    if (!this.reporter) throw new Error('report() called outside a rule check');
    this.reporter(report);
  }

  /** Route reports of the rule about to run (lint.ts sets this around each check). */
  setReporter(reporter: ((report: Report) => void) | undefined): void {
    this.reporter = reporter;
  }

  /** A top-level statement is about to be checked: outside a transaction block it is a transaction of its own. */
  enterStatement(): void {
    if (!this.inTransaction) this.transactionId += 1;
  }

  /**
   * Run `fn` for a DO block's statements: a DO runs as one statement, so they share one transaction
   * (the enclosing one, or the DO's own).
   */
  withinDoBlock(fn: () => void): void {
    const was = this.inTransaction;
    this.inTransaction = true;
    try {
      fn();
    } finally {
      this.inTransaction = was;
    }
  }

  /** Move the state past a statement every rule has seen. */
  observe(stmt: LintStatement): void {
    const node = stmt.node;
    switch (stmt.kind) {
      case 'TransactionStmt':
        this.observeTransaction(node);
        break;
      case 'VariableSetStmt':
        this.observeSet(node);
        break;
      case 'SelectStmt':
        this.observeSetConfig(node);
        this.addCreated((node.intoClause as { rel?: RangeVar } | undefined)?.rel);
        break;
      case 'CreateStmt':
        this.addCreated(node.relation as RangeVar | undefined);
        for (const element of (node.tableElts as PgNode[] | undefined) ?? []) {
          const column = asKind<ColumnDefNode>(element, 'ColumnDef');
          const type = typeInfo(column?.typeName);
          if (column?.colname && type) this.columnTypes.set(`${(node.relation as RangeVar).relname}\0${column.colname}`, type);
        }
        break;
      case 'CreateTableAsStmt':
        this.addCreated((node.into as { rel?: RangeVar } | undefined)?.rel);
        break;
      case 'ViewStmt':
        this.addCreated(node.view as RangeVar | undefined);
        break;
      case 'IndexStmt': {
        const relation = node.relation as RangeVar | undefined;
        if (typeof node.idxname === 'string') this.addCreated({ schemaname: relation?.schemaname, relname: node.idxname });
        break;
      }
      case 'RenameStmt': {
        const relation = node.relation as RangeVar | undefined;
        if (relation && node.renameType === 'OBJECT_TABLE' && this.isNew(relation) && typeof node.newname === 'string') {
          this.addCreated({ schemaname: relation.schemaname, relname: node.newname });
        }
        break;
      }
      case 'AlterTableStmt':
        this.observeAlterTable(node);
        break;
      default:
        break;
    }
  }

  private addCreated(rel: RangeVar | undefined): void {
    if (!rel?.relname) return;
    const schemas = this.created.get(rel.relname) ?? new Set<string>();
    schemas.add(rel.schemaname ?? '');
    this.created.set(rel.relname, schemas);
  }

  private observeTransaction(node: PgNode): void {
    // Inside drydock's transaction the runner refuses transaction control, so it changes nothing here.
    if (this.runnerTransaction) return;
    switch (node.kind) {
      case 'TRANS_STMT_BEGIN':
      case 'TRANS_STMT_START':
        if (!this.inTransaction) this.transactionId += 1;
        this.inTransaction = true;
        break;
      case 'TRANS_STMT_COMMIT':
      case 'TRANS_STMT_ROLLBACK':
      case 'TRANS_STMT_PREPARE':
        if (this.lockTimeout === 'transaction') this.lockTimeout = 'none';
        if (node.chain) {
          this.transactionId += 1;
        } else {
          this.inTransaction = false;
        }
        break;
      default:
        break;
    }
  }

  private setLockTimeout(value: unknown, isLocal: boolean): void {
    let off: boolean;
    const n = constInteger(value);
    const s = constString(value);
    if (n !== undefined) off = n === 0;
    else if (s !== undefined) off = /^\s*0+\s*(ms|s|min|h|d)?\s*$/i.test(s);
    else off = false;
    if (off) this.lockTimeout = 'none';
    // SET LOCAL outside a transaction block has no effect (Postgres only warns).
    else if (isLocal) {
      if (this.inTransaction && this.lockTimeout !== 'session') this.lockTimeout = 'transaction';
    } else this.lockTimeout = 'session';
  }

  private observeSet(node: PgNode): void {
    const kind = node.kind as string | undefined;
    if (kind === 'VAR_RESET_ALL') {
      this.lockTimeout = 'none';
      return;
    }
    if (node.name !== 'lock_timeout') return;
    if (kind === 'VAR_SET_VALUE') this.setLockTimeout((node.args as PgNode[] | undefined)?.[0], Boolean(node.is_local));
    else if (kind === 'VAR_RESET' || kind === 'VAR_SET_DEFAULT') this.lockTimeout = 'none';
  }

  /** `SELECT set_config('lock_timeout', '5s', false)`, as some tools write it. */
  private observeSetConfig(node: PgNode): void {
    for (const target of (node.targetList as PgNode[] | undefined) ?? []) {
      const call = asKind<{ funcname?: PgNode[]; args?: PgNode[] }>(asKind<{ val?: PgNode }>(target, 'ResTarget')?.val, 'FuncCall');
      if (!call || stringList(call.funcname).pop() !== 'set_config') continue;
      const [name, value, local] = call.args ?? [];
      if (constString(name) !== 'lock_timeout') continue;
      const isLocal = asKind<{ boolval?: { boolval?: boolean } }>(local, 'A_Const')?.boolval?.boolval === true;
      this.setLockTimeout(value, isLocal);
    }
  }

  private observeAlterTable(node: PgNode): void {
    const table = node.relation as RangeVar | undefined;
    if (!table) return;
    for (const cmd of alterCommands(node)) {
      if (cmd.subtype === 'AT_AddColumn' || cmd.subtype === 'AT_AlterColumnType') {
        const column = asKind<ColumnDefNode>(cmd.def, 'ColumnDef');
        const name = cmd.subtype === 'AT_AddColumn' ? column?.colname : cmd.name;
        const type = typeInfo(column?.typeName);
        if (name && type) this.columnTypes.set(`${table.relname}\0${name}`, type);
        for (const constraint of column ? columnConstraints(column) : []) this.observeConstraint(table, constraint);
      } else if (cmd.subtype === 'AT_AddConstraint') {
        const constraint = asKind<ConstraintNode>(cmd.def, 'Constraint');
        if (constraint) this.observeConstraint(table, constraint);
      } else if (cmd.subtype === 'AT_ValidateConstraint' && cmd.name) {
        const pending = this.pendingConstraint(table, cmd.name);
        if (pending?.notNullColumn) this.validatedNotNull.add(`${table.relname}\0${pending.notNullColumn}`);
        else if (!pending) this.validatedNames.push({ table: table.relname, name: cmd.name });
      }
    }
  }

  private observeConstraint(table: RangeVar, constraint: ConstraintNode): void {
    const notNullConstraint = notNullConstraintColumn(constraint);
    const kind = constraint.contype === 'CONSTR_CHECK' ? 'check' : constraint.contype === 'CONSTR_FOREIGN' ? 'foreign-key' : notNullConstraint ? 'not-null' : undefined;
    if (!kind) return;
    const notNullColumn = kind === 'check' ? notNullCheckColumn(constraint.raw_expr) : notNullConstraint;
    if (constraint.skip_validation) {
      if (constraint.conname) this.pending.set(`${table.relname}\0${constraint.conname}`, { table, kind, notNullColumn, transactionId: this.transactionId });
    } else if (notNullColumn) {
      this.validatedNotNull.add(`${table.relname}\0${notNullColumn}`);
    }
  }

  /** Note whether the section changes the schema of a table it did not create (ban-backfill-with-schema-change). */
  static sectionChangesSchema(statements: readonly LintStatement[]): boolean {
    const created = new Set<string>();
    for (const stmt of statements) {
      const node = stmt.node;
      if (stmt.kind === 'CreateStmt') created.add((node.relation as RangeVar | undefined)?.relname ?? '');
      if (stmt.kind === 'IndexStmt' && typeof node.idxname === 'string') created.add(node.idxname);
    }
    return statements.some((stmt) => blockingLocks(stmt.kind, stmt.node).some((lock) => !lock.table || !created.has(lock.table.relname)) && stmt.kind !== 'LockStmt');
  }
}

/** The column of `CHECK (col IS NOT NULL)`, or undefined for any other check. */
export function notNullCheckColumn(expr: PgNode | undefined): string | undefined {
  const test = asKind<{ arg?: PgNode; nulltesttype?: string }>(expr, 'NullTest');
  if (!test || test.nulltesttype !== 'IS_NOT_NULL') return undefined;
  return columnRefName(test.arg);
}
