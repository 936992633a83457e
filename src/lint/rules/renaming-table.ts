/**
 * RENAME TO is instant, but running app code still queries the old name and fails until it is
 * redeployed. A view with the old name keeps it working (simple views are updatable).
 * https://www.postgresql.org/docs/current/sql-altertable.html
 */
import { showIdent, showRelation, type RangeVar } from '../ast.js';
import { defineRule } from './shared.js';

export const renamingTable = defineRule({
  id: 'renaming-table',
  summary: 'Renaming a table breaks the app code that is still running',
  severity: 'error',
  kinds: ['RenameStmt'],
  check(stmt, ctx) {
    if (stmt.kind !== 'RenameStmt' || stmt.node.renameType !== 'OBJECT_TABLE') return;
    const table = stmt.node.relation as RangeVar | undefined;
    if (!ctx.isExisting(table)) return;
    const from = showRelation(table);
    const to = showIdent((stmt.node.newname as string | undefined) ?? '');
    ctx.report({
      message: `renaming \`${from}\` to \`${to}\` breaks every running app instance that still queries \`${from}\`: its queries fail until new code runs everywhere`,
      help: [
        `ALTER TABLE ${from} RENAME TO ${to};`,
        `CREATE VIEW ${from} AS SELECT * FROM ${table?.schemaname ? `${showIdent(table.schemaname)}.` : ''}${to}; -- old code keeps reading and writing through it`,
        '-- drop the view in a later migration, once no code uses the old name',
      ].join('\n'),
    });
  },
});
