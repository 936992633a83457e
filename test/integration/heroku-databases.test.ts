/**
 * Apps with more than one database, and databases attached from another app, as real Heroku has them
 * (issue 16, items 1 and 2), through the real heroku CLI and the emulator:
 * - a provisioned database is attached twice (HEROKU_POSTGRESQL_<COLOUR> first, then DATABASE), and
 *   transfers name it by its colour ("Backing up COBALT to b001"); a follower has its own colour;
 * - `heroku pg:info` without an argument prints every database, the follower first here, so drydock
 *   always names the database (DATABASE_URL, or --database);
 * - 'latest' only means the chosen database's backups;
 * - a database billed to another app has its backups (and restores) listed under that app.
 */
import { readFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, test } from 'vitest';

import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { createTestDb, scalar, testServerUrl, workingDatabases, type TestDb } from '../helpers/db.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../helpers/embedded-pg.js';
import { herokuBinPath, runHeroku } from '../helpers/heroku.js';

let emu: Emulator;
let cache: string;
let primary: TestDb;
let follower: TestDb;
let ownerMain: TestDb;
let shared: TestDb;
let pg17: EmbeddedPostgres;
const { target, dropAll } = workingDatabases();

/** A database with `rows` widgets and a schema version, so each copy can be told apart by its rows. */
async function seeded(label: string, rows: number): Promise<TestDb> {
  const db = await createTestDb(label);
  await db.query(`CREATE TABLE widgets (id int PRIMARY KEY, name text);
                  CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
                  INSERT INTO schema_migrations VALUES ('20260101000000');
                  INSERT INTO widgets SELECT g, 'w' || g FROM generate_series(1, ${rows}) g`);
  return db;
}

async function widgets(db: TestDb): Promise<number> {
  return Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM widgets')).rows[0]?.n);
}

function env(): Record<string, string> {
  return { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl(), DRYDOCK_CACHE_DIR: cache };
}

function drydock(args: string[]) {
  return runCli(args, { env: env(), timeoutMs: 170_000 });
}

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'drydock-cache-mdb-'));
  [primary, follower, ownerMain, shared, pg17] = await Promise.all([
    seeded('mdb_primary', 30),
    seeded('mdb_follower', 7),
    seeded('mdb_owner', 11),
    seeded('mdb_shared', 13),
    startEmbeddedPostgres({ major: 17 }),
  ]);
  emu = await startEmulator({
    apps: [
      // A primary (COBALT) and a follower (AMBER) on the same major.
      { name: 'mdb-shop', databaseUrl: primary.localhostUrl, colour: 'COBALT' },
      // A primary on the local major (IVORY) and a follower on PostgreSQL 17 (AMBER).
      { name: 'mdb-versions', databaseUrl: primary.localhostUrl, colour: 'IVORY' },
      // Owns two databases: its primary (attached only as DATABASE) and AMBER, which it shares.
      { name: 'mdb-owner', databaseUrl: ownerMain.localhostUrl },
      { name: 'mdb-reports' },
      { name: 'mdb-lender', databaseUrl: ownerMain.localhostUrl },
      { name: 'mdb-borrower' },
    ],
    attachments: [
      { app: 'mdb-shop', name: 'HEROKU_POSTGRESQL_AMBER', url: follower.localhostUrl },
      { app: 'mdb-versions', name: 'HEROKU_POSTGRESQL_AMBER', url: pg17.url },
      { app: 'mdb-owner', name: 'HEROKU_POSTGRESQL_AMBER', url: shared.localhostUrl },
      // mdb-reports uses mdb-owner's AMBER as its DATABASE: billed to mdb-owner.
      { app: 'mdb-reports', name: 'DATABASE', from: 'mdb-owner:HEROKU_POSTGRESQL_AMBER' },
      { app: 'mdb-borrower', name: 'DATABASE', from: 'mdb-lender' },
    ],
  });
}, 120_000);

afterAll(async () => {
  await emu?.stop();
  await dropAll();
  await Promise.all([primary?.drop(), follower?.drop(), ownerMain?.drop(), shared?.drop(), pg17?.stop()]);
  rmSync(cache, { recursive: true, force: true });
});

describe.concurrent('apps with more than one database', { timeout: 300_000 }, () => {
  test("pg:info without a database lists the follower first; drydock reads the primary's version", async ({ expect }) => {
    await emu.addBackup('mdb-versions');
    const [all, restore] = await Promise.all([
      runHeroku(emu, ['pg:info', '-a', 'mdb-versions'], { timeoutMs: 120_000 }),
      drydock(['restore', 'latest', '-a', 'mdb-versions', '--dry-run']),
    ]);
    // The CLI sorts the databases by their first config var: HEROKU_POSTGRESQL_AMBER_URL before HEROKU_POSTGRESQL_IVORY_URL.
    expect(all.exitCode, all.stderr).toBe(0);
    const headers = [...all.stdout.matchAll(/^=== (.+)$/gm)].map((m) => m[1]);
    expect(headers).toEqual(['HEROKU_POSTGRESQL_AMBER_URL', 'HEROKU_POSTGRESQL_IVORY_URL, DATABASE_URL']);
    expect(all.stdout.split('\n=== ')[0]).toMatch(/^PG Version:\s+17\./m);
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(restore.stdout).toMatch(/pg_restore 15\.\d+ reads PostgreSQL 15 backups/);
    expect(restore.stdout).not.toMatch(/PostgreSQL 17/);
  });

  test("'latest' is the newest backup of the chosen database, and pull --database pulls a follower", async ({ expect }) => {
    const cobalt = await emu.addBackup('mdb-shop');
    const amber = await emu.addBackup('mdb-shop', { database: 'HEROKU_POSTGRESQL_AMBER' });
    expect([cobalt.database, amber.database]).toEqual(['COBALT', 'AMBER']);
    const [fromBackup, followerBackup, followerLive] = [target('mdb_pb'), target('mdb_fb'), target('mdb_fl')];
    const [listed, listedAmber, plan, pulled, pulledFollower, pulledLive] = await Promise.all([
      drydock(['backups', 'list', '-a', 'mdb-shop', '--json']),
      drydock(['backups', 'list', '-a', 'mdb-shop', '--database', 'HEROKU_POSTGRESQL_AMBER', '--json']),
      drydock(['restore', 'latest', '-a', 'mdb-shop', '--dry-run']),
      drydock(['pull', '-a', 'mdb-shop', '--from', 'backup', '--to', fromBackup, '--no-snapshot']),
      drydock(['pull', '-a', 'mdb-shop', '--database', 'HEROKU_POSTGRESQL_AMBER', '--from', 'backup', '--to', followerBackup, '--no-snapshot']),
      drydock(['pull', '-a', 'mdb-shop', '--database', 'HEROKU_POSTGRESQL_AMBER', '--to', followerLive, '--no-snapshot']),
    ]);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as Array<{ id: string; database: string }>).map((b) => [b.id, b.database])).toEqual([['b001', 'COBALT']]);
    expect((JSON.parse(listedAmber.stdout) as Array<{ id: string }>).map((b) => b.id)).toEqual(['b002']);
    // b002 is newer, but it is the follower's.
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/backup +b001, taken .*, of COBALT/);
    for (const run of [pulled, pulledFollower, pulledLive]) expect(run.exitCode, run.stderr).toBe(0);
    expect(pulled.stdout).toMatch(/backup b001/);
    expect(await scalar(fromBackup, 'SELECT count(*) AS n FROM widgets')).toBe(30);
    expect(pulledFollower.stdout).toMatch(/Pulled the newest backup of mdb-shop's HEROKU_POSTGRESQL_AMBER/);
    expect(pulledFollower.stdout).toMatch(/backup b002/);
    expect(await scalar(followerBackup, 'SELECT count(*) AS n FROM widgets')).toBe(7);
    expect(pulledLive.stdout).toMatch(/Pulled live database of mdb-shop's HEROKU_POSTGRESQL_AMBER/);
    expect(await scalar(followerLive, 'SELECT count(*) AS n FROM widgets')).toBe(7);

    const capture = await drydock(['backups', 'capture', '-a', 'mdb-shop', '--database', 'HEROKU_POSTGRESQL_AMBER']);
    expect(capture.exitCode, capture.stderr).toBe(0);
    expect(capture.stdout).toMatch(/captured b003/);
    expect(emu.backups('mdb-shop').at(-1)).toMatchObject({ id: 'b003', database: 'AMBER', succeeded: true });
  });

  test('a database shared from another app: backups are found, captured and restored under the app that pays for it', async ({ expect }) => {
    await emu.addBackup('mdb-owner'); // b001: mdb-owner's own DATABASE
    const ours = await emu.addBackup('mdb-reports'); // b002: the shared AMBER, listed under mdb-owner
    await emu.addBackup('mdb-owner'); // b003: newest overall, but of the other database
    expect(emu.backups('mdb-reports')).toEqual([]);
    expect(ours).toMatchObject({ id: 'b002', database: 'AMBER' });

    const file = join(cache, 'reports.dump');
    const [listed, info, download] = await Promise.all([
      drydock(['backups', 'list', '-a', 'mdb-reports', '--json']),
      drydock(['backups', 'info', '-a', 'mdb-reports']),
      drydock(['backups', 'download', '-a', 'mdb-reports', '-o', file]),
    ]);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as Array<{ id: string }>).map((b) => b.id)).toEqual(['b002']);
    expect(info.exitCode, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/^b002: completed, backup/m);
    expect(download.exitCode, download.stderr).toBe(0);
    expect((await readFile(file)).equals(await readFile(ours.file))).toBe(true);

    await shared.query('DELETE FROM widgets WHERE id > 3');
    const restore = await drydock(['restore', 'latest', '-a', 'mdb-reports', '--confirm', 'mdb-reports']);
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(restore.stdout).toMatch(/backup +b002, .*of AMBER/);
    expect(restore.stdout).toContain("mdb-reports's DATABASE_URL is billed to mdb-owner: its backups and restores are listed there");
    expect(await widgets(shared)).toBe(13);
    expect(await widgets(ownerMain)).toBe(11);
    // The safety backup is mdb-owner's too, and named after the shared database.
    expect(emu.backups('mdb-owner').at(-1)).toMatchObject({ id: 'b004', database: 'AMBER', succeeded: true });
    expect(restore.stdout).toContain('undo: drydock restore b004 -a mdb-reports --confirm mdb-reports');

    const capture = await drydock(['backups', 'capture', '-a', 'mdb-reports']);
    expect(capture.exitCode, capture.stderr).toBe(0);
    expect(capture.stdout).toMatch(/captured b006/);
    expect(emu.backups('mdb-owner').at(-1)).toMatchObject({ id: 'b006', database: 'AMBER' });
  });

  test('the real CLI: a non-billing app gets a hint and lists none of the backups', async ({ expect }) => {
    const [capture, list] = await Promise.all([
      runHeroku(emu, ['pg:backups:capture', 'DATABASE_URL', '-a', 'mdb-borrower', '--verbose'], { timeoutMs: 120_000 }),
      runHeroku(emu, ['pg:backups', '-a', 'mdb-borrower'], { timeoutMs: 120_000 }),
    ]);
    expect(capture.exitCode, capture.stderr).toBe(0);
    expect(capture.stdout.replace(/\s+/g, ' ')).toContain('HINT: You are running this command with a non-billing application. Use heroku pg:backups -a mdb-lender to check the list of backups.');
    // mdb-lender's database has no colour attachment: transfers call it DATABASE.
    expect(capture.stdout).toMatch(/^Backing up DATABASE to b001\.\.\.$/m);
    expect(emu.backups('mdb-lender')).toEqual([expect.objectContaining({ id: 'b001', database: 'DATABASE' })]);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/No backups\./);
  });
});
