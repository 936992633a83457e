/**
 * Issue 12, "durations and limits" and "messages": bad values and unusable files are one-line usage
 * errors (exit 2, a hint, no stack trace), raised before anything connects or changes.
 */
import { existsSync, mkdirSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { runCli, type CliRun } from '../helpers/cli.js';
import { createTestDb } from '../helpers/db.js';
import { makeMigrationDir, type MigrationDir } from '../helpers/migrations.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

function dir(): MigrationDir {
  const m = makeMigrationDir([{ version: '20260101000000', name: 'create_users', up: 'CREATE TABLE users (id bigint);', down: 'DROP TABLE users;' }]);
  cleanups.push(() => m.cleanup());
  return m;
}

/** Nothing listens on port 1: a run that got as far as connecting would say "connection refused". */
const NOWHERE = 'postgres://postgres@127.0.0.1:1/postgres';

/** A usage error as drydock prints it: exit 2, `error:` and `hint:` lines, no stack trace. */
function expectUsageError(res: CliRun, message: RegExp): void {
  expect(res.exitCode).toBe(2);
  const lines = res.stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toMatch(/^hint: /);
  expect(res.stderr).not.toMatch(/unexpected failure|\n\s+at /);
}

describe('durations and limits', () => {
  it('refuses out-of-range durations naming the flag, before connecting', async () => {
    const m = dir();
    expectUsageError(await runCli(['migrate', 'up', '--url', NOWHERE, '--lock-timeout', '99999999999999999999ms'], { cwd: m.root }), /--lock-timeout must be from 0 to 2147483647ms/);
    expectUsageError(await runCli(['migrate', 'up', '--url', NOWHERE, '--statement-timeout', '30d'], { cwd: m.root }), /--statement-timeout must be from 0 to/);
    expectUsageError(await runCli(['release', '--url', NOWHERE, '--connect-timeout', '30d'], { cwd: m.root }), /--connect-timeout must be from 0 to 1h/);
    expectUsageError(await runCli(['backups', 'capture', '-a', 'my-app', '--transfer-timeout', '0'], { cwd: m.root }), /--transfer-timeout must be from 1s to 30d, not "0"/);
  });

  it('lint --pg-version accepts only majors drydock knows', async () => {
    const m = dir();
    expectUsageError(await runCli(['lint', '--pg-version', '99', 'migrations'], { cwd: m.root }), /--pg-version must be a PostgreSQL major version/);
  });

  it('lint refuses a device and a file over 10 MB at once', async () => {
    const m = dir();
    expectUsageError(await runCli(['lint', '/dev/zero'], { cwd: m.root, timeoutMs: 20_000 }), /cannot read \/dev\/zero: it is not a regular file/);
    const big = join(m.root, 'big.sql');
    writeFileSync(big, 'SELECT 1;\n');
    truncateSync(big, 11 * 1024 * 1024);
    expectUsageError(await runCli(['lint', 'big.sql'], { cwd: m.root, timeoutMs: 20_000 }), /cannot read big\.sql: it is 11 MB, over drydock's limit of 10 MB/);
  });

  it('migrate refuses a migration file over 10 MB, before connecting', async () => {
    const m = dir();
    const big = join(m.dir, '20260102000000_big.sql');
    writeFileSync(big, '-- migrate:up\nSELECT 1;\n');
    truncateSync(big, 11 * 1024 * 1024);
    expectUsageError(await runCli(['migrate', 'status', '--url', NOWHERE], { cwd: m.root, timeoutMs: 20_000 }), /cannot read .*20260102000000_big\.sql: it is 11 MB/);
  });
});

describe('file-system failures are one-line errors naming the path', () => {
  it('migrate create where "migrations" is a file', async () => {
    const m = dir();
    const root = join(m.root, 'other');
    mkdirSync(root);
    writeFileSync(join(root, 'migrations'), 'not a folder');
    expectUsageError(await runCli(['migrate', 'create', 'add_users'], { cwd: root }), /^error: cannot create the folder .*migrations: a file has that name$/);
  });

  it('backups download -o a folder, or into a missing folder, before downloading anything', async () => {
    const m = dir();
    // No Heroku CLI is reachable here: the output path is refused first.
    const env = { DRYDOCK_HEROKU_BIN: '/nonexistent/heroku' };
    expectUsageError(await runCli(['backups', 'download', '-a', 'my-app', '-o', 'migrations'], { cwd: m.root, env }), /^error: cannot write the backup to migrations: it is a folder$/);
    expectUsageError(await runCli(['backups', 'download', '-a', 'my-app', '-o', 'nope/b001.dump'], { cwd: m.root, env }), /^error: cannot write the backup to nope\/b001\.dump: the folder nope does not exist$/);
  });

  it('schema dump -o under /proc ends at once, and -o a folder names it', async () => {
    const m = dir();
    const db = await createTestDb('fs_errors');
    cleanups.push(() => db.drop());
    const proc = await runCli(['schema', 'dump', '--url', db.url, '-o', '/proc/drydock-nope/schema.sql'], { cwd: m.root, timeoutMs: 30_000 });
    expectUsageError(proc, /^error: cannot create the folder \/proc\/drydock-nope: /);
    expectUsageError(await runCli(['schema', 'dump', '--url', db.url, '-o', 'migrations'], { cwd: m.root }), /^error: cannot write migrations: it is a folder$/);
    expect(readdirSync(m.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync('/proc/drydock-nope')).toBe(false);
  });
});
