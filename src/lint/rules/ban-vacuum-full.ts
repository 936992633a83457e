/**
 * VACUUM FULL writes a new copy of the table under ACCESS EXCLUSIVE (and needs the disk for it).
 * https://www.postgresql.org/docs/current/sql-vacuum.html
 */
import { asKind, showRelation, type PgNode, type RangeVar } from '../ast.js';
import { isVacuumFull } from '../locks.js';
import { defineRule } from './shared.js';

export const banVacuumFull = defineRule({
  id: 'ban-vacuum-full',
  summary: 'VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock',
  severity: 'error',
  sizeAware: true,
  kinds: ['VacuumStmt'],
  check(stmt, ctx) {
    if (stmt.kind !== 'VacuumStmt' || !isVacuumFull(stmt.node)) return;
    const tables = ((stmt.node.rels as PgNode[] | undefined) ?? []).map((r) => asKind<{ relation?: RangeVar }>(r, 'VacuumRelation')?.relation);
    if (tables.length && tables.every((t) => ctx.isNew(t))) return;
    const what = tables.length ? tables.map((t) => `\`${showRelation(t)}\``).join(', ') : 'every table in the database';
    ctx.report({
      message: `VACUUM FULL rewrites ${what} into new files while holding an ACCESS EXCLUSIVE lock: reads and writes wait until it finishes, and it needs room for a full copy`,
      help: '-- plain VACUUM (reads and writes go on) makes dead space reusable; to shrink a table online use pg_repack or pg_squeeze',
    });
  },
});
