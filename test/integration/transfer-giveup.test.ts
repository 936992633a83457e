/**
 * The heroku CLI can exit 0 before a transfer has finished (issue 16, item 3): its poll loop gives up
 * after 21 failed polls (429 rate limits, 5xx) and returns normally. These tests make the CLI's polls
 * fail while the transfer is held running, and show that drydock waits until Heroku itself says the
 * capture or restore finished, and fails when it then fails. Each test spends about a minute on the
 * CLI's 21 polls (3 s apart), so they run concurrently, each on its own app and its own fault.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, test, type ExpectStatic } from 'vitest';

import { HerokuCli } from '../../src/heroku/cli.js';
import { HerokuError } from '../../src/errors.js';
import { RATE_LIMIT_BODY } from '../heroku-emulator/faults.js';
import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { createTestDb, testServerUrl, type TestDb } from '../helpers/db.js';
import { herokuBinPath, runHeroku } from '../helpers/heroku.js';

/** The CLI stops waiting after this many failed polls. */
const CLI_GIVES_UP_AFTER = 21;

let emu: Emulator;
let cache: string;
let source: TestDb;
let restoreDb: TestDb;

function env(): Record<string, string> {
  return { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl(), DRYDOCK_CACHE_DIR: cache };
}

/** The CLI's poll of a transfer: by uuid, under the app's name (captures) or id (restores). */
function pollPath(app: string): RegExp {
  return new RegExp(`^/client/v11/apps/${app}/transfers/[0-9a-f]{8}-[0-9a-f-]{27}$`);
}

/** Rate-limit every poll of `app`'s transfers until the CLI has given up. */
function rateLimitPolls(app: string): { path: RegExp; status: number } {
  const path = pollPath(app);
  emu.injectFault({ method: 'GET', path, status: 429, body: RATE_LIMIT_BODY, times: CLI_GIVES_UP_AFTER });
  return { path, status: 429 };
}

async function appId(app: string): Promise<string> {
  const res = await fetch(`${emu.url}/apps/${app}`, { headers: { Authorization: `Bearer ${emu.apiKey}` } });
  return ((await res.json()) as { id: string }).id;
}

/** Wait until `predicate` holds for one of the emulator's requests from index `from` on; returns its index. */
async function requestSeen(what: string, from: number, predicate: (r: Emulator['requests'][number]) => boolean, ms = 150_000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const at = emu.requests.findIndex((r, i) => i >= from && predicate(r));
    if (at >= 0) return at;
    if (Date.now() > deadline) throw new Error(`never saw ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Wait until the emulator has refused `count` requests matching `path` with `status` (the CLI gave up); returns the last one's index. */
async function refused(path: RegExp, status: number, count = CLI_GIVES_UP_AFTER): Promise<number> {
  let at = -1;
  for (let i = 0; i < count; i += 1) at = await requestSeen(`refused poll ${i + 1} of ${String(path)}`, at + 1, (r) => r.status === status && path.test(r.path));
  return at;
}

/**
 * Start drydock, wait until the CLI inside it has given up (every poll refused) and a little more,
 * check drydock is still waiting, then let the held transfer end (`outcome`) and return the run.
 */
async function waitsPastTheCli(expect: ExpectStatic, args: string[], app: string, fault: { path: RegExp; status: number }, outcome: 'ok' | 'fail'): Promise<CliRun> {
  let settled = false;
  const run = runCli(args, { env: env(), timeoutMs: 175_000 }).finally(() => (settled = true));
  const gaveUp = await refused(fault.path, fault.status);
  // The CLI has exited 0 by now: drydock asks Heroku itself (pg:backups:info by number), and keeps waiting.
  await requestSeen("drydock's own check", gaveUp + 1, (r) => r.status === 200 && new RegExp(`^/client/v11/apps/${app}/transfers/\\d+$`).test(r.path));
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(settled).toBe(false);
  emu.releaseTransfers(app, outcome);
  return run;
}

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'drydock-cache-giveup-'));
  [source, restoreDb] = await Promise.all([createTestDb('giveup_src'), createTestDb('giveup_restore')]);
  for (const db of [source, restoreDb]) {
    await db.query(`CREATE TABLE widgets (id int PRIMARY KEY, name text); INSERT INTO widgets SELECT g, 'w' || g FROM generate_series(1, 25) g`);
  }
  emu = await startEmulator({
    apps: [
      { name: 'gu-cli', databaseUrl: source.localhostUrl },
      { name: 'gu-capture', databaseUrl: source.localhostUrl },
      { name: 'gu-capfail', databaseUrl: source.localhostUrl },
      { name: 'gu-restore', databaseUrl: restoreDb.localhostUrl },
      { name: 'gu-rate', databaseUrl: source.localhostUrl },
    ],
  });
  await emu.addBackup('gu-restore');
  for (const app of ['gu-cli', 'gu-capture', 'gu-capfail']) emu.setTransferBehavior(app, { capture: 'hold' });
  emu.setTransferBehavior('gu-restore', { restore: 'hold' });
});

afterAll(async () => {
  await emu?.stop();
  await Promise.all([source?.drop(), restoreDb?.drop()]);
  rmSync(cache, { recursive: true, force: true });
});

describe.concurrent('the heroku CLI gives up on a transfer; drydock does not', { timeout: 180_000 }, () => {
  test('the real CLI exits 0 after 21 refused polls while the backup is still running', async ({ expect }) => {
    const { path } = rateLimitPolls('gu-cli');
    const r = await runHeroku(emu, ['pg:backups:capture', '-a', 'gu-cli'], { timeoutMs: 170_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(emu.requests.filter((q) => q.status === 429 && path.test(q.path))).toHaveLength(CLI_GIVES_UP_AFTER);
    const [t] = (await (await fetch(`${emu.url}/client/v11/apps/gu-cli/transfers`, { headers: { Authorization: `Bearer ${emu.apiKey}` } })).json()) as Array<{ finished_at: string | null; started_at: string | null }>;
    expect(t).toMatchObject({ finished_at: null, started_at: expect.any(String) as string });
    emu.releaseTransfers('gu-cli');
  });

  test('backups capture waits until Heroku says the backup finished', async ({ expect }) => {
    const r = await waitsPastTheCli(expect, ['backups', 'capture', '-a', 'gu-capture'], 'gu-capture', rateLimitPolls('gu-capture'), 'ok');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/the heroku CLI stopped waiting while backup b001 is still running/);
    expect(r.stdout).toMatch(/backups: captured b001/);
    expect(emu.backups('gu-capture')).toEqual([expect.objectContaining({ id: 'b001', succeeded: true })]);
  });

  test('backups capture fails when the backup fails after the CLI stopped waiting', async ({ expect }) => {
    const r = await waitsPastTheCli(expect, ['backups', 'capture', '-a', 'gu-capfail'], 'gu-capfail', rateLimitPolls('gu-capfail'), 'fail');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^error: backup b001 failed \(app gu-capfail\): .*upload failed: connection reset by peer/m);
    expect(r.stderr).toMatch(/^hint: see Heroku's log with `heroku pg:backups:info b001 -a gu-capfail`/m);
    expect(r.stdout).not.toMatch(/captured b001/);
  });

  test('restore waits until Heroku says the restore finished, then verifies it', async ({ expect }) => {
    await restoreDb.query('DELETE FROM widgets WHERE id > 5');
    // A restore is polled under the app's id; this time Heroku answers 503.
    const path = pollPath(await appId('gu-restore'));
    emu.injectFault({ method: 'GET', path, status: 503, times: CLI_GIVES_UP_AFTER });
    const args = ['restore', 'b001', '-a', 'gu-restore', '--confirm', 'gu-restore', '--no-safety-backup'];
    const r = await waitsPastTheCli(expect, args, 'gu-restore', { path, status: 503 }, 'ok');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/the heroku CLI stopped waiting while restore r002 of b001 into DATABASE_URL is still running/);
    expect(r.stdout).toMatch(/verified: 1 table\(s\), 25 row\(s\)/);
    expect(Number((await restoreDb.query<{ n: string }>('SELECT count(*) AS n FROM widgets')).rows[0]?.n)).toBe(25);
  });

  test("Heroku's rate limit: once the budget is spent the API answers 429 rate_limit, which drydock names", async ({ expect }) => {
    const cli = new HerokuCli({ bin: herokuBinPath(), env: emu.env });
    emu.setRateLimit({ budget: 2, refillPerMinute: 0, path: /^\/apps\/gu-rate\// });
    try {
      await cli.configVars('gu-rate');
      await cli.configVars('gu-rate');
      const error = await cli.configVars('gu-rate').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(HerokuError);
      expect(error).toMatchObject({ kind: 'rate-limited', message: expect.stringMatching(/^Heroku's API rate limit was reached \(app gu-rate\): Your account reached the API rate limit/) as string });
      const res = await fetch(`${emu.url}/apps/gu-rate/config-vars`, { headers: { Authorization: `Bearer ${emu.apiKey}` } });
      expect(res.status).toBe(429);
      expect(res.headers.get('ratelimit-remaining')).toBe('0');
    } finally {
      emu.setRateLimit(null);
    }
  });
});
