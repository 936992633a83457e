/**
 * The shapes the linter passes around: statements with their place in the file, rules, findings.
 */
import type { PgNode, RangeVar, TypeInfo } from './ast.js';
import type { TableModel, TableSize } from './schema-model.js';

/**
 * How bad a finding is. Only errors make `drydock lint` exit 1 and stop a release. 'info' is a
 * note: a finding on a table the database showed to be small (it does not block).
 */
export type Severity = 'error' | 'warning' | 'info';

/** One problem found in one statement (or one file, for syntax errors). */
export interface Finding {
  /** The rule's id, e.g. 'require-concurrent-index-creation', or 'syntax-error', 'invalid-suppression'. */
  rule: string;
  severity: Severity;
  /** The file as the user named it (relative to the working directory when inside it). */
  file: string;
  /** 1-based line in the file. */
  line: number;
  /** 1-based column, in characters. */
  column: number;
  /** What Postgres will do, e.g. "blocks writes to `users` while the index builds". */
  message: string;
  /** The safe way to do the same thing, usually as SQL. */
  help: string | undefined;
  /** The statement's SQL, as written (undefined for findings about the whole file). */
  statement: string | undefined;
  /** For syntax errors: the lines around the error with a caret under it. */
  frame?: string | undefined;
  /** The migration section the statement is in, for drydock migrations. */
  section?: 'up' | 'down' | undefined;
}

/** A statement as the rules see it. */
export interface LintStatement {
  /** The parse node's type: 'AlterTableStmt', 'IndexStmt' … */
  kind: string;
  /** The fields of the parse node (`node[kind]`). */
  node: PgNode;
  /** The statement's SQL, without the `;` and surrounding comments. */
  text: string;
  /** 1-based line and column of the statement's first token in the file. */
  line: number;
  column: number;
  /** True for a statement found inside a DO block (it runs in the DO's transaction). */
  inDoBlock: boolean;
  /** File line and column of a UTF-8 byte offset (a node's `location`) in this statement's parse. */
  locate(location: number | undefined): { line: number; column: number };
}

/** What a rule reports. */
export interface Report {
  /** What Postgres will do, e.g. "blocks writes to `users` while the index builds". */
  message: string;
  /** The safe alternative, as SQL (with `--` comment lines). */
  help?: string | undefined;
  /** The parse node (or its `location`) to point at; the statement's start when absent or without a location. */
  node?: { location?: number | undefined } | number | undefined;
  /**
   * The table whose size decides how bad this is (the one rewritten, scanned or locked while the
   * work runs), for size-aware rules; their default is the statement's `relation`.
   */
  table?: RangeVar | undefined;
}

/** A constraint added NOT VALID earlier in the same migration. */
export interface PendingConstraint {
  table: RangeVar;
  /** 'not-null': Postgres 18's `ADD CONSTRAINT name NOT NULL col NOT VALID`. */
  kind: 'check' | 'foreign-key' | 'not-null';
  /** For `CHECK (col IS NOT NULL)` and NOT NULL constraints: the column. */
  notNullColumn: string | undefined;
  /** The transaction it was added in (see RuleContext.transactionId). */
  transactionId: number;
}

/** What a rule may ask about the migration so far, and how it reports. */
export interface RuleContext {
  /** Production's Postgres major, ordered by release (9.6 → 9.6, 15 → 15). */
  readonly pgVersion: number;
  /** The statement runs inside a transaction block (drydock's, an explicit BEGIN, a DO block, or assumed). */
  readonly inTransaction: boolean;
  /** Increases with each transaction; statements outside a transaction block each get their own. */
  readonly transactionId: number;
  /** The file is a drydock migration: drydock's runner sets lock_timeout and wraps sections in transactions. */
  readonly isDrydockMigration: boolean;
  /** The section runs in a transaction drydock opens (`-- migrate:up` without transaction:false). */
  readonly runnerTransaction: boolean;
  /** lock_timeout is in force for the statement (set in the file, or by drydock's runner). */
  readonly hasLockTimeout: boolean;
  /** An earlier statement of the section changed the schema of a table it did not create (in the same transaction, inside one). */
  readonly hasSchemaChange: boolean;
  /** True when the schema model was read from the database (so an unknown table does not exist yet). */
  readonly modelFromCatalog: boolean;
  /** True when the migration created this table (or index) before this statement: it is new and empty. */
  isNew(rel: RangeVar | undefined): boolean;
  /** True for a relation the migration did not create: it may be large and busy. */
  isExisting(rel: RangeVar | undefined): boolean;
  /** A constraint added NOT VALID earlier in this migration, by table and name. */
  pendingConstraint(table: RangeVar, name: string): PendingConstraint | undefined;
  /** A CHECK (column IS NOT NULL) on the table was validated earlier in this migration (or may have been, judging by a validated constraint's name). */
  hasValidatedNotNullCheck(table: RangeVar, column: string): boolean;
  /** The column's type, from the database or from the migrations before this statement (undefined when unknown). */
  knownColumnType(table: RangeVar, column: string): TypeInfo | undefined;
  /** The table was created earlier in this migration and filled since (INSERT … SELECT, COPY, CREATE TABLE AS). */
  isPopulated(rel: RangeVar | undefined): boolean;
  /** Whether the relation exists before this statement: 'unknown' when no database was read and no earlier migration created it. */
  relationExists(rel: RangeVar | undefined): 'yes' | 'no' | 'unknown';
  /** The table's measured size (only with a database; undefined for tables created in this run). */
  tableSize(rel: RangeVar | undefined): TableSize | undefined;
  /** Whether the model knows a schema, and the relations in it. */
  schemaContents(schema: string): { known: boolean; relations: TableModel[] };
  /** True the first time it is called with `key` in this section (for rules that report once per file). */
  firstTime(key: string): boolean;
  /** Report a finding of the running rule on the current statement. */
  report(report: Report): void;
}

/** One lint rule. `check` looks at one statement; everything about earlier statements comes from ctx. */
export interface Rule {
  /** kebab-case, verb first: 'require-concurrent-index-creation'. */
  id: string;
  /** One line: what the rule catches. */
  summary: string;
  severity: Severity;
  /** Off rules run only when asked for (none yet; kept so the registry can grow opt-in rules). */
  enabledByDefault: boolean;
  /**
   * The harm grows with the table (a rewrite, a scan, a lock held while either runs): with a database,
   * a finding on a small table is a note naming its size, and one on a large table says how large.
   */
  sizeAware: boolean;
  /** The rule's documentation, relative to the package root: src/lint/rules/<id>.md. */
  docs: string;
  /** The statement kinds `check` looks at ('AlterTableStmt' …); the linter calls it for no others. */
  kinds: readonly string[];
  check(stmt: LintStatement, ctx: RuleContext): void;
}
