/**
 * The standalone emulator's flags for what real Heroku does differently (`npm run emulator -- --help`):
 * --tls, --plan, --deny and --fault, each checked through what it serves.
 */
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, test } from 'vitest';

import { run } from '../../src/exec.js';
import type { TestDb } from '../helpers/db.js';
import { runHeroku } from '../helpers/heroku.js';
import { testScope } from '../helpers/scope.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = resolve(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const MAIN = resolve(REPO_ROOT, 'test', 'heroku-emulator', 'main.ts');

const { db } = testScope();
let prod: TestDb;

beforeAll(async () => {
  prod = await db('emu_flags');
  await prod.query('CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 7)');
});

/** Run main.ts with `args` until `check` is done with its exports, then SIGTERM it. */
async function withStandalone(args: string[], check: (env: Record<string, string>, stdout: string) => Promise<void>): Promise<void> {
  const child = spawn(TSX, [MAIN, ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  try {
    const deadline = Date.now() + 20_000;
    while (!/# Heroku emulator on/.test(stdout) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(stdout, stderr).toMatch(/# Heroku emulator on/);
    const env = Object.fromEntries([...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m): [string, string] => [m[1]!, m[2]!.replace(/^'|'$/g, '')]));
    await check(env, stdout);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
}

describe('npm run emulator flags', () => {
  test('--help documents every flag', async () => {
    const res = await run(TSX, [MAIN, '--help'], { reject: false, timeoutMs: 30_000 });
    expect(res.exitCode).toBe(0);
    for (const flag of ['--app', '--plan', '--tls', '--tls-host', '--deny', '--fault', '--port', '--api-key', '--verbose']) expect(res.stdout).toContain(flag);
    expect(res.stdout).toContain('a transfer is currently in progress');
  });

  test('--tls --plan --deny --fault: the database over TLS under another host name, the plan in pg:info, 403 and injected statuses', async () => {
    await withStandalone(
      ['--app', `flag-a=${prod.localhostUrl}`, '--app', `flag-b=${prod.localhostUrl}`, '--plan', 'flag-a=essential-0', '--tls', '--deny', 'flag-b', '--fault', 'GET /apps/flag-a/formation 503x1'],
      async (env, stdout) => {
        expect(stdout).toMatch(/^# databases over TLS at (\S+):\d+ /m);
        const info = await runHeroku({ env }, ['pg:info', 'DATABASE_URL', '-a', 'flag-a']);
        expect(info.exitCode, info.stderr).toBe(0);
        expect(info.stdout).toMatch(/^Plan:\s+Essential 0$/m);
        expect(info.stdout).toMatch(/^Connections:\s+\d+\/20$/m);
        const url = (await runHeroku({ env }, ['config:get', 'DATABASE_URL', '-a', 'flag-a'])).stdout.trim();
        expect(new URL(url).hostname).not.toMatch(/^(localhost|127\.0\.0\.1)$/);
        const psql = await runHeroku({ env }, ['pg:psql', '-a', 'flag-a', '-c', 'SELECT count(*) FROM t'], { env: { PGSSLROOTCERT: '/dev/null/none' } });
        expect(psql.stdout, psql.stderr).toMatch(/\b7\b/);
        const denied = await runHeroku({ env }, ['config', '--json', '-a', 'flag-b']);
        expect(denied.exitCode).toBe(2);
        expect(denied.stderr).toMatch(/You do not have access to the app flag-b\./);
        const auth = { headers: { Authorization: `Bearer ${env.HEROKU_API_KEY}` } };
        expect((await fetch(`${env.HEROKU_HOST}/apps/flag-a/formation`, auth)).status).toBe(503);
        expect((await fetch(`${env.HEROKU_HOST}/apps/flag-a/formation`, auth)).status).toBe(200);
      },
    );
  });

  test('rejects malformed flag values with one line and exit 2', async () => {
    for (const args of [['--plan', 'flag-d'], ['--fault', 'GET /x'], ['--fault', 'GET ( 503'], ['--plan', 'nope=essential-0']]) {
      const res = await run(TSX, [MAIN, '--app', `flag-d=${prod.localhostUrl}`, ...args], { reject: false, timeoutMs: 30_000 });
      expect(res.exitCode, args.join(' ')).toBe(2);
      const lines = res.stderr.split('\n').filter((l) => l.trim() && !/^npm warn/.test(l));
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(/^emulator: --(plan|fault)/);
    }
  });
});
