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
async function damagedApp(name: string, formation: Record<string, number> = { web: 2, worker: 1, clock: 1 }): Promise<TestDb> {
  const db = await createTestDb(name.replace(/-/g, '_'));
  dbs.push(db);
  await db.query(`CREATE TABLE users (id serial PRIMARY KEY, email text);
                  CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
                  INSERT INTO schema_migrations VALUES ('20260101000000');
                  INSERT INTO users (email) SELECT 'u' || g FROM generate_series(1, 100) g;`);
  emu.addApp({ name, databaseUrl: db.localhostUrl, formation });
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
    expect(res.stderr).toMatch(/the restore of b001 into rs-fail's DATABASE_URL was started and did not finish: the database may be partly restored/);
    expect(res.stderr).toMatch(/^hint: .*to go back to the data from before this restore: drydock restore b002 -a rs-fail --confirm rs-fail/m);
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

/** The one JSON document a --json run printed on stdout (fails the test when there is more, or none). */
function onlyJson(stdout: string): { ok?: boolean; error?: { message: string; hint: string | null; exitCode: number; type: string } } & Record<string, unknown> {
  return JSON.parse(stdout) as ReturnType<typeof onlyJson>;
}

describe('drydock restore: checks come before the first change', () => {
  it('--scale-down of process types the app lacks is refused by the dry run and by the real run, before the safety backup', async () => {
    const db = await damagedApp('rs-types', { web: 1 });
    const dry = await runCli(['restore', 'b001', '-a', 'rs-types', '--dry-run', '--scale-down', 'worker,clock'], { env: env() });
    expect(dry.exitCode).toBe(2);
    expect(dry.stdout).not.toMatch(/Dry run/);
    expect(dry.stderr).toMatch(/^error: rs-types has no process type\(s\) worker, clock to scale down$/m);
    expect(dry.stderr).toMatch(/^hint: its process types: web; fix --scale-down; nothing was changed$/m);
    const before = emu.requests.length;
    const real = await runCli(['restore', 'b001', '-a', 'rs-types', '--confirm', 'rs-types', '--scale-down', 'worker,clock'], { env: env() });
    expect(real.exitCode).toBe(2);
    expect(real.stderr).toMatch(/^error: rs-types has no process type\(s\) worker, clock to scale down$/m);
    expect(real.stderr).not.toMatch(/safety backup|undo/);
    expect(emu.backups('rs-types')).toHaveLength(1); // no safety backup was captured
    expect(emu.requests.slice(before).filter((r) => r.method !== 'GET' && !/^\/actions\/addon-attachments\/resolve$/.test(r.path))).toEqual([]);
    expect(await users(db)).toBe(10);
  });

  it('a missing attachment is refused by the dry run too', async () => {
    await damagedApp('rs-attach');
    const dry = await runCli(['restore', 'b001', '-a', 'rs-attach', '--dry-run', '--database', 'HEROKU_POSTGRESQL_RED'], { env: env() });
    expect(dry.exitCode).toBe(2);
    expect(dry.stderr).toMatch(/^error: cannot restore into rs-attach's HEROKU_POSTGRESQL_RED: app rs-attach has no HEROKU_POSTGRESQL_RED_URL config var$/m);
    expect(dry.stderr).toMatch(/nothing was changed$/m);
  });

  it('a failure after the safety backup says the database was not changed and that the safety backup is no undo', async () => {
    const db = await damagedApp('rs-after');
    // Turning maintenance on fails once (the Platform API answers 503).
    emu.injectFault({ method: 'PATCH', path: '/apps/rs-after', status: 503, body: { id: 'unavailable', message: 'Service temporarily unavailable.' }, times: 1 });
    const res = await runCli(['restore', 'b001', '-a', 'rs-after', '--confirm', 'rs-after', '--maintenance'], { env: env() });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: .*Service temporarily unavailable.*; rs-after's DATABASE_URL was not changed \(the restore of b001 never started\); maintenance and process counts were put back as they were; safety backup b002 was captured: it holds the data as it was BEFORE this restore$/m);
    expect(res.stderr).toMatch(/^hint: .*fix the problem and run `drydock restore b001 -a rs-after --confirm rs-after` again \(b002 is no undo: nothing needs undoing\)$/m);
    expect(res.stderr).not.toMatch(/undo with|nothing was changed/);
    expect(await users(db)).toBe(10);
    expect(emu.app('rs-after')).toMatchObject({ maintenance: false });
  });
});

describe('drydock restore: safety backups are never "latest"', () => {
  it('after a restore, latest (and the bare default) is the restored backup, not the safety backup; backups list and the plan mark it, on any machine', async () => {
    await damagedApp('rs-safety');
    const done = await runCli(['restore', 'b001', '-a', 'rs-safety', '--confirm', 'rs-safety'], { env: env() });
    expect(done.exitCode, done.stderr).toBe(0);
    expect(emu.backups('rs-safety').map((b) => b.id)).toEqual(['b001', 'b002']);

    // This machine recorded what b002 is.
    const dry = await runCli(['restore', '-a', 'rs-safety', '--dry-run'], { env: env() });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^ {2}backup {3}b001, taken \S+ \(\d+(\.\d)? (s|min) ago\)/m);
    expect(dry.stdout).toMatch(/^ {2}skipped {2}b002 \(safety backup before restore of b001 \(r003\) at \S+\): latest never means a safety backup/m);
    expect(dry.stdout).not.toMatch(/h ago/);
    const list = await runCli(['backups', 'list', '-a', 'rs-safety'], { env: env() });
    expect(list.stdout).toMatch(/^b002 .*safety backup before restore of b001 \(r003\) at \S+ \(the data from before it; never 'latest'\)$/m);
    expect(list.stdout).toMatch(/^b001 .*DATABASE$/m);

    // Another engineer's machine (an empty cache) sees it in Heroku's transfer history.
    const elsewhere = { ...env(), DRYDOCK_CACHE_DIR: mkdtempSync(join(tmpdir(), 'drydock-other-')) };
    try {
      const plan = await runCli(['restore', 'latest', '-a', 'rs-safety', '--dry-run', '--json'], { env: elsewhere });
      expect(plan.exitCode, plan.stderr).toBe(0);
      const result = onlyJson(plan.stdout) as { plan: { backup: { id: string; ageSeconds: number }; skipped: Array<{ id: string; why: string }> } };
      expect(result.plan.backup.id).toBe('b001');
      expect(result.plan.skipped.map((x) => x.id)).toEqual(['b002']);
      expect(result.plan.skipped[0]!.why).toMatch(/^safety backup before restore r003 at /);
      const other = await runCli(['backups', 'list', '-a', 'rs-safety', '--json'], { env: elsewhere });
      const rows = onlyJson(other.stdout) as unknown as Array<{ id: string; safety: string | null }>;
      expect(rows.find((r) => r.id === 'b002')?.safety).toMatch(/^safety backup before restore r003 at /);
      expect(rows.find((r) => r.id === 'b001')?.safety).toBeUndefined();
      // Named explicitly, the safety backup is used, and the plan says what it holds.
      const named = await runCli(['restore', 'b002', '-a', 'rs-safety', '--dry-run'], { env: elsewhere });
      expect(named.stdout).toMatch(/^ {2}NOTE {5}b002 is a safety backup before restore r003 at \S+: it holds the data as it was BEFORE that restore$/m);
    } finally {
      rmSync(elsewhere.DRYDOCK_CACHE_DIR, { recursive: true, force: true });
    }
  });
});

describe('--json failures: one JSON object on stdout', () => {
  it('bad input, a refused restore, a Heroku failure and a commander usage error each print {ok:false,error}', async () => {
    await damagedApp('rs-json', { web: 1 });
    const cases: Array<{ args: string[]; message: RegExp; type: string }> = [
      { args: ['restore', 'b001', '-a', 'rs-json', '--confirm', 'rs-json', '--scale-down', 'worker', '--json'], message: /^rs-json has no process type\(s\) worker to scale down$/, type: 'ConfigError' },
      { args: ['restore', 'b001', '-a', 'rs-json', '--json'], message: /^restore of rs-json needs --confirm rs-json$/, type: 'ConfigError' },
      { args: ['restore', 'nope', '-a', 'rs-json', '--json'], message: /^"nope" is not a backup id$/, type: 'ConfigError' },
      { args: ['--json', 'backups', 'info', 'b999', '-a', 'rs-json'], message: /^backup b999 not found \(app rs-json\)$/, type: 'HerokuError' },
      { args: ['backups', 'list', '-a', 'rs-json-missing', '--json'], message: /^Heroku app rs-json-missing not found$/, type: 'HerokuError' },
      { args: ['restore', '--no-such-flag', '--json'], message: /^unknown option '--no-such-flag'$/, type: 'ConfigError' },
    ];
    for (const c of cases) {
      const res = await runCli(c.args, { env: env() });
      expect(res.exitCode, `${c.args.join(' ')}\n${res.stderr}`).toBe(2);
      const parsed = onlyJson(res.stdout);
      expect(parsed.ok).toBe(false);
      expect(parsed.error?.message, c.args.join(' ')).toMatch(c.message);
      expect(parsed.error).toMatchObject({ exitCode: 2, type: c.type });
      expect(typeof parsed.error?.hint).toBe('string');
      // People still get the line on stderr.
      expect(res.stderr).toMatch(/error: /);
    }
    expect(emu.backups('rs-json')).toHaveLength(1);
  });
});
