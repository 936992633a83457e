/**
 * Heroku plans and their limits, through the real heroku CLI and the emulator (`--plan APP=essential-0`):
 * pg:info says what each plan allows; a live pull sizes its parallel streams by the plan's connection
 * limit and what the app already uses; a capture refused while another transfer runs waits for it
 * (within --transfer-timeout) and says so; a restore refused the same way says why; Continuous
 * Protection's warning reaches the user. Production is served over TLS, so the emulator's front end
 * counts every session drydock opens to it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { scalar, testServerUrl, workingDatabases, type TestDb } from '../helpers/db.js';
import { herokuBinPath, runHeroku, type HerokuRun } from '../helpers/heroku.js';
import { testScope } from '../helpers/scope.js';

const { cleanups, db } = testScope();
const { target, dropAll } = workingDatabases();

let emu: Emulator;
let small: TestDb;
let std: TestDb;
let cache: string;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl(), DRYDOCK_CACHE_DIR: cache, ...extra };
}

/** Four tables with rows, so a copy could use four streams. */
async function fill(d: TestDb): Promise<void> {
  await d.query(`
    CREATE TABLE schema_migrations (version varchar PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20260101000000');
    CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
    CREATE TABLE b (id int PRIMARY KEY, v text); INSERT INTO b SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
    CREATE TABLE c (id int PRIMARY KEY, v text); INSERT INTO c SELECT g, md5(g::text) FROM generate_series(1, 3000) g;`);
}

/** `n` idle sessions on `d`, as the app's dynos would hold; closed by the file's cleanups. */
async function holdConnections(d: TestDb, n: number): Promise<pg.Client[]> {
  const clients = await Promise.all(
    Array.from({ length: n }, async () => {
      const client = new pg.Client({ connectionString: d.url, application_name: 'web dyno' });
      await client.connect();
      return client;
    }),
  );
  cleanups.push(() => Promise.all(clients.map((c) => c.end().catch(() => undefined))).then(() => undefined));
  return clients;
}

/** Wait until `check` holds (polling), or fail after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Start a capture with the heroku CLI that stays running for `ms`; resolves once Heroku has it running, with the CLI's run. */
async function startSlowCapture(app: string, ms: number): Promise<{ cli: Promise<HerokuRun> }> {
  emu.setTransferBehavior(app, { capture: 'slow', delayMs: ms });
  const before = emu.backups(app).length;
  let ended: HerokuRun | undefined;
  const running = runHeroku(emu, ['pg:backups:capture', '-a', app], { timeoutMs: ms + 60_000 }).then((r) => (ended = r));
  await until(() => emu.backups(app).length > before || ended !== undefined, 30_000, `a capture of ${app}`);
  if (emu.backups(app).length === before) throw new Error(`heroku pg:backups:capture -a ${app} ended (exit ${ended?.exitCode}) without a capture: ${ended?.stderr}`);
  // Later captures finish at once.
  emu.setTransferBehavior(app, { capture: 'ok' });
  // Wrapped: an async function returning the promise itself would wait for it.
  return { cli: running };
}

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'drydock-plans-cache-'));
  cleanups.push(() => rmSync(cache, { recursive: true, force: true }));
  cleanups.push(() => dropAll());
  [small, std] = await Promise.all([db('plan_small'), db('plan_std')]);
  await Promise.all([fill(small), fill(std)]);
  emu = await startEmulator({
    tls: true,
    apps: [
      { name: 'plan-small', databaseUrl: small.localhostUrl, plan: 'essential-0' },
      { name: 'plan-std', databaseUrl: std.localhostUrl },
      { name: 'plan-busy', databaseUrl: std.localhostUrl, plan: 'standard-0' },
      { name: 'plan-wait', databaseUrl: std.localhostUrl, plan: 'essential-1' },
      { name: 'plan-restore', databaseUrl: std.localhostUrl },
    ],
  });
  cleanups.push(() => emu.stop());
}, 120_000);

describe('plans in pg:info', () => {
  it('Essential: its connection limit, no fork/follow or rollback, no Continuous Protection; Standard: the opposite', async () => {
    const [essential, standard] = await Promise.all([runHeroku(emu, ['pg:info', 'DATABASE_URL', '-a', 'plan-small']), runHeroku(emu, ['pg:info', 'DATABASE_URL', '-a', 'plan-std'])]);
    expect(essential.exitCode, essential.stderr).toBe(0);
    expect(essential.stdout).toMatch(/^Plan:\s+Essential 0$/m);
    expect(essential.stdout).toMatch(/^Connections:\s+\d+\/20$/m);
    expect(essential.stdout).toMatch(/^Fork\/Follow:\s+Unsupported$/m);
    expect(essential.stdout).toMatch(/^Rollback:\s+Unsupported$/m);
    expect(essential.stdout).toMatch(/^Continuous Protection:\s+Off$/m);
    expect(essential.stdout).toMatch(/^Data Size:\s+.* \/ 1 GB \(In compliance\)$/m);
    expect(standard.stdout).toMatch(/^Plan:\s+Standard 0$/m);
    expect(standard.stdout).toMatch(/^Connections:\s+\d+\/120$/m);
    expect(standard.stdout).toMatch(/^Fork\/Follow:\s+Available$/m);
    expect(standard.stdout).toMatch(/^Continuous Protection:\s+On$/m);
  });
});

describe('a live pull within the plan\'s connection limit', () => {
  it('on Essential with the app holding 10 of its 20 connections, copies with one stream, says so, and never opens more than 2', async () => {
    await holdConnections(small, 10);
    const info = await runHeroku(emu, ['pg:info', 'DATABASE_URL', '-a', 'plan-small']);
    expect(info.stdout).toMatch(/^Connections:\s+10\/20$/m);
    emu.tls!.resetPeaks();
    const to = target('plan_small');
    const res = await runCli(['pull', '-a', 'plan-small', '--from', 'live', '--to', to, '--no-snapshot', '--jobs', '8', '--json'], { env: env() });
    expect(res.exitCode, res.stderr).toBe(0);
    const result = JSON.parse(res.stdout) as { connections: Record<string, unknown> };
    expect(result.connections).toMatchObject({ streams: 1, jobs: 8, limit: 20, by: 'the Heroku plan (Essential 0), heroku pg:info' });
    expect(result.connections.used).toBeGreaterThanOrEqual(10);
    expect(res.stderr).toMatch(/^(\[[^\]]+\] )?warning: production allows 20 connections and 1\d are in use \(the Heroku plan \(Essential 0\), heroku pg:info\): copying with 1 parallel stream\(s\) instead of 8, to take at most a quarter of the \d+ free$/m);
    expect(emu.tls!.stats().peak[small.name]).toBeLessThanOrEqual(2);
    expect(await scalar(to, 'SELECT count(*) FROM c')).toBe(3000);
  });

  it('on Standard with room to spare, uses the streams asked for', async () => {
    emu.tls!.resetPeaks();
    const to = target('plan_std');
    const res = await runCli(['pull', '-a', 'plan-std', '--from', 'live', '--to', to, '--no-snapshot', '--jobs', '3'], { env: env() });
    expect(res.exitCode, res.stderr).toBe(0);
    // The tightest limit is the plan's 120 or, when the test server's max_connections leaves fewer free, the server's.
    expect(res.stdout).toMatch(/Preflight passed: .*; 3 parallel stream\(s\) \(production: \d+\/\d+ connections in use, (the Heroku plan \(Standard 0\), heroku pg:info|the server \(max_connections\))\)/);
    expect(res.stderr).not.toMatch(/parallel stream/);
    // Three streams and the snapshot session.
    expect(emu.tls!.stats().peak[std.name]).toBeGreaterThanOrEqual(4);
  });
});

describe('one transfer at a time', () => {
  it('a capture asked for while another runs waits for it, says so, then captures', async () => {
    // The first capture runs until it is cancelled, so the second is refused however slow this machine is.
    const first = await startSlowCapture('plan-wait', 120_000);
    const second = runCli(['backups', 'capture', '-a', 'plan-wait', '--transfer-timeout', '3m'], { env: env(), timeoutMs: 170_000 });
    // Refused, and then the list drydock reads to see what it waits for has been answered (b001 running).
    const refused = (): number => emu.requests.findIndex((r) => r.method === 'POST' && /\/backups$/.test(r.path) && r.status === 409);
    await until(() => refused() >= 0 && emu.requests.slice(refused()).some((r) => r.method === 'GET' && r.path === '/client/v11/apps/plan-wait/transfers'), 90_000, 'the refused capture');
    expect((await runHeroku(emu, ['pg:backups:cancel', 'b001', '-a', 'plan-wait'])).exitCode).toBe(0);
    const res = await second;
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^\[[^\]]+\] backups: waiting for backup b001 \(running\) to finish: Heroku runs one transfer per database at a time/m);
    expect(res.stdout).toMatch(/^\[[^\]]+\] backups: captured b002/m);
    await first.cli;
    expect(emu.backups('plan-wait').map((b) => [b.id, b.succeeded])).toEqual([['b001', false], ['b002', true]]);
  }, 240_000);

  it('gives up within --transfer-timeout when the other transfer goes on, naming it', async () => {
    const first = await startSlowCapture('plan-busy', 120_000);
    const started = Date.now();
    // Long enough for a slow machine's heroku CLI to be refused at least once.
    const res = await runCli(['backups', 'capture', '-a', 'plan-busy', '--transfer-timeout', '20s'], { env: env() });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: the backup of plan-busy did not start: backup b001 is still running after 20 s \(Heroku runs one transfer per database at a time\)$/m);
    expect(res.stderr).toMatch(/^hint: .*heroku pg:backups:cancel b001 -a plan-busy/m);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(Date.now() - started).toBeLessThan(80_000);
    expect(emu.backups('plan-busy')).toHaveLength(1);
    await runHeroku(emu, ['pg:backups:cancel', 'b001', '-a', 'plan-busy']);
    await first.cli;
  });

  it('a restore refused while a capture runs says why, in one line', async () => {
    await emu.addBackup('plan-restore');
    const first = await startSlowCapture('plan-restore', 120_000);
    const res = await runCli(['restore', 'b001', '-a', 'plan-restore', '--confirm', 'plan-restore', '--no-safety-backup'], { env: env() });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: .*a transfer is currently in progress/m);
    expect(res.stderr).toMatch(/^hint: Heroku runs one transfer per database at a time/m);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    await runHeroku(emu, ['pg:backups:cancel', 'b002', '-a', 'plan-restore']);
    await first.cli;
  });
});

describe('Continuous Protection', () => {
  it("passes on Heroku's warning about large logical backups when it is on, and says nothing on Essential", async () => {
    const [on, off] = await Promise.all([
      runCli(['backups', 'capture', '-a', 'plan-std'], { env: env() }),
      runCli(['backups', 'capture', '-a', 'plan-small'], { env: env() }),
    ]);
    expect(on.exitCode, on.stderr).toBe(0);
    expect(on.stderr).toMatch(/^\[[^\]]+\] warning: Heroku says Continuous Protection is on for plan-std's database, and that logical backups \(pg:backups\) of large databases are likely to fail/m);
    expect(off.exitCode, off.stderr).toBe(0);
    expect(off.stderr).not.toMatch(/Continuous Protection/);
  });
});
