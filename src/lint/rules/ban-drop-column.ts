/**
 * DROP COLUMN deletes the column's data for good, and app code that still reads or writes it (or
 * caches the table's columns, like Active Record) fails until redeployed.
 * https://www.postgresql.org/docs/current/sql-altertable.html
 */
import { showIdent, showRelation } from '../ast.js';
import { defineRule, existingTableCommands, suppressionHint } from './shared.js';

export const banDropColumn = defineRule({
  id: 'ban-drop-column',
  summary: 'Dropping a column deletes its data and breaks code that still uses it',
  severity: 'error',
  kinds: ['AlterTableStmt'],
  check(stmt, ctx) {
    const alter = existingTableCommands(stmt, ctx);
    if (!alter || (stmt.node.objtype ?? 'OBJECT_TABLE') !== 'OBJECT_TABLE') return;
    for (const cmd of alter.commands) {
      if (cmd.subtype !== 'AT_DropColumn' || !cmd.name) continue;
      const table = showRelation(alter.table);
      const column = showIdent(cmd.name);
      ctx.report({
        message: `dropping \`${table}.${column}\` deletes its data for good, and app instances that still read or write \`${column}\` fail until they are redeployed${cmd.behavior === 'DROP_CASCADE' ? ' (CASCADE also drops the views and constraints that use it)' : ''}`,
        help: [
          `-- first deploy code that no longer uses ${column} (Rails: self.ignored_columns += ["${cmd.name}"]),`,
          '-- then drop it in a later migration, with a backup of the data if it may be needed',
          suppressionHint('ban-drop-column', 'no code reads it since <release>'),
        ].join('\n'),
      });
    }
  },
});
