/**
 * The fresh-database comparison of `drydock rehearse`, decided (pure): the scratch database's name and
 * marker, which marked scratch databases are leftovers of a killed rehearsal, how far to build the
 * fresh database, and what the differences between it and the rehearsed copy mean, object by object.
 *
 * A fresh database is built from zero the way a review app builds one (postdeploy: the schema file and
 * then the migrations it does not list, or every migration); it is compared with the copy after the
 * pending migrations ran. An object only the copy has was made on production by hand (or by a
 * migration no longer in the history); a migration that fails there relies on such an object.
 */
import { compareVersions } from '../migrate/plan.js';
import { compareSchemas, type SchemaSides } from '../schema/compare.js';

/** How every scratch database's comment starts: what it is, for anyone listing databases. */
export const SCRATCH_MARKER = 'drydock rehearse scratch';

/** Between the working database's name and the random part of a scratch database's name. */
const SCRATCH_INFIX = '_drydock_fresh_';
const SCRATCH_NAME = /_drydock_fresh_[0-9a-f]{8}$/;
const MAX_NAME_BYTES = 63;

/** A marked scratch database older than this is a leftover whoever made it (a process on another host, or a reused pid). */
export const SCRATCH_MAX_AGE_MS = 24 * 3_600_000;

/** What a scratch database's comment records after the marker. */
export interface ScratchMeta {
  /** The working database the rehearsal ran on. */
  target: string;
  /** The drydock process that created it, and its host: a leftover once that process is gone. */
  pid: number;
  host: string;
  createdAt: string;
}

/**
 * `<target>_drydock_fresh_<8 hex>`, the target cut (on a character boundary) so the whole name fits
 * Postgres's 63 bytes.
 */
export function scratchName(target: string, random: string): string {
  const room = MAX_NAME_BYTES - SCRATCH_INFIX.length - random.length;
  let prefix = '';
  for (const ch of target) {
    if (Buffer.byteLength(prefix + ch, 'utf8') > room) break;
    prefix += ch;
  }
  return `${prefix}${SCRATCH_INFIX}${random}`;
}

/** Whether `name` has the shape scratchName gives. */
export function isScratchName(name: string): boolean {
  return SCRATCH_NAME.test(name);
}

/** The COMMENT ON DATABASE text: the marker, then the metadata as JSON. */
export function scratchComment(meta: ScratchMeta): string {
  return `${SCRATCH_MARKER} ${JSON.stringify(meta)}`;
}

/** The metadata of a scratch database's comment; undefined for any other comment. */
export function parseScratchComment(comment: string | null | undefined): ScratchMeta | undefined {
  if (!comment?.startsWith(`${SCRATCH_MARKER} {`)) return undefined;
  try {
    const meta = JSON.parse(comment.slice(SCRATCH_MARKER.length + 1)) as Partial<ScratchMeta>;
    if (typeof meta.target !== 'string' || typeof meta.pid !== 'number' || typeof meta.host !== 'string' || typeof meta.createdAt !== 'string') return undefined;
    return meta as ScratchMeta;
  } catch {
    return undefined;
  }
}

/**
 * Whether a scratch database is left over from a rehearsal that is gone: a name of scratchName's shape
 * and drydock's marker, and either its process no longer runs on this host, or it is older than a day.
 * A database without the marker is never one (whatever its name).
 */
export function isLeftoverScratch(name: string, comment: string | null | undefined, here: { host: string; nowMs: number; isAlive: (pid: number) => boolean }): boolean {
  const meta = parseScratchComment(comment);
  if (!meta || !isScratchName(name)) return false;
  const created = Date.parse(meta.createdAt);
  if (Number.isFinite(created) && here.nowMs - created > SCRATCH_MAX_AGE_MS) return true;
  return meta.host === here.host && !here.isAlive(meta.pid);
}

/**
 * How far to build the fresh database so it compares with the copy as the rehearsal left it: every
 * migration when all pending ones applied; else up to the newest migration file the copy has applied
 * (the failed one and those after it did not run there). `undefined` in `skip` when there is nothing to
 * compare: no migration file applied on the copy at all.
 */
export function freshBuildTarget(files: ReadonlyArray<{ version: string }>, notApplied: ReadonlyArray<{ version: string }>): { to: string | undefined } | { skip: string } {
  if (!notApplied.length) return { to: undefined };
  const left = new Set(notApplied.map((m) => m.version));
  const applied = files.filter((f) => !left.has(f.version)).sort((a, b) => compareVersions(a.version, b.version));
  const newest = applied[applied.length - 1];
  return newest ? { to: newest.version } : { skip: 'the first pending migration failed on the copy and no earlier migration file exists to build a fresh database from' };
}

/** "schema file + 2 migrations", "5 migrations from zero". */
export function describeHow(schemaFile: boolean, migrations: number): string {
  const n = `${migrations} migration${migrations === 1 ? '' : 's'}`;
  return schemaFile ? `schema file + ${n}` : `${n} from zero`;
}

/** One way the fresh database and the copy differ, named by object. */
export interface FreshDifference {
  /** e.g. "table public.audit_log", "extension hstore", "migration 20270101000000_x.sql". */
  object: string;
  problem: string;
}

/** The fresh database's and the copy's sides, as rehearse names them. */
const FRESH_SIDES: SchemaSides = { a: 'the copy', b: 'a fresh database' };

/** Why an extension only the copy has matters: a migration assumed it instead of creating it. */
function extensionOnlyOnCopy(object: string): string {
  return `${object} exists on the copy but not on a fresh database: no migration creates it; production has it installed, and migrations that use it work there only because of that (create it in a migration: CREATE EXTENSION IF NOT EXISTS ${object.slice('extension '.length)})`;
}

/** The comparison of the copy's schema with a fresh database's, as differences and notes. */
export interface FreshComparison {
  differences: FreshDifference[];
  /** What differs but is not counted (platform-provided objects), said anyway. */
  notes: string[];
}

/**
 * Compare the copy's normalised schema with a fresh database's, object by object (schema/compare.ts):
 * drydock's ledger objects and data-only entries aside, platform-provided objects (Heroku's
 * pg_stat_statements, heroku_ext) only noted. Pure.
 */
export function compareWithFresh(copy: string, fresh: string): FreshComparison {
  const { differences, notes } = compareSchemas(copy, fresh, FRESH_SIDES, { extensionOnlyA: extensionOnlyOnCopy, platformSuffix: ', so a review app has it too' });
  return { differences: differences.map(({ object, problem }) => ({ object, problem })), notes };
}

/** Object types whose names are specific enough to match a name in an error message or a migration's SQL. */
const NAMED_TYPES = /^(table|view|materialized view|sequence|index|extension|type|domain|function|procedure|aggregate|schema|constraint|fk constraint|trigger|foreign table) /;

/** The object's own name: the last word of its label, without its schema. */
function bareName(label: string): string {
  const last = label.split(' ').pop() ?? label;
  return last.slice(last.lastIndexOf('.') + 1);
}

function mentions(text: string, name: string): boolean {
  return new RegExp(`(^|[^A-Za-z0-9_$])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_$])`, 'i').test(text);
}

/**
 * The differences a failed migration most likely relies on: those naming what Postgres's message
 * quotes (`relation "legacy" does not exist`, `column "flag" does not exist`), else objects only the copy
 * has that the migration's SQL names. Pure.
 */
export function reliedOn(differences: readonly FreshDifference[], postgresMessage: string, migrationSql: string): FreshDifference[] {
  const quotedNames = [...postgresMessage.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  const copyOnly = differences.filter((d) => NAMED_TYPES.test(d.object) && !d.problem.includes('only on a fresh database'));
  const byMessage = copyOnly.filter((d) => quotedNames.some((n) => (d.problem.includes('differs') ? d.problem.includes(n) : bareName(d.object) === n)));
  if (byMessage.length) return byMessage;
  return copyOnly.filter((d) => d.problem.includes('exists on the copy') && mentions(migrationSql, bareName(d.object)));
}
