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
 * - constraints added NOT VALID and validated earlier in the migration;
 * - tables created earlier in the migration and filled since (INSERT … SELECT, COPY, CREATE TABLE AS);
 * - whether a statement earlier in the section changed the schema of an existing table;
 * - the schema model (schema-model.ts): column types, indexes, constraints and sizes of the tables
 *   as the database has them (a catalog read) or as earlier migrations left them (replay); every
 *   DDL statement moves it forward;
 * - production's Postgres version.
 *
 * Rules read this state; only the linter (lint.ts) moves it forward, after every rule has seen a statement.
 */
import { alterCommands, asKind, columnConstraints, columnRefName, constInteger, constString, notNullConstraintColumn, stringList, typeInfo, type ColumnDefNode, type ConstraintNode, type PgNode, type RangeVar, type TypeInfo } from './ast.js';
import { blockingLocks, droppedRelations } from './locks.js';
import { SchemaModel, type TableModel, type TableSize } from './schema-model.js';
import type { LintStatement, PendingConstraint, Report, RuleContext } from './types.js';

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
  /** The schema as the database has it or earlier migrations left it; this section moves it forward. */
  model?: SchemaModel | undefined;
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
  readonly model: SchemaModel;
  /** Tables created in this section and filled since (`relname`). */
  private readonly populated = new Set<string>();
  /** The transaction of the last statement that locked an existing table for a schema change (-1: none yet). */
  private schemaChangeTransaction = -1;
  private lockTimeout: LockTimeoutScope = 'none';
  private readonly seen = new Set<string>();
  private reporter: ((report: Report) => void) | undefined;

  constructor(options: ContextOptions) {
    this.pgVersion = options.pgVersion;
    this.isDrydockMigration = options.isDrydockMigration;
    this.runnerTransaction = options.runnerTransaction;
    this.inTransaction = options.runnerTransaction || options.assumeInTransaction;
    this.model = options.model ?? new SchemaModel();
  }

  /** Hand the constraints this migration added NOT VALID to the migrations after it (call after its up section). */
  remember(): void {
    // In a later migration they are no longer in the same transaction as anything.
    for (const [key, constraint] of this.pending) this.model.constraints.set(key, { ...constraint, transactionId: -1 });
  }

  /**
   * Whether an earlier statement of the section locked an existing table for a schema change, and,
   * inside a transaction block, in the same transaction (so its locks are still held). Order matters:
   * a DELETE that runs before the ALTER holds none of its locks.
   */
  get hasSchemaChange(): boolean {
    if (this.schemaChangeTransaction < 0) return false;
    return !this.inTransaction || this.schemaChangeTransaction === this.transactionId;
  }

  isPopulated(rel: RangeVar | undefined): boolean {
    return rel !== undefined && this.isNew(rel) && this.populated.has(rel.relname);
  }

  relationExists(rel: RangeVar | undefined): 'yes' | 'no' | 'unknown' {
    return this.model.exists(rel);
  }

  tableSize(rel: RangeVar | undefined): TableSize | undefined {
    return this.isNew(rel) ? undefined : this.model.size(rel);
  }

  schemaContents(schema: string): { known: boolean; relations: TableModel[] } {
    return this.model.schemaContents(schema);
  }

  get modelFromCatalog(): boolean {
    return this.model.fromCatalog;
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
    return this.pending.get(key) ?? this.model.constraints.get(key);
  }

  hasValidatedNotNullCheck(table: RangeVar, column: string): boolean {
    if (this.validatedNotNull.has(`${table.relname}\0${column}`)) return true;
    // Validated here but added NOT VALID in an earlier migration: judge by the name (users_email_not_null).
    const needle = column.toLowerCase();
    return this.validatedNames.some((v) => v.table === table.relname && v.name.toLowerCase().includes(needle));
  }

  knownColumnType(table: RangeVar, column: string): TypeInfo | undefined {
    return this.model.columnType(table, column);
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
    if (stmt.kind !== 'LockStmt' && blockingLocks(stmt.kind, node).some((lock) => !lock.table || !this.isNew(lock.table))) {
      this.schemaChangeTransaction = this.transactionId;
    }
    switch (stmt.kind) {
      case 'TransactionStmt':
        this.observeTransaction(node);
        break;
      case 'VariableSetStmt':
        this.observeSet(node);
        break;
      case 'SelectStmt': {
        this.observeSetConfig(node);
        const into = (node.intoClause as { rel?: RangeVar } | undefined)?.rel;
        if (into) {
          this.addCreated(into);
          this.model.createTable(into);
          if (node.fromClause) this.populated.add(into.relname);
        }
        break;
      }
      case 'CreateStmt': {
        const relation = node.relation as RangeVar | undefined;
        if (!relation) break;
        // CREATE TABLE IF NOT EXISTS of a table that exists changes nothing.
        if (node.if_not_exists && this.model.exists(relation) === 'yes') break;
        this.addCreated(relation);
        this.model.createTable(relation);
        for (const element of (node.tableElts as PgNode[] | undefined) ?? []) {
          const column = asKind<ColumnDefNode>(element, 'ColumnDef');
          const type = typeInfo(column?.typeName);
          if (column?.colname && type) this.model.setColumnType(relation, column.colname, type);
        }
        break;
      }
      case 'CreateTableAsStmt': {
        const into = (node.into as { rel?: RangeVar } | undefined)?.rel;
        if (!into) break;
        this.addCreated(into);
        this.model.createTable(into, node.objtype === 'OBJECT_MATVIEW' ? 'matview' : 'table');
        if (!(node.into as { skipData?: boolean }).skipData) this.populated.add(into.relname);
        break;
      }
      case 'InsertStmt': {
        const relation = node.relation as RangeVar | undefined;
        const select = asKind<PgNode>(node.selectStmt, 'SelectStmt');
        // INSERT … SELECT … FROM fills the table; a few VALUES rows do not make a scan slow.
        if (relation && this.isNew(relation) && select && !select.valuesLists) this.populated.add(relation.relname);
        break;
      }
      case 'CopyStmt': {
        const relation = node.relation as RangeVar | undefined;
        if (relation && node.is_from && this.isNew(relation)) this.populated.add(relation.relname);
        break;
      }
      case 'ViewStmt': {
        const view = node.view as RangeVar | undefined;
        // CREATE OR REPLACE of an existing view keeps it: it is not new.
        if (view && !(node.replace && this.model.exists(view) === 'yes')) {
          this.addCreated(view);
          this.model.createTable(view, 'view');
        }
        break;
      }
      case 'IndexStmt': {
        const relation = node.relation as RangeVar | undefined;
        if (typeof node.idxname === 'string') {
          this.addCreated({ schemaname: relation?.schemaname, relname: node.idxname });
          this.model.addIndex(relation, node.idxname);
        }
        break;
      }
      case 'CreateSchemaStmt':
        if (typeof node.schemaname === 'string') this.model.createSchema(node.schemaname);
        break;
      case 'RenameStmt':
        this.observeRename(node);
        break;
      case 'DropStmt':
        this.observeDrop(node);
        break;
      case 'AlterObjectSchemaStmt': {
        const relation = node.relation as RangeVar | undefined;
        if (relation && typeof node.newschema === 'string') this.model.setSchema(relation, node.newschema);
        break;
      }
      case 'AlterTableStmt':
        this.observeAlterTable(node);
        break;
      default:
        break;
    }
  }

  private observeRename(node: PgNode): void {
    const relation = node.relation as RangeVar | undefined;
    const newname = typeof node.newname === 'string' ? node.newname : undefined;
    if (!relation || !newname) return;
    if (node.renameType === 'OBJECT_TABLE' || node.renameType === 'OBJECT_VIEW' || node.renameType === 'OBJECT_MATVIEW') {
      if (this.isNew(relation)) {
        this.addCreated({ schemaname: relation.schemaname, relname: newname });
        if (this.populated.has(relation.relname)) this.populated.add(newname);
      }
      this.model.renameTable(relation, newname);
    } else if (node.renameType === 'OBJECT_COLUMN' && typeof node.subname === 'string') {
      this.model.renameColumn(relation, node.subname, newname);
    }
  }

  private observeDrop(node: PgNode): void {
    const type = node.removeType as string | undefined;
    if (type === 'OBJECT_TABLE' || type === 'OBJECT_VIEW' || type === 'OBJECT_MATVIEW' || type === 'OBJECT_FOREIGN_TABLE') {
      for (const rel of droppedRelations(node)) this.model.dropTable(rel);
    } else if (type === 'OBJECT_INDEX') {
      for (const rel of droppedRelations(node)) this.model.dropIndex(rel.relname, rel.schemaname);
    } else if (type === 'OBJECT_SCHEMA') {
      for (const object of (node.objects as PgNode[] | undefined) ?? []) {
        const name = asKind<{ sval?: string }>(object, 'String')?.sval;
        if (name) this.model.dropSchema(name);
      }
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
    if ((node.objtype ?? 'OBJECT_TABLE') !== 'OBJECT_TABLE') return;
    for (const cmd of alterCommands(node)) {
      if (cmd.subtype === 'AT_AddColumn' || cmd.subtype === 'AT_AlterColumnType') {
        const column = asKind<ColumnDefNode>(cmd.def, 'ColumnDef');
        const name = cmd.subtype === 'AT_AddColumn' ? column?.colname : cmd.name;
        const type: TypeInfo | undefined = typeInfo(column?.typeName);
        if (name && type) this.model.setColumnType(table, name, type);
        for (const constraint of column ? columnConstraints(column) : []) this.observeConstraint(table, constraint);
      } else if (cmd.subtype === 'AT_DropColumn' && cmd.name) {
        this.model.dropColumn(table, cmd.name);
      } else if (cmd.subtype === 'AT_AddConstraint') {
        const constraint = asKind<ConstraintNode>(cmd.def, 'Constraint');
        if (constraint) this.observeConstraint(table, constraint);
      } else if (cmd.subtype === 'AT_ValidateConstraint' && cmd.name) {
        this.model.addConstraint(table, cmd.name, true);
        const pending = this.pendingConstraint(table, cmd.name);
        if (pending?.notNullColumn) this.validatedNotNull.add(`${table.relname}\0${pending.notNullColumn}`);
        else if (!pending) this.validatedNames.push({ table: table.relname, name: cmd.name });
      }
    }
  }

  private observeConstraint(table: RangeVar, constraint: ConstraintNode): void {
    if (constraint.conname) this.model.addConstraint(table, constraint.conname, !constraint.skip_validation);
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
}

/** The column of `CHECK (col IS NOT NULL)`, or undefined for any other check. */
export function notNullCheckColumn(expr: PgNode | undefined): string | undefined {
  const test = asKind<{ arg?: PgNode; nulltesttype?: string }>(expr, 'NullTest');
  if (!test || test.nulltesttype !== 'IS_NOT_NULL') return undefined;
  return columnRefName(test.arg);
}
