/**
 * `drydock postdeploy` (app.json scripts.postdeploy): sets up an empty review-app database, and
 * refuses, changing nothing, anything else.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { run } from '../../src/exec.js';
import { runCli } from '../helpers/cli.js';
import { type TestDb } from '../helpers/db.js';
import { makeMigrationDir, type MigrationDir } from '../helpers/migrations.js';
import { testScope } from '../helpers/scope.js';

const { cleanups, db } = testScope();


let m: MigrationDir;

beforeAll(() => {
  m = makeMigrationDir([
    { version: '20260101000000', name: 'create_users', up: 'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);', down: 'DROP TABLE users;' },
    { version: '20260102000000', name: 'create_rooms', up: 'CREATE TABLE rooms (id bigserial PRIMARY KEY, name text NOT NULL, owner_id bigint REFERENCES users (id));', down: 'DROP TABLE rooms;' },
  ]);
  mkdirSync(join(m.root, 'db'), { recursive: true });
  writeFileSync(join(m.root, 'db/seeds.sql'), "INSERT INTO users (email) VALUES ('seed@example.com');\nINSERT INTO rooms (name, owner_id) VALUES ('lobby', 1);\n");
  cleanups.push(() => m.cleanup());
});

function postdeploy(d: TestDb, args: string[] = [], env: Record<string, string> = {}) {
  return runCli(['postdeploy', '--dir', m.dir, ...args], { cwd: m.root, env: { DATABASE_URL: d.url, ...env } });
}

/** Everything in the database, schema and data, as pg_dump prints it (deterministic). */
async function fullDump(d: TestDb): Promise<string> {
  const res = await run('/usr/lib/postgresql/15/bin/pg_dump', ['--no-owner', '--no-privileges'], { env: { PGHOST: '127.0.0.1', PGUSER: 'postgres', PGDATABASE: d.name } });
  return res.stdout.split('\n').filter((l) => !/^\\(un)?restrict /.test(l)).join('\n');
}

describe('drydock postdeploy', () => {
  it('runs every migration and the seeds on an empty database when there is no schema file', async () => {
    const d = await db('pd_migrations');
    const res = await postdeploy(d);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('running every migration from zero');
    expect(res.stdout).toMatch(/postdeploy: done: .* set up \(ran 2 migration\(s\); schema version 20260102000000; seeded from .*db\/seeds\.sql\)/);
    const { rows } = await d.query('SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM schema_migrations) AS versions');
    expect(rows[0]).toEqual({ users: 1, versions: 2 });
  });

  it('loads the schema file written by `schema dump`, then seeds', async () => {
    const source = await db('pd_source');
    expect((await runCli(['migrate', '--dir', m.dir, '--url', source.url])).exitCode).toBe(0);
    const schemaFile = join(m.root, 'db/schema-for-test.sql');
    expect((await runCli(['schema', 'dump', '--url', source.url, '-o', schemaFile])).exitCode).toBe(0);

    const d = await db('pd_schema');
    const res = await postdeploy(d, ['--schema', schemaFile]);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain(`loaded ${schemaFile}`);
    const { rows } = await d.query('SELECT (SELECT count(*)::int FROM rooms) AS rooms, (SELECT array_agg(version ORDER BY version) FROM schema_migrations) AS versions');
    expect(rows[0]).toEqual({ rooms: 1, versions: ['20260101000000', '20260102000000'] });
    // A later release sees a non-zero version and finds nothing pending.
    const release = await runCli(['release', '--dir', m.dir], { cwd: m.root, env: { DATABASE_URL: d.url } });
    expect(release.exitCode).toBe(0);
    expect(release.stdout).toContain('the database is up to date (schema version 20260102000000)');
  });

  it('applies the migrations newer than the schema file after loading it, then seeds, and reports the version it ends at', async () => {
    // The schema file was dumped when only the first migration existed; the seeds need the second one's table.
    const source = await db('pd_old_source');
    expect((await runCli(['migrate', '--dir', m.dir, '--url', source.url, '--to', '20260101000000'])).exitCode).toBe(0);
    const schemaFile = join(m.root, 'db/schema-v1.sql');
    expect((await runCli(['schema', 'dump', '--url', source.url, '-o', schemaFile])).exitCode).toBe(0);

    const d = await db('pd_schema_then_migrate');
    const res = await postdeploy(d, ['--schema', schemaFile]);
    expect(res.exitCode).toBe(0);
    const lines = res.stdout.split('\n');
    const at = (text: string) => lines.findIndex((l) => l.includes(text));
    expect(at(`postdeploy: loaded ${schemaFile}: 1 version(s), schema version 20260101000000`)).toBeGreaterThan(-1);
    expect(at('applied 20260102000000_create_rooms.sql')).toBeGreaterThan(at('postdeploy: loaded'));
    expect(at('postdeploy: schema version is now 20260102000000')).toBeGreaterThan(at('applied 20260102000000_create_rooms.sql'));
    expect(at('postdeploy: seeding from')).toBeGreaterThan(at('postdeploy: schema version is now'));
    expect(res.stdout).toContain(`set up (loaded ${schemaFile}, then applied 1 newer migration(s); schema version 20260102000000; seeded from`);
    const { rows } = await d.query('SELECT (SELECT count(*)::int FROM rooms) AS rooms, (SELECT array_agg(version ORDER BY version) FROM schema_migrations) AS versions');
    expect(rows[0]).toEqual({ rooms: 1, versions: ['20260101000000', '20260102000000'] });
    // The runner's own ledger knows the migration it applied.
    expect((await d.query('SELECT version FROM drydock_migrations')).rows).toEqual([{ version: '20260102000000' }]);
  });

  it('checks the migrations newer than the schema file before the first statement, and loads a schema file alone when there is no migrations folder', async () => {
    const source = await db('pd_old_source2');
    const first = makeMigrationDir([{ version: '20260101000000', name: 'create_users', up: 'CREATE TABLE users (id int);' }]);
    cleanups.push(() => first.cleanup());
    expect((await runCli(['migrate', '--dir', first.dir, '--url', source.url])).exitCode).toBe(0);
    const schemaFile = join(first.root, 'schema.sql');
    expect((await runCli(['schema', 'dump', '--url', source.url, '-o', schemaFile])).exitCode).toBe(0);

    first.write({ version: '20260102000000', name: 'broken', up: 'CREATE TABLE rooms (id int;' });
    const d = await db('pd_schema_broken_newer');
    const res = await runCli(['postdeploy', '--dir', first.dir, '--schema', schemaFile], { cwd: first.root, env: { DATABASE_URL: d.url } });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: 20260102000000_broken\.sql:\d+:\d+: syntax error/m);
    const { rows } = await d.query(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`);
    expect(rows[0]).toEqual({ n: 0 });

    const alone = await runCli(['postdeploy', '--dir', join(first.root, 'no-migrations-here'), '--schema', schemaFile], { cwd: first.root, env: { DATABASE_URL: d.url } });
    expect(alone.exitCode).toBe(0);
    expect(alone.stdout).toContain(`set up (loaded ${schemaFile}; schema version 20260101000000; no seeds)`);
  });

  it('refuses a database that holds data and leaves it byte-for-byte unchanged', async () => {
    const d = await db('pd_refuse');
    await d.query(`CREATE TABLE customers (id serial PRIMARY KEY, name text); INSERT INTO customers (name) VALUES ('Ada'), ('Grace');`);
    const before = await fullDump(d);
    const res = await postdeploy(d);
    expect(res.exitCode).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^error: refusing to set up postgres@127\.0\.0\.1:5432\/drydock_test_pd_refuse_\w+: it already holds 1 table\(s\): public\.customers$/),
      expect.stringMatching(/^hint: postdeploy only sets up an empty review-app database and changed nothing/),
    ]);
    expect(await fullDump(d)).toBe(before);
  });

  it('refuses a database with a non-zero schema version', async () => {
    const d = await db('pd_version');
    expect((await runCli(['migrate', '--dir', m.dir, '--url', d.url, '--to', '20260101000000'])).exitCode).toBe(0);
    const before = await fullDump(d);
    const res = await postdeploy(d);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/it already holds schema version 20260101000000/);
    expect(await fullDump(d)).toBe(before);
  });

  it('refuses to run in a release-phase dyno, even on an empty database', async () => {
    const d = await db('pd_release_dyno');
    const res = await postdeploy(d, [], { DYNO: 'release.4321' });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: refusing to run postdeploy in a release-phase dyno \(release\.4321\)$/m);
    const { rows } = await d.query(`SELECT to_regclass('users') AS users`);
    expect(rows[0]).toEqual({ users: null });
  });

  it('runs a seed command with DATABASE_URL instead of the seed file', async () => {
    const d = await db('pd_seed_cmd');
    const res = await postdeploy(d, ['--seed-command', 'psql -X -q -c "INSERT INTO users (email) VALUES (\'cmd@example.com\')" "$DATABASE_URL"']);
    expect(res.exitCode).toBe(0);
    const { rows } = await d.query('SELECT email FROM users');
    expect(rows).toEqual([{ email: 'cmd@example.com' }]);
  });

  const refusedEmpty = /^hint: postdeploy only sets up an empty review-app database and changed nothing/;

  it('refuses a database holding only large objects (data outside tables)', async () => {
    const d = await db('pd_lobs');
    await d.query(`SELECT lo_from_bytea(0, 'invoice.pdf bytes'), lo_from_bytea(0, 'avatar.png bytes')`);
    const before = await fullDump(d);
    const res = await postdeploy(d);
    expect(res.exitCode).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: refusing to set up .*: it already holds 2 large object\(s\)$/), expect.stringMatching(refusedEmpty)]);
    expect(await fullDump(d)).toBe(before);
  });

  it('refuses a database holding only a sequence that has been used (is_called)', async () => {
    const d = await db('pd_sequence');
    await d.query(`CREATE SEQUENCE invoice_numbers START 1000; SELECT nextval('invoice_numbers');`);
    const before = await fullDump(d);
    const res = await postdeploy(d);
    expect(res.exitCode).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: refusing to set up .*: it already holds 1 used sequence\(s\): public\.invoice_numbers$/), expect.stringMatching(refusedEmpty)]);
    expect(await fullDump(d)).toBe(before);
  });

  it('checks the seed file before the first statement: a typo changes nothing and a rerun works', async () => {
    const d = await db('pd_seed_typo');
    const res = await postdeploy(d, ['--seed', 'db/seedz.sql']);
    expect(res.exitCode).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: seed file .*db\/seedz\.sql not found$/), expect.stringMatching(/^hint: /)]);
    expect(res.stdout).not.toContain('running every migration');
    const { rows } = await d.query(`SELECT to_regclass('users') AS users, to_regclass('schema_migrations') AS sm`);
    expect(rows[0]).toEqual({ users: null, sm: null });
    expect((await postdeploy(d, ['--seed', 'db/seeds.sql'])).exitCode).toBe(0);
  });

  it('checks the schema file and the migrations before the first statement', async () => {
    const d = await db('pd_inputs');
    const missingSchema = await postdeploy(d, ['--schema', 'db/no-such-schema.sql', '--seed', 'db/seeds.sql']);
    expect(missingSchema.exitCode).toBe(2);
    expect(missingSchema.stderr).toMatch(/^error: schema file .*no-such-schema\.sql not found$/m);
    const broken = makeMigrationDir([{ version: '20260101000000', name: 'create_users', up: 'CREATE TABLE users (id int);' }, { version: '20260102000000', name: 'broken', up: 'CREATE TABLE rooms (id int;' }]);
    cleanups.push(() => broken.cleanup());
    const res = await runCli(['postdeploy', '--dir', broken.dir, '--seed', join(m.root, 'db/seeds.sql')], { cwd: broken.root, env: { DATABASE_URL: d.url } });
    expect(res.exitCode).toBe(2);
    expect(res.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: 20260102000000_broken\.sql:\d+:\d+: syntax error/), expect.stringMatching(/^hint: /)]);
    const { rows } = await d.query(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`);
    expect(rows[0]).toEqual({ n: 0 });
  });

  it('explains a failing seed command: what ran, that the schema is loaded, how to re-run only the seeds', async () => {
    const d = await db('pd_seed_fail');
    const res = await postdeploy(d, ['--seed-command', 'echo no such task >&2; exit 5']);
    expect(res.exitCode).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines.slice(-2)).toEqual([
      expect.stringMatching(/^error: seed command failed \(exit 5\): no such task$/),
      expect.stringMatching(/^hint: the schema is loaded \(ran 2 migration\(s\); schema version 20260102000000\).*re-run only the seeds.*DATABASE_URL.*echo no such task >&2; exit 5/),
    ]);
    expect((await d.query('SELECT count(*)::int AS n FROM schema_migrations')).rows[0]).toEqual({ n: 2 });
  });

  /** An app's own setup command (a framework's schema load), here through psql. */
  const SETUP = `psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "CREATE TABLE schema_migrations (version varchar PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000'), ('20240102000000'); CREATE TABLE posts (id bigserial PRIMARY KEY, title text NOT NULL)"`;

  it("--command sets an empty database up with the app's own command instead of the schema file and migrations, then seeds", async () => {
    const d = await db('pd_app_command');
    // db/schema.sql and the migrations folder exist, and neither is used.
    writeFileSync(join(m.root, 'db/schema.sql'), 'this is not SQL and must not be loaded\n');
    cleanups.push(() => rmSync(join(m.root, 'db/schema.sql'), { force: true }));
    const res = await postdeploy(d, ['--command', SETUP, '--seed-command', `psql "$DATABASE_URL" -X -q -c "INSERT INTO posts (title) VALUES ('hello')"`]);
    expect(res.stderr).toBe('');
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain("with the app's command: psql");
    expect(res.stdout).toMatch(/postdeploy: done: .* set up \(ran `psql .*`; schema version 20240102000000; seeded from psql .*\)(, verified.*)?$/m);
    expect((await d.query('SELECT title FROM posts')).rows).toEqual([{ title: 'hello' }]);
    expect((await d.query(`SELECT to_regclass('users') AS users, to_regclass('drydock_migrations') AS ledger`)).rows).toEqual([{ users: null, ledger: null }]);

    const json = await postdeploy(await db('pd_app_command_json'), ['--command', SETUP, '--seed-command', 'true', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ schema: { source: 'command', command: SETUP, versions: 2, migrated: 0, version: '20240102000000' }, seed: { source: 'command', detail: 'true' } });
  });

  it('--command keeps the guard: a database that holds data is refused before the command runs', async () => {
    const d = await db('pd_app_command_refused');
    await d.query(`CREATE TABLE customers (id serial PRIMARY KEY); INSERT INTO customers DEFAULT VALUES;`);
    const res = await postdeploy(d, ['--command', `psql "$DATABASE_URL" -X -q -c "CREATE TABLE must_not_exist ()"`]);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: refusing to set up .*: it already holds 1 table\(s\): public\.customers$/m);
    expect((await d.query(`SELECT to_regclass('must_not_exist') AS t`)).rows).toEqual([{ t: null }]);
  });

  it('refuses --schema together with --command, and an empty --command, changing nothing', async () => {
    const d = await db('pd_app_command_both');
    const both = await postdeploy(d, ['--command', SETUP, '--schema', 'db/schema.sql']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr.trim().split('\n')).toEqual(['error: --schema and --command both set the schema up', expect.stringMatching(/^hint: pass one of them: .*nothing was changed$/)]);
    const empty = await postdeploy(d, ['--command', ' ']);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toMatch(/^error: --command is empty$/m);
    expect((await d.query(`SELECT to_regclass('posts') AS t`)).rows).toEqual([{ t: null }]);
  });
});
