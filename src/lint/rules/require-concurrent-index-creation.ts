/**
 * CREATE INDEX without CONCURRENTLY holds a SHARE lock on the table for the whole build: reads go
 * on, every INSERT, UPDATE and DELETE waits. https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
 */
import { showRelation, type RangeVar } from '../ast.js';
import { defineRule, outsideTransactionNote, withSemicolon } from './shared.js';

/** Add CONCURRENTLY to a CREATE INDEX statement's text (for help). */
export function concurrentIndexSql(text: string): string {
  const match = /^(CREATE\s+(?:UNIQUE\s+)?INDEX)\s+/i.exec(text);
  return match ? withSemicolon(`${match[1]} CONCURRENTLY ${text.slice(match[0].length)}`) : 'CREATE INDEX CONCURRENTLY … ;';
}

export const requireConcurrentIndexCreation = defineRule({
  id: 'require-concurrent-index-creation',
  summary: 'CREATE INDEX on an existing table without CONCURRENTLY blocks writes while the index builds',
  severity: 'error',
  sizeAware: true,
  kinds: ['IndexStmt'],
  check(stmt, ctx) {
    if (stmt.kind !== 'IndexStmt' || stmt.node.concurrent) return;
    const table = stmt.node.relation as RangeVar | undefined;
    if (!ctx.isExisting(table)) return;
    // CREATE INDEX … ON ONLY a partitioned table builds nothing (an invalid parent index that
    // per-partition indexes, built CONCURRENTLY, are then attached to): the recommended pattern.
    if (table && table.inh !== true) return;
    const unique = stmt.node.unique ? 'UNIQUE ' : '';
    ctx.report({
      message: `CREATE ${unique}INDEX blocks writes to \`${showRelation(table)}\` while the index builds (it holds a SHARE lock on the table until the build ends)`,
      help: [`-- build it CONCURRENTLY: writes go on while it builds`, concurrentIndexSql(stmt.text), outsideTransactionNote(ctx)].join('\n'),
    });
  },
});
