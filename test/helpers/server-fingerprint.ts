/**
 * A fingerprint of what a test may not change on the shared test server: the system databases
 * (template0, template1, postgres: template flags, connection flags, their tables and row counts) and
 * the databases the test names (their tables and row counts), plus drydock's own copies tagged with
 * those names. Other tests' databases come and go in parallel, so they are left out.
 */
import pg from 'pg';

import { adminQuery, urlFor } from './db.js';

/** The system databases every fingerprint covers. */
export const SYSTEM_DATABASES = ['template0', 'template1', 'postgres'];

/** A text fingerprint: equal before and after means nothing the test watches was changed. */
export async function serverFingerprint(databases: readonly string[] = []): Promise<string> {
  const watched = [...new Set([...SYSTEM_DATABASES, ...databases])];
  const { rows } = await adminQuery<{ datname: string; datistemplate: boolean; datallowconn: boolean; comment: string | null }>(
    `SELECT datname, datistemplate, datallowconn, shobj_description(oid, 'pg_database') AS comment FROM pg_database ORDER BY datname`,
  );
  const lines: string[] = [];
  for (const db of rows) {
    const tagged = db.comment?.startsWith('{') && databases.some((d) => db.comment!.includes(JSON.stringify(d)));
    if (!watched.includes(db.datname) && !tagged) continue;
    lines.push(`database ${db.datname} template=${db.datistemplate} connections=${db.datallowconn} comment=${db.comment ?? ''}`);
    // template0 refuses connections; its flags are the fingerprint.
    if (!db.datallowconn) continue;
    lines.push(...(await tableCounts(db.datname)).map((l) => `  ${l}`));
  }
  for (const name of databases) if (!rows.some((r) => r.datname === name)) lines.push(`database ${name} absent`);
  return lines.join('\n');
}

async function tableCounts(database: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: urlFor(database) });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ t: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    );
    const out: string[] = [];
    for (const { t } of tables) {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`);
      out.push(`${t} ${rows[0]?.n}`);
    }
    return out;
  } finally {
    await client.end();
  }
}
