/**
 * `drydock lint` as users and CI run it (the built CLI), and the lint step of `release` and
 * `migrate up` against a real PostgreSQL.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { makeMigrationDir, type MigrationDir, type MigrationSpec } from '../helpers/migrations.js';
import { RULE_CASES } from '../unit/lint/rules/cases.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

function dir(specs: MigrationSpec[] = []): MigrationDir {
  const m = makeMigrationDir(specs);
  cleanups.push(() => m.cleanup());
  return m;
}

async function db(label: string): Promise<TestDb> {
  const d = await createTestDb(label);
  cleanups.push(() => d.drop());
  return d;
}

const SAFE: MigrationSpec = { version: '20260101000000', name: 'create_users', up: 'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);\nCREATE INDEX users_email_idx ON users (email);', down: 'DROP TABLE users;' };
const UNSAFE: MigrationSpec = { version: '20260102000000', name: 'add_email_index', up: 'CREATE UNIQUE INDEX users_email_key ON users (email);', down: 'DROP INDEX users_email_key;' };
const NICKNAME: MigrationSpec = { version: '20260102000000', name: 'add_nickname', up: 'ALTER TABLE users ADD COLUMN nickname text;', down: 'ALTER TABLE users DROP COLUMN nickname;' };

describe('drydock lint', () => {
  it('exits 0 and says so when nothing is unsafe', async () => {
    const m = dir([SAFE, NICKNAME]);
    const res = await runCli(['lint', m.dir], { cwd: m.root });
    expect(res.exitCode).toBe(0);
    expect(res.stdout.trim()).toBe('No unsafe operations found in 2 files (checked for Postgres 15).');
    expect(res.stderr).toBe('');
  });

  it('exits 1 with file, line, column, the reason and the safe SQL', async () => {
    const m = dir([SAFE, UNSAFE]);
    const res = await runCli(['lint', m.dir], { cwd: m.root });
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toContain(
      'migrations/20260102000000_add_email_index.sql:2:1: error: CREATE UNIQUE INDEX blocks writes to `users` while the index builds (it holds a SHARE lock on the table until the build ends) [require-concurrent-index-creation]',
    );
    expect(res.stdout).toContain('CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);');
    expect(res.stdout).toContain('1 error and 0 warnings in 1 of 2 files (checked for Postgres 15).');
    expect(res.stderr).toMatch(/^error: lint found 1 unsafe operation in 1 file$/m);
    expect(res.stderr).toMatch(/^hint: .*-- drydock:safe <rule> <reason>/m);
  });

  describe('finding no SQL to lint is an error, not a green run (issue 13)', () => {
    /** A project folder with db/migrate holding `files` (name → content). */
    function project(files: Record<string, string>): { root: string; m: MigrationDir } {
      const m = dir();
      mkdirSync(join(m.root, 'db', 'migrate'), { recursive: true });
      for (const [name, content] of Object.entries(files)) {
        mkdirSync(join(m.root, 'db', 'migrate', name, '..'), { recursive: true });
        writeFileSync(join(m.root, 'db', 'migrate', name), content);
      }
      return { root: m.root, m };
    }
    const rails = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [`2026010${Math.floor(i / 10)}0${i % 10}0000_step_${i}.rb`, 'class Step < ActiveRecord::Migration[7.1]\n  def change\n  end\nend\n']),
    );
    const cases: Array<[string, Record<string, string>, string[], RegExp, RegExp]> = [
      ['a Rails db/migrate (12 .rb files)', { ...rails, 'README.md': '# notes\n' }, ['db/migrate'], /^error: nothing to lint in db\/migrate: found 12 \.rb files and 1 \.md file, but no \.sql migration to lint$/m, /Rails migrations are Ruby/],
      ['a Django migrations folder', { '0001_initial.py': 'from django.db import migrations\n', '__init__.py': '' }, ['db/migrate'], /found 2 \.py files, but no \.sql migration/, /manage\.py sqlmigrate APP MIGRATION/],
      ['an empty folder', {}, ['db/migrate'], /^error: nothing to lint in db\/migrate: found no files at all$/m, /for Prisma, prisma\/migrations/],
      ['only separate down files', { '001_init.down.sql': 'DROP TABLE t;\n' }, ['db/migrate'], /found 1 separate down file \(\*\.down\.sql, linted with --down\), but no \.sql migration/, /pass --down/],
      ['the default migrations folder holding no SQL', { 'x.rb': '' }, [], /^error: nothing to lint in db\/migrate: found 1 \.rb file, but no \.sql/m, /drydock lints \.sql files/],
    ];
    for (const [what, files, args, message, hint] of cases) {
      it(`exits 2 for ${what}, saying what it found and how to get SQL linted`, async () => {
        const { root } = project(files);
        writeFileSync(join(root, 'drydock.json'), JSON.stringify({ migrationsDir: 'db/migrate' }));
        const res = await runCli(['lint', ...args], { cwd: root });
        expect(res.exitCode).toBe(2);
        expect(res.stdout).toBe('');
        const lines = res.stderr.trim().split('\n');
        expect(lines).toEqual([expect.stringMatching(message), expect.stringMatching(/^hint: /)]);
        expect(lines[1]).toMatch(hint);
        expect(res.stderr).not.toContain('No unsafe operations');

        for (const json of [['--json'], ['--format', 'json']]) {
          const out = await runCli(['lint', ...args, ...json], { cwd: root });
          expect(out.exitCode).toBe(2);
          const doc = JSON.parse(out.stdout) as { ok: boolean; files: unknown[]; error: string; hint: string };
          expect(doc).toMatchObject({ ok: false, files: [], findings: [] });
          expect(doc.error).toMatch(message.source.startsWith('^error: ') ? new RegExp(message.source.replace('^error: ', '^')) : message);
          expect(out.stderr).toMatch(/^error: nothing to lint/m);
        }
        const github = await runCli(['lint', ...args, '--format', 'github'], { cwd: root });
        expect(github.exitCode).toBe(2);
      });
    }

    it('still lints the SQL next to other files, and exits 0 when --start-after leaves every file out', async () => {
      const { root } = project({ ...rails, '20260301000000_add_users.sql': '-- migrate:up\nCREATE TABLE users (id int);\n' });
      const mixed = await runCli(['lint', 'db/migrate'], { cwd: root });
      expect(mixed.exitCode).toBe(0);
      expect(mixed.stdout.trim()).toBe('No unsafe operations found in 1 file (checked for Postgres 15).');
      const old = await runCli(['lint', 'db/migrate', '--start-after', '20260301000000'], { cwd: root });
      expect(old.exitCode).toBe(0);
      expect(old.stdout.trim()).toBe('No unsafe operations found in 0 files (1 older file skipped by --start-after) (checked for Postgres 15).');
    });
  });

  it('lints the migrations folder from drydock.json when no path is given', async () => {
    const m = dir([SAFE, UNSAFE]);
    writeFileSync(join(m.root, 'drydock.json'), JSON.stringify({ migrationsDir: 'migrations' }));
    const res = await runCli(['lint'], { cwd: m.root });
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toContain('migrations/20260102000000_add_email_index.sql:2:1');
  });

  it('exits 2 for a path that does not exist, and for a missing default folder', async () => {
    const m = dir();
    const missing = await runCli(['lint', 'nope.sql'], { cwd: m.root });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^error: cannot read nope\.sql: no such file or folder$/m);
    const noDefault = await runCli(['lint', '--dir', 'db/migrate'], { cwd: m.root });
    expect(noDefault.exitCode).toBe(2);
    expect(noDefault.stderr).toMatch(/^error: the migrations directory db\/migrate does not exist$/m);
  });

  it('exits 2 for a file it may not read', async () => {
    const m = dir([UNSAFE]);
    const path = join(m.dir, '20260102000000_add_email_index.sql');
    chmodSync(path, 0o000);
    const res = await runCli(['lint', path], { cwd: m.root });
    chmodSync(path, 0o644);
    // root can read anything; everyone else gets exit 2.
    if (process.getuid?.() === 0) expect(res.exitCode).toBe(1);
    else {
      expect(res.exitCode).toBe(2);
      expect(res.stderr).toMatch(/permission denied/);
    }
  });

  it('prints only JSON on stdout with --json, and still exits 1', async () => {
    const m = dir([SAFE, UNSAFE]);
    const res = await runCli(['lint', m.dir, '--json'], { cwd: m.root });
    expect(res.exitCode).toBe(1);
    const json = JSON.parse(res.stdout) as { ok: boolean; errors: number; findings: Array<{ rule: string; file: string; line: number; column: number; help: string }> };
    expect(json).toMatchObject({ ok: false, errors: 1, warnings: 0, pgVersion: 15 });
    expect(json.findings.map((f) => [f.rule, f.file, f.line, f.column])).toEqual([['require-concurrent-index-creation', 'migrations/20260102000000_add_email_index.sql', 2, 1]]);
    expect(res.stderr).toMatch(/^error: lint found 1 unsafe operation in 1 file$/m);
  });

  it('prints JSON with --format json too', async () => {
    const m = dir([SAFE]);
    const res = await runCli(['lint', m.dir, '--format', 'json'], { cwd: m.root });
    expect(res.exitCode).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, errors: 0, files: [{ file: 'migrations/20260101000000_create_users.sql', kind: 'drydock', statements: 2 }] });
  });

  it('writes GitHub Actions annotations with --format github', async () => {
    const m = dir([UNSAFE]);
    m.writeRaw('legacy.sql', 'DROP TABLE legacy;\nCREATE TABLE events (payload json);\n');
    const res = await runCli(['lint', m.dir, '--format', 'github'], { cwd: m.root });
    expect(res.exitCode).toBe(1);
    const lines = res.stdout.trim().split('\n');
    expect(lines.slice(0, -1).map((l) => /^::(error|warning) file=([^,]+),line=(\d+),col=(\d+),title=([^:]+)::(.+)$/.exec(l)?.slice(1, 6))).toEqual([
      ['error', 'migrations/20260102000000_add_email_index.sql', '2', '1', 'drydock lint%3A require-concurrent-index-creation'],
      ['error', 'migrations/legacy.sql', '1', '1', 'drydock lint%3A ban-drop-table'],
      ['error', 'migrations/legacy.sql', '1', '1', 'drydock lint%3A require-lock-timeout'],
      ['warning', 'migrations/legacy.sql', '2', '30', 'drydock lint%3A prefer-jsonb'],
    ]);
    expect(lines[lines.length - 1]).toBe('3 errors and 1 warning in 2 of 2 files (checked for Postgres 15).');
  });

  it('reports a file that does not parse with the parser’s message and location', async () => {
    const m = dir();
    m.writeRaw('20260103000000_broken.sql', '-- migrate:up\nCREATE TABLE ok_table (id int);\nALTER TABLE ok_table ADD COLUMNN name text;\n');
    const res = await runCli(['lint', m.dir], { cwd: m.root });
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toContain('migrations/20260103000000_broken.sql:3:39: error: syntax error at or near "text" [syntax-error]');
    expect(res.stdout).toContain('> 3 | ALTER TABLE ok_table ADD COLUMNN name text;');
  });

  it('judges by --pg-version, and reads the version from --url', async () => {
    const m = dir([SAFE, { version: '20260103000000', name: 'add_flag', up: 'ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;' }]);
    const v10 = await runCli(['lint', m.dir, '--pg-version', '10'], { cwd: m.root });
    expect(v10.exitCode).toBe(1);
    expect(v10.stdout).toContain('[adding-field-with-volatile-default]');
    expect((await runCli(['lint', m.dir, '--pg-version', '11'], { cwd: m.root })).exitCode).toBe(0);
    const d = await db('lint_version');
    const fromServer = await runCli(['lint', m.dir, '--url', d.url, '--json'], { cwd: m.root });
    expect(fromServer.exitCode).toBe(0);
    const { rows } = await d.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    expect((JSON.parse(fromServer.stdout) as { pgVersion: number }).pgVersion).toBe(Math.floor(Number(rows[0]!.v) / 10000));
    const bad = await runCli(['lint', m.dir, '--pg-version', 'fifteen'], { cwd: m.root });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^error: --pg-version must be a PostgreSQL major version like 15 or 9\.6, not "fifteen"$/m);
  });

  it('reads Postgres 18 syntax: an error for the older server at --url, the NOT VALID path with --pg-version 18', async () => {
    const notNull: MigrationSpec = { version: '20260103000000', name: 'email_not_null', up: 'ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email NOT VALID;' };
    const validate: MigrationSpec = { version: '20260104000000', name: 'validate_email', up: 'ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;' };
    const m = dir([SAFE, notNull, validate]);
    const d = await db('lint_pg18');
    const { rows } = await d.query<{ v: string }>(`SELECT current_setting('server_version_num')::int / 10000 AS v`);
    const serverMajor = Number(rows[0]!.v);
    const fromServer = await runCli(['lint', m.dir, '--url', d.url, '--json'], { cwd: m.root });
    const json = JSON.parse(fromServer.stdout) as { findings: Array<{ rule: string; file: string }> };
    if (serverMajor < 18) {
      expect(fromServer.exitCode).toBe(1);
      expect(json.findings.map((f) => [f.rule, f.file.split('/').pop()])).toEqual([['ban-newer-postgres-syntax', '20260103000000_email_not_null.sql']]);
    }
    const v18 = await runCli(['lint', m.dir, '--pg-version', '18'], { cwd: m.root });
    expect(v18.exitCode).toBe(0);
    expect(v18.stdout.trim()).toBe('No unsafe operations found in 3 files (checked for Postgres 18).');
    const v18SetNotNull = dir([SAFE, { version: '20260103000000', name: 'set_not_null', up: 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;' }]);
    const advice = await runCli(['lint', v18SetNotNull.dir, '--pg-version', '18'], { cwd: v18SetNotNull.root });
    expect(advice.exitCode).toBe(1);
    expect(advice.stdout).toContain('ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email NOT VALID;');
  });

  it('flags exactly the syntax an older server rejects (ban-newer-postgres-syntax against the real parser)', async () => {
    const d = await db('lint_syntax');
    const { rows } = await d.query<{ v: string }>(`SELECT current_setting('server_version_num')::int / 10000 AS v`);
    if (Number(rows[0]!.v) >= 18) return; // the server understands all of it
    const cases = RULE_CASES['ban-newer-postgres-syntax']!;
    /** The SQLSTATE the server gives the statement (in a transaction rolled back), or 'ok'. */
    const sqlstate = async (sql: string): Promise<string> => {
      try {
        await d.query(`BEGIN; ${sql}; ROLLBACK;`);
        return 'ok';
      } catch (error) {
        await d.query('ROLLBACK').catch(() => undefined);
        return (error as { code?: string }).code ?? 'unknown';
      }
    };
    for (const c of cases.err) {
      const sql = typeof c === 'string' ? c : c.sql;
      // syntax_error, or feature_not_supported for syntax the old grammar reads only to refuse.
      expect(['42601', '0A000'], sql).toContain(await sqlstate(sql));
    }
    for (const c of cases.ok) {
      if (typeof c !== 'string' && (c.pgVersion ?? 15) >= 18) continue;
      const sql = typeof c === 'string' ? c : c.sql;
      // Unknown tables and the like are fine: only these mean the server lacks the syntax.
      expect(['42601', '0A000'], sql).not.toContain(await sqlstate(sql));
    }
  });

  it('lints plain files statement by statement, with --assume-in-transaction when a tool wraps them', async () => {
    const m = dir();
    m.writeRaw('V2__index.sql', "SET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY i ON users (email);\n");
    expect((await runCli(['lint', m.dir], { cwd: m.root })).exitCode).toBe(0);
    const wrapped = await runCli(['lint', m.dir, '--assume-in-transaction'], { cwd: m.root });
    expect(wrapped.exitCode).toBe(1);
    expect(wrapped.stdout).toContain('[ban-concurrent-index-in-transaction]');
  });

  it('explains a rule and lists them all', async () => {
    const explain = await runCli(['lint', '--explain', 'ban-set-not-null']);
    expect(explain.exitCode).toBe(0);
    expect(explain.stdout).toMatch(/^# ban-set-not-null\n/);
    expect(explain.stdout).toContain('## Solution');
    const list = await runCli(['lint', '--list-rules']);
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toMatch(/^prefer-jsonb\s+warning\s+json columns/m);
    const unknown = await runCli(['lint', '--explain', 'nope']);
    expect(unknown.exitCode).toBe(2);
  });
});

/** drydock.json that counts every measured table as large (issue 14: findings on small tables are notes). */
const LARGE = { lintSmallTable: { rows: 0, bytes: 0 } };

describe('lint in release and migrate up', () => {
  async function deployed(label: string): Promise<{ d: TestDb; m: MigrationDir }> {
    const d = await db(label);
    const m = dir([SAFE]);
    expect((await runCli(['migrate', '--dir', m.dir, '--url', d.url], { cwd: m.root })).exitCode).toBe(0);
    // users is empty here: with no small-table allowance, findings block as on a large table.
    writeFileSync(join(m.root, 'drydock.json'), JSON.stringify(LARGE));
    return { d, m };
  }

  const release = (d: TestDb, m: MigrationDir, extra: string[] = [], env: Record<string, string> = {}) =>
    runCli(['release', '--dir', m.dir, ...extra], { cwd: m.root, env: { DATABASE_URL: d.url, ...env } });

  const versions = async (d: TestDb) => (await d.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY 1')).rows.map((r) => r.version);

  it('refuses an unsafe pending migration, applies nothing, and says how to proceed', async () => {
    const { d, m } = await deployed('lint_release_refuse');
    m.write(UNSAFE);
    const res = await release(d, m);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toMatch(/^(\[[^\]]+\] )?migrations\/20260102000000_add_email_index\.sql:2:1: error: CREATE UNIQUE INDEX blocks writes to `users`/m);
    expect(res.stderr).toMatch(/^error: refusing to apply 1 unsafe operation\(s\) in pending migrations: 20260102000000_add_email_index\.sql:2 require-concurrent-index-creation$/m);
    expect(res.stderr).toMatch(/^hint: .*-- drydock:safe <rule> <reason>.*--lint warn/m);
    expect(await versions(d)).toEqual(['20260101000000']);
  });

  it('applies it anyway with --lint warn, DRYDOCK_LINT=warn or drydock.json "lint": "warn", showing the findings', async () => {
    const { d, m } = await deployed('lint_release_warn');
    m.write(UNSAFE);
    const res = await release(d, m, ['--lint', 'warn']);
    expect(res.exitCode).toBe(0);
    expect(res.stderr).toMatch(/^(\[[^\]]+\] )?migrations\/20260102000000_add_email_index\.sql:2:1: error: .*\[require-concurrent-index-creation\]$/m);
    expect(res.stdout).toContain('Lint: 1 error(s), 0 warning(s) in 1 pending migration(s) (applying anyway: lint mode warn)');
    expect(await versions(d)).toEqual(['20260101000000', '20260102000000']);

    m.write({ version: '20260103000000', name: 'drop_nickname', up: 'ALTER TABLE users DROP COLUMN email;' });
    expect((await release(d, m, [], { DRYDOCK_LINT: 'warn' })).exitCode).toBe(0);

    m.write({ version: '20260104000000', name: 'drop_users', up: 'DROP TABLE users;' });
    writeFileSync(join(m.root, 'drydock.json'), JSON.stringify({ ...LARGE, lint: 'warn' }));
    expect((await release(d, m)).exitCode).toBe(0);
    expect(await versions(d)).toEqual(['20260101000000', '20260102000000', '20260103000000', '20260104000000']);
  });

  it('applies a migration whose unsafe statement is marked safe with a reason', async () => {
    const { d, m } = await deployed('lint_release_safe');
    m.write({ ...UNSAFE, up: `-- drydock:safe require-concurrent-index-creation users holds a handful of rows\n${UNSAFE.up}` });
    const res = await release(d, m);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('Lint: 1 pending migration(s) safe for Postgres');
    expect(await versions(d)).toEqual(['20260101000000', '20260102000000']);
  });

  it('lints in migrate up (and --dry-run), not at all with --lint off, and rejects a bad mode', async () => {
    const { d, m } = await deployed('lint_migrate_up');
    m.write(UNSAFE);
    const cli = (...args: string[]) => runCli(['migrate', ...args, '--dir', m.dir, '--url', d.url], { cwd: m.root });
    expect((await cli('up', '--dry-run')).exitCode).toBe(1);
    expect((await cli('up')).exitCode).toBe(1);
    const bad = await cli('up', '--lint', 'maybe');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^error: --lint must be one of error, warn, off, not "maybe"$/m);
    expect(await versions(d)).toEqual(['20260101000000']);
    const off = await cli('up', '--lint', 'off');
    expect(off.exitCode).toBe(0);
    expect(off.stdout).not.toContain('Lint');
    expect(await versions(d)).toEqual(['20260101000000', '20260102000000']);
  });

  it('reports a bad "lint" value in drydock.json with the other config problems', async () => {
    const m = dir([SAFE]);
    mkdirSync(join(m.root, 'x'), { recursive: true });
    writeFileSync(join(m.root, 'drydock.json'), JSON.stringify({ lint: 'loud' }));
    const res = await runCli(['lint', m.dir], { cwd: m.root });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/"lint" must be one of "error", "warn", "off"/);
  });
});
