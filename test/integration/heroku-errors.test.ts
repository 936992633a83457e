/**
 * The Heroku API's error bodies, answered by the emulator and printed by the real heroku CLI, become one
 * drydock error line with a hint: exit 2, no stack trace, no secrets. 403 forbidden for an app the account
 * cannot see (`--deny`), 429 once the rate limit is spent, 5xx and 404 from the API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { testServerUrl, type TestDb } from '../helpers/db.js';
import { herokuBinPath } from '../helpers/heroku.js';
import { testScope } from '../helpers/scope.js';

const { cleanups, db } = testScope();

let emu: Emulator;
let prod: TestDb;
let cache: string;
/** The password in the apps' DATABASE_URL: it must never be printed. */
const SECRET = 'pw-Zq81xVt0pLm';

function env(): Record<string, string> {
  return { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl(), DRYDOCK_CACHE_DIR: cache };
}

/** One `error:` line, one `hint:` line, exit 2, no stack, no password. */
function expectOneLineError(res: CliRun, error: RegExp, hint: RegExp): void {
  expect(res.exitCode, res.stderr).toBe(2);
  const lines = res.stderr.split('\n').filter((l) => l.trim());
  expect(lines.filter((l) => /^error: /.test(l)), res.stderr).toHaveLength(1);
  expect(res.stderr).toMatch(error);
  expect(res.stderr).toMatch(hint);
  expect(res.stderr).not.toMatch(/\n\s+at /);
  expect(res.stdout + res.stderr).not.toContain(SECRET);
}

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'drydock-errors-cache-'));
  cleanups.push(() => rmSync(cache, { recursive: true, force: true }));
  prod = await db('errors_prod');
  await prod.query('CREATE TABLE t (id int); INSERT INTO t VALUES (1)');
  const url = new URL(prod.localhostUrl);
  url.password = SECRET;
  const databaseUrl = url.toString();
  emu = await startEmulator({
    deny: ['err-denied'],
    apps: ['err-denied', 'err-limited', 'err-down', 'err-missing'].map((name) => ({ name, databaseUrl })),
  });
  cleanups.push(() => emu.stop());
}, 120_000);

describe.concurrent('Heroku API errors', () => {
  it('403 forbidden: access denied to the app, with how to check the account', async () => {
    const res = await runCli(['pull', '-a', 'err-denied', '--from', 'live', '--to', 'drydock_test_never_created'], { env: env() });
    expectOneLineError(res, /^error: Heroku denied access to app err-denied: You do not have access to the app err-denied\.$/m, /^hint: check the account you are logged in as \(`heroku auth:whoami`, or HEROKU_API_KEY\)/m);
  });

  it('429 rate_limit: the rate limit is reached, wait a few minutes', async () => {
    // What Heroku answers once the account's budget is spent (the emulator's rate limiter, where there is
    // one, answers the same body for every request; a fault keeps this to one app's requests).
    emu.injectFault({
      path: /^\/client\/v11\/apps\/err-limited\//,
      status: 429,
      body: { id: 'rate_limit', message: 'Your account reached the API rate limit\nPlease wait a few minutes before making new requests' },
    });
    const res = await runCli(['backups', 'list', '-a', 'err-limited'], { env: env() });
    expectOneLineError(res, /^error: Heroku's API rate limit (is|was) reached \(app err-limited\)/m, /^hint: .*75 a minute/m);
  });

  it('5xx: Heroku failed, check its status page (and the message it sent keeps no password)', async () => {
    emu.injectFault({
      method: 'GET',
      path: '/apps/err-down/config-vars',
      status: 503,
      body: { id: 'service_unavailable', message: `API is temporarily unavailable (while reading postgres://u:${SECRET}@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d1).` },
    });
    const res = await runCli(['pull', '-a', 'err-down', '--from', 'live', '--to', 'drydock_test_never_created'], { env: env() });
    expectOneLineError(res, /^error: Heroku's API failed \(app err-down\): API is temporarily unavailable/m, /^hint: .*check https:\/\/status\.heroku\.com/m);
  });

  it('404 from the Data API: nothing by that name, check the names', async () => {
    const res = await runCli(['backups', 'info', 'b042', '-a', 'err-missing'], { env: env() });
    expect(emu.requests).toContainEqual({ method: 'GET', path: '/client/v11/apps/err-missing/transfers/42', status: 404 });
    expectOneLineError(res, /^error: backup b042 not found \(app err-missing\)$/m, /^hint: list the app's backups with `heroku pg:backups -a err-missing`$/m);
  });
});
