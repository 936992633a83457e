/**
 * A fingerprint of the test server's databases: names, template and connection flags, and for each
 * database that accepts connections its tables with exact row counts. A dry run, or a refused command,
 * must leave it identical.
 *
 * Other test runs and people share the server: their databases come and go, so they are left out. The
 * system databases (postgres, template0, template1), this process's test databases and drydock's copies
 * of any of those are in.
 */
import pg from 'pg';

import { adminQuery, ownerPid, TEST_DB_PREFIX, urlFor } from './db.js';

/** One database in the fingerprint. */
export interface DatabaseFingerprint {
  name: string;
  isTemplate: boolean;
  allowConnections: boolean;
  comment: string | null;
  /** "schema.table": rows (undefined when connections are not allowed, e.g. template0). */
  tables?: Record<string, number>;
}

/** The databases no test may change. */
const SYSTEM = ['postgres', 'template0', 'template1'];

function belongsHere(name: string, comment: string | null): boolean {
  if (SYSTEM.includes(name)) return true;
  if (name.startsWith(TEST_DB_PREFIX)) return ownerPid(name) === process.pid;
  if (name.startsWith('drydock_')) {
    try {
      const target = (JSON.parse(comment ?? '') as { target?: string }).target ?? '';
      // drydock's copies of system databases (there must never be any) and of this run's databases.
      return SYSTEM.includes(target) || (target.startsWith(TEST_DB_PREFIX) && ownerPid(target) === process.pid);
    } catch {
      return false;
    }
  }
  // Other people's databases on the shared server change as they work.
  return false;
}

async function tablesOf(database: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: urlFor(database) });
  await client.connect();
  try {
    const { rows } = await client.query<{ s: string; t: string }>(
      `SELECT n.nspname AS s, c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
       ORDER BY 1, 2`,
    );
    const tables: Record<string, number> = {};
    for (const { s, t } of rows) {
      const ident = (x: string) => `"${x.replace(/"/g, '""')}"`;
      const counted = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${ident(s)}.${ident(t)}`);
      tables[`${s}.${t}`] = Number(counted.rows[0]!.n);
    }
    return tables;
  } finally {
    await client.end();
  }
}

/** The fingerprint, ordered by database name. */
export async function serverFingerprint(): Promise<DatabaseFingerprint[]> {
  const { rows } = await adminQuery<{ datname: string; datistemplate: boolean; datallowconn: boolean; comment: string | null }>(
    `SELECT datname, datistemplate, datallowconn, shobj_description(oid, 'pg_database') AS comment FROM pg_database ORDER BY datname`,
  );
  const result: DatabaseFingerprint[] = [];
  for (const r of rows) {
    if (!belongsHere(r.datname, r.comment)) continue;
    const entry: DatabaseFingerprint = { name: r.datname, isTemplate: r.datistemplate, allowConnections: r.datallowconn, comment: r.comment };
    if (r.datallowconn) entry.tables = await tablesOf(r.datname);
    result.push(entry);
  }
  return result;
}
