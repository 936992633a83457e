/**
 * The one registry of lint rules: the linter, `drydock lint --list-rules` / `--explain`, the docs
 * and the tests all read this array. Add a rule here and nowhere else.
 */
import type { Rule } from '../types.js';
import { addingCheckConstraint } from './adding-check-constraint.js';
import { addingFieldWithVolatileDefault } from './adding-field-with-volatile-default.js';
import { addingForeignKeyConstraint } from './adding-foreign-key-constraint.js';
import { addingIdentityColumn } from './adding-identity-column.js';
import { addingRequiredField } from './adding-required-field.js';
import { addingSerialPrimaryKeyField } from './adding-serial-primary-key-field.js';
import { banBackfillWithSchemaChange } from './ban-backfill-with-schema-change.js';
import { banCluster } from './ban-cluster.js';
import { banConcurrentIndexInTransaction } from './ban-concurrent-index-in-transaction.js';
import { banDropColumn } from './ban-drop-column.js';
import { banDropTable } from './ban-drop-table.js';
import { banNewerPostgresSyntax } from './ban-newer-postgres-syntax.js';
import { banSetNotNull } from './ban-set-not-null.js';
import { banSetTablespace } from './ban-set-tablespace.js';
import { banTruncate } from './ban-truncate.js';
import { banUniqueConstraintWithoutIndex } from './ban-unique-constraint-without-index.js';
import { banVacuumFull } from './ban-vacuum-full.js';
import { changingColumnType } from './changing-column-type.js';
import { preferJsonb } from './prefer-jsonb.js';
import { renamingColumn } from './renaming-column.js';
import { renamingTable } from './renaming-table.js';
import { requireConcurrentIndexCreation } from './require-concurrent-index-creation.js';
import { requireConcurrentIndexDeletion } from './require-concurrent-index-deletion.js';
import { requireConcurrentReindex } from './require-concurrent-reindex.js';
import { requireLockTimeout } from './require-lock-timeout.js';

/** Every rule, in the order their findings are listed for one statement. */
export const RULES: readonly Rule[] = [
  requireConcurrentIndexCreation,
  requireConcurrentIndexDeletion,
  banConcurrentIndexInTransaction,
  requireConcurrentReindex,
  addingFieldWithVolatileDefault,
  addingRequiredField,
  addingSerialPrimaryKeyField,
  addingIdentityColumn,
  banSetNotNull,
  addingForeignKeyConstraint,
  addingCheckConstraint,
  banUniqueConstraintWithoutIndex,
  changingColumnType,
  renamingColumn,
  renamingTable,
  banDropColumn,
  banDropTable,
  banTruncate,
  banVacuumFull,
  banCluster,
  banSetTablespace,
  banBackfillWithSchemaChange,
  banNewerPostgresSyntax,
  requireLockTimeout,
  preferJsonb,
];

/** Findings that come from the linter itself rather than a rule; they cannot be suppressed. */
export const BUILTIN_CHECKS = {
  'syntax-error': 'The file does not parse (or is not a valid drydock migration): nothing else in it can be checked',
  'invalid-suppression': 'A `-- drydock:safe` comment without a reason, or naming an unknown rule',
  'unused-suppression': 'A `-- drydock:safe` comment that silences nothing (a warning)',
} as const;

/** The rule with this id, or undefined. */
export function findRule(id: string): Rule | undefined {
  return RULES.find((r) => r.id === id);
}
