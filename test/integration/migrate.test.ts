/**
 * `drydock migrate …` end to end: failures mid-run, rollbacks, redo, edited files, bad input.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { type TestDb } from '../helpers/db.js';
import { makeMigrationDir, type MigrationDir, type MigrationSpec } from '../helpers/migrations.js';
import { appliedVersions, testScope } from '../helpers/scope.js';

const { cleanups, setup } = testScope();



async function exists(d: TestDb, name: string): Promise<boolean> {
  const { rows } = await d.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [name]);
  return rows[0]!.ok;
}

const users: MigrationSpec = { version: '20260101000000', name: 'create_users', up: 'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);', down: 'DROP TABLE users;' };
const emailIdx: MigrationSpec = {
  version: '20260102000000',
  name: 'users_email_idx',
  up: 'CREATE INDEX CONCURRENTLY users_email_idx ON users (email);',
  down: 'DROP INDEX CONCURRENTLY users_email_idx;',
  upNoTransaction: true,
  downNoTransaction: true,
};

describe('drydock migrate', () => {
  it('keeps earlier migrations, rolls back the failing one, and continues from it on rerun', async () => {
    const broken: MigrationSpec = { version: '20260103000000', name: 'add_posts', up: 'CREATE TABLE posts (id int);\nINSERT INTO no_such_table VALUES (1);', down: 'DROP TABLE posts;' };
    const later: MigrationSpec = { version: '20260104000000', name: 'add_rooms', up: 'CREATE TABLE rooms (id int);', down: 'DROP TABLE rooms;' };
    const { d, m, cli } = await setup('mig_midrun', [users, emailIdx, broken, later]);
    const res = await cli('migrate');
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: 20260103000000_add_posts\.sql:3:13: migration failed: relation "no_such_table" does not exist \(SQLSTATE 42P01\)$/m);
    expect(res.stderr).toMatch(/^hint: this migration was rolled back; earlier migrations stay applied; fix the file and run again$/m);
    expect(res.stderr).toContain('^'); // the code frame points at the error
    expect(await appliedVersions(d)).toEqual(['20260101000000', '20260102000000']);
    expect(await exists(d, 'posts')).toBe(false);
    expect(await exists(d, 'rooms')).toBe(false);

    m.write({ ...broken, up: 'CREATE TABLE posts (id int);' });
    const rerun = await cli('migrate');
    expect(rerun.exitCode).toBe(0);
    expect(rerun.stdout).toContain('Applied 2 migration(s)');
    expect(await appliedVersions(d)).toEqual(['20260101000000', '20260102000000', '20260103000000', '20260104000000']);
  });

  it('rolls back with --steps, --to and --to 0, running concurrent sections outside a transaction', async () => {
    const posts: MigrationSpec = { version: '20260103000000', name: 'add_posts', up: 'CREATE TABLE posts (id int);', down: 'DROP TABLE posts;' };
    const { d, cli } = await setup('mig_down', [users, emailIdx, posts]);
    expect((await cli('migrate')).exitCode).toBe(0);
    expect(await exists(d, 'users_email_idx')).toBe(true);
    const one = await cli('migrate', 'down');
    expect(one.exitCode).toBe(0);
    expect(one.stdout).toContain('Rolled back 1 migration(s)');
    expect(await appliedVersions(d)).toEqual(['20260101000000', '20260102000000']);
    const to = await cli('migrate', 'down', '--to', '20260101000000');
    expect(to.exitCode).toBe(0);
    expect(await exists(d, 'users_email_idx')).toBe(false);
    expect(await appliedVersions(d)).toEqual(['20260101000000']);
    expect((await cli('migrate', 'down', '--to', '0')).exitCode).toBe(0);
    expect(await appliedVersions(d)).toEqual([]);
    expect(await exists(d, 'users')).toBe(false);
    const version = await cli('migrate', 'version');
    expect(version.stdout.trim()).toBe('0');
  });

  it('refuses to roll back an irreversible migration and changes nothing', async () => {
    const drop: MigrationSpec = { version: '20260103000000', name: 'drop_legacy', up: 'CREATE TABLE legacy (id int); DROP TABLE legacy;', down: 'irreversible' };
    const { d, cli } = await setup('mig_irrev', [users, drop]);
    expect((await cli('migrate')).exitCode).toBe(0);
    const res = await cli('migrate', 'down', '--steps', '2');
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: .*20260103000000.*irreversible/m);
    expect(await appliedVersions(d)).toEqual(['20260101000000', '20260103000000']);
    expect(await exists(d, 'users')).toBe(true);
  });

  it('redo passes when down undoes up exactly', async () => {
    const { cli } = await setup('mig_redo_ok', [users, emailIdx]);
    expect((await cli('migrate')).exitCode).toBe(0);
    const res = await cli('migrate', 'redo', '--steps', '2');
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('the schema after down + up is identical');
  });

  it('redo catches a down section that changes more than its up section created', async () => {
    const nickname: MigrationSpec = {
      version: '20260103000000',
      name: 'add_nickname',
      up: 'ALTER TABLE users ADD COLUMN nickname text;',
      // Over-eager: also drops an index that existed before this migration.
      down: 'ALTER TABLE users DROP COLUMN nickname;\nDROP INDEX users_email_idx;',
    };
    const { cli } = await setup('mig_redo_diff', [users, { ...emailIdx, upNoTransaction: false, up: '-- drydock:safe require-concurrent-index-creation users is empty in this test\nCREATE INDEX users_email_idx ON users (email);', downNoTransaction: false, down: 'DROP INDEX users_email_idx;' }, nickname]);
    expect((await cli('migrate')).exitCode).toBe(0);
    const res = await cli('migrate', 'redo');
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toMatch(/^-CREATE INDEX users_email_idx ON public\.users USING btree \(email\);$/m);
    expect(res.stderr).toMatch(/^error: redo changed the schema: the down section of 20260103000000_add_nickname\.sql does not undo its up section$/m);
  });

  it('redo reports a down section that leaves objects behind so up fails again', async () => {
    const twoTables: MigrationSpec = { version: '20260103000000', name: 'two_tables', up: 'CREATE TABLE a (id int);\nCREATE TABLE b (id int);', down: 'DROP TABLE b;' };
    const { d, cli } = await setup('mig_redo_fail', [users, twoTables]);
    expect((await cli('migrate')).exitCode).toBe(0);
    const res = await cli('migrate', 'redo');
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: redo: re-applying after the rollback failed: .*relation "a" already exists/m);
    expect(res.stderr).toMatch(/^hint: the down section of 20260103000000_two_tables\.sql left something behind that the up section creates \(table a \(created by the up section at 20260103000000_two_tables\.sql:2\) still exists after the down section ran\)/m);
    expect(await appliedVersions(d)).toEqual(['20260101000000']);
  });

  it('flags an applied migration whose file changed or disappeared (exit 1)', async () => {
    const posts: MigrationSpec = { version: '20260103000000', name: 'add_posts', up: 'CREATE TABLE posts (id int);', down: 'DROP TABLE posts;' };
    const { m, cli } = await setup('mig_status', [users, posts]);
    expect((await cli('migrate')).exitCode).toBe(0);
    const clean = await cli('migrate', 'status');
    expect(clean.exitCode).toBe(0);
    expect(clean.stdout).toContain('2 applied, 0 pending.');

    const usersFile = join(m.dir, '20260101000000_create_users.sql');
    writeFileSync(usersFile, readFileSync(usersFile, 'utf8').replace('email text', 'email varchar(100)'));
    m.remove('20260103000000_add_posts.sql');
    m.write({ version: '20260104000000', name: 'add_rooms', up: 'CREATE TABLE rooms (id int);', down: 'DROP TABLE rooms;' });
    const res = await cli('migrate', 'status');
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toMatch(/^CHANGED +20260101000000 create_users/m);
    expect(res.stdout).toMatch(/^NO FILE +20260103000000/m);
    expect(res.stdout).toMatch(/^PENDING +20260104000000 add_rooms/m);
    expect(res.stderr).toMatch(/^error: 2 applied migration\(s\) no longer match their files/m);
    const json = await cli('migrate', 'status', '--json');
    expect((JSON.parse(json.stdout) as Array<{ state: string }>).map((r) => r.state)).toEqual(['changed', 'missing-file', 'pending']);
  });

  it('marks versions applied and unapplied without running them, and says so', async () => {
    const { d, cli } = await setup('mig_mark', [users]);
    await d.query('CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL)');
    const mark = await cli('migrate', 'mark-applied', '20260101000000');
    expect(mark.exitCode).toBe(0);
    expect(mark.stdout).toContain('marked 20260101000000_create_users.sql as applied');
    expect((await cli('migrate', 'mark-applied', '20260101000000')).stdout).toContain('already recorded as applied');
    expect(await appliedVersions(d)).toEqual(['20260101000000']);
    expect((await cli('migrate')).stdout).toContain('is up to date');
    const unmark = await cli('migrate', 'mark-unapplied', '20260101000000');
    expect(unmark.stdout).toContain('removed 20260101000000 from the ledger');
    expect(await exists(d, 'users')).toBe(true);
    expect(await appliedVersions(d)).toEqual([]);
    const unknown = await cli('migrate', 'mark-applied', '20990101000000');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/^error: no migration file with version 20990101000000/m);
  });

  it('validates statements with the real parser: CONCURRENTLY needs transaction:false', async () => {
    const { d, cli } = await setup('mig_concurrently', [users, { ...emailIdx, upNoTransaction: false }]);
    const res = await cli('migrate');
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: 20260102000000_users_email_idx\.sql:2: CREATE INDEX CONCURRENTLY cannot run inside a transaction$/m);
    expect(res.stderr).toMatch(/^hint: mark the section `-- migrate:up transaction:false`/m);
    expect(await exists(d, 'users')).toBe(false); // nothing applied, not even the valid first migration
  });

  it('rejects BEGIN/COMMIT inside a transactional migration', async () => {
    const { cli } = await setup('mig_begin', [{ version: '20260101000000', name: 'txn', up: 'BEGIN;\nCREATE TABLE x (id int);\nCOMMIT;', down: 'DROP TABLE x;' }]);
    const res = await cli('migrate');
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: 20260101000000_txn\.sql:2: transaction control \(BEGIN;?\) inside a migration/m);
  });
});

describe('drydock migrate with a migration that has no SQL yet (issue 13)', () => {
  it('`migrate create` then `migrate status`: the new file is pending with a warning, the folder still reads', async () => {
    const { d, m, cli } = await setup('mig_empty_new', [users]);
    expect((await cli('migrate')).exitCode).toBe(0);
    const created = await runCli(['migrate', 'create', 'add_posts', '--dir', m.dir], { cwd: m.root });
    expect(created.exitCode).toBe(0);
    const file = /created (.*\.sql)/.exec(created.stdout)![1]!;
    const version = /(\d{14})_add_posts\.sql$/.exec(file)![1]!;
    // A hand-written one too: markers, a comment, nothing to run.
    m.writeRaw('20260105000000_todo.sql', '-- migrate:up\n-- TODO\n\n-- migrate:down\n');

    const status = await cli('migrate', 'status');
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toMatch(/^applied +20260101000000 create_users/m);
    expect(status.stdout).toMatch(new RegExp(`^PENDING +${version} add_posts`, 'm'));
    expect(status.stdout).toMatch(/^PENDING +20260105000000 todo/m);
    expect(status.stderr).toMatch(new RegExp(`warning: ${version}_add_posts\\.sql: the up section has no statements yet`));
    expect(status.stderr).toMatch(/warning: 20260105000000_todo\.sql: the up section has no statements yet/);
    const json = await cli('migrate', 'status', '--json');
    expect(json.exitCode).toBe(0);
    const rows = JSON.parse(json.stdout) as Array<{ version: string; state: string; warning?: string }>;
    expect(rows.map((r) => [r.version, r.state, Boolean(r.warning)])).toEqual([
      ['20260101000000', 'applied', false],
      ['20260105000000', 'pending', true],
      [version, 'pending', true],
    ]);
    expect((await cli('migrate', 'version')).stdout.trim()).toBe('20260101000000');

    // Applying it is refused, naming the file; nothing else is applied either.
    m.write({ version: '20260104000000', name: 'add_rooms', up: 'CREATE TABLE rooms (id int);', down: 'DROP TABLE rooms;' });
    const up = await cli('migrate');
    expect(up.exitCode).toBe(2);
    expect(up.stderr.trim().split('\n')).toEqual([
      'error: refusing to apply 20260105000000_todo.sql: its up section has no statements',
      expect.stringMatching(/^hint: nothing was applied; write the SQL to run below `-- migrate:up`/),
    ]);
    expect(await appliedVersions(d)).toEqual(['20260101000000']);
    expect(await exists(d, 'rooms')).toBe(false);
    // Up to a version before it still works.
    expect((await cli('migrate', '--to', '20260104000000')).exitCode).toBe(0);
    expect(await appliedVersions(d)).toEqual(['20260101000000', '20260104000000']);
  });
});

describe('drydock migrate for other stacks', () => {
  it("delegates to the app's migration and rollback commands, with DATABASE_URL set", async () => {
    const { d, cli } = await setup('mig_command', []);
    await d.query('CREATE TABLE calls (what text)');
    const up = await cli('migrate', '--command', `psql -X -q "$DATABASE_URL" -c "INSERT INTO calls VALUES ('up')"`);
    expect(up.exitCode).toBe(0);
    expect(up.stdout).toContain('the migration command finished');
    const down = await cli('migrate', 'down', '--steps', '2', '--rollback-command', `psql -X -q "$DATABASE_URL" -c "INSERT INTO calls VALUES ('down')"`);
    expect(down.exitCode).toBe(0);
    expect(down.stdout).toContain('the rollback command ran 2 time(s)');
    const { rows } = await d.query<{ what: string }>('SELECT what FROM calls');
    expect(rows.map((r) => r.what)).toEqual(['up', 'down', 'down']);
    const failing = await cli('migrate', '--command', 'echo no such task >&2; exit 4');
    expect(failing.exitCode).toBe(2);
    expect(failing.stderr).toMatch(/^error: migration command failed \(exit 4\): no such task/m);
  });
});

describe('drydock migrate with broken migration files', () => {
  const cases: Array<[string, (m: MigrationDir) => void, RegExp]> = [
    ['an empty file', (m) => m.writeRaw('20260102000000_empty.sql', ''), /20260102000000_empty\.sql.*empty/i],
    ['a duplicate version', (m) => m.writeRaw('20260101000000_again.sql', '-- migrate:up\nSELECT 1;\n'), /two migrations have version 20260101000000/],
    ['a name with odd characters', (m) => m.writeRaw("20260102000000_drop'; --.sql", '-- migrate:up\nSELECT 1;\n'), /file name/i],
    ['a file without an up section', (m) => m.writeRaw('20260102000000_no_up.sql', 'CREATE TABLE x (id int);\n'), /migrate:up/],
  ];
  for (const [what, breakIt, message] of cases) {
    it(`rejects ${what} with a one-line error and applies nothing`, async () => {
      const { d, m, cli } = await setup('mig_bad', [users]);
      breakIt(m);
      const res = await cli('migrate');
      expect(res.exitCode).toBe(2);
      const lines = res.stderr.trim().split('\n');
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[0]).toMatch(message);
      expect(lines[1]).toMatch(/^hint: /);
      expect(res.stderr).not.toMatch(/\n\s+at /);
      expect(await exists(d, 'users')).toBe(false);
    });
  }
});

describe('drydock migrate refuses before anything changes (issue 12)', () => {
  /** Every relation of the database outside the system schemas: the ledger tables must not appear. */
  async function relations(d: TestDb): Promise<string[]> {
    const { rows } = await d.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast' ORDER BY 1`,
    );
    return rows.map((r) => r.name);
  }

  const refusals: Array<[string, MigrationSpec | string, string[], RegExp]> = [
    ['a syntax error', { version: '20260102000000', name: 'broken', up: 'CREATE TABLE posts (id int;' }, [], /syntax error in the up section/],
    ['a NUL byte', '-- migrate:up\nCREATE TABLE posts (id int);\0\n', [], /NUL byte/],
    ['BEGIN/COMMIT inside a transactional migration', { version: '20260102000000', name: 'txn', up: 'BEGIN;\nCREATE TABLE posts (id int);\nCOMMIT;' }, [], /transaction control/],
    ['CONCURRENTLY inside a transaction', { version: '20260102000000', name: 'idx', up: 'CREATE INDEX CONCURRENTLY users_email_idx ON users (email);' }, [], /CONCURRENTLY cannot run inside a transaction/],
    ['an unknown --to version', { version: '20260102000000', name: 'posts', up: 'CREATE TABLE posts (id int);' }, ['--to', '20991231000000'], /version 20991231000000 is not a known migration/],
  ];
  for (const [what, broken, extra, message] of refusals) {
    it(`refuses ${what} without creating the ledger tables`, async () => {
      const { d, m, cli } = await setup('mig_noledger', [users]);
      if (typeof broken === 'string') m.writeRaw('20260102000000_nul.sql', broken);
      else m.write(broken);
      const before = await relations(d);
      const res = await cli('migrate', ...extra);
      expect(res.exitCode).toBe(2);
      expect(res.stderr).toMatch(message);
      expect(res.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: /), expect.stringMatching(/^hint: /)]);
      expect(await relations(d)).toEqual(before);
      expect(before).toEqual([]);
    });
  }

  it('creates no ledger when there is nothing to apply', async () => {
    const { d, cli } = await setup('mig_nothing', []);
    const res = await cli('migrate');
    expect(res.exitCode).toBe(0);
    expect(await relations(d)).toEqual([]);
  });

  it('reports a malformed --to as a usage error naming the flag, before connecting', async () => {
    const m = makeMigrationDir([users]);
    cleanups.push(() => m.cleanup());
    for (const args of [['migrate', '--to', 'abc'], ['migrate', 'down', '--to', 'v1']]) {
      const started = Date.now();
      const res = await runCli([...args, '--dir', m.dir, '--url', 'postgres://postgres@127.0.0.1:1/nowhere'], { cwd: m.root });
      expect(res.exitCode).toBe(2);
      expect(res.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: --to must be a migration version .*not "(abc|v1)"$/), expect.stringMatching(/^hint: /)]);
      expect(res.stderr).not.toMatch(/connect|refused/i);
      expect(Date.now() - started).toBeLessThan(15_000);
    }
  });
});

describe('drydock migrate on a database whose ledger drydock did not write (issue 13)', () => {
  const RAILS = ['20190101000000', '20190201000000', '20190301000000', '20190401000000', '20190501000000'];
  const posts: MigrationSpec = { version: '20260103000000', name: 'add_posts', up: 'CREATE TABLE posts (id int);', down: 'DROP TABLE posts;' };

  /** A Rails app's database: its tables, schema_migrations(version varchar PK) as Rails creates it, ar_internal_metadata. */
  async function railsLedger(d: TestDb, versionsToRecord = RAILS): Promise<void> {
    await d.query(`CREATE TABLE schema_migrations (version character varying NOT NULL PRIMARY KEY)`);
    await d.query(`CREATE TABLE ar_internal_metadata (key character varying NOT NULL PRIMARY KEY, value character varying, created_at timestamp(6) NOT NULL, updated_at timestamp(6) NOT NULL)`);
    await d.query(`INSERT INTO ar_internal_metadata VALUES ('environment', 'production', now(), now())`);
    await d.query('CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL)');
    for (const v of versionsToRecord) await d.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v]);
  }

  type Row = { version: string; state: string };
  async function states(cli: (...args: string[]) => ReturnType<typeof runCli>): Promise<string[]> {
    const res = await cli('migrate', 'status', '--json');
    expect(res.exitCode, res.stderr).toBe(0);
    return (JSON.parse(res.stdout) as Row[]).map((r) => `${r.state} ${r.version}`);
  }

  it("Rails: status lists Rails' versions as recorded by another tool (exit 0), up applies drydock's, down stops at Rails' versions", async () => {
    const { d, cli } = await setup('adopt_rails', [posts]);
    await railsLedger(d);
    const status = await cli('migrate', 'status');
    expect(status.exitCode).toBe(0);
    expect(status.stdout).not.toContain('NO FILE');
    expect(status.stderr).not.toMatch(/restore the file/);
    expect(status.stdout).toMatch(/^external 20190101000000 … 20190501000000 {2}\(5 versions, recorded by another tool, no file here\)$/m);
    expect(status.stdout).toMatch(/^PENDING +20260103000000 add_posts$/m);
    expect(status.stdout).toContain('0 applied, 1 pending, 5 recorded by another tool (no file here).');
    expect(await states(cli)).toEqual([...RAILS.map((v) => `other-tool ${v}`), 'pending 20260103000000']);

    const up = await cli('migrate');
    expect(up.exitCode).toBe(0);
    expect(up.stdout).toContain('Applied 1 migration(s)');
    expect(await exists(d, 'posts')).toBe(true);
    expect(await states(cli)).toEqual([...RAILS.map((v) => `other-tool ${v}`), 'applied 20260103000000']);

    // Rolling back everything stops before Rails' versions, and rolls nothing back.
    const down = await cli('migrate', 'down', '--to', '0');
    expect(down.exitCode).toBe(2);
    expect(down.stderr).toMatch(/^error: version 20190501000000 was recorded by another tool .* so drydock cannot roll it back$/m);
    expect(await exists(d, 'posts')).toBe(true);
    // Rolling back drydock's own still works.
    expect((await cli('migrate', 'down')).exitCode).toBe(0);
    expect(await exists(d, 'posts')).toBe(false);
    expect(await appliedVersions(d)).toEqual(RAILS);
  });

  it("Rails: mark-unapplied refuses a Rails version without --force, saying what it would delete; mark-applied --without-file puts it back", async () => {
    const { d, cli } = await setup('adopt_unmark', []);
    await railsLedger(d);
    const refused = await cli('migrate', 'mark-unapplied', '20190301000000');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^error: refusing to remove 20190301000000 from the ledger: drydock did not record it \(it would delete the row version = '20190301000000' from schema_migrations on .*\)$/),
      expect.stringMatching(/^hint: nothing changed; .*--force.*`drydock migrate mark-applied 20190301000000 --without-file` to put it back$/),
    ]);
    expect(await appliedVersions(d)).toEqual(RAILS);

    const forced = await cli('migrate', 'mark-unapplied', '20190301000000', '--force');
    expect(forced.exitCode).toBe(0);
    expect(forced.stdout).toContain('removed 20190301000000 from the ledger');
    expect(await appliedVersions(d)).toEqual(RAILS.filter((v) => v !== '20190301000000'));

    const noFile = await cli('migrate', 'mark-applied', '20190301000000');
    expect(noFile.exitCode).toBe(2);
    expect(noFile.stderr).toMatch(/^hint: .*pass --without-file.*`drydock migrate baseline 20190301000000`/m);
    const back = await cli('migrate', 'mark-applied', '20190301000000', '--without-file');
    expect(back.exitCode).toBe(0);
    expect(back.stdout).toContain('marked version 20190301000000 (no file) as applied');
    expect(await appliedVersions(d)).toEqual(RAILS);
    // Put back as Rails had it: still another tool's, still protected.
    expect(await states(cli)).toEqual(RAILS.map((v) => `other-tool ${v}`));
    expect((await cli('migrate', 'mark-unapplied', '20190301000000')).exitCode).toBe(2);
    const { rows } = await d.query<{ n: string }>('SELECT count(*) AS n FROM drydock_migrations');
    expect(rows[0]!.n).toBe('0');
  });

  it('Rails: baseline at the newest Rails version; an adopter without SQL files sees no error, and the release guard sees the version', async () => {
    const { d, cli } = await setup('adopt_baseline', []);
    await railsLedger(d, []); // tables, but nothing recorded: schema version 0 with app tables
    const release = await cli('release');
    expect(release.exitCode).toBe(2);
    expect(release.stderr).toMatch(/^hint: .*`drydock migrate baseline VERSION`/m);
    const bad = await cli('migrate', 'baseline', 'latest');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^error: "latest" is not a migration version/m);

    const baseline = await cli('migrate', 'baseline', '20190501000000');
    expect(baseline.exitCode).toBe(0);
    expect(baseline.stdout).toMatch(/^baseline 20190501000000 recorded on .*: every version at or before it counts as applied; nothing was run\.$/m);
    expect(await appliedVersions(d)).toEqual(['20190501000000']);
    expect((await cli('migrate', 'version')).stdout.trim()).toBe('20190501000000');
    expect(await states(cli)).toEqual(['baseline 20190501000000']);
    const rel = await cli('release', '--lint', 'off');
    expect(rel.exitCode, rel.stderr).toBe(0);
    expect(rel.stdout).toMatch(/schema version is 20190501000000/);
  });

  it('dbmate: files ≤ the baseline are covered (never applied), versions without files are before the baseline, newer files apply', async () => {
    const old1: MigrationSpec = { version: '20250101000000', name: 'create_users', up: 'CREATE TABLE users (id int);', down: 'DROP TABLE users;' };
    const old2: MigrationSpec = { version: '20250201000000', name: 'create_rooms', up: 'CREATE TABLE rooms (id int);', down: 'DROP TABLE rooms;' };
    const { d, m, cli } = await setup('adopt_dbmate', [old1, old2, posts]);
    // dbmate's own ledger, written by dbmate: its files are drydock's format.
    await d.query('CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY)');
    await d.query(`INSERT INTO schema_migrations VALUES ('20240101000000'), ('20250101000000')`);
    await d.query('CREATE TABLE users (id int)');
    await d.query('CREATE TABLE rooms (id int)'); // applied by hand, never recorded
    // dbmate's squashed-away file is another tool's; its recorded file is applied; the unrecorded one would run.
    expect(await states(cli)).toEqual(['other-tool 20240101000000', 'applied 20250101000000', 'pending 20250201000000', 'pending 20260103000000']);
    const dry = await cli('migrate', '--dry-run');
    expect(dry.stdout).toMatch(/^ {2}20250201000000 create_rooms$/m);

    const baseline = await cli('migrate', 'baseline', '20250201000000');
    expect(baseline.exitCode).toBe(0);
    expect(baseline.stdout).toContain('1 recorded version(s) without a file here are before the baseline.');
    expect(baseline.stdout).toContain('1 migration file(s) at or before it will never be applied: 20250201000000_create_rooms.sql');
    // The baseline's own version is recorded in schema_migrations (so every tool sees the database at it): its file reads as applied.
    expect(await states(cli)).toEqual(['baseline 20240101000000', 'applied 20250101000000', 'applied 20250201000000', 'pending 20260103000000']);
    const up = await cli('migrate');
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stdout).toContain('Applied 1 migration(s)');
    expect(await appliedVersions(d)).toEqual(['20240101000000', '20250101000000', '20250201000000', '20260103000000']);

    // Moving the baseline says what it replaced; a file edited or deleted after the baseline is not drydock's problem.
    m.remove('20250101000000_create_users.sql');
    expect((await cli('migrate', 'status')).exitCode).toBe(0);
    const moved = await cli('migrate', 'baseline', '20250101000000');
    expect(moved.stdout).toContain('(it was 20250201000000)');
    expect(await states(cli)).toEqual(['baseline 20240101000000', 'baseline 20250101000000', 'applied 20250201000000', 'applied 20260103000000']);
    expect(await exists(d, 'rooms')).toBe(true);
  });

  it("mixed: a ledger drydock wrote keeps its rows and facts; only drydock's own missing file is a problem", async () => {
    const users2: MigrationSpec = { version: '20260101000000', name: 'create_accounts', up: 'CREATE TABLE accounts (id int);', down: 'DROP TABLE accounts;' };
    const { d, m, cli } = await setup('adopt_mixed', [users2, posts]);
    expect((await cli('migrate')).exitCode).toBe(0);
    const before = await d.query<{ version: string; checksum: string }>('SELECT version, checksum FROM drydock_migrations ORDER BY version');
    expect(await exists(d, 'drydock_baseline')).toBe(false); // ledgers in the field have no baseline table
    for (const v of RAILS.slice(0, 2)) await d.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v]);
    m.remove('20260103000000_add_posts.sql');

    const status = await cli('migrate', 'status');
    expect(status.exitCode).toBe(1);
    expect(status.stdout).toMatch(/^external +20190101000000 +\(recorded by another tool, no file here\)$/m);
    expect(status.stdout).toMatch(/^NO FILE +20260103000000 add_posts$/m);
    expect(status.stderr).toMatch(/^error: 1 applied migration\(s\) no longer match their files: 20260103000000 \(missing-file\)$/m);
    // drydock's own version is removed without fuss, as before.
    expect((await cli('migrate', 'mark-unapplied', '20260101000000')).exitCode).toBe(0);
    expect((await cli('migrate', 'mark-applied', '20260101000000')).exitCode).toBe(0);

    // A baseline over it: the rows drydock wrote stay, with their checksums.
    expect((await cli('migrate', 'baseline', '20260103000000')).exitCode).toBe(0);
    const after = await d.query<{ version: string; checksum: string }>('SELECT version, checksum FROM drydock_migrations WHERE version = $1', ['20260103000000']);
    expect(after.rows).toEqual(before.rows.filter((r) => r.version === '20260103000000'));
    expect(await states(cli)).toEqual(['baseline 20190101000000', 'baseline 20190201000000', 'applied 20260101000000', 'baseline 20260103000000']);
  });
});
