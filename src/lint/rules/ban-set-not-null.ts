/**
 * Making an existing column NOT NULL (`ALTER COLUMN … SET NOT NULL`, or Postgres 18's
 * `ADD CONSTRAINT name NOT NULL col`) scans the whole table for NULLs under ACCESS EXCLUSIVE.
 * From Postgres 12 the scan is skipped when a validated CHECK (col IS NOT NULL) constraint proves
 * it; from Postgres 18 a NOT NULL constraint can be added NOT VALID and validated later under
 * SHARE UPDATE EXCLUSIVE.
 * https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL
 */
import { asKind, notNullConstraintColumn, showIdent, showRelation, type ConstraintNode, type RangeVar } from '../ast.js';
import type { RuleContext } from '../types.js';
import { defineRule, existingTableCommands } from './shared.js';

/** The first Postgres major with NOT NULL constraints that can be NOT VALID. */
export const NOT_NULL_NOT_VALID_SINCE = 18;

export const banSetNotNull = defineRule({
  id: 'ban-set-not-null',
  summary: 'SET NOT NULL (or ADD CONSTRAINT … NOT NULL) on an existing column scans the table under an ACCESS EXCLUSIVE lock',
  severity: 'error',
  sizeAware: true,
  kinds: ['AlterTableStmt'],
  check(stmt, ctx) {
    const alter = existingTableCommands(stmt, ctx);
    if (!alter) return;
    const table = showRelation(alter.table);
    for (const cmd of alter.commands) {
      if (cmd.subtype === 'AT_SetNotNull' && cmd.name) {
        if (ctx.pgVersion >= 12 && ctx.hasValidatedNotNullCheck(alter.table, cmd.name)) continue;
        ctx.report({
          message: `SET NOT NULL on \`${table}.${showIdent(cmd.name)}\` scans all of \`${table}\` for NULLs while holding an ACCESS EXCLUSIVE lock: reads and writes wait until the scan finishes`,
          help: safeNotNull(alter.table, cmd.name, undefined, ctx),
        });
        continue;
      }
      const constraint = asKind<ConstraintNode>(cmd.def, 'Constraint');
      const column = notNullConstraintColumn(constraint);
      if (cmd.subtype === 'AT_AddConstraint' && column && !constraint?.skip_validation) {
        if (ctx.hasValidatedNotNullCheck(alter.table, column)) continue;
        const name = constraint?.conname;
        ctx.report({
          node: constraint,
          message: `adding NOT NULL constraint ${name ? `\`${showIdent(name)}\` ` : ''}on \`${table}.${showIdent(column)}\` scans all of \`${table}\` for NULLs while holding an ACCESS EXCLUSIVE lock: reads and writes wait until the scan finishes`,
          help: safeNotNull(alter.table, column, name, ctx),
        });
      } else if (cmd.subtype === 'AT_ValidateConstraint' && cmd.name) {
        const pending = ctx.pendingConstraint(alter.table, cmd.name);
        if (pending?.kind !== 'not-null' || !ctx.inTransaction || pending.transactionId !== ctx.transactionId) continue;
        ctx.report({
          message: `VALIDATE CONSTRAINT \`${showIdent(cmd.name)}\` runs in the transaction that added it NOT VALID: the ACCESS EXCLUSIVE lock ADD CONSTRAINT took is held through the whole scan, so reads and writes wait anyway`,
          help: '-- validate in a later migration (or after COMMIT), so ADD CONSTRAINT … NOT NULL … NOT VALID commits and releases its lock first',
        });
      }
    }
  },
});

/** The safe way to make `column` NOT NULL on production's version. */
function safeNotNull(rel: RangeVar, column: string, name: string | undefined, ctx: RuleContext): string {
  const table = showRelation(rel);
  const col = showIdent(column);
  const constraint = showIdent(name ?? `${rel.relname}_${column}_not_null`);
  if (ctx.pgVersion >= NOT_NULL_NOT_VALID_SINCE) {
    return [
      `ALTER TABLE ${table} ADD CONSTRAINT ${constraint} NOT NULL ${col} NOT VALID; -- no scan: only new and updated rows are checked`,
      '-- then, in a later migration (VALIDATE takes a SHARE UPDATE EXCLUSIVE lock: reads and writes go on):',
      `ALTER TABLE ${table} VALIDATE CONSTRAINT ${constraint}; -- Postgres 18+: the column is NOT NULL once it succeeds`,
    ].join('\n');
  }
  const check = showIdent(`${rel.relname}_${column}_not_null`);
  if (ctx.pgVersion >= 12) {
    return [
      `ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${col} IS NOT NULL) NOT VALID;`,
      '-- then, in a later migration (VALIDATE takes a SHARE UPDATE EXCLUSIVE lock: reads and writes go on):',
      `ALTER TABLE ${table} VALIDATE CONSTRAINT ${check};`,
      `ALTER TABLE ${table} ALTER COLUMN ${col} SET NOT NULL; -- Postgres 12+ trusts the validated check: no scan`,
      `ALTER TABLE ${table} DROP CONSTRAINT ${check};`,
    ].join('\n');
  }
  return [
    '-- before Postgres 12 SET NOT NULL always scans; enforce it with a validated check instead:',
    `ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${col} IS NOT NULL) NOT VALID;`,
    '-- then, in a later migration:',
    `ALTER TABLE ${table} VALIDATE CONSTRAINT ${check};`,
  ].join('\n');
}
