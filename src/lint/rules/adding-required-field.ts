/**
 * ADD COLUMN … NOT NULL without a default: Postgres has no value for the existing rows, so the
 * statement fails on any table that has rows (and takes ACCESS EXCLUSIVE to try).
 * https://www.postgresql.org/docs/current/sql-altertable.html
 */
import { showIdent, showRelation, showType, type ConstraintNode } from '../ast.js';
import { nonNullDefault } from '../volatility.js';
import { addedColumns, defineRule, SERIAL_TYPES, type AddedColumn } from './shared.js';

/**
 * The NOT NULL or PRIMARY KEY constraint of a column added without anything to fill the existing
 * rows with (no non-null default; not identity, generated or serial), or undefined. Adding it fails
 * on a table with rows (drydock rehearse counts them: src/rehearse/data-check-plan.ts).
 */
export function requiredWithoutValue(added: AddedColumn): ConstraintNode | undefined {
  const notNull = added.constraints.find((c) => c.contype === 'CONSTR_NOTNULL' || c.contype === 'CONSTR_PRIMARY');
  if (!notNull) return undefined;
  // Identity, generated and serial columns bring their own values.
  if (added.constraints.some((c) => c.contype === 'CONSTR_IDENTITY' || c.contype === 'CONSTR_GENERATED')) return undefined;
  if (added.type && SERIAL_TYPES.has(added.type.name)) return undefined;
  return nonNullDefault(added.constraints) ? undefined : notNull;
}

export const addingRequiredField = defineRule({
  id: 'adding-required-field',
  summary: 'ADD COLUMN … NOT NULL without a default fails on a table with rows',
  severity: 'error',
  kinds: ['AlterTableStmt'],
  check(stmt, ctx) {
    for (const added of addedColumns(stmt, ctx)) {
      const notNull = requiredWithoutValue(added);
      if (!notNull) continue;
      const table = showRelation(added.table);
      const column = showIdent(added.name);
      const type = added.type ? showType(added.type) : 'type';
      ctx.report({
        node: notNull,
        message: `adding \`${column}\` as NOT NULL without a default fails if \`${table}\` has any rows: Postgres has no value to give them`,
        help:
          ctx.pgVersion >= 11
            ? [`-- give it a constant default: instant on Postgres 11+, no rewrite`, `ALTER TABLE ${table} ADD COLUMN ${column} ${type} NOT NULL DEFAULT …;`].join('\n')
            : [
                `ALTER TABLE ${table} ADD COLUMN ${column} ${type};`,
                '-- fill it in batches, then enforce it with a CHECK (… IS NOT NULL) NOT VALID constraint and VALIDATE it in a later migration',
              ].join('\n'),
      });
    }
  },
});
