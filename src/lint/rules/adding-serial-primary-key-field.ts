/**
 * ADD COLUMN of a serial type gives it a nextval() default, which is volatile: Postgres rewrites
 * the whole table under ACCESS EXCLUSIVE to number every row (and, with PRIMARY KEY, builds the
 * index under the same lock). https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-SERIAL
 */
import { showIdent, showRelation } from '../ast.js';
import { addedColumns, defineRule, SERIAL_TYPES } from './shared.js';

export const addingSerialPrimaryKeyField = defineRule({
  id: 'adding-serial-primary-key-field',
  summary: 'Adding a serial column to an existing table rewrites it under an ACCESS EXCLUSIVE lock',
  severity: 'error',
  sizeAware: true,
  kinds: ['AlterTableStmt'],
  check(stmt, ctx) {
    for (const added of addedColumns(stmt, ctx)) {
      if (!added.type || !SERIAL_TYPES.has(added.type.name)) continue;
      const table = showRelation(added.table);
      const column = showIdent(added.name);
      const isKey = added.constraints.some((c) => c.contype === 'CONSTR_PRIMARY');
      ctx.report({
        node: added.column.typeName,
        message: `adding ${added.type.name} column \`${column}\` numbers every existing row from a sequence: Postgres rewrites \`${table}\`${isKey ? ' and builds the primary key index' : ''} while holding an ACCESS EXCLUSIVE lock, blocking reads and writes`,
        help: [
          `CREATE SEQUENCE ${showIdent(`${added.table.relname}_${added.name}_seq`)};`,
          `ALTER TABLE ${table} ADD COLUMN ${column} bigint;`,
          `ALTER TABLE ${table} ALTER COLUMN ${column} SET DEFAULT nextval('${added.table.relname}_${added.name}_seq'); -- new rows only, no rewrite`,
          '-- backfill existing rows in batches, then build a unique index CONCURRENTLY and attach it with ADD PRIMARY KEY USING INDEX',
        ].join('\n'),
      });
    }
  },
});
