/**
 * HerokuCli (src/heroku/cli.ts) over the real heroku CLI pointed at the emulator: parsed results,
 * and every failure mapped to the right HerokuError kind with a one-line, password-free message.
 */
import { afterAll, beforeAll, describe, test, type ExpectStatic } from 'vitest';

import { HerokuError, type HerokuErrorKind } from '../../src/errors.js';
import { HerokuCli } from '../../src/heroku/cli.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { herokuBinPath } from '../helpers/heroku.js';
import { startEmulator, type Emulator } from '../heroku-emulator/index.js';

const PASSWORD = 's3cretpw';

let emu: Emulator;
let db: TestDb;
/** The app's DATABASE_URL: the test database with a password in it (the server trusts local users). */
let secretUrl: string;

function cli(env: Record<string, string | undefined> = {}, bin = herokuBinPath()): HerokuCli {
  return new HerokuCli({ bin, env: { ...emu.env, ...env } });
}

/** The HerokuError a promise rejects with, after checking it is safe to print. */
async function herokuError(expect: ExpectStatic, promise: Promise<unknown>, kind: HerokuErrorKind): Promise<HerokuError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HerokuError);
  const he = error as HerokuError;
  expect({ kind: he.kind, message: he.message }).toMatchObject({ kind });
  for (const text of [he.message, he.hint ?? '']) {
    expect(text).not.toContain('\n');
    expect(text).not.toContain(PASSWORD);
  }
  return he;
}

beforeAll(async () => {
  db = await createTestDb('adapter');
  await db.query('CREATE TABLE accounts (id int PRIMARY KEY)');
  const url = new URL(db.localhostUrl);
  url.password = PASSWORD;
  secretUrl = url.toString();
  emu = await startEmulator({
    port: 0,
    apps: [
      { name: 'adapter-app', databaseUrl: secretUrl, configVars: { NODE_ENV: 'production' } },
      { name: 'adapter-nodb', configVars: { NODE_ENV: 'production' } },
      { name: 'adapter-faulty', databaseUrl: secretUrl },
    ],
  });
  emu.addRelease('adapter-app', { description: 'Deploy abc1234' });
});

afterAll(async () => {
  await emu?.stop();
  await db?.drop();
});

describe.concurrent('HerokuCli against the emulator', () => {
  test('configVars returns every config var', async ({ expect }) => {
    expect(await cli().configVars('adapter-app')).toEqual({ DATABASE_URL: secretUrl, NODE_ENV: 'production' });
  });

  test('databaseUrl returns DATABASE_URL', async ({ expect }) => {
    expect(await cli().databaseUrl('adapter-app')).toBe(secretUrl);
  });

  test('pgInfo parses the real server version, plan and status', async ({ expect }) => {
    const { rows } = await db.query<{ server_version: string }>('SHOW server_version');
    const info = await cli().pgInfo('adapter-app');
    expect(info).toMatchObject({
      attachment: 'DATABASE_URL',
      version: rows[0]?.server_version.split(' ')[0],
      plan: 'Standard 0',
      status: 'Available',
    });
    expect(info.fields.Tables).toBe('1');
  });

  test('releases returns the newest releases first, limited to count', async ({ expect }) => {
    const releases = await cli().releases('adapter-app', 2);
    expect(releases).toHaveLength(2);
    expect(releases[0]).toMatchObject({ version: 3, description: 'Deploy abc1234', current: true, status: 'succeeded' });
    expect(releases[1]?.version).toBe(2);
  });

  test('appInfo returns the app', async ({ expect }) => {
    const info = await cli().appInfo('adapter-app');
    expect(info).toMatchObject({ app: { name: 'adapter-app' } });
  });

  test("fails with 'unknown-app' for an app that doesn't exist", async ({ expect }) => {
    const error = await herokuError(expect, cli().configVars('adapter-missing'), 'unknown-app');
    expect(error.message).toBe('Heroku app adapter-missing not found');
  });

  test("fails with 'not-logged-in' for a wrong API key", async ({ expect }) => {
    await herokuError(expect, cli({ HEROKU_API_KEY: 'wrong-key' }).databaseUrl('adapter-app'), 'not-logged-in');
  });

  test("fails with 'not-logged-in' when there is no API key at all", async ({ expect }) => {
    await herokuError(expect, cli({ HEROKU_API_KEY: undefined }).configVars('adapter-app'), 'not-logged-in');
  });

  test("databaseUrl fails with 'no-database' for an app without a database", async ({ expect }) => {
    const error = await herokuError(expect, cli().databaseUrl('adapter-nodb'), 'no-database');
    expect(error.message).toMatch(/adapter-nodb has no DATABASE_URL/);
  });

  test("pgInfo fails with 'no-database' for an app without a database", async ({ expect }) => {
    await herokuError(expect, cli().pgInfo('adapter-nodb'), 'no-database');
  });

  test("pgInfo of a named database fails with 'no-database' when the app has none", async ({ expect }) => {
    const error = await herokuError(expect, cli().pgInfo('adapter-nodb', 'DATABASE'), 'no-database');
    expect(error.message).toMatch(/adapter-nodb has no databases/);
  });

  test("fails with 'unavailable' and the API's message (password masked) when the API answers 500", async ({ expect }) => {
    emu.injectFault({
      path: '/apps/adapter-faulty/config-vars',
      status: 500,
      body: { id: 'internal_server_error', message: `Database ${secretUrl} is on fire.` },
      times: 1,
    });
    const error = await herokuError(expect, cli().configVars('adapter-faulty'), 'unavailable');
    expect(error.message).toMatch(/^Heroku's API failed \(app adapter-faulty\): Database postgres:\/\/postgres:\*+@localhost.* is on fire\.$/);
    expect(error.hint).toMatch(/status\.heroku\.com/);
  });

  test("fails with 'network' when the emulator is stopped (after the CLI's ~6 s of retries)", async ({ expect }) => {
    const gone = await startEmulator({ port: 0 });
    await gone.stop();
    const error = await herokuError(expect, 
      cli({ HEROKU_HOST: gone.url, HEROKU_PARTICLEBOARD_URL: gone.url }).configVars('adapter-app'),
      'network',
    );
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  test("fails with 'missing-binary' when the heroku executable doesn't exist", async ({ expect }) => {
    const error = await herokuError(expect, cli({}, '/nonexistent/heroku').configVars('adapter-app'), 'missing-binary');
    expect(error.message).toContain('/nonexistent/heroku');
  });
});
