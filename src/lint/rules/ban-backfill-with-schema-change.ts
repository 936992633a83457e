/**
 * An UPDATE or DELETE over a whole table after a schema change in the same migration: inside one
 * transaction the locks the DDL took (ACCESS EXCLUSIVE for most ALTER TABLEs) are held until the
 * backfill ends, blocking all traffic to the table; outside one, it is still one long statement
 * that locks every row it touches, and the deploy waits for it.
 * Order matters: an UPDATE or DELETE that runs before the first schema change (a de-duplicating DELETE
 * ahead of a unique index) holds none of its locks. Updates of the system catalogs (`UPDATE pg_index`)
 * are not backfills.
 * https://www.postgresql.org/docs/current/explicit-locking.html
 */
import { asKind, columnRefName, showRelation, stringList, type PgNode, type RangeVar } from '../ast.js';
import { defineRule } from './shared.js';

function isConstant(node: unknown): boolean {
  const cast = asKind<{ arg?: PgNode }>(node, 'TypeCast');
  if (cast) return isConstant(cast.arg);
  return asKind(node, 'A_Const') !== undefined || asKind(node, 'ParamRef') !== undefined;
}

/** True when a WHERE clause picks out particular rows (`id = 5`, `id IN (…)`, BETWEEN, a LIMITed subquery): a data fix or one batch, not a backfill. */
export function isRowLimited(where: PgNode | undefined): boolean {
  if (!where) return false;
  const bool = asKind<{ boolop?: string; args?: PgNode[] }>(where, 'BoolExpr');
  if (bool) return bool.boolop === 'AND_EXPR' ? (bool.args ?? []).some(isRowLimited) : bool.boolop === 'OR_EXPR' && (bool.args ?? []).every(isRowLimited);
  const expr = asKind<{ kind?: string; name?: PgNode[]; lexpr?: PgNode; rexpr?: PgNode }>(where, 'A_Expr');
  if (expr) {
    const op = stringList(expr.name)[0];
    const hasColumn = columnRefName(expr.lexpr) !== undefined || columnRefName(expr.rexpr) !== undefined;
    if (expr.kind === 'AEXPR_OP' && op === '=') return hasColumn && (isConstant(expr.lexpr) || isConstant(expr.rexpr));
    if (expr.kind === 'AEXPR_IN' && op === '=') return hasColumn && (asKind<{ items?: PgNode[] }>(expr.rexpr, 'List')?.items ?? []).every(isConstant);
    if (expr.kind === 'AEXPR_BETWEEN') return hasColumn;
    return false;
  }
  const sublink = asKind<{ subselect?: PgNode }>(where, 'SubLink');
  if (sublink) {
    const select = asKind<{ limitCount?: PgNode }>(sublink.subselect, 'SelectStmt');
    return select?.limitCount !== undefined;
  }
  return false;
}

/** A system catalog (pg_catalog.pg_index, information_schema …): writing to it is not a data backfill. */
function isSystemCatalog(table: RangeVar | undefined): boolean {
  if (!table) return false;
  if (table.schemaname === 'pg_catalog' || table.schemaname === 'information_schema') return true;
  return table.schemaname === undefined && table.relname.startsWith('pg_');
}

export const banBackfillWithSchemaChange = defineRule({
  id: 'ban-backfill-with-schema-change',
  summary: 'An UPDATE or DELETE over a whole table after a schema change in the same migration',
  severity: 'error',
  sizeAware: true,
  kinds: ['UpdateStmt', 'DeleteStmt'],
  check(stmt, ctx) {
    if (stmt.kind !== 'UpdateStmt' && stmt.kind !== 'DeleteStmt') return;
    if (!ctx.hasSchemaChange) return;
    const table = stmt.node.relation as RangeVar | undefined;
    if (!ctx.isExisting(table) || isSystemCatalog(table)) return;
    if (isRowLimited(stmt.node.whereClause as PgNode | undefined)) return;
    const verb = stmt.kind === 'UpdateStmt' ? 'UPDATE' : 'DELETE';
    const t = showRelation(table);
    const what = `${verb} over all of \`${t}\`${stmt.node.whereClause ? ' (its WHERE picks out no particular rows)' : ''}`;
    ctx.report({
      message: ctx.inTransaction
        ? `${what} runs in the same transaction as this migration's schema changes: the locks they took are held until it finishes, blocking the tables they changed`
        : `${what} in a schema migration is one long statement that locks every row it changes, and the deploy waits for it`,
      help: [
        '-- move the backfill out of the schema migration: run it after the deploy, in batches, each in its own transaction:',
        verb === 'UPDATE' ? `UPDATE ${t} SET … WHERE id IN (SELECT id FROM ${t} WHERE … LIMIT 10000);` : `DELETE FROM ${t} WHERE id IN (SELECT id FROM ${t} WHERE … LIMIT 10000);`,
        '-- (repeat until it changes no rows)',
      ].join('\n'),
    });
  },
});
