/**
 * Foreign keys of a copy, added without scanning both tables again.
 *
 * `ALTER TABLE … ADD FOREIGN KEY` checks every row of the referencing table against the referenced
 * one: on a copy of a 2 GB database that is a fifth of pg_restore's post-data time. When the rows come
 * from one consistent snapshot of a database in which the constraint was valid (a live copy in an
 * exported snapshot, or a pg_dump archive, which Heroku's backups are), the check can only pass. So
 * drydock adds such a key `NOT VALID` and, as a superuser, marks it validated in pg_constraint: the
 * result is the same catalog state a checked key has. Everything else keeps the normal, checked path:
 * keys that were NOT VALID in production, keys on partitioned tables, a local role that is not a
 * superuser, and `--validate-foreign-keys`.
 *
 * A key whose referenced table's data was left out (--exclude-table-data) while the referencing
 * table's data was copied cannot hold; it is added NOT VALID and left so, and reported.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type pg from 'pg';

import { withTransaction } from '../pg/client.js';
import { quoteIdent, quoteQualified } from '../pg/ident.js';
import type { PgTools } from '../pg/pg-tools.js';
import { ensureParser, splitStatements } from '../sql/parse.js';
import { sqlByEntry, tocEntries, tocWith, type TocEntry } from '../backups/toc.js';

/** A foreign key drydock adds itself instead of pg_restore. */
export interface PlannedForeignKey {
  /** Its archive entry (left out of pg_restore's list). */
  id: number;
  /** `ALTER TABLE ONLY … ADD CONSTRAINT … FOREIGN KEY …`, as pg_dump wrote it, without the `;`. */
  sql: string;
  name: string;
  table: { schema: string; name: string };
  references: { schema: string; name: string };
  /** trust: add NOT VALID, then mark validated; not-valid: add NOT VALID and leave it so. */
  mode: 'trust' | 'not-valid';
}

/** A key left NOT VALID because the data it points to was not copied. */
export interface NotValidForeignKey {
  name: string;
  table: string;
  references: string;
}

export interface PlanForeignKeysOptions {
  toc: string;
  archive: string;
  archiveMajor: number;
  pgTools: PgTools;
  /** A session on the copy, after the schema's pre-data is in (its tables exist). */
  target: pg.Client;
  /** Whether a table's data was left out (--exclude-table-data). */
  excludedData: (schema: string, name: string) => boolean;
  /** Check every key the usual way (--validate-foreign-keys): only keys that cannot hold are planned. */
  validate: boolean;
  /**
   * The source's foreign keys by constraint OID (the archive's entries carry it), when the source can be
   * asked (a live copy): then no SQL needs parsing (and the parser, ~20 MB of WebAssembly, is not loaded).
   */
  sourceKeys?: ReadonlyMap<number, SourceForeignKey>;
}

/** A foreign key as the source's catalog describes it. */
export interface SourceForeignKey {
  name: string;
  table: { schema: string; name: string };
  references: { schema: string; name: string };
  /** convalidated in the source. */
  validated: boolean;
}

/** The source's foreign keys (run in the copy's snapshot): see PlanForeignKeysOptions.sourceKeys. */
export const SOURCE_FOREIGN_KEYS_SQL = `
  SELECT c.oid::bigint AS oid, c.conname AS name, n.nspname AS schema, r.relname AS "table",
    fn.nspname AS ref_schema, f.relname AS ref_table, c.convalidated AS validated
  FROM pg_constraint c
  JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
  JOIN pg_class f ON f.oid = c.confrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
  WHERE c.contype = 'f'`;

/** Rows of SOURCE_FOREIGN_KEYS_SQL by OID. */
export function sourceForeignKeys(rows: ReadonlyArray<{ oid: string; name: string; schema: string; table: string; ref_schema: string; ref_table: string; validated: boolean }>): Map<number, SourceForeignKey> {
  return new Map(
    rows.map((r) => [Number(r.oid), { name: r.name, table: { schema: r.schema, name: r.table }, references: { schema: r.ref_schema, name: r.ref_table }, validated: r.validated }]),
  );
}

interface ParsedForeignKey {
  sql: string;
  name: string;
  table: { schema: string; name: string };
  references: { schema: string; name: string };
}

/** The FK CONSTRAINT entries of `toc` drydock adds itself, and how. */
export async function planForeignKeys(options: PlanForeignKeysOptions): Promise<PlannedForeignKey[]> {
  const entries = tocEntries(options.toc).filter((e) => e.desc.startsWith('FK CONSTRAINT '));
  if (!entries.length) return [];
  const parsed = await foreignKeySql(entries, options);
  const superuser = await isSuperuser(options.target);
  const kinds = await plainTables(options.target, [...parsed.values()].flatMap((fk) => [fk.table, fk.references]));
  const planned: PlannedForeignKey[] = [];
  for (const entry of entries) {
    const fk = parsed.get(entry.id);
    if (!fk) continue;
    const plain = kinds.has(quoteQualified(fk.table.schema, fk.table.name)) && kinds.has(quoteQualified(fk.references.schema, fk.references.name));
    if (!plain) continue;
    const dangling = options.excludedData(fk.references.schema, fk.references.name) && !options.excludedData(fk.table.schema, fk.table.name);
    if (dangling) planned.push({ id: entry.id, ...fk, mode: 'not-valid' });
    else if (superuser && !options.validate) planned.push({ id: entry.id, ...fk, mode: 'trust' });
  }
  return planned;
}

/**
 * Add the planned keys in one transaction. Returns the keys left NOT VALID. A trusted key ends in the
 * state `ADD CONSTRAINT` without NOT VALID would have left it: convalidated, enforced for new rows.
 */
export async function addForeignKeys(client: pg.Client, planned: readonly PlannedForeignKey[]): Promise<NotValidForeignKey[]> {
  if (!planned.length) return [];
  await withTransaction(client, async () => {
    for (const fk of planned) {
      await client.query(`${fk.sql} NOT VALID`);
      if (fk.mode === 'trust') {
        await client.query(
          `UPDATE pg_catalog.pg_constraint SET convalidated = true WHERE contype = 'f' AND conrelid = $1::regclass AND conname = $2`,
          [quoteQualified(fk.table.schema, fk.table.name), fk.name],
        );
      }
    }
  });
  return planned
    .filter((fk) => fk.mode === 'not-valid')
    .map((fk) => ({ name: fk.name, table: `${fk.table.schema}.${fk.table.name}`, references: `${fk.references.schema}.${fk.references.name}` }));
}

/** The SQL to finish a key left NOT VALID, once its data is there. */
export function validateCommand(fk: NotValidForeignKey): string {
  const [schema, ...rest] = fk.table.split('.');
  return `ALTER TABLE ${quoteQualified(schema!, rest.join('.'))} VALIDATE CONSTRAINT ${quoteIdent(fk.name)};`;
}

/** Each entry's ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY, parsed; entries in any other shape are left to pg_restore. */
async function foreignKeySql(entries: readonly TocEntry[], options: PlanForeignKeysOptions): Promise<Map<number, ParsedForeignKey>> {
  const work = await mkdtemp(join(tmpdir(), 'drydock-fk-'));
  try {
    const list = join(work, 'fk.list');
    const ids = new Set(entries.map((e) => e.id));
    await writeFile(list, tocWith(options.toc, (e) => ids.has(e.id)));
    const script = await options.pgTools.archiveSql(options.archive, { archiveMajor: options.archiveMajor, useList: list });
    const result = new Map<number, ParsedForeignKey>();
    const byId = new Map(entries.map((e) => [e.id, e]));
    if (options.sourceKeys) {
      for (const [id, sql] of sqlByEntry(script)) {
        const key = options.sourceKeys.get(byId.get(id)?.objOid ?? -1);
        // pg_dump writes one `ALTER TABLE ONLY … ADD CONSTRAINT … FOREIGN KEY …;` per entry.
        if (!key?.validated || !/^ALTER TABLE ONLY [^;]*;$/s.test(sql)) continue;
        result.set(id, { sql: sql.slice(0, -1), name: key.name, table: key.table, references: key.references });
      }
      return result;
    }
    await ensureParser();
    for (const [id, sql] of sqlByEntry(script)) {
      const fk = parseForeignKey(sql);
      if (fk && byId.has(id)) result.set(id, fk);
    }
    return result;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface RangeVar {
  schemaname?: string;
  relname: string;
}

/** `ALTER TABLE ONLY t ADD CONSTRAINT c FOREIGN KEY …` (validated in production), or undefined. */
export function parseForeignKey(sql: string): ParsedForeignKey | undefined {
  let statements;
  try {
    statements = splitStatements(sql);
  } catch {
    return undefined;
  }
  if (statements.length !== 1 || statements[0]!.kind !== 'AlterTableStmt') return undefined;
  const stmt = (statements[0]!.node as { AlterTableStmt: { relation: RangeVar; cmds: Array<{ AlterTableCmd?: { subtype: string; def?: { Constraint?: Record<string, unknown> } } }> } }).AlterTableStmt;
  if (stmt.cmds.length !== 1) return undefined;
  const cmd = stmt.cmds[0]!.AlterTableCmd;
  const constraint = cmd?.def?.Constraint;
  if (cmd?.subtype !== 'AT_AddConstraint' || !constraint || constraint.contype !== 'CONSTR_FOREIGN') return undefined;
  if (constraint.skip_validation || constraint.initially_valid === false || typeof constraint.conname !== 'string') return undefined;
  const pk = constraint.pktable as RangeVar | undefined;
  if (!pk || !stmt.relation.schemaname || !pk.schemaname) return undefined;
  return {
    sql: statements[0]!.text,
    name: constraint.conname,
    table: { schema: stmt.relation.schemaname, name: stmt.relation.relname },
    references: { schema: pk.schemaname, name: pk.relname },
  };
}

async function isSuperuser(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ s: boolean }>('SELECT rolsuper AS s FROM pg_catalog.pg_roles WHERE rolname = current_user');
  return rows[0]?.s === true;
}

/** Which of `tables` are ordinary tables, neither partitioned nor a partition (quoted qualified names). */
async function plainTables(client: pg.Client, tables: ReadonlyArray<{ schema: string; name: string }>): Promise<Set<string>> {
  const names = [...new Set(tables.map((t) => quoteQualified(t.schema, t.name)))];
  const { rows } = await client.query<{ name: string }>(
    `SELECT n AS name FROM unnest($1::text[]) AS n JOIN pg_catalog.pg_class c ON c.oid = to_regclass(n) WHERE c.relkind = 'r' AND NOT c.relispartition`,
    [names],
  );
  return new Set(rows.map((r) => r.name));
}
