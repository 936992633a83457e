/**
 * Passwords never leak: not in stdout, not in stderr, not in the argv of any process drydock spawns.
 * Spawned programs are observed through pass-through shims first on PATH (and as DRYDOCK_HEROKU_BIN)
 * that record their argv and then exec the real binary.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { createTestDb, testServerUrl, type TestDb } from '../helpers/db.js';
import { herokuBinPath } from '../helpers/heroku.js';

const PASSWORD = 'Pa55-w0rd_leak-canary';
const ENCODED = encodeURIComponent('p@ss/w0rd:canary');

let emu: Emulator;
let prod: TestDb;
let shimDir: string;
let argvLog: string;
let env: Record<string, string>;

function shim(name: string, real: string): void {
  const path = join(shimDir, name);
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\0' "${name}" "$@" >> "${argvLog}"\nprintf '\\n' >> "${argvLog}"\nexec "${real}" "$@"\n`);
  chmodSync(path, 0o755);
}

function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

beforeAll(async () => {
  prod = await createTestDb('secrets');
  shimDir = mkdtempSync(join(tmpdir(), 'drydock-shims-'));
  argvLog = join(shimDir, 'argv.log');
  writeFileSync(argvLog, '');
  for (const tool of ['pg_dump', 'pg_restore', 'psql']) shim(tool, `/usr/lib/postgresql/15/bin/${tool}`);
  shim('heroku', herokuBinPath());
  emu = await startEmulator({ apps: [{ name: 'secrets-app', databaseUrl: withPassword(prod.localhostUrl, PASSWORD) }] });
  env = {
    ...emu.env,
    PATH: `${shimDir}:${process.env.PATH ?? ''}`,
    DRYDOCK_HEROKU_BIN: join(shimDir, 'heroku'),
    DRYDOCK_LOCAL_DATABASE_URL: withPassword(testServerUrl(), PASSWORD),
  };
}, 60_000);

afterAll(async () => {
  await emu?.stop();
  await prod?.drop();
  rmSync(shimDir, { recursive: true, force: true });
});

describe('password masking', () => {
  it('keeps passwords out of output and spawned argv on success, failure, --json and --verbose', async () => {
    const runs = await Promise.all([
      runCli(['doctor', '-a', 'secrets-app'], { env }),
      runCli(['doctor', '-a', 'secrets-app', '--json', '--verbose'], { env }),
      runCli(['doctor', '--remote-url', withPassword(prod.url, PASSWORD)], { env }),
      // Failures that carry the URL in their error path.
      runCli(['doctor', '--remote-url', withPassword(prod.url, PASSWORD).replace(prod.name, 'drydock_test_missing_db'), '--verbose'], { env }),
      runCli(['doctor', '--remote-url', `postgres://u:${PASSWORD}@127.0.0.1:1/x`, '--verbose'], { env }),
      runCli(['doctor', '--remote-url', `postgres://u:${PASSWORD}@host:notaport/x`], { env }),
      runCli(['doctor', '--remote-url', `postgres://u:${ENCODED}@127.0.0.1:1/x`, '--verbose'], { env }),
      runCli(['doctor', '--remote-url', `postgres://u:${PASSWORD}@127.0.0.1:5432/x`], { env: { ...env, DRYDOCK_LOCAL_DATABASE_URL: `postgres://u:${PASSWORD}@127.0.0.1:1/x` } }),
    ]);
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0, 0, 2, 2, 2, 2, 2]);
    expect(runs[3].stderr).toContain('does not exist');
    for (const r of runs) {
      const all = r.stdout + r.stderr;
      expect(all).not.toContain(PASSWORD);
      expect(all).not.toContain(ENCODED);
      expect(all).not.toContain('p@ss/w0rd');
    }
    // The URL still shows, masked, where it helps.
    expect(runs[1].stdout).toContain('"label"');

    const spawned = readFileSync(argvLog, 'utf8').split('\n').filter(Boolean);
    // The shims really ran: heroku for the config vars, every client tool for its version.
    expect(spawned.some((l) => l.startsWith('heroku\0config\0--json'))).toBe(true);
    expect(spawned.some((l) => l.startsWith('pg_dump\0--version'))).toBe(true);
    for (const line of spawned) {
      expect(line).not.toContain(PASSWORD);
      expect(line).not.toContain(ENCODED);
    }
  });
});
