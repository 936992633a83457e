/**
 * Two normalised schemas compared object by object (schema/objects.ts names each object the way
 * pg_dump heads it), in words a person reads: which objects only one side has, and for an object both
 * have, the lines only one side has (a column added by hand shows as its own line). Pure.
 *
 * Shared by `drydock rehearse` (the copy against a fresh database built from the history),
 * `drydock verify` (a database against its schema file) and `drydock diff` (any two). What is never
 * compared: drydock's and the migration tools' ledger tables (their rows are the history, not the
 * schema) and data-only dump entries. What Heroku itself puts in every database (pg_stat_statements,
 * the heroku_ext schema, extensions moved into heroku_ext) is noted, never counted.
 */
import { LEDGER_OBJECT } from '../migrate/ledger.js';
import { dumpObjects } from './objects.js';

/** How the two sides are named in messages. */
export interface SchemaSides {
  /** "the copy", "the database": the first schema. */
  a: string;
  /** "a fresh database", "the schema file": the second. */
  b: string;
  /** The preposition before each name: "on" (a database), "in" (a file). Default "on". */
  aAt?: string;
  bAt?: string;
}

/** Which side has what. */
export type DifferenceKind = 'only-a' | 'only-b' | 'changed';

/** One way the two schemas differ, named by object. */
export interface SchemaDifference {
  /** e.g. "table public.audit_log", "extension hstore", "fk constraint public.orders orders_user_id_fkey". */
  object: string;
  kind: DifferenceKind;
  problem: string;
  /** For a changed object: the lines only the first side has, then only the second (trimmed). */
  onlyA?: string[];
  onlyB?: string[];
}

/** The comparison: what counts, and what differs but is not counted (said anyway). */
export interface SchemaComparison {
  differences: SchemaDifference[];
  notes: string[];
}

/** dump object types that hold data, not schema: never compared. */
const DATA_ONLY = /^(table data|sequence set|blob|blobs|blob data|large object|large objects|statistics data) /;

/**
 * What Heroku itself puts in every database, so a review app (or a schema file) has no reason to
 * hold it: not counted when only the first side has it, only noted.
 */
export const PLATFORM_PROVIDED = new Map([
  ['extension pg_stat_statements', 'Heroku installs pg_stat_statements in every database'],
  ['schema heroku_ext', 'Heroku creates the heroku_ext schema for extensions in every database'],
]);

const EXTENSION = /^extension /;

/** How many lines of a changed object are quoted per side. */
const QUOTED_LINES = 3;

/** The lines one object's SQL has and the other's lacks (trimmed, trailing commas dropped). */
export function linesOnlyIn(a: string, b: string): string[] {
  const clean = (s: string) => s.split('\n').map((l) => l.trim().replace(/,$/, '')).filter((l) => l && l !== '(' && l !== ');');
  const other = new Set(clean(b));
  return clean(a).filter((l) => !other.has(l));
}

function quoted(lines: string[]): string {
  const shown = lines.slice(0, QUOTED_LINES).map((l) => `\`${l}\``);
  return shown.join(', ') + (lines.length > QUOTED_LINES ? ` and ${lines.length - QUOTED_LINES} more line(s)` : '');
}

function at(sides: SchemaSides, side: 'a' | 'b'): string {
  return `${(side === 'a' ? sides.aAt : sides.bAt) ?? 'on'} ${sides[side]}`;
}

/** Why an object differs, in the lines that differ. */
function changed(object: string, sqlA: string, sqlB: string, sides: SchemaSides): SchemaDifference {
  const onlyA = linesOnlyIn(sqlA, sqlB);
  const onlyB = linesOnlyIn(sqlB, sqlA);
  const parts = [onlyA.length ? `${at(sides, 'a')} only: ${quoted(onlyA)}` : '', onlyB.length ? `${at(sides, 'b')} only: ${quoted(onlyB)}` : ''].filter(Boolean);
  const problem = `${object} differs between ${sides.a} and ${sides.b}${parts.length ? ` (${parts.join('; ')})` : ' (the same lines in another order)'}`;
  return { object, kind: 'changed', problem, onlyA, onlyB };
}

/** Options of compareSchemas. */
export interface CompareOptions {
  /** Explain an extension only the first side has (rehearse: production has it, no migration creates it). */
  extensionOnlyA?: (object: string) => string;
  /** Added to the reason a platform-provided object is not counted (rehearse: ", so a review app has it too"). */
  platformSuffix?: string;
}

/**
 * Compare two normalised schemas, object by object: ledger objects and data-only entries aside,
 * platform-provided objects only noted. `sides` names them in the messages.
 */
export function compareSchemas(a: string, b: string, sides: SchemaSides, options: CompareOptions = {}): SchemaComparison {
  const objectsA = dumpObjects(a);
  const objectsB = dumpObjects(b);
  const compared = (label: string) => !LEDGER_OBJECT.test(label) && !DATA_ONLY.test(label);
  const differences: SchemaDifference[] = [];
  const notes: string[] = [];
  for (const [object, sql] of objectsA) {
    if (!compared(object)) continue;
    const theirs = objectsB.get(object);
    if (theirs === undefined) {
      const platform = PLATFORM_PROVIDED.get(object);
      if (platform) notes.push(`${object} exists ${at(sides, 'a')} but not ${at(sides, 'b')}: not counted (${platform}${options.platformSuffix ?? ''})`);
      else if (EXTENSION.test(object) && options.extensionOnlyA) differences.push({ object, kind: 'only-a', problem: options.extensionOnlyA(object) });
      else differences.push({ object, kind: 'only-a', problem: `${object} exists ${at(sides, 'a')} but not ${at(sides, 'b')}` });
    } else if (theirs !== sql) {
      const difference = changed(object, sql, theirs, sides);
      if (EXTENSION.test(object) && /heroku_ext/.test(sql) !== /heroku_ext/.test(theirs)) notes.push(`${difference.problem}: not counted (Heroku puts extensions in the heroku_ext schema)`);
      else differences.push(difference);
    }
  }
  for (const object of objectsB.keys()) {
    if (compared(object) && !objectsA.has(object)) differences.push({ object, kind: 'only-b', problem: `${object} exists only ${at(sides, 'b')}` });
  }
  return { differences, notes };
}
