/**
 * Issue 12: every command with --dry-run changes nothing. Each dry run is checked against a fingerprint
 * of the server's databases (names, template flags, tables and row counts) taken before it.
 * `restore --to-local NAME --dry-run` used to replace NAME (the flag was not passed to the pull), and a
 * pull's dry run dropped leftovers of interrupted pulls.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cachePaths } from '../../src/backups/cache.js';
import { restore } from '../../src/pipelines/restore.js';
import { runCli } from '../helpers/cli.js';
import { adminQuery, createTestDb, dropTargetAndCopies, execIn, testServerUrl, uniqueDbName, type TestDb } from '../helpers/db.js';
import { backup, FakeHeroku, FIXED_NOW, makeDeps, type TestDeps } from '../helpers/fakes.js';
import { serverFingerprint } from '../helpers/fingerprint.js';
import { makeMigrationDir } from '../helpers/migrations.js';
import { createAppDb } from '../helpers/pull.js';

const APP = 'dry-prod';
let source: TestDb;
const cleanups: Array<() => void | Promise<void>> = [];

beforeAll(async () => {
  source = await createAppDb('dry_src', cleanups, { version: '20260301000000', users: 7 });
});

afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** A working database holding data no source has. */
async function workingDb(label: string): Promise<string> {
  const name = uniqueDbName(label);
  cleanups.push(() => dropTargetAndCopies(name));
  await adminQuery(`CREATE DATABASE "${name}"`);
  await execIn(name, `CREATE TABLE local_work (note text); INSERT INTO local_work VALUES ('keep me'), ('and me')`);
  return name;
}

/** libpq defaults pointing at the test server (in-process pulls read the local server from them). */
function localLibpq(): Record<string, string> {
  const u = new URL(testServerUrl());
  return { PGHOST: u.hostname, PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username) || 'postgres', ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}) };
}

/** FakeHeroku with APP (DATABASE_URL: the source) and its backup b001 already in the cache. */
async function appWithCachedBackup(): Promise<TestDeps> {
  const heroku = new FakeHeroku();
  const createdAt = new Date(FIXED_NOW - 3_600_000).toISOString();
  const version = (await source.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v.split(' ')[0]!;
  heroku.addApp(APP, { databaseUrl: source.url, backups: [backup('b001', createdAt)], pgVersion: version });
  const deps = makeDeps({ heroku, flags: { app: APP }, env: localLibpq() });
  cleanups.push(() => deps.cleanup());
  const paths = cachePaths(deps.settings.cacheDir, APP, 'b001');
  mkdirSync(paths.dir, { recursive: true });
  const tool = await deps.pgTools.tool('pg_dump', Number(version.split('.')[0]));
  execFileSync(tool.path, ['-Fc', '--no-owner', '-f', paths.file, source.url]);
  cleanups.push(() => rmSync(paths.file, { force: true }));
  writeFileSync(paths.meta, JSON.stringify({ app: APP, id: 'b001', file: paths.file, bytes: statSync(paths.file).size, md5: 'x', sha256: 'x', downloadedAt: new Date().toISOString(), createdAt }));
  return deps;
}

describe('dry runs change nothing', () => {
  it('pull --dry-run: the working database and the leftovers of an interrupted pull are as they were', async () => {
    const target = await workingDb('dry_pull');
    // A scratch copy an interrupted pull (a dead process) left: a real pull drops it, a dry run must not.
    const leftover = `drydock_pull_${Date.now().toString(16).slice(-12)}`;
    await adminQuery(`CREATE DATABASE "${leftover}"`);
    await adminQuery(`COMMENT ON DATABASE "${leftover}" IS '${JSON.stringify({ drydock: 'scratch', target, pid: 2 ** 22 + 7, createdAt: '2026-01-01T00:00:00Z' })}'`);
    const before = await serverFingerprint();
    const res = await runCli(['pull', '--from-url', source.localhostUrl, '--to', target, '--dry-run'], { env: { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() } });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/Plan \(dry run, nothing changed\)/);
    expect(await serverFingerprint()).toEqual(before);
  });

  it('restore --to-local NAME --dry-run: NAME keeps its data, nothing is created', async () => {
    const deps = await appWithCachedBackup();
    const target = await workingDb('dry_tolocal');
    const before = await serverFingerprint();
    const outcome = await restore(deps, { backup: 'b001', toLocal: target, dryRun: true }, () => undefined);
    expect('local' in outcome && outcome.local.dryRun).toBe(true);
    expect(await serverFingerprint()).toEqual(before);
    expect(deps.heroku.mutatingCalls()).toEqual([]);
  });

  it('restore --dry-run (into the app): the app database (here on the test server) is unchanged, no Heroku change', async () => {
    const deps = await appWithCachedBackup();
    const before = await serverFingerprint();
    const outcome = await restore(deps, { backup: 'b001', dryRun: true, confirm: APP }, () => undefined);
    expect('heroku' in outcome && outcome.heroku.dryRun).toBe(true);
    expect(await serverFingerprint()).toEqual(before);
    expect(deps.heroku.mutatingCalls()).toEqual([]);
  });

  it('migrate up --dry-run and migrate down --dry-run', async () => {
    const db = await createTestDb('dry_migrate');
    cleanups.push(() => db.drop());
    const m = makeMigrationDir([
      { version: '20260101000000', name: 'create_a', up: 'CREATE TABLE a (id int); INSERT INTO a VALUES (1);', down: 'DROP TABLE a;' },
      { version: '20260102000000', name: 'create_b', up: 'CREATE TABLE b (id int);', down: 'DROP TABLE b;' },
    ]);
    cleanups.push(() => m.cleanup());
    const cli = (...args: string[]) => runCli([...args, '--dir', m.dir, '--url', db.url], { cwd: m.root });
    expect((await cli('migrate', 'up', '--to', '20260101000000')).exitCode).toBe(0);
    const before = await serverFingerprint();
    const up = await cli('migrate', 'up', '--dry-run');
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await serverFingerprint()).toEqual(before);
    const down = await cli('migrate', 'down', '--dry-run');
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await serverFingerprint()).toEqual(before);
  });
});
