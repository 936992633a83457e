/**
 * CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY and DETACH PARTITION CONCURRENTLY refuse to
 * run inside a transaction block (SQLSTATE 25001): the migration fails.
 * https://www.postgresql.org/docs/current/sql-createindex.html
 */
import { alterCommands, asKind } from '../ast.js';
import { isConcurrentReindex } from '../locks.js';
import type { LintStatement } from '../types.js';
import { defineRule, outsideTransactionNote, transactionSource } from './shared.js';

function concurrentCommand(stmt: LintStatement): string | undefined {
  const node = stmt.node;
  switch (stmt.kind) {
    case 'IndexStmt':
      return node.concurrent ? 'CREATE INDEX CONCURRENTLY' : undefined;
    case 'DropStmt':
      return node.concurrent && node.removeType === 'OBJECT_INDEX' ? 'DROP INDEX CONCURRENTLY' : undefined;
    case 'ReindexStmt':
      return isConcurrentReindex(node) ? 'REINDEX CONCURRENTLY' : undefined;
    case 'AlterTableStmt':
      return alterCommands(node).some((c) => c.subtype === 'AT_DetachPartition' && asKind<{ concurrent?: boolean }>(c.def, 'PartitionCmd')?.concurrent)
        ? 'DETACH PARTITION CONCURRENTLY'
        : undefined;
    default:
      return undefined;
  }
}

export const banConcurrentIndexInTransaction = defineRule({
  id: 'ban-concurrent-index-in-transaction',
  summary: 'CONCURRENTLY index operations inside a transaction block fail',
  severity: 'error',
  kinds: ['IndexStmt', 'DropStmt', 'ReindexStmt', 'AlterTableStmt'],
  check(stmt, ctx) {
    if (!ctx.inTransaction) return;
    const command = concurrentCommand(stmt);
    if (!command) return;
    ctx.report({
      message: `${command} cannot run inside a transaction block, and this one runs in ${transactionSource(stmt, ctx)}: Postgres rejects it and the migration fails`,
      help: [
        outsideTransactionNote(ctx),
        '-- keep it the only statement there: if it fails half way, CREATE INDEX CONCURRENTLY leaves an INVALID index to drop before retrying',
      ].join('\n'),
    });
  },
});
