/**
 * RENAME COLUMN is instant, but the app servers still running the old code query the old name:
 * every such query fails from the moment the migration commits until they are all replaced.
 * https://www.postgresql.org/docs/current/sql-altertable.html
 */
import { showIdent, showRelation, type RangeVar } from '../ast.js';
import { defineRule } from './shared.js';

export const renamingColumn = defineRule({
  id: 'renaming-column',
  summary: 'Renaming a column breaks the app code that is still running',
  severity: 'error',
  kinds: ['RenameStmt'],
  check(stmt, ctx) {
    if (stmt.kind !== 'RenameStmt' || stmt.node.renameType !== 'OBJECT_COLUMN') return;
    if ((stmt.node.relationType ?? 'OBJECT_TABLE') !== 'OBJECT_TABLE') return;
    const table = stmt.node.relation as RangeVar | undefined;
    if (!ctx.isExisting(table)) return;
    const from = showIdent((stmt.node.subname as string | undefined) ?? '');
    const to = showIdent((stmt.node.newname as string | undefined) ?? '');
    const t = showRelation(table);
    ctx.report({
      message: `renaming \`${t}.${from}\` to \`${to}\` breaks every running app instance that still uses \`${from}\`: its queries fail from the moment this commits until new code runs everywhere`,
      help: [
        `ALTER TABLE ${t} ADD COLUMN ${to} …; -- same type`,
        `-- deploy code that writes both columns, backfill ${to} in batches, move reads to ${to},`,
        `-- then drop ${from} in a later migration (or keep the old name)`,
      ].join('\n'),
    });
  },
});
