/**
 * `drydock release` as Heroku runs it: the built CLI, DATABASE_URL, plain output, real PostgreSQL.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { urlFor, type TestDb } from '../helpers/db.js';
import { makeMigrationDir, type MigrationDir } from '../helpers/migrations.js';
import { testScope } from '../helpers/scope.js';

const { cleanups, db } = testScope();


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

/** What Heroku sets on a review app (and only there). */
const REVIEW_APP = { HEROKU_PR_NUMBER: '42', HEROKU_BRANCH: 'feature-x' };

/** The relations in public, to show nothing changed. */
async function relations(d: TestDb): Promise<string[]> {
  return (await d.query<{ name: string }>(`SELECT relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1`)).rows.map((r) => r.name);
}

describe('drydock release', () => {
  it('skips at schema version 0 on an empty review-app database and changes nothing', async () => {
    const d = await db('rel_zero');
    const m = dir([BASE, logged(1)]);
    const res = await release(d, m, [], REVIEW_APP);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] release: schema version is 0 and the database is empty on a review app \(HEROKU_PR_NUMBER is set\): skipping migrations; its postdeploy sets the schema up$/m);
    const { rows } = await d.query(`SELECT to_regclass('schema_migrations') AS sm, to_regclass('applied_log') AS log`);
    expect(rows[0]).toEqual({ sm: null, log: null });
  });

  it('migrates a new production database from zero (no review-app marker), then finds nothing pending', async () => {
    const d = await db('rel_new_prod');
    const m = dir([BASE, logged(1), logged(2)]);
    const first = await release(d, m);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toMatch(/release: schema version is 0 and the database is empty, and this is not a review app \(none of HEROKU_PR_NUMBER, HEROKU_BRANCH, HEROKU_PARENT_APP_NAME or DRYDOCK_REVIEW_APP is set\): a new database: applying every migration from zero \(3\)/);
    expect(first.stdout).toContain('release: done, a new database: applied 3 migration(s) from zero; schema version is now 20260102000002');
    const { rows } = await d.query<{ migration: string }>('SELECT migration FROM applied_log ORDER BY at');
    expect(rows.map((r) => r.migration)).toEqual(['step_1', 'step_2']);
    const again = await release(d, m);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('the database is up to date (schema version 20260102000002)');
  });

  it('tells review apps from other apps: each Heroku marker, DRYDOCK_REVIEW_APP and the flags, the explicit settings winning', async () => {
    const cases: Array<{ env: Record<string, string>; args?: string[]; review: boolean; because: string }> = [
      { env: { HEROKU_PR_NUMBER: '7' }, review: true, because: 'HEROKU_PR_NUMBER is set' },
      { env: { HEROKU_BRANCH: 'my-branch' }, review: true, because: 'HEROKU_BRANCH is set' },
      { env: { HEROKU_PARENT_APP_NAME: 'my-app' }, review: true, because: 'HEROKU_PARENT_APP_NAME is set' },
      { env: { DRYDOCK_REVIEW_APP: 'true' }, review: true, because: 'DRYDOCK_REVIEW_APP=true' },
      { env: { ...REVIEW_APP, DRYDOCK_REVIEW_APP: 'false' }, review: false, because: 'DRYDOCK_REVIEW_APP=false' },
      { env: { DRYDOCK_REVIEW_APP: 'true' }, args: ['--no-review-app'], review: false, because: '--no-review-app' },
      { env: { DRYDOCK_REVIEW_APP: '0' }, args: ['--review-app'], review: true, because: '--review-app' },
      { env: { HEROKU_PR_NUMBER: '' }, review: false, because: 'none of' },
    ];
    for (const [i, c] of cases.entries()) {
      const d = await db(`rel_which_${i}`);
      const res = await release(d, dir([BASE]), c.args ?? [], c.env);
      const label = JSON.stringify(c);
      expect(res.exitCode, label).toBe(0);
      expect(res.stdout, label).toContain(c.review ? `on a review app (${c.because}): skipping migrations` : `this is not a review app (${c.because}`);
      expect((await d.query(`SELECT to_regclass('applied_log') IS NOT NULL AS migrated`)).rows[0]!.migrated, label).toBe(!c.review);
    }
  }, 120_000);

  it('refuses a DRYDOCK_REVIEW_APP that is neither true nor false', async () => {
    const d = await db('rel_which_bad');
    const res = await release(d, dir([BASE]), [], { DRYDOCK_REVIEW_APP: 'maybe' });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: DRYDOCK_REVIEW_APP must be true or false, not "maybe"$/m);
    expect(await relations(d)).toEqual([]);
  });

  it("runs the app's own migration command on a new production database", async () => {
    const d = await db('rel_new_cmd');
    const res = await release(d, dir([]), ['--command', 'psql "$DATABASE_URL" -X -q -c "CREATE TABLE made_by_command (id int)"']);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain("a new database: running the app's migration command from zero");
    expect(res.stdout).toContain('release: done, the migration command finished (a new database, migrated from zero)');
    expect(await relations(d)).toEqual(['made_by_command']);
  });

  it('fails with the command to run when a new production database has a schema file but no migrations', async () => {
    const d = await db('rel_new_schema_only');
    const m = dir([]);
    mkdirSync(join(m.root, 'db'), { recursive: true });
    writeFileSync(join(m.root, 'db', 'schema.sql'), 'CREATE TABLE users (id bigint PRIMARY KEY);\n');
    const res = await release(d, m, [], { HEROKU_APP: 'my-prod-app' });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: refusing to release to .*: schema version is 0 and the database is empty, and this is not a review app .*: a new database, with no migration files to set it up but a schema file \(db\/schema\.sql\)$/m);
    expect(res.stderr).toContain('`heroku run -a my-prod-app -- npx --no drydock schema load -f db/schema.sql`');
    expect(await relations(d)).toEqual([]);
  });

  it('refuses a database with no tables but used sequences at version 0 (not empty), review app or not', async () => {
    for (const [i, env] of [{}, REVIEW_APP].entries()) {
      const d = await db(`rel_zero_seq_${i}`);
      await d.query(`CREATE SEQUENCE invoice_numbers; SELECT nextval('invoice_numbers');`);
      const res = await release(d, dir([BASE]), [], env);
      expect(res.exitCode).toBe(2);
      expect(res.stderr).toMatch(/^error: refusing to release to .*: schema version is 0 but it holds 1 used sequence\(s\): public\.invoice_numbers$/m);
      expect(await relations(d)).toEqual(['invoice_numbers']);
    }
  });

  it('refuses a duration variable without a unit before connecting, naming it (a bare number used to mean ms here, s or h elsewhere)', async () => {
    const d = await db('rel_bare_duration');
    const m = dir([BASE]);
    expect((await runCli(['migrate', '--dir', m.dir, '--url', d.url])).exitCode).toBe(0);
    m.write(logged(1));
    for (const [name, value] of [['DRYDOCK_LOCK_TIMEOUT', '5000'], ['DRYDOCK_STATEMENT_TIMEOUT', '60'], ['DRYDOCK_CONNECT_TIMEOUT', '30']] as const) {
      const res = await release(d, m, [], { [name]: value });
      expect(res.exitCode, name).toBe(2);
      expect(res.stderr.trim().split('\n'), name).toEqual([
        `error: ${name} needs a unit: "${value}" could be milliseconds, seconds or hours`,
        expect.stringMatching(new RegExp(`^hint: write it with its unit \\(500ms, 5s, 4min \\(or 4m\\), 2h, 7d\\), for example ${name}=\\d+(s|min)$`)),
      ]);
    }
    expect((await d.query(`SELECT to_regclass('t_1') AS t1`)).rows[0]).toEqual({ t1: null });
    const ok = await release(d, m, [], { DRYDOCK_LOCK_TIMEOUT: '5s', DRYDOCK_STATEMENT_TIMEOUT: '1min', DRYDOCK_CONNECT_TIMEOUT: '0' });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain('applied 1 migration(s)');
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

  it('counts a database whose only tables are empty migration ledgers as empty: a review app skips, another app migrates from zero', async () => {
    for (const [i, env] of [REVIEW_APP, {}].entries()) {
      const d = await db(`rel_zero_ledgers_${i}`);
      await d.query(`CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
                     CREATE TABLE ar_internal_metadata (key varchar PRIMARY KEY, value varchar);
                     CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar); CREATE TABLE knex_migrations_lock (index serial PRIMARY KEY, is_locked int);`);
      const res = await release(d, dir([BASE]), [], env);
      expect(res.exitCode).toBe(0);
      expect(res.stdout).toContain('release: schema version is 0 and the database is empty');
      expect((await d.query(`SELECT to_regclass('applied_log') IS NOT NULL AS migrated`)).rows[0]).toEqual({ migrated: i === 1 });
    }
  });
});
