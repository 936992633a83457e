/**
 * Whether named schema objects exist, names resolved the way a migration's own statements resolve
 * them (through search_path when unqualified). Used by `migrate redo` to check that down undid up.
 */
import type pg from 'pg';

import type { ObjectRef } from '../../migrate/undo-check.js';
import { quoteQualified } from '../ident.js';

const RELATION_EXISTS = `SELECT to_regclass($1::text) IS NOT NULL AS present`;
const TYPE_EXISTS = `SELECT to_regtype($1::text) IS NOT NULL AS present`;
const COLUMN_EXISTS = `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass($1::text) AND attname = $2 AND attnum > 0 AND NOT attisdropped) AS present`;
const CONSTRAINT_EXISTS = `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = to_regclass($1::text) AND conname = $2) AS present`;
const TRIGGER_EXISTS = `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = to_regclass($1::text) AND tgname = $2 AND NOT tgisinternal) AS present`;
const SCHEMA_EXISTS = `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1) AS present`;
const EXTENSION_EXISTS = `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = $1) AS present`;

function regName(o: { schema?: string | undefined; name: string }): string {
  return o.schema === undefined ? quoteQualified(o.name) : quoteQualified(o.schema, o.name);
}

/** Whether `ref` exists in the connected database. */
export async function objectExists(client: pg.ClientBase, ref: ObjectRef): Promise<boolean> {
  const [sql, params]: [string, string[]] =
    ref.kind === 'relation'
      ? [RELATION_EXISTS, [regName(ref)]]
      : ref.kind === 'type'
        ? [TYPE_EXISTS, [regName(ref)]]
        : ref.kind === 'column'
          ? [COLUMN_EXISTS, [regName(ref.table), ref.name]]
          : ref.kind === 'constraint'
            ? [CONSTRAINT_EXISTS, [regName(ref.table), ref.name]]
            : ref.kind === 'trigger'
              ? [TRIGGER_EXISTS, [regName(ref.table), ref.name]]
              : [ref.kind === 'schema' ? SCHEMA_EXISTS : EXTENSION_EXISTS, [ref.name]];
  const { rows } = await client.query<{ present: boolean }>(sql, params);
  return Boolean(rows[0]?.present);
}
