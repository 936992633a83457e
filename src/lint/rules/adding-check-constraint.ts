/**
 * Adding a CHECK constraint scans every row under ACCESS EXCLUSIVE (reads and writes wait). NOT
 * VALID skips the scan; VALIDATE CONSTRAINT later scans under SHARE UPDATE EXCLUSIVE.
 * https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
 */
import { asKind, showIdent, showRelation, stringList, type ConstraintNode, type PgNode, type RangeVar } from '../ast.js';
import { addedColumns, defineRule, existingTableCommands, withSemicolon } from './shared.js';

export const addingCheckConstraint = defineRule({
  id: 'adding-check-constraint',
  summary: 'A CHECK constraint added without NOT VALID scans the table under an ACCESS EXCLUSIVE lock',
  severity: 'error',
  sizeAware: true,
  kinds: ['AlterTableStmt', 'AlterDomainStmt'],
  check(stmt, ctx) {
    // ALTER DOMAIN … ADD CONSTRAINT checks every column of that domain, in every table.
    if (stmt.kind === 'AlterDomainStmt' && stmt.node.subtype === 'C') {
      const constraint = asKind<ConstraintNode>(stmt.node.def, 'Constraint');
      if (constraint?.contype === 'CONSTR_CHECK' && !constraint.skip_validation) {
        const domain = stringList(stmt.node.typeName as PgNode[] | undefined).map(showIdent).join('.');
        ctx.report({
          node: constraint,
          message: `adding a CHECK constraint to domain \`${domain}\` scans every table with a column of that domain, holding locks that block their writes until it finishes`,
          help: [withSemicolon(`${stmt.text} NOT VALID`), '-- then, in a later migration:', `ALTER DOMAIN ${domain} VALIDATE CONSTRAINT ${constraint.conname ? showIdent(constraint.conname) : '…'};`].join('\n'),
        });
      }
      return;
    }
    const alter = existingTableCommands(stmt, ctx);
    if (!alter) return;
    const table = showRelation(alter.table);
    for (const cmd of alter.commands) {
      const constraint = asKind<ConstraintNode>(cmd.def, 'Constraint');
      if (cmd.subtype === 'AT_AddConstraint' && constraint?.contype === 'CONSTR_CHECK' && !constraint.skip_validation) {
        const name = constraint.conname ? showIdent(constraint.conname) : undefined;
        ctx.report({
          node: constraint,
          message: `adding CHECK constraint ${name ? `\`${name}\` ` : ''}scans all of \`${table}\` while holding an ACCESS EXCLUSIVE lock: reads and writes wait until every row is checked`,
          help: [
            alter.commands.length === 1 ? withSemicolon(`${stmt.text} NOT VALID`) : `ALTER TABLE ${table} ADD CONSTRAINT ${name ?? '…'} CHECK (…) NOT VALID;`,
            '-- then, in a later migration (reads and writes go on while it checks):',
            `ALTER TABLE ${table} VALIDATE CONSTRAINT ${name ?? '…'};`,
          ].join('\n'),
        });
      } else if (cmd.subtype === 'AT_ValidateConstraint' && cmd.name) {
        reportValidateInSameTransaction(alter.table, cmd.name);
      }
    }
    for (const added of addedColumns(stmt, ctx)) {
      const check = added.constraints.find((c) => c.contype === 'CONSTR_CHECK');
      if (!check) continue;
      const column = showIdent(added.name);
      ctx.report({
        node: check,
        message: `adding \`${column}\` with a CHECK constraint scans all of \`${table}\` to check it, under the ACCESS EXCLUSIVE lock ADD COLUMN holds: reads and writes wait`,
        help: [
          `ALTER TABLE ${table} ADD COLUMN ${column} …; -- without the CHECK`,
          `ALTER TABLE ${table} ADD CONSTRAINT ${showIdent(check.conname ?? `${alter.table.relname}_${added.name}_check`)} CHECK (…) NOT VALID;`,
          '-- then VALIDATE CONSTRAINT in a later migration',
        ].join('\n'),
      });
    }

    function reportValidateInSameTransaction(rel: RangeVar, name: string): void {
      const pending = ctx.pendingConstraint(rel, name);
      if (pending?.kind !== 'check' || !ctx.inTransaction || pending.transactionId !== ctx.transactionId) return;
      ctx.report({
        message: `VALIDATE CONSTRAINT \`${showIdent(name)}\` runs in the transaction that added it NOT VALID: the ACCESS EXCLUSIVE lock ADD CONSTRAINT took is held through the whole scan, so reads and writes wait anyway`,
        help: '-- validate in a later migration (or after COMMIT), so ADD CONSTRAINT … NOT VALID commits and releases its lock first',
      });
    }
  },
});
