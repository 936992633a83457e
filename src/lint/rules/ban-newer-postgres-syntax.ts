/**
 * drydock parses with Postgres 18's grammar, so it reads syntax that production's older server
 * rejects: the migration would fail there with a syntax error. Flags the Postgres 18 additions that
 * migrations use when production runs an older major.
 * https://www.postgresql.org/docs/18/release-18.html
 */
import { alterCommands, asKind, columnConstraints, notNullConstraintColumn, showIdent, type ColumnDefNode, type ConstraintNode, type PgNode } from '../ast.js';
import { defineRule } from './shared.js';

/** The Postgres major whose grammar drydock parses with. */
export const PARSER_PG_VERSION = 18;

interface Use {
  node: { location?: number | undefined } | undefined;
  what: string;
  instead: string;
}

/** Postgres 18 syntax in one constraint (table or column constraint). */
function constraintUse(constraint: ConstraintNode, column: string | undefined): Use | undefined {
  const notNull = notNullConstraintColumn(constraint);
  if (notNull) {
    const col = showIdent(notNull);
    return constraint.skip_validation
      ? { node: constraint, what: '`NOT NULL … NOT VALID`', instead: `ADD CONSTRAINT … CHECK (${col} IS NOT NULL) NOT VALID, then VALIDATE CONSTRAINT in a later migration` }
      : { node: constraint, what: '`NOT NULL column` as a table constraint', instead: `ALTER COLUMN ${col} SET NOT NULL (or a CHECK (${col} IS NOT NULL) NOT VALID constraint)` };
  }
  if (constraint.contype === 'CONSTR_GENERATED' && constraint.generated_kind === 'v') {
    return { node: constraint, what: `a virtual generated column${column ? ` (\`${showIdent(column)}\`)` : ''}`, instead: 'GENERATED ALWAYS AS (…) STORED, or compute it in queries or a view' };
  }
  if ((constraint.contype === 'CONSTR_CHECK' || constraint.contype === 'CONSTR_FOREIGN') && !constraint.is_enforced) {
    return { node: constraint, what: '`NOT ENFORCED`', instead: 'leave the constraint out, or add it NOT VALID and VALIDATE it later' };
  }
  return undefined;
}

function columnUses(element: PgNode | undefined): Use[] {
  const column = asKind<ColumnDefNode>(element, 'ColumnDef');
  if (!column) return [];
  return columnConstraints(column).flatMap((c) => constraintUse(c, column.colname) ?? []);
}

export const banNewerPostgresSyntax = defineRule({
  id: 'ban-newer-postgres-syntax',
  summary: "Syntax that production's Postgres does not have yet (Postgres 18's, on an older server) fails the migration",
  severity: 'error',
  kinds: ['CreateStmt', 'AlterTableStmt'],
  check(stmt, ctx) {
    if (ctx.pgVersion >= PARSER_PG_VERSION) return;
    const uses: Use[] = [];
    if (stmt.kind === 'CreateStmt') {
      for (const element of (stmt.node.tableElts as PgNode[] | undefined) ?? []) {
        const constraint = asKind<ConstraintNode>(element, 'Constraint');
        const use = constraint ? constraintUse(constraint, undefined) : undefined;
        uses.push(...(use ? [use] : columnUses(element)));
      }
    } else {
      for (const cmd of alterCommands(stmt.node)) {
        if (cmd.subtype === 'AT_AddColumn') uses.push(...columnUses(cmd.def));
        const constraint = cmd.subtype === 'AT_AddConstraint' ? asKind<ConstraintNode>(cmd.def, 'Constraint') : undefined;
        const use = constraint ? constraintUse(constraint, undefined) : undefined;
        if (use) uses.push(use);
        const altered = cmd.subtype === 'AT_AlterConstraint' ? asKind<{ alterEnforceability?: boolean; alterInheritability?: boolean }>(cmd.def, 'ATAlterConstraint') : undefined;
        if (altered?.alterEnforceability) uses.push({ node: undefined, what: '`ALTER CONSTRAINT … [NOT] ENFORCED`', instead: 'drop and re-add the constraint (NOT VALID, then VALIDATE in a later migration)' });
        if (altered?.alterInheritability) uses.push({ node: undefined, what: '`ALTER CONSTRAINT … [NO] INHERIT`', instead: 'drop and re-add the constraint' });
      }
    }
    for (const use of uses) {
      ctx.report({
        node: use.node,
        message: `${use.what} is Postgres ${PARSER_PG_VERSION} syntax, and production runs Postgres ${ctx.pgVersion}: the migration fails there with a syntax error`,
        help: `-- on Postgres ${ctx.pgVersion}: ${use.instead}\n-- (or, if production already runs ${PARSER_PG_VERSION}, say so: --pg-version ${PARSER_PG_VERSION} or "pgVersion": ${PARSER_PG_VERSION} in drydock.json)`,
      });
    }
  },
});
