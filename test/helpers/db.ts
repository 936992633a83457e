/**
 * Real-PostgreSQL helpers for tests. The server comes from DRYDOCK_TEST_DATABASE_URL
 * (default postgres://postgres@127.0.0.1:5432/postgres). Every database a test makes is named
 * with TEST_DB_PREFIX, is unique, and is dropped by the test (and by the global teardown if a
 * run was killed). Nothing without the prefix is ever dropped.
 */
import { randomBytes } from 'node:crypto';

import pg from 'pg';

/** Every database a test creates starts with this. */
export const TEST_DB_PREFIX = 'drydock_test_';

/** The admin URL of the test server. */
export function testServerUrl(): string {
  return process.env.DRYDOCK_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** The same server, another database. */
export function urlFor(database: string, base = testServerUrl()): string {
  const u = new URL(base);
  u.pathname = '/' + encodeURIComponent(database);
  return u.toString();
}

/** The same server with `localhost` as host (what the heroku CLI needs to skip SSL). */
export function localhostUrlFor(database: string, base = testServerUrl()): string {
  const u = new URL(urlFor(database, base));
  if (u.hostname === '127.0.0.1') u.hostname = 'localhost';
  return u.toString();
}

/** Run one query as the admin user on the test server's default database. */
export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: testServerUrl() });
  await client.connect();
  try {
    return await client.query<T>(sql, params);
  } finally {
    await client.end();
  }
}

/** A unique database name with the test prefix. */
export function uniqueDbName(label = 'db'): string {
  const clean = label.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 20);
  return `${TEST_DB_PREFIX}${clean}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

/** A database created for one test. */
export interface TestDb {
  name: string;
  /** URL with the test server's host (127.0.0.1 by default). */
  url: string;
  /** URL with host `localhost` (for the heroku CLI's pg:pull/psql, which require SSL for other hosts). */
  localhostUrl: string;
  /** Run SQL in this database. */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<T>>;
  drop(): Promise<void>;
}

/** Create a fresh, uniquely named database. Call `drop()` in afterAll/afterEach. */
export async function createTestDb(label = 'db', options: { template?: string } = {}): Promise<TestDb> {
  const name = uniqueDbName(label);
  const template = options.template ? ` TEMPLATE "${options.template.replace(/"/g, '""')}"` : '';
  await adminQuery(`CREATE DATABASE "${name}"${template}`);
  const url = urlFor(name);
  return {
    name,
    url,
    localhostUrl: localhostUrlFor(name),
    async query(sql, params = []) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return await client.query(sql, params);
      } finally {
        await client.end();
      }
    },
    drop: () => dropTestDb(name),
  };
}

/** Drop a test database (only ever one with the test prefix), terminating its connections. */
export async function dropTestDb(name: string): Promise<void> {
  if (!name.startsWith(TEST_DB_PREFIX)) throw new Error(`refusing to drop ${name}: not a test database`);
  await adminQuery(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
}

/** The pid embedded in a test database name (`drydock_test_<label>_<pid>_<hex>`). */
export function ownerPid(name: string): number | undefined {
  const m = /_(\d+)_[0-9a-f]{6}$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Drop leftover databases with the test prefix whose creating process is gone (global setup and
 * teardown). A concurrent test run's databases belong to live processes and are left alone.
 */
export async function dropLeftoverTestDbs(): Promise<string[]> {
  const { rows } = await adminQuery<{ datname: string; datistemplate: boolean }>(
    `SELECT datname, datistemplate FROM pg_database WHERE datname LIKE $1`,
    [`${TEST_DB_PREFIX.replace(/_/g, '\\_')}%`],
  );
  const dropped: string[] = [];
  // drydock's own copies (scratch, snapshots, spares) of test databases carry the test database's name
  // in their JSON comment: they go with it.
  const copies = await adminQuery<{ datname: string; comment: string | null }>(
    `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname LIKE 'drydock\\_%' AND datname NOT LIKE $1`,
    [`${TEST_DB_PREFIX.replace(/_/g, '\\_')}%`],
  );
  for (const { datname, comment } of copies.rows) {
    let target: string | undefined;
    try {
      target = (JSON.parse(comment ?? '') as { target?: string }).target;
    } catch {
      continue;
    }
    if (!target?.startsWith(TEST_DB_PREFIX)) continue;
    const pid = ownerPid(target);
    if (pid !== undefined && isAlive(pid)) continue;
    // An interrupted DROP DATABASE leaves it invalid (datconnlimit -2): ALTER fails there, DROP works.
    await adminQuery(`ALTER DATABASE "${datname.replace(/"/g, '""')}" WITH IS_TEMPLATE false ALLOW_CONNECTIONS true`).catch(() => undefined);
    await adminQuery(`DROP DATABASE IF EXISTS "${datname.replace(/"/g, '""')}" WITH (FORCE)`);
    dropped.push(datname);
  }
  for (const { datname, datistemplate } of rows) {
    const pid = ownerPid(datname);
    if (pid !== undefined && isAlive(pid)) continue;
    // Template databases made by tests (snapshots) need datistemplate cleared before DROP.
    if (datistemplate) await adminQuery(`ALTER DATABASE "${datname.replace(/"/g, '""')}" WITH IS_TEMPLATE false`).catch(() => undefined);
    await dropTestDb(datname);
    dropped.push(datname);
  }
  return dropped;
}

/** One number from a query in `database` on the test server (`SELECT count(*) AS n …`). */
export async function scalar(database: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: urlFor(database) });
  await client.connect();
  try {
    const row = (await client.query<Record<string, unknown>>(sql)).rows[0] ?? {};
    return Number(Object.values(row)[0]);
  } finally {
    await client.end();
  }
}

/** The drydock-made copies (scratch, previous, snapshot, spare) whose JSON comment names `target`. */
export async function drydockCopiesOf(target: string): Promise<Array<{ datname: string; kind: string; pid?: number }>> {
  const { rows } = await adminQuery<{ datname: string; comment: string | null }>(
    `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname LIKE 'drydock\\_%'`,
  );
  return rows.flatMap((r) => {
    try {
      const meta = JSON.parse(r.comment ?? '') as { target?: string; drydock?: string; pid?: number };
      return meta.target === target && meta.drydock ? [{ datname: r.datname, kind: meta.drydock, ...(meta.pid ? { pid: meta.pid } : {}) }] : [];
    } catch {
      return [];
    }
  });
}

/** Drop a database a test made as a pull target, with every drydock copy of it. */
export async function dropTargetAndCopies(target: string): Promise<void> {
  for (const copy of await drydockCopiesOf(target)) {
    await adminQuery(`ALTER DATABASE "${copy.datname}" WITH IS_TEMPLATE false ALLOW_CONNECTIONS true`).catch(() => undefined);
    await adminQuery(`DROP DATABASE IF EXISTS "${copy.datname}" WITH (FORCE)`);
  }
  await adminQuery(`DROP DATABASE IF EXISTS "${target.replace(/"/g, '""')}" WITH (FORCE)`);
}

/** Run SQL in `database` on the test server. */
export async function execIn(database: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: urlFor(database) });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The working databases a test file pulls into: uniquely named, and each dropped with its drydock copies by dropAll. */
export function workingDatabases(): { target: (label: string) => string; dropAll: () => Promise<void> } {
  const names: string[] = [];
  return {
    target: (label) => {
      const name = uniqueDbName(label);
      names.push(name);
      return name;
    },
    dropAll: async () => {
      for (const name of names) await dropTargetAndCopies(name);
    },
  };
}
