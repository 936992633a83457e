/**
 * `drydock release` as Heroku runs it: the built CLI, DATABASE_URL, plain output, real PostgreSQL.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { createTestDb, urlFor, type TestDb } from '../helpers/db.js';
import { makeMigrationDir, type MigrationDir } from '../helpers/migrations.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function db(label: string): Promise<TestDb> {
  const d = await createTestDb(label);
  cleanups.push(() => d.drop());
  return d;
}

function dir(specs: Parameters<typeof makeMigrationDir>[0]): MigrationDir {
  const m = makeMigrationDir(specs);
  cleanups.push(() => m.cleanup());
  return m;
}

function release(database: TestDb | string, migrations: MigrationDir, extra: string[] = [], env: Record<string, string | undefined> = {}) {
  const url = typeof database === 'string' ? database : database.url;
  return runCli(['release', '--dir', migrations.dir, ...extra], { cwd: migrations.root, env: { DATABASE_URL: url, ...env } });
}

const BASE = { version: '20260101000000', name: 'create_log', up: 'CREATE TABLE applied_log (migration text NOT NULL, at timestamptz DEFAULT clock_timestamp());', down: 'DROP TABLE applied_log;' };

function logged(n: number) {
  return {
    version: `2026010200000${n}`,
    name: `step_${n}`,
    up: `CREATE TABLE t_${n} (id int);\nINSERT INTO applied_log (migration) VALUES ('step_${n}');`,
    down: `DROP TABLE t_${n};\nDELETE FROM applied_log WHERE migration = 'step_${n}';`,
  };
}

describe('drydock release', () => {
  it('skips at schema version 0 and changes nothing', async () => {
    const d = await db('rel_zero');
    const m = dir([BASE, logged(1)]);
    const res = await release(d, m);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] release: schema version is 0/m);
    const { rows } = await d.query(`SELECT to_regclass('schema_migrations') AS sm, to_regclass('applied_log') AS log`);
    expect(rows[0]).toEqual({ sm: null, log: null });
  });

  it('migrates when the version is non-zero, then finds nothing pending', async () => {
    const d = await db('rel_migrate');
    const m = dir([BASE]);
    expect((await runCli(['migrate', '--dir', m.dir, '--url', d.url])).exitCode).toBe(0);
    m.write(logged(1));
    m.write(logged(2));
    const first = await release(d, m);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain('schema version is 20260101000000');
    expect(first.stdout).toMatch(/applied 20260102000001_step_1\.sql \(\d+ ms\)/);
    expect(first.stdout).toContain('release: done, applied 2 migration(s); schema version is now 20260102000002');
    const again = await release(d, m);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('the database is up to date (schema version 20260102000002)');
  });

  it('applies each pending migration exactly once with 8 concurrent releases', async () => {
    const d = await db('rel_concurrent');
    const m = dir([BASE]);
    expect((await runCli(['migrate', '--dir', m.dir, '--url', d.url])).exitCode).toBe(0);
    for (let n = 1; n <= 6; n++) m.write(logged(n));
    const runs = await Promise.all(Array.from({ length: 8 }, () => release(d, m)));
    expect(runs.map((r) => r.exitCode)).toEqual(Array(8).fill(0));
    const { rows } = await d.query<{ migration: string; n: string }>('SELECT migration, count(*) AS n FROM applied_log GROUP BY 1 ORDER BY 1');
    expect(rows).toEqual(Array.from({ length: 6 }, (_, i) => ({ migration: `step_${i + 1}`, n: '1' })));
    const versions = await d.query('SELECT count(*)::int AS n FROM schema_migrations');
    expect(versions.rows[0]!.n).toBe(7);
    // Exactly one process applied each migration; the others found nothing pending.
    const applyLines = runs.flatMap((r) => r.stdout.split('\n').filter((l) => /applied 2026010200000\d_step_\d\.sql/.test(l)));
    expect(applyLines).toHaveLength(6);
  }, 120_000);

  it('reads the version of a Rails database without drydock tables', async () => {
    const d = await db('rel_rails');
    await d.query(`CREATE TABLE schema_migrations (version character varying NOT NULL PRIMARY KEY);
                   CREATE TABLE ar_internal_metadata (key varchar PRIMARY KEY, value varchar);
                   INSERT INTO schema_migrations VALUES ('20250101000000'), ('20250301000000');`);
    const m = dir([{ version: '20260101000000', name: 'add_posts', up: 'CREATE TABLE posts (id int);', down: 'DROP TABLE posts;' }]);
    const res = await release(d, m);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('schema version is 20250301000000 (drydock/Rails/dbmate, 2 migration(s) recorded)');
    expect((await d.query(`SELECT to_regclass('posts') IS NOT NULL AS ok`)).rows[0]!.ok).toBe(true);
  });

  it("runs the app's own command for other stacks when their tracking table has a version", async () => {
    const d = await db('rel_knex');
    await d.query(`CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar, batch int, migration_time timestamptz);
                   INSERT INTO knex_migrations (name, batch) VALUES ('20250101_init.js', 1);`);
    const m = dir([]);
    const res = await release(d, m, ['--command', 'echo "knex migrated $DATABASE_URL_CHECK"'], { DATABASE_URL_CHECK: 'ok' });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('schema version is 20250101_init.js (Knex, 1 migration(s) recorded)');
    expect(res.stdout).toContain('knex migrated ok');
  });

  it('fails the deploy when the migration command fails', async () => {
    const d = await db('rel_cmd_fail');
    await d.query(`CREATE TABLE schema_migrations (version varchar PRIMARY KEY); INSERT INTO schema_migrations VALUES ('1');`);
    const res = await release(d, dir([]), ['--command', 'echo boom >&2; exit 3']);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: migration command failed \(exit 3\): boom/m);
  });

  it('fails clearly when DATABASE_URL is missing or empty', async () => {
    const m = dir([BASE]);
    for (const value of [undefined, '', '   ']) {
      const res = await release('', m, [], { DATABASE_URL: value });
      expect(res.exitCode).toBe(2);
      expect(res.stderr.trim().split('\n')).toEqual([
        'error: no database given: DATABASE_URL is not set',
        expect.stringMatching(/^hint: set DATABASE_URL/),
      ]);
    }
  });

  it('fails clearly when the database does not exist', async () => {
    const m = dir([BASE]);
    const res = await release(urlFor('drydock_test_never_created_db'), m, ['--connect-timeout', '1s']);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: cannot determine the schema version of postgres@127\.0\.0\.1:5432\/drydock_test_never_created_db: database "drydock_test_never_created_db" does not exist/m);
  });

  it('retries a refused connection for --connect-timeout, then fails', async () => {
    const m = dir([BASE]);
    const started = Date.now();
    const res = await release('postgres://postgres:hunter2hunter2@127.0.0.1:1/app', m, ['--connect-timeout', '2s']);
    const elapsed = Date.now() - started;
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toContain('connection refused');
    expect(res.stderr).not.toContain('hunter2hunter2');
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(elapsed).toBeLessThan(20_000);
  });

  it('applies nothing when a pending migration does not parse', async () => {
    const d = await db('rel_syntax');
    const m = dir([BASE]);
    expect((await runCli(['migrate', '--dir', m.dir, '--url', d.url])).exitCode).toBe(0);
    m.write(logged(1));
    m.write({ version: '20260103000000', name: 'broken', up: 'CREATE TABLE ok_table (id int);\nALTER TABLE ok_table ADD COLUMNN name text;', down: 'DROP TABLE ok_table;' });
    const res = await release(d, m);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: 20260103000000_broken\.sql:3:39: syntax error in the up section: syntax error at or near "text"/m);
    expect(res.stderr).toMatch(/^hint: fix the SQL; nothing has been applied/m);
    const { rows } = await d.query(`SELECT to_regclass('t_1') AS t1, (SELECT count(*)::int FROM schema_migrations) AS n`);
    expect(rows[0]).toEqual({ t1: null, n: 1 });
  });

  it('refuses unsafe pending migrations and leaves the database unchanged (no ledger tables created)', async () => {
    const d = await db('rel_unsafe');
    // A Rails database: schema_migrations only, no drydock_migrations yet.
    await d.query(`CREATE TABLE schema_migrations (version character varying NOT NULL PRIMARY KEY);
                   CREATE TABLE users (id bigint PRIMARY KEY, email text);
                   INSERT INTO schema_migrations VALUES ('20250101000000');`);
    const relations = async () =>
      (await d.query<{ name: string }>(`SELECT relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1`)).rows.map((r) => r.name);
    const before = await relations();
    const m = dir([{ version: '20260101000000', name: 'add_email_index', up: 'CREATE UNIQUE INDEX users_email_idx ON users (email);', down: 'DROP INDEX users_email_idx;' }]);
    // users is empty here: with no small-table allowance, the finding blocks as on a large table.
    writeFileSync(join(m.root, 'drydock.json'), JSON.stringify({ lintSmallTable: { rows: 0, bytes: 0 } }));
    const res = await release(d, m);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toMatch(/^error: refusing to apply 1 unsafe operation\(s\) in pending migrations/m);
    expect(await relations()).toEqual(before);
    expect(before).not.toContain('drydock_migrations');
  });

  it('refuses schema version 0 on a database that holds application tables (not a new review app)', async () => {
    const d = await db('rel_zero_tables');
    await d.query(`CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
                   CREATE TABLE users (id bigint PRIMARY KEY, email text); INSERT INTO users VALUES (1, 'ada@example.com');
                   CREATE TABLE posts (id bigint PRIMARY KEY);`);
    const m = dir([BASE, logged(1)]);
    const res = await release(d, m);
    expect(res.exitCode).toBe(2);
    expect(res.stdout).not.toContain('a new review app');
    expect(res.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^error: refusing to release to postgres@127\.0\.0\.1:5432\/drydock_test_rel_zero_tables_\w+: schema version is 0 but it holds 2 table\(s\): public\.posts, public\.users$/),
      expect.stringMatching(/^hint: .*drydock migrate mark-applied.*drydock migrate/),
    ]);
    const { rows } = await d.query(`SELECT to_regclass('applied_log') AS log, to_regclass('drydock_migrations') AS dm, (SELECT count(*)::int FROM schema_migrations) AS n`);
    expect(rows[0]).toEqual({ log: null, dm: null, n: 0 });
  });

  it('still skips at schema version 0 when the only tables are empty migration ledgers', async () => {
    const d = await db('rel_zero_ledgers');
    await d.query(`CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
                   CREATE TABLE ar_internal_metadata (key varchar PRIMARY KEY, value varchar);
                   CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar); CREATE TABLE knex_migrations_lock (index serial PRIMARY KEY, is_locked int);`);
    const res = await release(d, dir([BASE]));
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('release: schema version is 0');
    expect((await d.query(`SELECT to_regclass('applied_log') AS log`)).rows[0]).toEqual({ log: null });
  });
});
