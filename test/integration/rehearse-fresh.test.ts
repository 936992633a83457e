/**
 * `drydock rehearse`, the fresh-database comparison: after the pending migrations ran on the copy, a
 * scratch database is built from zero as a review app would (schema file + newer migrations, or every
 * migration) and compared with the copy. Real PostgreSQL, real pg_dump/psql, the built CLI; the copy is
 * pulled (pull --from-url) from a "production" database made by drydock's own runner.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { CLI_PATH, runCli } from '../helpers/cli.js';
import { adminQuery, createTestDb, testServerUrl, workingDatabases, type TestDb } from '../helpers/db.js';
import type { RehearsalReport } from '../../src/rehearse/report.js';

const env = { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() };
const working = workingDatabases();
const sources: TestDb[] = [];
const dirs: string[] = [];
/** Databases a test made by hand (the planted leftovers). */
const planted: string[] = [];

/** The history production was built with. */
const HISTORY = {
  '20260101000000_create_users.sql': '-- migrate:up\nCREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);\n\n-- migrate:down\nDROP TABLE users;\n',
  '20260102000000_users_email.sql': '-- migrate:up\nCREATE INDEX users_email_idx ON users (email);\n\n-- migrate:down\nDROP INDEX users_email_idx;\n',
};
const ADD_NAME = { '20270102000000_add_name.sql': '-- migrate:up\nALTER TABLE users ADD COLUMN name text;\n\n-- migrate:down\nALTER TABLE users DROP COLUMN name;\n' };

async function folder(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'drydock-fresh-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

/** "Production": HISTORY applied by drydock's runner, then `extraSql` (what was done there by hand), and some rows. */
async function production(label: string, extraSql = ''): Promise<TestDb> {
  const db = await createTestDb(label);
  sources.push(db);
  const migrated = await runCli(['migrate', 'up', '--url', db.url, '--dir', await folder(HISTORY)], { env: { DRYDOCK_LINT: 'off' } });
  expect(migrated.exitCode, migrated.stderr).toBe(0);
  await db.query(`${extraSql}\nINSERT INTO users (email) SELECT 'u' || g || '@example.com' FROM generate_series(1, 1000) g;`);
  return db;
}

/** The working database, pulled from `source` (it and its pristine snapshot). */
async function pulled(source: TestDb, label: string): Promise<string> {
  const to = working.target(label);
  const res = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to], { env, timeoutMs: 180_000 });
  expect(res.exitCode, res.stderr).toBe(0);
  return to;
}

async function rehearse(to: string, dir: string, extra: string[] = [], cwd?: string): Promise<{ exitCode: number; doc: RehearsalReport; stderr: string }> {
  const res = await runCli(['rehearse', '--to', to, '--dir', dir, '--json', ...extra], { env, cwd, timeoutMs: 180_000 });
  expect(res.stdout, res.stderr).toMatch(/^\{/);
  return { exitCode: res.exitCode, doc: JSON.parse(res.stdout) as RehearsalReport, stderr: res.stderr };
}

/** The scratch databases (drydock's marker) of rehearsals on `to`, with their comments. */
async function scratchOf(to: string): Promise<Array<{ datname: string; comment: string }>> {
  const { rows } = await adminQuery<{ datname: string; comment: string }>(
    `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE 'drydock rehearse scratch %' AND shobj_description(oid, 'pg_database') LIKE $1`,
    [`%"target":"${to}"%`],
  );
  return rows;
}

async function exists(datname: string): Promise<boolean> {
  return ((await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [datname])).rowCount ?? 0) > 0;
}

/** A pid no process has now (one that just exited). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

afterAll(async () => {
  for (const name of planted) await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await working.dropAll();
  for (const s of sources) await s.drop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('drydock rehearse: fresh database', () => {
  it('a history that builds production: a fresh database has the same schema (exit 0), and the scratch database is gone', async () => {
    const to = await pulled(await production('fr_clean'), 'fr_clean');
    const dir = await folder({ ...HISTORY, ...ADD_NAME });
    const report = join(dir, 'report.md');
    const { exitCode, doc, stderr } = await rehearse(to, dir, ['--report', report]);
    expect(exitCode, stderr).toBe(0);
    expect(doc.migrations.map((m) => m.verdict)).toEqual(['safe']);
    expect(doc.freshDatabase).toEqual({ checked: true, ok: true, how: '3 migrations from zero', differences: [], notes: [] });
    expect(doc.exitCode).toBe(0);
    expect(await readFile(report, 'utf8')).toContain('**Fresh database:** the same schema as the copy (built from 3 migrations from zero)');
    expect(await scratchOf(to)).toEqual([]);

    // --no-fresh skips it.
    const skipped = await rehearse(to, dir, ['--no-fresh']);
    expect(skipped.exitCode).toBe(0);
    expect(skipped.doc.freshDatabase).toEqual({ checked: false, ok: null, differences: [], note: 'not checked (--no-fresh)' });
  }, 240_000);

  it('production has a table and a column no migration creates: freshDatabase.ok false, naming them, exit 1', async () => {
    const to = await pulled(await production('fr_drift', 'ALTER TABLE users ADD COLUMN legacy_flag boolean; CREATE TABLE audit_log (id int);'), 'fr_drift');
    const res = await runCli(['rehearse', '--to', to, '--dir', await folder({ ...HISTORY, ...ADD_NAME })], { env, timeoutMs: 180_000 });
    expect(res.exitCode, res.stderr).toBe(1);
    expect(res.stdout).toContain('Fresh database: DIFFERS from the copy (built from 3 migrations from zero)');
    expect(res.stdout).toContain('  - table public.audit_log exists on the copy but not on a fresh database');
    expect(res.stderr).toContain('a fresh database built from the history differs from the copy');

    const { doc } = await rehearse(to, await folder({ ...HISTORY, ...ADD_NAME }));
    expect(doc.migrations.map((m) => m.verdict)).toEqual(['safe']);
    expect(doc.freshDatabase.ok).toBe(false);
    expect(doc.freshDatabase.differences).toEqual([
      { object: 'table public.audit_log', problem: 'table public.audit_log exists on the copy but not on a fresh database' },
      { object: 'table public.users', problem: 'table public.users differs between the copy and a fresh database (on the copy only: `legacy_flag boolean`)' },
    ]);
    expect(doc.exitCode).toBe(1);
    expect(await scratchOf(to)).toEqual([]);
  }, 240_000);

  it('a pending migration that only works because of an object the history lacks fails; an applied one that does is a difference', async () => {
    const source = await production('fr_relies', "CREATE TABLE legacy_things (id int); CREATE INDEX legacy_things_id_idx ON legacy_things (id); INSERT INTO schema_migrations VALUES ('20260103000000');");
    const to = await pulled(source, 'fr_relies');
    const legacyNote = { '20270101000000_legacy_note.sql': '-- migrate:up\nALTER TABLE legacy_things ADD COLUMN note text;\n\n-- migrate:down\nALTER TABLE legacy_things DROP COLUMN note;\n' };
    const { exitCode, doc } = await rehearse(to, await folder({ ...HISTORY, ...legacyNote, ...ADD_NAME }));
    expect(exitCode).toBe(1);
    const [note, name] = doc.migrations;
    // It worked on the copy (measured there), and fails on a fresh database, naming what it relies on.
    expect(note!.failure).toBeUndefined();
    expect(note!.verdict).toBe('fails');
    expect(note!.reason).toMatch(/^it fails on a fresh database: relation "legacy_things" does not exist \(SQLSTATE 42P01, line 2\) \(table public\.legacy_things exists on the copy but not on a fresh database\)$/);
    expect(name!.verdict).toBe('safe');
    expect(doc.reversible.ok).toBe(true);
    expect(doc.freshDatabase.ok).toBe(false);
    expect(doc.freshDatabase.differences.map((d) => d.object)).toEqual(['migration 20270101000000_legacy_note.sql', 'table public.legacy_things', 'index public.legacy_things_id_idx']);

    // The migration that created the index is applied on production; on a fresh database it fails: a difference, not a verdict.
    const legacyIndex = { '20260103000000_legacy_index.sql': '-- migrate:up\nCREATE INDEX legacy_things_id_idx ON legacy_things (id);\n\n-- migrate:down\nDROP INDEX legacy_things_id_idx;\n' };
    const again = await rehearse(to, await folder({ ...HISTORY, ...legacyIndex, ...ADD_NAME }));
    expect(again.exitCode).toBe(1);
    expect(again.doc.migrations.map((m) => [m.name, m.verdict])).toEqual([['add_name', 'safe']]);
    expect(again.doc.freshDatabase).toMatchObject({ checked: true, ok: false, how: '4 migrations from zero' });
    expect(again.doc.freshDatabase.differences).toEqual([
      {
        object: 'migration 20260103000000_legacy_index.sql',
        problem: '20260103000000_legacy_index.sql is already applied on production, but fails on a fresh database: relation "legacy_things" does not exist (SQLSTATE 42P01, line 2) (table public.legacy_things exists on the copy but not on a fresh database)',
      },
    ]);
    expect(await scratchOf(to)).toEqual([]);
  }, 240_000);

  it('loads the schema file and then applies the migrations it does not list, as a review app would', async () => {
    // Production: the history, a table made by hand, then the schema dump; then one more migration.
    const source = await production('fr_schema', 'CREATE TABLE legacy_things (id int);');
    const project = await folder();
    const dumped = await runCli(['schema', 'dump', '--url', source.url, '-o', join(project, 'db/schema.sql')], { env });
    expect(dumped.exitCode, dumped.stderr).toBe(0);
    const addNote = { '20260103000000_add_note.sql': '-- migrate:up\nALTER TABLE users ADD COLUMN note text;\n\n-- migrate:down\nALTER TABLE users DROP COLUMN note;\n' };
    const migrated = await runCli(['migrate', 'up', '--url', source.url, '--dir', await folder({ ...HISTORY, ...addNote })], { env: { DRYDOCK_LINT: 'off' } });
    expect(migrated.exitCode, migrated.stderr).toBe(0);
    const to = await pulled(source, 'fr_schema');
    const dir = await folder({ ...HISTORY, ...addNote, ...ADD_NAME });

    const { exitCode, doc, stderr } = await rehearse(to, dir, [], project);
    expect(exitCode, stderr).toBe(0);
    expect(doc.freshDatabase).toEqual({ checked: true, ok: true, how: 'schema file + 2 migrations', schemaFile: join(project, 'db/schema.sql'), differences: [], notes: [] });

    // Without the schema file, the migrations alone do not make the table production got by hand.
    const { doc: bare } = await rehearse(to, dir, [], await folder());
    expect(bare.freshDatabase).toMatchObject({ ok: false, how: '4 migrations from zero', differences: [{ object: 'table public.legacy_things' }] });

    // --schema names the file (as postdeploy's): it must exist; a missing one is a usage error, exit 2.
    const missing = await runCli(['rehearse', '--to', to, '--dir', dir, '--schema', join(project, 'db/nope.sql')], { env, cwd: project, timeoutMs: 180_000 });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(`schema file ${join(project, 'db/nope.sql')} not found`);
    expect(await scratchOf(to)).toEqual([]);
    const named = await rehearse(to, dir, ['--schema', join(project, 'db/schema.sql')], await folder());
    expect(named.doc.freshDatabase).toMatchObject({ ok: true, how: 'schema file + 2 migrations' });
  }, 240_000);

  it('Ctrl-C during the build drops the scratch database; one a killed rehearsal left is dropped by the next run, unmarked and live ones are not', async () => {
    const source = await production('fr_left', "INSERT INTO schema_migrations VALUES ('20260101500000');");
    const to = await pulled(source, 'fr_left');
    // Applied on production (recorded), so only the fresh build runs it: 30 s to interrupt it in.
    const slow = await folder({ ...HISTORY, '20260101500000_slow.sql': '-- migrate:up\nSELECT pg_sleep(30);\n\n-- migrate:down\nSELECT 1;\n', ...ADD_NAME });
    const start = async () => {
      const child = spawn(process.execPath, [CLI_PATH, 'rehearse', '--to', to, '--dir', slow], { env: { ...process.env, ...env, CI: 'true', DRYDOCK_SNAPSHOT_SPARE: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      for (let i = 0; ; i++) {
        const { rows } = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname LIKE '%\\_drydock\\_fresh\\_%' AND datname LIKE $1 AND query LIKE 'SELECT pg_sleep(30)%'`, [`${to.slice(0, 30)}%`]);
        if (Number(rows[0]!.n) > 0) break;
        if (i > 1200) throw new Error(`the fresh build never started: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return { child, exited, stderr: () => stderr };
    };

    const interrupted = await start();
    expect((await scratchOf(to)).map((d) => JSON.parse(d.comment.slice('drydock rehearse scratch '.length)) as { pid: number; host: string })).toEqual([{ target: to, pid: interrupted.child.pid, host: hostname(), createdAt: expect.any(String) as string }]);
    interrupted.child.kill('SIGINT');
    expect(await interrupted.exited).toBe(130);
    expect(interrupted.stderr()).toContain('interrupted (SIGINT)');
    expect(await scratchOf(to)).toEqual([]);

    const killed = await start();
    killed.child.kill('SIGKILL');
    await killed.exited;
    const left = await scratchOf(to);
    expect(left).toHaveLength(1);

    // Next to it: a database of the same name shape without the marker, and a marked one whose process (this one) runs.
    const unmarked = `${to.slice(0, 40)}_drydock_fresh_00000000`;
    const inUse = `${to.slice(0, 40)}_drydock_fresh_11111111`;
    const gone = `${to.slice(0, 40)}_drydock_fresh_22222222`;
    planted.push(unmarked, inUse, gone);
    for (const name of [unmarked, inUse, gone]) await adminQuery(`CREATE DATABASE "${name}"`);
    await adminQuery(`COMMENT ON DATABASE "${unmarked}" IS 'a database of my own'`);
    const marker = (pid: number) => `drydock rehearse scratch ${JSON.stringify({ target: to, pid, host: hostname(), createdAt: new Date().toISOString() })}`;
    await adminQuery(`COMMENT ON DATABASE "${inUse}" IS '${marker(process.pid)}'`);
    await adminQuery(`COMMENT ON DATABASE "${gone}" IS '${marker(await deadPid())}'`);

    const next = await runCli(['rehearse', '--to', to, '--dir', await folder({ ...HISTORY, ...ADD_NAME })], { env, timeoutMs: 180_000 });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/dropped \d+ scratch database\(s\) a killed rehearsal left: /);
    expect(next.stdout).toContain(left[0]!.datname);
    expect(next.stdout).toContain(gone);
    expect(await exists(left[0]!.datname)).toBe(false);
    expect(await exists(gone)).toBe(false);
    expect(await exists(unmarked)).toBe(true);
    expect(await exists(inUse)).toBe(true);
  }, 240_000);
});
