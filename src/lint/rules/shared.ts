/**
 * Pieces the rules share: the rule constructor and the wording of recurring advice.
 */
import { alterCommands, asKind, columnConstraints, typeInfo, type AlterTableCmdNode, type ColumnDefNode, type ConstraintNode, type RangeVar, type TypeInfo } from '../ast.js';
import type { LintStatement, Rule, RuleContext } from '../types.js';

/** Build a rule; its documentation lives next to it in src/lint/rules/<id>.md. */
export function defineRule(rule: Omit<Rule, 'docs' | 'enabledByDefault' | 'sizeAware'> & { enabledByDefault?: boolean; sizeAware?: boolean }): Rule {
  return { enabledByDefault: true, sizeAware: false, docs: `src/lint/rules/${rule.id}.md`, ...rule };
}

/** A SQL comment line telling how to run a statement outside a transaction block, for this kind of file. */
export function outsideTransactionNote(ctx: RuleContext): string {
  return ctx.isDrydockMigration
    ? '-- alone in a migration whose marker line reads `-- migrate:up transaction:false`'
    : '-- outside any transaction block (no BEGIN … COMMIT around it)';
}

/** Where the transaction a statement runs in comes from, for messages. */
export function transactionSource(stmt: LintStatement, ctx: RuleContext): string {
  if (stmt.inDoBlock) return 'a DO block, which runs as one transaction';
  if (ctx.runnerTransaction) return 'the transaction drydock wraps this migration in';
  return 'an open transaction block';
}

/** `stmt.text` with a `;`, for help that repeats the statement. */
export function withSemicolon(sql: string): string {
  return sql.trimEnd().endsWith(';') ? sql.trimEnd() : `${sql.trimEnd()};`;
}

/** Note that tells the reader how to mark a reviewed statement as safe. */
export function suppressionHint(ruleId: string, why: string): string {
  return `-- if this is intended, say why above the statement: -- drydock:safe ${ruleId} ${why}`;
}

/** An ALTER TABLE … ADD COLUMN on a table the migration did not create. */
export interface AddedColumn {
  table: RangeVar;
  column: ColumnDefNode;
  name: string;
  type: TypeInfo | undefined;
  constraints: ConstraintNode[];
}

/** The columns an ALTER TABLE statement adds to an existing table ([] for anything else). */
export function addedColumns(stmt: LintStatement, ctx: RuleContext): AddedColumn[] {
  if (stmt.kind !== 'AlterTableStmt' || (stmt.node.objtype ?? 'OBJECT_TABLE') !== 'OBJECT_TABLE') return [];
  const table = stmt.node.relation as RangeVar | undefined;
  if (!table || !ctx.isExisting(table)) return [];
  const out: AddedColumn[] = [];
  for (const cmd of alterCommands(stmt.node)) {
    if (cmd.subtype !== 'AT_AddColumn') continue;
    const column = asKind<ColumnDefNode>(cmd.def, 'ColumnDef');
    if (!column?.colname) continue;
    out.push({ table, column, name: column.colname, type: typeInfo(column.typeName), constraints: columnConstraints(column) });
  }
  return out;
}

/** The commands of an ALTER TABLE on an existing table ([] for anything else, or a new table). */
export function existingTableCommands(stmt: LintStatement, ctx: RuleContext): { table: RangeVar; commands: AlterTableCmdNode[] } | undefined {
  if (stmt.kind !== 'AlterTableStmt') return undefined;
  const table = stmt.node.relation as RangeVar | undefined;
  if (!table || !ctx.isExisting(table)) return undefined;
  return { table, commands: alterCommands(stmt.node) };
}

/** Serial pseudo-types: a column of one gets a sequence and a nextval() default. */
export const SERIAL_TYPES = new Set(['serial', 'bigserial', 'smallserial', 'serial2', 'serial4', 'serial8']);
