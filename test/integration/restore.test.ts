/**
 * `drydock restore` (on-call) through the real heroku CLI and the emulator: guarded, verified,
 * and it always puts maintenance mode and process counts back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { createTestDb, dropTargetAndCopies, scalar, testServerUrl, uniqueDbName, type TestDb } from '../helpers/db.js';
import { herokuBinPath } from '../helpers/heroku.js';

let emu: Emulator;
let cache: string;
const dbs: TestDb[] = [];
const locals: string[] = [];

function env(): Record<string, string> {
  return { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl(), DRYDOCK_CACHE_DIR: cache };
}

/** An app whose database has 100 users and a completed backup b001 of that state, then gets "damaged". */
async function damagedApp(name: string): Promise<TestDb> {
  const db = await createTestDb(name.replace(/-/g, '_'));
  dbs.push(db);
  await db.query(`CREATE TABLE users (id serial PRIMARY KEY, email text);
                  CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
                  INSERT INTO schema_migrations VALUES ('20260101000000');
                  INSERT INTO users (email) SELECT 'u' || g FROM generate_series(1, 100) g;`);
  emu.addApp({ name, databaseUrl: db.localhostUrl, formation: { web: 2, worker: 1, clock: 1 } });
  await emu.addBackup(name);
  await db.query(`DELETE FROM users WHERE id > 10`); // the incident
  return db;
}

async function users(db: TestDb): Promise<number> {
  return Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM users')).rows[0]!.n);
}

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'drydock-cache-'));
  emu = await startEmulator();
});

afterAll(async () => {
  await emu?.stop();
  for (const db of dbs) await db.drop();
  for (const l of locals) await dropTargetAndCopies(l);
  rmSync(cache, { recursive: true, force: true });
});

describe('drydock restore', () => {
  it('refuses without --confirm on a closed stdin, or with the wrong app, and changes nothing', async () => {
    const db = await damagedApp('rs-refuse');
    const none = await runCli(['restore', 'b001', '-a', 'rs-refuse'], { env: env() });
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/^error: restore of rs-refuse needs --confirm rs-refuse$/m);
    const wrong = await runCli(['restore', 'b001', '-a', 'rs-refuse', '--confirm', 'rs-refuse-prod'], { env: env() });
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toMatch(/^error: --confirm rs-refuse-prod does not match the app rs-refuse$/m);
    expect(await users(db)).toBe(10);
    expect(emu.backups('rs-refuse')).toHaveLength(1); // no safety backup either
    expect(emu.requests.some((r) => r.method === 'POST' && /\/restores$/.test(r.path))).toBe(false);
  });

  it('--dry-run shows which backup goes into which database and changes nothing', async () => {
    const db = await damagedApp('rs-dry');
    const res = await runCli(['restore', 'b001', '-a', 'rs-dry', '--dry-run', '--maintenance'], { env: env() });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/backup +b001, taken .*, of DATABASE/);
    expect(res.stdout).toContain("into     rs-dry's DATABASE_URL (its current data is REPLACED)");
    expect(res.stdout).toContain('Dry run: nothing was changed.');
    expect(await users(db)).toBe(10);
  });

  it('takes a safety backup, restores, verifies, and puts maintenance and processes back', async () => {
    const db = await damagedApp('rs-ok');
    const res = await runCli(['restore', 'b001', '-a', 'rs-ok', '--confirm', 'rs-ok', '--maintenance', '--scale-down', 'worker,clock'], { env: env() });
    expect(res.exitCode).toBe(0);
    expect(await users(db)).toBe(100);
    const safety = emu.backups('rs-ok').at(-1)!;
    expect(safety.id).toBe('b002');
    expect(res.stdout).toContain('safety backup of the data before the restore: b002');
    expect(res.stdout).toContain('undo: drydock restore b002 -a rs-ok --confirm rs-ok');
    expect(res.stdout).toMatch(/verified: 2 table\(s\), 101 row\(s\), schema version 20260101000000/);
    expect(emu.app('rs-ok')).toMatchObject({ maintenance: false, formation: { web: 2, worker: 1, clock: 1 } });
    // Maintenance really was on and the workers really were scaled down during the restore.
    const patches = emu.requests.filter((r) => r.method === 'PATCH' && /\/apps\/rs-ok(\/formation)?$/.test(r.path));
    expect(patches.length).toBeGreaterThanOrEqual(4);
  });

  it('puts maintenance and processes back after a failed restore, and says what state the app is in', async () => {
    const db = await damagedApp('rs-fail');
    emu.setTransferBehavior('rs-fail', { restore: 'fail' });
    const res = await runCli(['restore', 'b001', '-a', 'rs-fail', '--confirm', 'rs-fail', '--maintenance', '--scale-down', 'worker'], { env: env() });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/maintenance and process counts were put back as they were/);
    expect(res.stderr).toMatch(/undo with drydock restore b002 -a rs-fail --confirm rs-fail/);
    expect(emu.app('rs-fail')).toMatchObject({ maintenance: false, formation: { web: 2, worker: 1, clock: 1 } });
    expect(await users(db)).toBe(10);
  });

  it('detects a restore that reported success but did nothing', async () => {
    await damagedApp('rs-noop');
    emu.setTransferBehavior('rs-noop', { restore: 'noop' });
    const res = await runCli(['restore', 'latest', '-a', 'rs-noop', '--confirm', 'rs-noop', '--no-safety-backup'], { env: env() });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: the restore did not produce the backup's data: public\.users: 10 \(backup: 100\)/m);
  });

  it('--to-local restores the backup into a local database instead', async () => {
    await damagedApp('rs-local');
    const local = uniqueDbName('rs_local');
    locals.push(local);
    const res = await runCli(['restore', 'b001', '-a', 'rs-local', '--to-local', local], { env: env() });
    expect(res.exitCode).toBe(0);
    expect(await scalar(local, 'SELECT count(*) AS n FROM users')).toBe(100);
  });
});
