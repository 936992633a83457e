/**
 * REINDEX without CONCURRENTLY blocks writes to the table and every query that would use the index
 * until the rebuild ends. REINDEX CONCURRENTLY exists from Postgres 12.
 * https://www.postgresql.org/docs/current/sql-reindex.html
 */
import { showIdent, showRelation, type RangeVar } from '../ast.js';
import { isConcurrentReindex } from '../locks.js';
import { defineRule, outsideTransactionNote } from './shared.js';

const OBJECT: Record<string, string> = {
  REINDEX_OBJECT_INDEX: 'INDEX',
  REINDEX_OBJECT_TABLE: 'TABLE',
  REINDEX_OBJECT_SCHEMA: 'SCHEMA',
  REINDEX_OBJECT_DATABASE: 'DATABASE',
  REINDEX_OBJECT_SYSTEM: 'SYSTEM',
};

export const requireConcurrentReindex = defineRule({
  id: 'require-concurrent-reindex',
  summary: 'REINDEX without CONCURRENTLY blocks writes and the queries that use the index',
  severity: 'error',
  sizeAware: true,
  kinds: ['ReindexStmt'],
  check(stmt, ctx) {
    if (stmt.kind !== 'ReindexStmt' || isConcurrentReindex(stmt.node)) return;
    const relation = stmt.node.relation as RangeVar | undefined;
    if (relation && ctx.isNew(relation)) return;
    const object = OBJECT[String(stmt.node.kind)] ?? 'INDEX';
    const target = relation ? showRelation(relation) : showIdent((stmt.node.name as string | undefined) ?? '');
    ctx.report({
      message: `REINDEX ${object} ${target} blocks writes to the table and every query that would use the rebuilt index${object === 'INDEX' ? '' : 'es'} until the rebuild ends`,
      help:
        ctx.pgVersion >= 12
          ? [`REINDEX ${object} CONCURRENTLY ${target};`, outsideTransactionNote(ctx)].join('\n')
          : ['-- before Postgres 12: build a new index CONCURRENTLY, DROP INDEX CONCURRENTLY the old one, then rename the new one', outsideTransactionNote(ctx)].join('\n'),
    });
  },
});
