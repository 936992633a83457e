/**
 * Ctrl-C (SIGINT) and SIGTERM (a dyno restart) in the middle of each long-running command: drydock
 * stops its children, cleans up, exits 130 or 143 and says what state things are in. Nothing is left
 * running (no drydock or heroku child, no backend, no advisory lock) and nothing is left half-done
 * (no drydock copy of the target, the app's maintenance and formation as before).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { CLI_PATH, runCli } from '../helpers/cli.js';
import { adminQuery, createTestDb, drydockCopiesOf, dropTargetAndCopies, execIn, scalar, testServerUrl, uniqueDbName, type TestDb } from '../helpers/db.js';
import { herokuBinPath } from '../helpers/heroku.js';
import { makeMigrationDir, type MigrationDir } from '../helpers/migrations.js';

type Sig = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
const CODE: Record<Sig | 'SIGPIPE', number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129, SIGPIPE: 141 };

interface Interrupted {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  pid: number;
  /** Every process below drydock when the signal was sent. */
  children: number[];
}

/** All descendants of `pid` (ps), deepest last. */
function descendants(pid: number): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const rows = out.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const walk = (p: number): void => {
    for (const [child, parent] of rows) {
      if (parent !== p) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Run drydock, wait until `ready` holds for its output (and `also`, when given), send `signal`, and
 * wait for it to exit.
 */
async function interruptAt(args: string[], options: { env: Record<string, string | undefined>; cwd?: string; ready: RegExp; also?: () => Promise<boolean>; signal: Sig | 'EPIPE' }): Promise<Interrupted> {
  return new Promise<Interrupted>((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', CI: 'true', DRYDOCK_SNAPSHOT_SPARE: '0', ...options.env },
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    let children: number[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`never ready (${String(options.ready)}):\n${stdout}\n${stderr}`));
    }, 60_000);
    const check = async (): Promise<void> => {
      if (sent || !options.ready.test(stdout + stderr)) return;
      if (options.also && !(await options.also())) {
        setTimeout(() => void check(), 100);
        return;
      }
      if (sent) return;
      sent = true;
      children = descendants(child.pid!);
      // EPIPE: whoever read drydock's output went away (`drydock … | head`).
      if (options.signal === 'EPIPE') child.stdout.destroy();
      else child.kill(options.signal);
    };
    child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), void check()));
    child.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), void check()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!sent) reject(new Error(`exited (${code}) before the signal:\n${stdout}\n${stderr}`));
      else resolvePromise({ exitCode: code, stdout, stderr, pid: child.pid!, children });
    });
  });
}

/** No child of the run is still alive (each gets a moment to finish dying). */
async function expectNothingRunning(run: Interrupted): Promise<void> {
  for (let i = 0; i < 20 && run.children.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  expect(run.children.filter(alive)).toEqual([]);
}

/** No session from the run on `database`, and no advisory lock held there. */
async function expectServerIdle(database: string): Promise<void> {
  let sessions = 1;
  for (let i = 0; i < 30 && sessions > 0; i++) {
    sessions = Number((await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [database])).rows[0]!.n);
    if (sessions) await new Promise((r) => setTimeout(r, 100));
  }
  expect(sessions).toBe(0);
  const locks = await adminQuery(`SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = $1`, [database]);
  expect(locks.rows).toHaveLength(0);
}

/** drydock databases whose name carries `pid` (tagged or not). */
async function copiesOfPid(pid: number): Promise<string[]> {
  const { rows } = await adminQuery<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname ~ $1`, [`^drydock_[a-z]+_${pid}_`]);
  return rows.map((r) => r.datname);
}

const SIGNALS: Sig[] = ['SIGINT', 'SIGTERM'];
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

describe('migrate up interrupted during a long migration', () => {
  for (const signal of SIGNALS) {
    it(`${signal}: cancels the statement on the server, rolls it back, releases the lock, names the migration, exits ${CODE[signal]}`, async () => {
      const d: TestDb = await createTestDb(`int_mig_${signal.toLowerCase()}`);
      const m: MigrationDir = makeMigrationDir([
        { version: '20260101000000', name: 'create_one', up: 'CREATE TABLE one (id int);', down: 'DROP TABLE one;' },
        { version: '20260102000000', name: 'slow', up: 'CREATE TABLE slow (id int);\nSELECT pg_sleep(30);', down: 'DROP TABLE slow;' },
      ]);
      cleanups.push(() => d.drop(), () => m.cleanup());
      const sleeping = async () =>
        Number((await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep(30)%' AND state = 'active'`, [d.name])).rows[0]!.n) > 0;
      const run = await interruptAt(['migrate', 'up', '--dir', m.dir, '--url', d.url], { env: {}, cwd: m.root, ready: /apply 20260102000000_slow\.sql/, also: sleeping, signal });
      expect(run.exitCode, run.stderr).toBe(CODE[signal]);
      expect(run.stderr).toContain(`interrupted (${signal}): stopping and cleaning up`);
      expect(run.stderr).toMatch(new RegExp(`^error: interrupted \\(${signal}\\): 20260102000000_slow\\.sql was rolled back .*20260101000000_create_one was applied before it .*the migration lock .* was released`, 'm'));
      await expectNothingRunning(run);
      await expectServerIdle(d.name);
      expect((await d.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY 1')).rows.map((r) => r.version)).toEqual(['20260101000000']);
      expect((await d.query<{ ok: boolean }>(`SELECT to_regclass('slow') IS NULL AS ok`)).rows[0]!.ok).toBe(true);
    });
  }
});

describe('pull --from-url interrupted', () => {
  let source: TestDb;
  const env = { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() };
  beforeAll(async () => {
    source = await createTestDb('int_pull_src');
    cleanups.push(() => source.drop());
    await source.query(`CREATE TABLE users (id bigserial PRIMARY KEY, email text); INSERT INTO users (email) SELECT 'u' || g FROM generate_series(1, 1000) g;`);
  });

  for (const point of ['during-restore', 'before-swap']) {
    for (const signal of SIGNALS) {
      it(`${signal} ${point}: drops the scratch copy, leaves the target as it was, exits ${CODE[signal]}`, async () => {
        const to = uniqueDbName(`int_pull_${signal.toLowerCase()}`);
        cleanups.push(() => dropTargetAndCopies(to));
        await adminQuery(`CREATE DATABASE "${to}"`);
        await execIn(to, `CREATE TABLE precious (id int); INSERT INTO precious VALUES (1), (2), (3)`);
        const run = await interruptAt(['pull', '--from-url', source.localhostUrl, '--to', to, '--no-snapshot'], { env: { ...env, DRYDOCK_TEST_PAUSE_AT: point }, ready: new RegExp(`paused at ${point}`), signal });
        expect(run.exitCode, run.stderr).toBe(CODE[signal]);
        expect(run.stderr).toMatch(new RegExp(`^error: interrupted \\(${signal}\\): pull into ${to} stopped during ".*": ${to} is unchanged; its scratch database drydock_pull_${run.pid}_[0-9a-f]+ was dropped`, 'm'));
        await expectNothingRunning(run);
        expect(await scalar(to, 'SELECT count(*) AS n FROM precious')).toBe(3);
        expect(await drydockCopiesOf(to)).toEqual([]);
        expect(await copiesOfPid(run.pid)).toEqual([]);
        await expectServerIdle(to);
      });
    }
  }

  for (const how of ['SIGHUP', 'EPIPE'] as const) {
    it(`${how === 'SIGHUP' ? 'SIGHUP (the terminal closed)' : 'its output closed (EPIPE, as with | head)'} during the restore: cleans up like SIGTERM, exits ${how === 'SIGHUP' ? 129 : 141}`, async () => {
      const to = uniqueDbName(`int_pull_${how.toLowerCase()}`);
      cleanups.push(() => dropTargetAndCopies(to));
      await adminQuery(`CREATE DATABASE "${to}"`);
      await execIn(to, `CREATE TABLE precious (id int); INSERT INTO precious VALUES (1), (2), (3)`);
      // EPIPE needs a write after the reader left: the restore step's progress lines come after the first one.
      const run = await interruptAt(['pull', '--from-url', source.localhostUrl, '--to', to, '--no-snapshot'], {
        env: { ...env, ...(how === 'SIGHUP' ? { DRYDOCK_TEST_PAUSE_AT: 'during-restore' } : {}) },
        ready: how === 'SIGHUP' ? /paused at during-restore/ : /Clean up leftovers/,
        signal: how,
      });
      const by = how === 'SIGHUP' ? 'SIGHUP' : 'SIGPIPE';
      expect(run.exitCode, run.stderr).toBe(CODE[by]);
      expect(run.stderr).toMatch(new RegExp(`^error: interrupted \\(${by}\\): pull into ${to} stopped during ".*": ${to} is unchanged`, 'm'));
      expect(run.stderr).not.toMatch(/\n\s+at /);
      await expectNothingRunning(run);
      expect(await scalar(to, 'SELECT count(*) AS n FROM precious')).toBe(3);
      expect(await drydockCopiesOf(to)).toEqual([]);
      expect(await copiesOfPid(run.pid)).toEqual([]);
      await expectServerIdle(to);
    });
  }

  it('SIGINT while the pristine snapshot is being handed to the background: the new copy is open to connections, the taker is stopped, and the message says the snapshot is missing and how to take it', async () => {
    const to = uniqueDbName('int_pull_handoff');
    cleanups.push(() => dropTargetAndCopies(to));
    const taker = async (): Promise<number> => (await adminQuery(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [`drydock snapshot take ${to}`.slice(0, 63)])).rows.length;
    const run = await interruptAt(['pull', '--from-url', source.localhostUrl, '--to', to], {
      env: { ...env, DRYDOCK_SNAPSHOT_SPARE: '1', DRYDOCK_TEST_PAUSE_AT: 'before-snapshot-take' },
      ready: /Swap the copy in/,
      also: async () => (await taker()) > 0,
      signal: 'SIGINT',
    });
    expect(run.exitCode, run.stderr).toBe(130);
    expect(run.stderr).toMatch(new RegExp(`^error: interrupted \\(SIGINT\\): pull into ${to} stopped during ".*": ${to} already holds the new copy \\(the swap was done\\), but its pristine snapshot was not taken`, 'm'));
    expect(run.stderr).toContain(`drydock snapshot save pristine --force --to ${to}`);
    await expectNothingRunning(run);
    for (let i = 0; i < 20 && (await taker()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await taker()).toBe(0);
    expect(await scalar(to, 'SELECT count(*) AS n FROM users')).toBe(1000);
    expect((await drydockCopiesOf(to)).filter((c) => c.kind === 'snapshot')).toEqual([]);
  });

  it('a copy killed between CREATE DATABASE and its COMMENT (untagged, dead pid in its name) is dropped by the next pull', async () => {
    const to = uniqueDbName('int_pull_untagged');
    cleanups.push(() => dropTargetAndCopies(to));
    // A pid that is not running: a finished child's.
    const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }));
    const orphan = `drydock_pull_${dead}_0123456789`;
    await adminQuery(`CREATE DATABASE "${orphan}"`);
    cleanups.push(() => void adminQuery(`DROP DATABASE IF EXISTS "${orphan}"`));
    const res = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to, '--no-snapshot'], { env });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await copiesOfPid(dead)).toEqual([]);
    // Not asserted on stdout: every drydock run drops the orphans of any target, so a pull of a test file
    // running beside this one may drop it first (seen in CI).
  });
});

describe('snapshot restore interrupted', () => {
  const env = { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() };
  for (const signal of SIGNALS) {
    it(`${signal} before the swap: drops the copy, leaves the target as it was, exits ${CODE[signal]}`, async () => {
      const to = uniqueDbName(`int_snap_${signal.toLowerCase()}`);
      cleanups.push(() => dropTargetAndCopies(to));
      await adminQuery(`CREATE DATABASE "${to}"`);
      await execIn(to, `CREATE TABLE t (id int); INSERT INTO t VALUES (1)`);
      expect((await runCli(['snapshot', 'save', 'base', '--to', to], { env })).exitCode).toBe(0);
      await execIn(to, `INSERT INTO t VALUES (2)`);
      const run = await interruptAt(['snapshot', 'restore', 'base', '--to', to], { env: { ...env, DRYDOCK_TEST_PAUSE_AT: 'before-swap' }, ready: /paused at before-swap/, signal });
      expect(run.exitCode, run.stderr).toBe(CODE[signal]);
      expect(run.stderr).toMatch(new RegExp(`^error: interrupted \\(${signal}\\): snapshot restore of "base" into ${to} stopped: ${to} is unchanged; the copy drydock_pull_${run.pid}_[0-9a-f]+ was dropped`, 'm'));
      await expectNothingRunning(run);
      expect(await scalar(to, 'SELECT count(*) AS n FROM t')).toBe(2);
      expect((await drydockCopiesOf(to)).map((c) => c.kind)).toEqual(['snapshot']);
      expect(await copiesOfPid(run.pid)).toEqual([]);
      await expectServerIdle(to);
    });
  }
});

describe('through the Heroku emulator', () => {
  let emu: Emulator;
  let cache: string;
  beforeAll(async () => {
    cache = mkdtempSync(join(tmpdir(), 'drydock-cache-'));
    emu = await startEmulator();
  });
  afterAll(async () => {
    await emu?.stop();
    rmSync(cache, { recursive: true, force: true });
  });
  const env = () => ({ ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl(), DRYDOCK_CACHE_DIR: cache });

  async function appWithBackup(name: string): Promise<TestDb> {
    const db = await createTestDb(name.replace(/-/g, '_'));
    cleanups.push(() => db.drop());
    await db.query(`CREATE TABLE users (id serial PRIMARY KEY, email text); INSERT INTO users (email) SELECT 'u' || g FROM generate_series(1, 100) g;`);
    emu.addApp({ name, databaseUrl: db.localhostUrl, formation: { web: 2, worker: 1 } });
    await emu.addBackup(name);
    return db;
  }

  for (const signal of SIGNALS) {
    it(`restore ${signal} while Heroku restores: stops the heroku child, puts maintenance and processes back, says how to check, exits ${CODE[signal]}`, async () => {
      const app = `int-rs-${signal.toLowerCase()}`;
      await appWithBackup(app);
      emu.setTransferBehavior(app, { restore: 'slow', delayMs: 120_000 });
      const run = await interruptAt(['restore', 'b001', '-a', app, '--confirm', app, '--maintenance', '--scale-down', 'worker', '--no-safety-backup'], {
        env: env(),
        ready: new RegExp(`\\[STARTED\\].*Restore b001 into ${app}`),
        // The heroku child is polling the restore.
        also: async () => emu.requests.some((r) => r.method === 'POST' && /\/restores$/.test(r.path)),
        signal,
      });
      expect(run.exitCode, run.stderr).toBe(CODE[signal]);
      expect(run.stderr).toMatch(new RegExp(`^error: interrupted \\(${signal}\\): restore of ${app} stopped: drydock stopped waiting for the restore of b001 .* may still be running on Heroku's side.*maintenance and process counts were put back as they were \\(maintenance off, web=2 worker=1\\)`, 'm'));
      expect(run.stderr).toMatch(new RegExp(`^hint: check the restore with \`heroku pg:backups -a ${app}\``, 'm'));
      await expectNothingRunning(run);
      expect(emu.app(app)).toMatchObject({ maintenance: false, formation: { web: 2, worker: 1 } });
    });

    it(`backups verify ${signal} during the restore: drops its scratch database, exits ${CODE[signal]}`, async () => {
      const app = `int-bv-${signal.toLowerCase()}`;
      await appWithBackup(app);
      const run = await interruptAt(['backups', 'verify', 'b001', '-a', app], { env: { ...env(), DRYDOCK_TEST_PAUSE_AT: 'during-restore' }, ready: /paused at during-restore/, signal });
      expect(run.exitCode, run.stderr).toBe(CODE[signal]);
      expect(run.stderr).toMatch(new RegExp(`^error: interrupted \\(${signal}\\): verification of backup b001 stopped before it finished \\(nothing was verified\\); the scratch database drydock_pull_${run.pid}_[0-9a-f]+ was dropped`, 'm'));
      await expectNothingRunning(run);
      expect(await drydockCopiesOf(`verify-${app}`)).toEqual([]);
      expect(await copiesOfPid(run.pid)).toEqual([]);
    });
  }

  it('with --json, an interrupted run prints one JSON object with the error, hint, signal and exit code', async () => {
    const app = 'int-bv-json';
    await appWithBackup(app);
    const run = await interruptAt(['backups', 'verify', 'b001', '-a', app, '--json'], { env: { ...env(), DRYDOCK_TEST_PAUSE_AT: 'during-restore' }, ready: /paused at during-restore/, signal: 'SIGTERM' });
    expect(run.exitCode, run.stderr).toBe(143);
    const parsed = JSON.parse(run.stdout) as { ok: boolean; error: Record<string, unknown> };
    expect(parsed).toMatchObject({ ok: false, error: { exitCode: 143, type: 'InterruptedError', signal: 'SIGTERM', hint: 'run `drydock backups verify b001 -a int-bv-json` again' } });
    expect(parsed.error.message).toMatch(/^interrupted \(SIGTERM\): verification of backup b001 stopped before it finished/);
    await expectNothingRunning(run);
  });

  it('a verify scratch database left by a killed run is dropped by the next backups verify', async () => {
    const app = 'int-bv-killed';
    await appWithBackup(app);
    // The scratch database is read while the run is paused (alive): once it is killed, any other drydock
    // run (test files run in parallel) may drop its orphan before this test looks.
    const left = await new Promise<Awaited<ReturnType<typeof drydockCopiesOf>>>((resolvePromise, reject) => {
      const child = spawn(process.execPath, [CLI_PATH, 'backups', 'verify', 'b001', '-a', app], { env: { ...process.env, ...env(), CI: 'true', DRYDOCK_TEST_PAUSE_AT: 'during-restore' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      let seen: Awaited<ReturnType<typeof drydockCopiesOf>> | undefined;
      child.stderr.on('data', (d: Buffer) => {
        const paused = stderr.includes('paused at during-restore');
        stderr += d.toString();
        if (!paused && stderr.includes('paused at during-restore')) {
          void drydockCopiesOf(`verify-${app}`).then(
            (copies) => ((seen = copies), child.kill('SIGKILL')),
            (error: unknown) => (child.kill('SIGKILL'), reject(error as Error)),
          );
        }
      });
      child.on('exit', () => (seen ? resolvePromise(seen) : reject(new Error(stderr))));
    });
    expect(left).toHaveLength(1);
    cleanups.push(() => dropTargetAndCopies(`verify-${app}`));
    const res = await runCli(['backups', 'verify', 'b001', '-a', app], { env: env() });
    expect(res.exitCode, res.stderr).toBe(0);
    // Dropped by this run's clean-up, or already by any other drydock run's (tests run in parallel, and
    // every pull, snapshot restore and backups verify drops dead runs' orphans).
    expect(await drydockCopiesOf(`verify-${app}`)).toEqual([]);
    const { rows } = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [left[0]!.datname]);
    expect(rows).toEqual([]);
  });
});
