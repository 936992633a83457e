/**
 * A schema file as named objects: pg_dump heads every object with `-- Name: users_email_idx; Type:
 * INDEX; Schema: public; Owner: -`, so two dumps can be compared object by object and a difference
 * named ("index public.users_email_idx") instead of shown only as lines. Pure.
 */
import { normalizeDump } from './normalize.js';

const HEADER = /^-- Name: (.*); Type: (.*); Schema: (.*); Owner: .*$/;

/** One object of a dump: its label and its SQL. */
export interface DumpObject {
  /** e.g. "index public.users_email_idx", "constraint public.users users_pkey", "schema app". */
  label: string;
  sql: string;
}

/** The objects of a (normalised) dump by label; the appended migration versions are left out. */
export function dumpObjects(dump: string): Map<string, string> {
  const objects = new Map<string, string>();
  let label: string | undefined;
  let body: string[] = [];
  const flush = () => {
    // pg_dump's comment lines around a header (and "-- PostgreSQL database dump complete" after the last
    // object) are not the object's: an object must read the same whether another one follows it or not.
    while (body.length && (body[body.length - 1]!.trim() === '' || body[body.length - 1]!.startsWith('--'))) body.pop();
    if (label !== undefined) objects.set(label, body.join('\n').replace(/^[\s-]+|\s+$/g, ''));
  };
  for (const line of normalizeDump(dump, []).split('\n')) {
    const m = HEADER.exec(line);
    if (m) {
      flush();
      const [, name, type, schema] = m;
      label = `${type!.toLowerCase()} ${schema === '-' ? '' : `${schema}.`}${name}`;
      body = [];
    } else if (label !== undefined) {
      body.push(line);
    }
  }
  flush();
  return objects;
}

/** How two dumps differ, object by object. */
export interface ObjectDiff {
  /** In the first dump only. */
  removed: string[];
  /** In the second dump only. */
  added: string[];
  /** In both, with different SQL. */
  changed: string[];
}

/** Compare two dumps object by object (the migration versions they record are not compared). */
export function objectDiff(a: string, b: string): ObjectDiff {
  const before = dumpObjects(a);
  const after = dumpObjects(b);
  return {
    removed: [...before.keys()].filter((k) => !after.has(k)),
    added: [...after.keys()].filter((k) => !before.has(k)),
    changed: [...before.keys()].filter((k) => after.has(k) && after.get(k) !== before.get(k)),
  };
}

/** True when the two dumps hold the same objects with the same SQL (the recorded versions aside). */
export function sameObjects(a: string, b: string): boolean {
  const d = objectDiff(a, b);
  return !d.removed.length && !d.added.length && !d.changed.length;
}
