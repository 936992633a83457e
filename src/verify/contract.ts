/**
 * The schema contract of `drydock verify` (pure): what the database is compared with, and what each
 * difference means.
 *
 * The database records which migrations it has (public.schema_migrations). When the schema file
 * records the same versions, the database must hold exactly what the file says, and the two dumps are
 * compared as they are. When the file is behind the database (migrations written after the last
 * `schema dump`), or there is no file, the schema is built on a scratch database the way a review app
 * builds it (postdeploy's buildSchema: the file, then the migrations it does not list, up to the
 * database's newest version) and the database is compared with that.
 */
import { compareVersions } from '../migrate/plan.js';
import type { SchemaDifference } from '../schema/compare.js';
import type { RawFinding } from './checks.js';

/** What the database is compared with. */
export type ContractPlan =
  /** The schema file as written: it records the database's versions. */
  | { kind: 'file'; file: string }
  /**
   * A scratch database built from the schema file (when given) and the migrations it does not list, up
   * to `to` (undefined: none of the migrations; the file alone).
   */
  | { kind: 'build'; schemaFile: string | undefined; to: string | undefined; migrations: number }
  | { kind: 'skip'; reason: string };

/** What planContract knows. */
export interface ContractInput {
  /** The schema file, when it exists. */
  schemaFile: string | undefined;
  /** The versions the file records at its end. */
  fileVersions: readonly string[];
  /** The versions public.schema_migrations holds. */
  dbVersions: readonly string[];
  /** The versions of the migration files; undefined when there is no migrations folder. */
  migrationVersions: readonly string[] | undefined;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((v) => sb.has(v));
}

function listSome(versions: readonly string[]): string {
  return versions.slice(0, 5).join(', ') + (versions.length > 5 ? `, … (${versions.length} in all)` : '');
}

/** Decide what the database is compared with (see the module comment). */
export function planContract(input: ContractInput): ContractPlan {
  const { schemaFile, fileVersions, dbVersions, migrationVersions } = input;
  if (schemaFile && sameSet(fileVersions, dbVersions)) return { kind: 'file', file: schemaFile };
  const newest = [...dbVersions].sort(compareVersions).pop();
  if (!migrationVersions) {
    if (!schemaFile) return { kind: 'skip', reason: 'there is no schema file and no migrations folder to compare the database with' };
    return { kind: 'skip', reason: `${schemaFile} records other migration versions than the database (${describeVersionGap(fileVersions, dbVersions)}), and there is no migrations folder to build the rest from` };
  }
  if (!dbVersions.length) {
    return { kind: 'skip', reason: `the database records no migration versions (public.schema_migrations)${schemaFile ? ` but ${schemaFile} does (${listSome([...fileVersions])})` : ' and there is no schema file'}: nothing says which of them it should hold` };
  }
  const known = new Set([...(schemaFile ? fileVersions : []), ...migrationVersions]);
  const unknown = dbVersions.filter((v) => !known.has(v));
  if (unknown.length) {
    return { kind: 'skip', reason: `the database records migration version(s) ${listSome(unknown)} that neither ${schemaFile ?? 'a schema file'} nor the migrations folder has: pull the newest code, or dump the schema again` };
  }
  const fileAhead = schemaFile ? fileVersions.filter((v) => !dbVersions.includes(v)) : [];
  // A file ahead of the database (pending migrations) cannot be built back to the database's version: build from the migrations alone.
  const base = schemaFile && !fileAhead.length ? schemaFile : undefined;
  const listed = new Set(base ? fileVersions : []);
  const migrations = dbVersions.filter((v) => !listed.has(v)).length;
  if (!base && dbVersions.some((v) => !migrationVersions.includes(v))) {
    return { kind: 'skip', reason: `the database is behind ${schemaFile} (${describeVersionGap(fileVersions, dbVersions)}) and the migrations folder lacks some of its versions` };
  }
  return { kind: 'build', schemaFile: base, to: newest, migrations };
}

/** "the file has 20270102 the database lacks; the database has 20270103 the file lacks". */
export function describeVersionGap(fileVersions: readonly string[], dbVersions: readonly string[]): string {
  const fileOnly = fileVersions.filter((v) => !dbVersions.includes(v));
  const dbOnly = dbVersions.filter((v) => !fileVersions.includes(v));
  return [fileOnly.length ? `the file has ${listSome(fileOnly)} the database lacks` : '', dbOnly.length ? `the database has ${listSome(dbOnly)} the file lacks` : ''].filter(Boolean).join('; ');
}

/** "db/schema.sql", "db/schema.sql + 2 migrations on a scratch database", "5 migrations from zero on a scratch database". */
export function describePlan(plan: Exclude<ContractPlan, { kind: 'skip' }>): string {
  if (plan.kind === 'file') return plan.file;
  const n = `${plan.migrations} migration${plan.migrations === 1 ? '' : 's'}`;
  return plan.schemaFile ? `${plan.schemaFile} + ${n}, built on a scratch database` : `${n} from zero, built on a scratch database`;
}

/** Object types pg_dump labels "<type> <schema>.<table> <name>": they belong to a table. */
const TABLE_PART = /^(constraint|fk constraint|trigger|default|rule|policy) ([^ ]+) (.+)$/;

/**
 * Findings of the contract: the differences between the database (side a) and what it should hold
 * (side b), as compareSchemas gives them. A table only one side has carries its constraints, triggers
 * and defaults in its own finding instead of one finding each.
 */
export function contractFindings(differences: readonly SchemaDifference[], against: string): RawFinding[] {
  const wholeTables = new Set(differences.filter((d) => d.kind !== 'changed' && d.object.startsWith('table ')).map((d) => `${d.kind} ${d.object.slice('table '.length)}`));
  const parts = new Map<string, string[]>();
  const kept = differences.filter((d) => {
    const m = TABLE_PART.exec(d.object);
    const key = m ? `${d.kind} ${m[2]}` : '';
    if (!m || !wholeTables.has(key)) return true;
    parts.set(key, [...(parts.get(key) ?? []), `${m[1]} ${m[3]}`]);
    return false;
  });
  return kept.map((d) => {
    const source = `pg_dump --schema-only of the database, normalised, against ${against}`;
    const withParts = d.object.startsWith('table ') ? parts.get(`${d.kind} ${d.object.slice('table '.length)}`) : undefined;
    const also = withParts?.length ? ` (with its ${withParts.join(', ')})` : '';
    if (d.kind === 'only-a') {
      return { check: 'not-in-schema', object: d.object, message: `${d.object}${also} is in the database but not in ${against} (made by hand, or by a migration no longer in the history)`, fix: 'drop it, or write the migration that creates it (and `drydock schema dump`)', source };
    }
    if (d.kind === 'only-b') {
      return { check: 'missing-in-database', object: d.object, message: `${d.object}${also} is in ${against} but missing in the database`, fix: 'find the migration that should have created it (`drydock migrate status`), or why it was dropped', source };
    }
    return { check: 'differs-from-schema', object: d.object, message: d.problem, fix: 'make the database match with a migration, or the schema file match the database with `drydock schema dump` if the change belongs', source };
  });
}
