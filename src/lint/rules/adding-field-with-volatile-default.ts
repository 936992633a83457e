/**
 * ADD COLUMN … DEFAULT: from Postgres 11 a non-volatile default is stored in the catalog and the
 * table is not touched; a volatile default (or any default before 11, or a STORED generated
 * column) is written into every row: a full table rewrite under ACCESS EXCLUSIVE. A VIRTUAL
 * generated column (Postgres 18) is computed when read and touches only the catalog.
 * https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
 */
import { asKind, showIdent, showRelation, showType, stringList, type PgNode } from '../ast.js';
import { nonNullDefault, volatility } from '../volatility.js';
import { addedColumns, defineRule } from './shared.js';

export const addingFieldWithVolatileDefault = defineRule({
  id: 'adding-field-with-volatile-default',
  summary: 'ADD COLUMN with a volatile default (any default before Postgres 11, or a stored generated column) rewrites the table',
  severity: 'error',
  sizeAware: true,
  kinds: ['AlterTableStmt'],
  check(stmt, ctx) {
    for (const added of addedColumns(stmt, ctx)) {
      const table = showRelation(added.table);
      const column = showIdent(added.name);
      const type = added.type ? showType(added.type) : 'type';
      const rewrite = `rewrites every row of \`${table}\` while holding an ACCESS EXCLUSIVE lock: reads and writes of \`${table}\` wait until it finishes`;
      const generated = added.constraints.find((c) => c.contype === 'CONSTR_GENERATED');
      if (generated) {
        // A virtual generated column (Postgres 18) is computed when read: adding one touches only the catalog.
        if (generated.generated_kind === 'v') continue;
        ctx.report({
          node: generated,
          message: `adding the stored generated column \`${column}\` computes it for every existing row: Postgres ${rewrite}`,
          help:
            ctx.pgVersion >= 18
              ? [`ALTER TABLE ${table} ADD COLUMN ${column} ${type} GENERATED ALWAYS AS (…) VIRTUAL; -- Postgres 18: computed when read, no rewrite`].join('\n')
              : [
                  `ALTER TABLE ${table} ADD COLUMN ${column} ${type};`,
                  '-- fill it in batches outside the migration, and keep it current with a trigger (or compute it in queries or a view)',
                ].join('\n'),
        });
        continue;
      }
      const expr = nonNullDefault(added.constraints);
      if (!expr) continue;
      const defaultConstraint = added.constraints.find((c) => c.contype === 'CONSTR_DEFAULT');
      const call = asKind<{ funcname?: PgNode[]; args?: PgNode[] }>(expr, 'FuncCall');
      const shownDefault = call && !call.args?.length ? `${stringList(call.funcname).map(showIdent).join('.')}()` : '…';
      const safeHelp = [
        `ALTER TABLE ${table} ADD COLUMN ${column} ${type};`,
        `ALTER TABLE ${table} ALTER COLUMN ${column} SET DEFAULT ${shownDefault}; -- applies to new rows only, no rewrite`,
        '-- then fill existing rows in batches, outside the schema migration',
      ];
      if (ctx.pgVersion < 11) {
        ctx.report({
          node: defaultConstraint,
          message: `before Postgres 11, ADD COLUMN with a DEFAULT writes the default into every row: Postgres ${rewrite}`,
          help: safeHelp.join('\n'),
        });
        continue;
      }
      const volatile = volatility(expr);
      if (!volatile) continue;
      ctx.report({
        node: defaultConstraint,
        message: volatile.known
          ? `the default of \`${column}\` calls ${volatile.culprit}, which is volatile: Postgres computes it row by row and ${rewrite}`
          : `drydock cannot tell whether ${volatile.culprit} in the default of \`${column}\` is volatile; if it is, Postgres computes it row by row and ${rewrite}`,
        help: safeHelp.join('\n'),
      });
    }
  },
});
