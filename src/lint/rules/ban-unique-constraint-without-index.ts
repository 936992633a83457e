/**
 * ADD CONSTRAINT … UNIQUE / PRIMARY KEY (and EXCLUDE) builds its index while the table is locked
 * ACCESS EXCLUSIVE. Build the unique index CONCURRENTLY first, then attach it with USING INDEX,
 * which only takes a brief lock.
 * https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX
 */
import { asKind, showIdent, showRelation, stringList, type ConstraintNode } from '../ast.js';
import { addedColumns, defineRule, existingTableCommands, outsideTransactionNote } from './shared.js';

const KIND: Record<string, string> = { CONSTR_UNIQUE: 'UNIQUE', CONSTR_PRIMARY: 'PRIMARY KEY', CONSTR_EXCLUSION: 'EXCLUDE' };

export const banUniqueConstraintWithoutIndex = defineRule({
  id: 'ban-unique-constraint-without-index',
  summary: 'UNIQUE or PRIMARY KEY added directly builds its index under an ACCESS EXCLUSIVE lock',
  severity: 'error',
  sizeAware: true,
  kinds: ['AlterTableStmt'],
  check(stmt, ctx) {
    const alter = existingTableCommands(stmt, ctx);
    if (!alter) return;
    const table = showRelation(alter.table);
    const report = (constraint: ConstraintNode, columns: string[]): void => {
      const kind = KIND[constraint.contype]!;
      const name = showIdent(constraint.conname ?? `${alter.table.relname}_${columns.join('_') || 'x'}_${constraint.contype === 'CONSTR_PRIMARY' ? 'pkey' : 'key'}`);
      const cols = columns.length ? columns.map(showIdent).join(', ') : '…';
      const message = `adding ${kind} ${constraint.conname ? `\`${name}\` ` : ''}builds its index while holding an ACCESS EXCLUSIVE lock on \`${table}\`: reads and writes wait until the index is built`;
      if (constraint.contype === 'CONSTR_EXCLUSION') {
        ctx.report({ node: constraint, message, help: '-- an exclusion constraint cannot use a prebuilt index: add it while the table is small, or in a maintenance window' });
        return;
      }
      ctx.report({
        node: constraint,
        message,
        help: [
          `CREATE UNIQUE INDEX CONCURRENTLY ${name} ON ${table} (${cols});`,
          outsideTransactionNote(ctx),
          '-- then attach it (a brief lock, no build):',
          `ALTER TABLE ${table} ADD CONSTRAINT ${name} ${kind} USING INDEX ${name};`,
          ...(constraint.contype === 'CONSTR_PRIMARY' ? ['-- (the columns must already be NOT NULL, or attaching scans the table to check them)'] : []),
        ].join('\n'),
      });
    };
    for (const cmd of alter.commands) {
      if (cmd.subtype !== 'AT_AddConstraint') continue;
      const constraint = asKind<ConstraintNode>(cmd.def, 'Constraint');
      if (!constraint || !(constraint.contype in KIND) || constraint.indexname) continue;
      report(constraint, stringList(constraint.keys));
    }
    for (const added of addedColumns(stmt, ctx)) {
      for (const constraint of added.constraints) {
        if (constraint.contype === 'CONSTR_UNIQUE' || constraint.contype === 'CONSTR_PRIMARY') report(constraint, [added.name]);
      }
    }
  },
});
