/**
 * HerokuCli's backup, restore, maintenance and formation methods over the real heroku CLI pointed
 * at the emulator: parsed results, real effects on the databases, and every failure mapped to a
 * HerokuError (or ConfigError) with a one-line, password-free message. Tests run concurrently,
 * each on its own app.
 */
import { afterAll, beforeAll, describe, test, type ExpectStatic } from 'vitest';

import { ConfigError, HerokuError, type HerokuErrorKind } from '../../src/errors.js';
import { HerokuCli } from '../../src/heroku/cli.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { herokuBinPath } from '../helpers/heroku.js';
import { startEmulator, type Emulator } from '../heroku-emulator/index.js';

const PASSWORD = 'b4ckupPw';

let emu: Emulator;
/** Read-only source of the backups (nothing is restored into it). */
let shared: TestDb;
let restoreDb: TestDb;

/** A test database's localhost URL with a password (the server trusts local users, so any works). */
function withPassword(db: TestDb): string {
  const url = new URL(db.localhostUrl);
  url.password = PASSWORD;
  return url.toString();
}

function cli(): HerokuCli {
  return new HerokuCli({ bin: herokuBinPath(), env: emu.env });
}

/** The error a promise rejects with, after checking it is a one-line message without the password. */
async function rejection<T extends Error>(expect: ExpectStatic, promise: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  const e = error as T & { hint?: string };
  for (const text of [e.message, e.hint ?? '']) {
    expect(text).not.toContain('\n');
    expect(text).not.toContain(PASSWORD);
  }
  return e;
}

async function herokuError(expect: ExpectStatic, promise: Promise<unknown>, kind: HerokuErrorKind): Promise<HerokuError> {
  const error = await rejection(expect, promise, HerokuError);
  expect({ kind: error.kind, message: error.message }).toMatchObject({ kind });
  return error;
}

async function rowsOf(db: TestDb): Promise<string> {
  const { rows } = await db.query<{ h: string }>(`SELECT count(*) || ':' || coalesce(md5(string_agg(id || name, ',' ORDER BY id)), '') AS h FROM widgets`);
  return rows[0]?.h ?? '';
}

beforeAll(async () => {
  [shared, restoreDb] = await Promise.all([createTestDb('bka_shared'), createTestDb('bka_restore')]);
  for (const db of [shared, restoreDb]) {
    await db.query(`CREATE TABLE widgets (id int PRIMARY KEY, name text); INSERT INTO widgets SELECT g, 'w' || g FROM generate_series(1, 40) g`);
  }
  const sharedUrl = withPassword(shared);
  emu = await startEmulator({
    apps: [
      { name: 'bka-capture', databaseUrl: sharedUrl },
      { name: 'bka-latest', databaseUrl: sharedUrl },
      { name: 'bka-cfail', databaseUrl: sharedUrl },
      { name: 'bka-pending', databaseUrl: sharedUrl },
      { name: 'bka-restore', databaseUrl: withPassword(restoreDb) },
      { name: 'bka-rfail', databaseUrl: sharedUrl },
      { name: 'bka-rpending', databaseUrl: sharedUrl },
      { name: 'bka-confirm', databaseUrl: sharedUrl },
      { name: 'bka-empty', databaseUrl: sharedUrl },
      { name: 'bka-nodb' },
      { name: 'bka-maint', databaseUrl: sharedUrl },
      { name: 'bka-ps', databaseUrl: sharedUrl, formation: { web: 2, worker: 0 } },
      { name: 'bka-noprocs', formation: {} },
    ],
  });
});

afterAll(async () => {
  await emu?.stop();
  await Promise.all([shared?.drop(), restoreDb?.drop()]);
});

// Generous timeouts: each CLI call takes ~1.5 s alone, but much longer on a busy machine.
describe.concurrent('HerokuCli backups, restores, maintenance and formation', { timeout: 120_000 }, () => {
  test('captureBackup waits for the backup and returns it; list, info and url then find it', async ({ expect }) => {
    const progress: string[] = [];
    const started = Date.now();
    const info = await cli().captureBackup('bka-capture', { onProgress: (line) => progress.push(line) });
    const [stored] = emu.backups('bka-capture');
    expect(info).toMatchObject({ id: 'b001', num: 1, kind: 'backup', status: 'completed', database: 'DATABASE', scheduled: false });
    expect(Math.abs((info.sizeBytes ?? 0) - (stored?.size ?? 0))).toBeLessThanOrEqual((stored?.size ?? 0) * 0.01);
    expect(info.sourceBytes).toBeGreaterThan(0);
    expect(Date.parse(info.createdAt ?? '')).toBeGreaterThan(started - 5_000);
    expect(info.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(info.logs.at(-1)?.message).toBe(progress.at(-1));
    expect(progress).toContain('pg_dump done');
    expect(progress.join('\n')).not.toMatch(/^\d{4}-/m);

    const { sourceBytes: _source, logs: _logs, ...summary } = info;
    expect(await cli().listBackups('bka-capture')).toEqual([summary]);
  });

  test('backupInfo and backupUrl without an id pick the newest backup', async ({ expect }) => {
    const old = await emu.addBackup('bka-latest');
    const newest = await emu.addBackup('bka-latest');
    // b001 was made first but backdated after: "newest" goes by created_at, not by number.
    await emu.addBackup('bka-latest', { ageMs: 86_400_000 });
    const [info, url, first] = await Promise.all([cli().backupInfo('bka-latest'), cli().backupUrl('bka-latest'), cli().backupUrl('bka-latest', old.id)]);
    expect(info).toMatchObject({ id: newest.id, status: 'completed' });
    // Signed anew on each request: the same object, another signature.
    const path = (u: string) => new URL(u).pathname;
    expect(path(url)).toBe(path(newest.url));
    expect(path(first)).toBe(path(old.url));
  });

  test("a failed capture throws 'failed' with Heroku's last log lines", async ({ expect }) => {
    emu.setTransferBehavior('bka-cfail', { capture: 'fail' });
    const error = await herokuError(expect, cli().captureBackup('bka-cfail'), 'failed');
    expect(error.message).toMatch(/^backup b001 failed \(app bka-cfail\): .*pg_dump finished with errors \| upload aborted: b001 is incomplete/);
    expect(error.hint).toBe('see Heroku\'s log with `heroku pg:backups:info b001 -a bka-cfail`');
  });

  test('a capture that never starts fails after timeoutMs, naming the backup', async ({ expect }) => {
    emu.setTransferBehavior('bka-pending', { capture: 'pending' });
    const started = Date.now();
    const error = await herokuError(expect, cli().captureBackup('bka-pending', { timeoutMs: 10_000 }), 'failed');
    // Bounded (a capture that never starts must not wait forever), with room for the CLI's start-up on a
    // busy 2-core machine: 54 s was seen in isolation on a slow day.
    expect(Date.now() - started).toBeLessThan(90_000);
    // On a very busy machine the CLI may not even have asked for the backup within 10 s.
    if (emu.backups('bka-pending').length === 0) {
      expect(error.message).toBe('the backup of bka-pending is still pending after 10 s');
      return;
    }
    expect(error.message).toBe('backup b001 is still pending after 10 s');
    expect(error.hint).toMatch(/heroku pg:backups:cancel b001 -a bka-pending/);
  });

  test('restoreBackup brings the rows back to the backup and reports progress', async ({ expect }) => {
    await emu.addBackup('bka-restore');
    const before = await rowsOf(restoreDb);
    await restoreDb.query(`DELETE FROM widgets WHERE id > 20; UPDATE widgets SET name = 'dirty'`);
    expect(await rowsOf(restoreDb)).not.toBe(before);
    const progress: string[] = [];
    await cli().restoreBackup('bka-restore', 'b001', { confirm: 'bka-restore', onProgress: (line) => progress.push(line) });
    expect(await rowsOf(restoreDb)).toBe(before);
    expect(progress).toContain('pg_restore done');
  });

  test("a failed restore throws 'failed' with Heroku's last log lines", async ({ expect }) => {
    await emu.addBackup('bka-rfail');
    emu.setTransferBehavior('bka-rfail', { restore: 'fail' });
    const error = await herokuError(expect, cli().restoreBackup('bka-rfail', 'b001', { database: 'DATABASE', confirm: 'bka-rfail' }), 'failed');
    expect(error.message).toMatch(/^restore of b001 into DATABASE failed \(app bka-rfail\): .*download failed: connection reset by peer/);
    expect(error.hint).toBe('see Heroku\'s log with `heroku pg:backups:info r002 -a bka-rfail`');
  });

  test('a restore that never starts fails after timeoutMs', async ({ expect }) => {
    await emu.addBackup('bka-rpending');
    emu.setTransferBehavior('bka-rpending', { restore: 'pending' });
    const error = await herokuError(expect, cli().restoreBackup('bka-rpending', 'b001', { confirm: 'bka-rpending', timeoutMs: 8_000 }), 'failed');
    expect(error.message).toBe('restore of b001 into DATABASE_URL (app bka-rpending) is still pending after 8 s');
  });

  test('restoreBackup fails on a wrong confirmation and refuses an empty one without running the CLI', async ({ expect }) => {
    await emu.addBackup('bka-confirm');
    const wrong = await herokuError(expect, cli().restoreBackup('bka-confirm', 'b001', { confirm: 'other-app' }), 'failed');
    expect(wrong.message).toMatch(/Confirmation other-app did not match bka-confirm/);
    const requests = emu.requests.length;
    await rejection(expect, cli().restoreBackup('bka-confirm', 'b001', { confirm: '' }), ConfigError);
    await rejection(expect, cli().restoreBackup('bka-confirm', '--help', { confirm: 'bka-confirm' }), ConfigError);
    expect(emu.requests.length).toBe(requests);
  });

  test('an app without backups lists none; url and info of a missing backup fail', async ({ expect }) => {
    const [list, url, info] = await Promise.all([
      cli().listBackups('bka-empty'),
      herokuError(expect, cli().backupUrl('bka-empty'), 'failed'),
      herokuError(expect, cli().backupInfo('bka-empty', 'b009'), 'failed'),
    ]);
    expect(list).toEqual([]);
    expect(url.message).toMatch(/No backups on .*bka-empty/);
    expect(info.message).toBe('backup b009 not found (app bka-empty)');
  });

  test("listBackups of an unknown app fails with 'unknown-app'", async ({ expect }) => {
    await herokuError(expect, cli().listBackups('bka-missing'), 'unknown-app');
  });

  test("captureBackup of an app without a database fails with 'no-database'", async ({ expect }) => {
    await herokuError(expect, cli().captureBackup('bka-nodb'), 'no-database');
  });

  test('maintenance reads and setMaintenance changes maintenance mode', async ({ expect }) => {
    expect(await cli().maintenance('bka-maint')).toBe(false);
    await cli().setMaintenance('bka-maint', true);
    expect(emu.app('bka-maint').maintenance).toBe(true);
    expect(await cli().maintenance('bka-maint')).toBe(true);
    await cli().setMaintenance('bka-maint', false);
    expect(emu.app('bka-maint').maintenance).toBe(false);
  });

  test('formation includes types scaled to zero; scale changes only the given types', async ({ expect }) => {
    expect(await cli().formation('bka-ps')).toEqual({ web: 2, worker: 0 });
    await cli().scale('bka-ps', { worker: 3 });
    expect(emu.app('bka-ps').formation).toEqual({ web: 2, worker: 3 });
    const unknown = await herokuError(expect, cli().scale('bka-ps', { clock: 1 }), 'failed');
    expect(unknown.message).toMatch(/Couldn't find that process type/);
    const requests = emu.requests.length;
    await rejection(expect, cli().scale('bka-ps', { web: -1 }), ConfigError);
    await rejection(expect, cli().scale('bka-ps', { 'web --app other': 1 }), ConfigError);
    await cli().scale('bka-ps', {});
    expect(emu.requests.length).toBe(requests);
  });

  test('formation of an app without process types is empty', async ({ expect }) => {
    expect(await cli().formation('bka-noprocs')).toEqual({});
  });
});
