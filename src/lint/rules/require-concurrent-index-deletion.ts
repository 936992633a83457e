/**
 * DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the index's table.
 * https://www.postgresql.org/docs/current/sql-dropindex.html
 */
import { showRelation } from '../ast.js';
import { droppedRelations } from '../locks.js';
import { defineRule, outsideTransactionNote } from './shared.js';

export const requireConcurrentIndexDeletion = defineRule({
  id: 'require-concurrent-index-deletion',
  summary: 'DROP INDEX without CONCURRENTLY blocks reads and writes of the table',
  severity: 'error',
  kinds: ['DropStmt'],
  check(stmt, ctx) {
    if (stmt.kind !== 'DropStmt' || stmt.node.removeType !== 'OBJECT_INDEX' || stmt.node.concurrent) return;
    const indexes = droppedRelations(stmt.node).filter((index) => ctx.isExisting(index));
    if (!indexes.length) return;
    const names = indexes.map(showRelation);
    ctx.report({
      message: `DROP INDEX ${names.map((n) => `\`${n}\``).join(', ')} takes an ACCESS EXCLUSIVE lock on the table: its reads and writes wait until the drop ends, and queue behind any long query on it`,
      help: [
        '-- drop it CONCURRENTLY (one index per statement): queries go on while it waits for them',
        ...names.map((n) => `DROP INDEX CONCURRENTLY${stmt.node.missing_ok ? ' IF EXISTS' : ''} ${n};`),
        outsideTransactionNote(ctx),
      ].join('\n'),
    });
  },
});
