/**
 * Adding a foreign key checks every existing row while holding SHARE ROW EXCLUSIVE on both tables
 * (writes wait). NOT VALID skips the check; VALIDATE CONSTRAINT later checks the rows under a lock
 * that lets reads and writes go on.
 *
 * A table created in the same migration is empty, so a foreign key on it checks nothing, unless the
 * migration filled it first (INSERT … SELECT, COPY): then the check reads every row it got, holding
 * SHARE ROW EXCLUSIVE on the existing table it references.
 * https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
 */
import { alterCommands, asKind, showIdent, showRelation, stringList, type ConstraintNode, type RangeVar } from '../ast.js';
import { nonNullDefault } from '../volatility.js';
import { addedColumns, defineRule, existingTableCommands, withSemicolon } from './shared.js';

function columnList(names: string[]): string {
  return names.length ? names.map(showIdent).join(', ') : '…';
}

export const addingForeignKeyConstraint = defineRule({
  id: 'adding-foreign-key-constraint',
  summary: 'A foreign key added without NOT VALID blocks writes to both tables while every row is checked',
  severity: 'error',
  sizeAware: true,
  kinds: ['AlterTableStmt'],
  check(stmt, ctx) {
    const filled = stmt.kind === 'AlterTableStmt' ? (stmt.node.relation as RangeVar | undefined) : undefined;
    if (filled && ctx.isPopulated(filled)) {
      for (const cmd of alterCommands(stmt.node)) {
        const constraint = asKind<ConstraintNode>(cmd.def, 'Constraint');
        if (cmd.subtype !== 'AT_AddConstraint' || constraint?.contype !== 'CONSTR_FOREIGN' || constraint.skip_validation || !ctx.isExisting(constraint.pktable)) continue;
        const table = showRelation(filled);
        const target = showRelation(constraint.pktable);
        const name = constraint.conname ? showIdent(constraint.conname) : '…';
        ctx.report({
          node: constraint,
          message: `\`${table}\` was filled earlier in this migration: adding foreign key ${constraint.conname ? `\`${name}\` ` : ''}checks every row it got while holding a SHARE ROW EXCLUSIVE lock on the existing table \`${target}\`: writes to \`${target}\` wait until the check finishes`,
          help: [
            `ALTER TABLE ${table} ADD CONSTRAINT ${name} FOREIGN KEY (${columnList(stringList(constraint.fk_attrs))}) REFERENCES ${target} (${columnList(stringList(constraint.pk_attrs))}) NOT VALID;`,
            '-- then, in a later migration (reads and writes go on while it checks):',
            `ALTER TABLE ${table} VALIDATE CONSTRAINT ${name};`,
          ].join('\n'),
        });
      }
      return;
    }
    const alter = existingTableCommands(stmt, ctx);
    if (!alter) return;
    const table = showRelation(alter.table);
    for (const cmd of alter.commands) {
      const constraint = asKind<ConstraintNode>(cmd.def, 'Constraint');
      if (cmd.subtype === 'AT_AddConstraint' && constraint?.contype === 'CONSTR_FOREIGN' && !constraint.skip_validation) {
        const name = constraint.conname ? `\`${showIdent(constraint.conname)}\` ` : '';
        const target = showRelation(constraint.pktable);
        const single = alter.commands.length === 1;
        ctx.report({
          node: constraint,
          message: `adding foreign key ${name}checks every row of \`${table}\` while holding SHARE ROW EXCLUSIVE locks on \`${table}\` and \`${target}\`: writes to both wait until the check finishes`,
          help: [
            single
              ? withSemicolon(`${stmt.text} NOT VALID`)
              : `ALTER TABLE ${table} ADD CONSTRAINT ${constraint.conname ? showIdent(constraint.conname) : '…'} FOREIGN KEY (${columnList(stringList(constraint.fk_attrs))}) REFERENCES ${target} (${columnList(stringList(constraint.pk_attrs))}) NOT VALID;`,
            '-- then, in a later migration (reads and writes go on while it checks):',
            `ALTER TABLE ${table} VALIDATE CONSTRAINT ${constraint.conname ? showIdent(constraint.conname) : '…'};`,
          ].join('\n'),
        });
      } else if (cmd.subtype === 'AT_ValidateConstraint' && cmd.name) {
        const pending = ctx.pendingConstraint(alter.table, cmd.name);
        if (pending?.kind !== 'foreign-key' || !ctx.inTransaction || pending.transactionId !== ctx.transactionId) continue;
        ctx.report({
          message: `VALIDATE CONSTRAINT \`${showIdent(cmd.name)}\` runs in the transaction that added it NOT VALID: the SHARE ROW EXCLUSIVE locks ADD CONSTRAINT took are held through the whole check, so writes wait anyway`,
          help: '-- validate in a later migration (or after COMMIT), so ADD CONSTRAINT … NOT VALID commits and releases its locks first',
        });
      }
    }
    // A new column without a default is all NULL, and Postgres skips the check for it; with a
    // default, every row has a value to look up in the referenced table.
    for (const added of addedColumns(stmt, ctx)) {
      const fk = added.constraints.find((c) => c.contype === 'CONSTR_FOREIGN');
      if (!fk || !nonNullDefault(added.constraints)) continue;
      const column = showIdent(added.name);
      const target = showRelation(fk.pktable);
      const name = showIdent(fk.conname ?? `${alter.table.relname}_${added.name}_fkey`);
      ctx.report({
        node: fk,
        message: `adding \`${column}\` with a default and REFERENCES \`${target}\` checks every row of \`${table}\` under an ACCESS EXCLUSIVE lock, and blocks writes to \`${target}\` meanwhile`,
        help: [
          `ALTER TABLE ${table} ADD COLUMN ${column} …; -- without REFERENCES (a column without a default is not checked)`,
          `ALTER TABLE ${table} ADD CONSTRAINT ${name} FOREIGN KEY (${column}) REFERENCES ${target} (${columnList(stringList(fk.pk_attrs))}) NOT VALID;`,
          '-- then, in a later migration:',
          `ALTER TABLE ${table} VALIDATE CONSTRAINT ${name};`,
        ].join('\n'),
      });
    }
  },
});
