/**
 * ALTER COLUMN … SET NOT NULL scans the whole table for NULLs under ACCESS EXCLUSIVE. From
 * Postgres 12 the scan is skipped when a validated CHECK (col IS NOT NULL) constraint proves it.
 * https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL
 */
import { showIdent, showRelation } from '../ast.js';
import { defineRule, existingTableCommands } from './shared.js';

export const banSetNotNull = defineRule({
  id: 'ban-set-not-null',
  summary: 'SET NOT NULL on an existing column scans the table under an ACCESS EXCLUSIVE lock',
  severity: 'error',
  sizeAware: true,
  kinds: ['AlterTableStmt'],
  check(stmt, ctx) {
    const alter = existingTableCommands(stmt, ctx);
    if (!alter) return;
    for (const cmd of alter.commands) {
      if (cmd.subtype !== 'AT_SetNotNull' || !cmd.name) continue;
      if (ctx.pgVersion >= 12 && ctx.hasValidatedNotNullCheck(alter.table, cmd.name)) continue;
      const table = showRelation(alter.table);
      const column = showIdent(cmd.name);
      const check = showIdent(`${alter.table.relname}_${cmd.name}_not_null`);
      ctx.report({
        message: `SET NOT NULL on \`${table}.${column}\` scans all of \`${table}\` for NULLs while holding an ACCESS EXCLUSIVE lock: reads and writes wait until the scan finishes`,
        help:
          ctx.pgVersion >= 12
            ? [
                `ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${column} IS NOT NULL) NOT VALID;`,
                '-- then, in a later migration (VALIDATE takes a SHARE UPDATE EXCLUSIVE lock: reads and writes go on):',
                `ALTER TABLE ${table} VALIDATE CONSTRAINT ${check};`,
                `ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL; -- Postgres 12+ trusts the validated check: no scan`,
                `ALTER TABLE ${table} DROP CONSTRAINT ${check};`,
              ].join('\n')
            : [
                '-- before Postgres 12 SET NOT NULL always scans; enforce it with a validated check instead:',
                `ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${column} IS NOT NULL) NOT VALID;`,
                '-- then, in a later migration:',
                `ALTER TABLE ${table} VALIDATE CONSTRAINT ${check};`,
              ].join('\n'),
      });
    }
  },
});
