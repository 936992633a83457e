/**
 * CLUSTER rewrites the table in index order under ACCESS EXCLUSIVE.
 * https://www.postgresql.org/docs/current/sql-cluster.html
 */
import { showRelation, type RangeVar } from '../ast.js';
import { defineRule } from './shared.js';

export const banCluster = defineRule({
  id: 'ban-cluster',
  summary: 'CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock',
  severity: 'error',
  sizeAware: true,
  kinds: ['ClusterStmt'],
  check(stmt, ctx) {
    if (stmt.kind !== 'ClusterStmt') return;
    const table = stmt.node.relation as RangeVar | undefined;
    if (table && ctx.isNew(table)) return;
    ctx.report({
      message: `CLUSTER rewrites ${table ? `\`${showRelation(table)}\`` : 'every previously clustered table'} in index order while holding an ACCESS EXCLUSIVE lock: reads and writes wait until it finishes`,
      help: '-- reorder a table online with pg_repack (--order-by), outside the migration',
    });
  },
});
