/**
 * `-r/--remote`: the app comes from a git remote, as the Heroku CLI does it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { run } from '../../src/exec.js';
import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { createTestDb, testServerUrl, type TestDb } from '../helpers/db.js';
import { herokuBinPath } from '../helpers/heroku.js';

/** The part of `doctor --json` these tests read. */
interface DoctorJson {
  production: { label: string };
}

let emu: Emulator;
let db: TestDb;
let repo: string;

beforeAll(async () => {
  db = await createTestDb('remote');
  emu = await startEmulator({ apps: [{ name: 'remote-app', databaseUrl: db.localhostUrl }] });
  repo = mkdtempSync(join(tmpdir(), 'drydock-repo-'));
  await run('git', ['init', '-q'], { cwd: repo });
  await run('git', ['remote', 'add', 'heroku', 'https://git.heroku.com/remote-app.git'], { cwd: repo });
  await run('git', ['remote', 'add', 'origin', 'git@github.com:me/remote-app.git'], { cwd: repo });
});

afterAll(async () => {
  await emu?.stop();
  await db?.drop();
  rmSync(repo, { recursive: true, force: true });
});

describe('-r/--remote', () => {
  const env = () => ({ ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() });

  it('reads the app from the git remote', async () => {
    const res = await runCli(['doctor', '-r', 'heroku', '--json'], { env: env(), cwd: repo });
    expect(res.exitCode).toBe(0);
    expect((JSON.parse(res.stdout) as DoctorJson).production.label).toMatch(/^remote-app DATABASE_URL/);
  });

  it('explains a remote that is missing or not Heroku', async () => {
    const missing = await runCli(['doctor', '-r', 'staging'], { env: env(), cwd: repo });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^error: git remote "staging" not found/m);
    const github = await runCli(['doctor', '-r', 'origin'], { env: env(), cwd: repo });
    expect(github.exitCode).toBe(2);
    expect(github.stderr).toMatch(/^error: git remote "origin" does not point at a Heroku app/m);
  });
});

describe('.env', () => {
  it('is read from the current directory, never overriding the environment, and flags win over both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-dotenv-'));
    try {
      writeFileSync(join(dir, '.env'), `HEROKU_APP=remote-app\nDRYDOCK_LOCAL_DATABASE_URL=${testServerUrl()}\n`);
      const base = { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath() };
      const fromDotenv = await runCli(['doctor', '--json'], { env: base, cwd: dir });
      expect(fromDotenv.exitCode).toBe(0);
      expect((JSON.parse(fromDotenv.stdout) as DoctorJson).production.label).toMatch(/^remote-app /);
      const envWins = await runCli(['doctor'], { env: { ...base, HEROKU_APP: 'other-app' }, cwd: dir });
      expect(envWins.stderr).toMatch(/^error: Heroku app other-app not found/m);
      const flagWins = await runCli(['doctor', '-a', 'remote-app', '--json'], { env: { ...base, HEROKU_APP: 'other-app' }, cwd: dir });
      expect(flagWins.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
