/**
 * SET TABLESPACE copies the table's (or index's) files to the new tablespace under ACCESS
 * EXCLUSIVE. https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-TABLESPACE
 */
import { showIdent, showRelation } from '../ast.js';
import { defineRule, existingTableCommands } from './shared.js';

export const banSetTablespace = defineRule({
  id: 'ban-set-tablespace',
  summary: 'SET TABLESPACE copies the table or index under an ACCESS EXCLUSIVE lock',
  severity: 'error',
  sizeAware: true,
  kinds: ['AlterTableStmt', 'AlterTableMoveAllStmt'],
  check(stmt, ctx) {
    const help = '-- move a table online with pg_repack --tablespace; for an index, build a new one CONCURRENTLY in the new tablespace and drop the old one';
    if (stmt.kind === 'AlterTableMoveAllStmt') {
      ctx.report({
        message: `ALTER … ALL IN TABLESPACE ${showIdent((stmt.node.orig_tablespacename as string | undefined) ?? '')} copies every matching relation while holding ACCESS EXCLUSIVE locks on each: reads and writes wait`,
        help,
      });
      return;
    }
    const alter = existingTableCommands(stmt, ctx);
    if (!alter || !alter.commands.some((c) => c.subtype === 'AT_SetTableSpace')) return;
    const what = stmt.node.objtype === 'OBJECT_INDEX' ? 'index' : stmt.node.objtype === 'OBJECT_MATVIEW' ? 'materialized view' : 'table';
    ctx.report({
      message: `SET TABLESPACE copies ${what} \`${showRelation(alter.table)}\` file by file while holding an ACCESS EXCLUSIVE lock: reads and writes wait until the copy finishes`,
      help,
    });
  },
});
