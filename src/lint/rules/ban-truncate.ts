/**
 * TRUNCATE deletes every row at once (no WHERE, no undo after COMMIT) under ACCESS EXCLUSIVE;
 * CASCADE empties every table that references it too.
 * https://www.postgresql.org/docs/current/sql-truncate.html
 */
import { asKind, showRelation, type PgNode, type RangeVar } from '../ast.js';
import { defineRule, suppressionHint } from './shared.js';

export const banTruncate = defineRule({
  id: 'ban-truncate',
  summary: 'TRUNCATE deletes every row of a table under an ACCESS EXCLUSIVE lock',
  severity: 'error',
  kinds: ['TruncateStmt'],
  check(stmt, ctx) {
    if (stmt.kind !== 'TruncateStmt') return;
    const tables = ((stmt.node.relations as PgNode[] | undefined) ?? []).map((r) => asKind<RangeVar>(r, 'RangeVar')).filter((t) => t && ctx.isExisting(t));
    if (!tables.length) return;
    const cascade = stmt.node.behavior === 'DROP_CASCADE';
    ctx.report({
      message: `TRUNCATE deletes every row of ${tables.map((t) => `\`${showRelation(t)}\``).join(', ')} for good while holding an ACCESS EXCLUSIVE lock${cascade ? ', and CASCADE also empties every table with a foreign key to it' : ''}`,
      help: ['-- to remove rows gradually, DELETE in batches outside the migration', suppressionHint('ban-truncate', 'the table only holds <what>, safe to empty')].join('\n'),
    });
  },
});
