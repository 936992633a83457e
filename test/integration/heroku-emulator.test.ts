/**
 * The Heroku emulator, driven by the real heroku CLI (node_modules/.bin/heroku 11.10.0): each test
 * checks a real effect (state changes, the backing database's real server version) rather than
 * what we think the CLI prints. Tests run concurrently, each on its own app, because every CLI
 * invocation costs about 1.5 s.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { createTestDb, type TestDb } from '../helpers/db.js';
import { runHeroku } from '../helpers/heroku.js';
import { startEmulator, type Emulator } from '../heroku-emulator/index.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let emu: Emulator;
let prod: TestDb;
let prodVersion: string;

beforeAll(async () => {
  prod = await createTestDb('emu_prod');
  await prod.query('CREATE TABLE widgets (id serial PRIMARY KEY, name text); CREATE TABLE gadgets (id int)');
  await prod.query(`INSERT INTO widgets (name) SELECT 'w' || g FROM generate_series(1, 50) g`);
  const { rows } = await prod.query<{ server_version: string }>('SHOW server_version');
  prodVersion = (rows[0]?.server_version ?? '').split(' ')[0] ?? '';
  emu = await startEmulator({
    port: 0,
    apps: [
      { name: 'emu-main', databaseUrl: prod.localhostUrl, configVars: { RAILS_ENV: 'production' }, formation: { web: 2, worker: 1 } },
      { name: 'emu-maint', databaseUrl: prod.localhostUrl },
      { name: 'emu-scale', databaseUrl: prod.localhostUrl, formation: { web: 1, worker: 3 } },
      { name: 'emu-faulty', databaseUrl: prod.localhostUrl },
      { name: 'emu-slow', databaseUrl: prod.localhostUrl },
      { name: 'emu-releases', databaseUrl: prod.localhostUrl },
      { name: 'emu-output' },
    ],
  });
});

afterAll(async () => {
  await emu?.stop();
  await prod?.drop();
});

describe.concurrent('the real heroku CLI against the emulator', () => {
  test('heroku config --json prints the app config vars, DATABASE_URL included', async ({ expect }) => {
    const r = await runHeroku(emu, ['config', '--json', '-a', 'emu-main']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ DATABASE_URL: prod.localhostUrl, RAILS_ENV: 'production' });
    expect(r.stderr).toBe('');
  });

  test('heroku config:get DATABASE_URL prints the raw URL', async ({ expect }) => {
    const r = await runHeroku(emu, ['config:get', 'DATABASE_URL', '-a', 'emu-main']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(prod.localhostUrl);
  });

  test('heroku pg:info reports the backing server real version, tables and plan', async ({ expect }) => {
    const r = await runHeroku(emu, ['pg:info', '-a', 'emu-main']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^=== DATABASE_URL$/m);
    expect(prodVersion).toMatch(/^\d+\.\d+/);
    expect(r.stdout).toMatch(new RegExp(`^PG Version:\\s+${prodVersion.replace(/\./g, '\\.')}$`, 'm'));
    expect(r.stdout).toMatch(/^Tables:\s+2$/m);
    expect(r.stdout).toMatch(/^Plan:\s+Standard 0$/m);
    expect(r.stdout).toMatch(/^Status:\s+Available$/m);
    expect(r.stdout).toMatch(/^Data Size:\s+\d+(\.\d)? (kB|MB)$/m);
    expect(r.stdout).toMatch(/^Add-on:\s+postgresql-emu-[0-9a-f]{6}$/m);
  });

  test('heroku pg:psql runs a query on the backing database (localhost URL, no SSL)', async ({ expect }) => {
    const r = await runHeroku(emu, ['pg:psql', '-a', 'emu-main', '-c', 'select count(*) as n from widgets']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\s+50$/m);
    expect(r.stderr).toMatch(/Connecting to postgresql-emu-/);
  });

  test('heroku apps:info --json returns the app, its add-on and its dynos', async ({ expect }) => {
    const r = await runHeroku(emu, ['apps:info', '--json', '-a', 'emu-main']);
    expect(r.exitCode, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as {
      app: { name: string; maintenance: boolean; owner: { email: string } };
      addons: Array<{ plan: { name: string } }>;
      dynos: Array<{ name: string; type: string }>;
      pipeline_coupling: unknown;
    };
    expect(info.app).toMatchObject({ name: 'emu-main', maintenance: false });
    expect(info.addons.map((a) => a.plan.name)).toEqual(['heroku-postgresql:standard-0']);
    expect(info.dynos.map((d) => d.name).sort()).toEqual(['web.1', 'web.2', 'worker.1']);
    expect(info.pipeline_coupling).toBeNull();
  });

  test('heroku releases --json honours -n and lists newest first, marking the current release', async ({ expect }) => {
    const deploy = emu.addRelease('emu-releases', { description: 'Deploy 1a2b3c4' });
    const pending = emu.addRelease('emu-releases', { description: 'Deploy 5d6e7f8', status: 'pending', output: 'Running migrations\n' });
    const r = await runHeroku(emu, ['releases', '--json', '-n', '2', '-a', 'emu-releases']);
    expect(r.exitCode, r.stderr).toBe(0);
    const releases = JSON.parse(r.stdout) as Array<{ version: number; status: string; current: boolean; description: string }>;
    expect(releases.map((x) => x.version)).toEqual([pending, deploy]);
    expect(releases[0]).toMatchObject({ status: 'pending', current: false, description: 'Deploy 5d6e7f8' });
    expect(releases[1]).toMatchObject({ status: 'succeeded', current: true });
  });

  test('heroku releases:output streams the release output over plain HTTP', async ({ expect }) => {
    const version = emu.addRelease('emu-output', { description: 'Deploy with release phase', output: 'migrated 3 files\n' });
    const r = await runHeroku(emu, ['releases:output', `v${version}`, '-a', 'emu-output']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('migrated 3 files');
    expect(emu.requests.some((x) => x.path.startsWith('/streams/release-output/') && x.status === 200)).toBe(true);
  });

  test('heroku maintenance:on and maintenance:off change the app state', async ({ expect }) => {
    expect(emu.app('emu-maint').maintenance).toBe(false);
    const on = await runHeroku(emu, ['maintenance:on', '-a', 'emu-maint']);
    expect(on.exitCode, on.stderr).toBe(0);
    expect(emu.app('emu-maint').maintenance).toBe(true);
    const off = await runHeroku(emu, ['maintenance:off', '-a', 'emu-maint']);
    expect(off.exitCode, off.stderr).toBe(0);
    expect(emu.app('emu-maint').maintenance).toBe(false);
  });

  test('heroku ps:scale worker=0 changes the formation and leaves web alone', async ({ expect }) => {
    const r = await runHeroku(emu, ['ps:scale', 'worker=0', '-a', 'emu-scale']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/now running worker at 0:Basic/);
    expect(emu.app('emu-scale').formation).toEqual({ web: 1, worker: 0 });
    expect(emu.requests).toContainEqual({ method: 'PATCH', path: '/apps/emu-scale/formation', status: 200 });
  });

  test('fails with "Couldn\'t find that app" for an unknown app', async ({ expect }) => {
    const r = await runHeroku(emu, ['config', '--json', '-a', 'emu-nonexistent']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Couldn't find that app\./);
  });

  test('fails with the invalid-token message for a wrong API key', async ({ expect }) => {
    const r = await runHeroku(emu, ['config', '--json', '-a', 'emu-main'], { env: { HEROKU_API_KEY: 'not-the-key' } });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.replace(/\s+/g, ' ')).toMatch(/The token provided to HEROKU_API_KEY is invalid/);
    expect(emu.requests).toContainEqual({ method: 'GET', path: '/apps/emu-main/config-vars', status: 401 });
  });

  test('fails when a fault makes the API answer 500, and recovers once it is used up', async ({ expect }) => {
    emu.injectFault({ method: 'GET', path: '/apps/emu-faulty/config-vars', status: 500, times: 1 });
    const failed = await runHeroku(emu, ['config:get', 'DATABASE_URL', '-a', 'emu-faulty']);
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stderr).toMatch(/Internal server error/);
    const ok = await runHeroku(emu, ['config:get', 'DATABASE_URL', '-a', 'emu-faulty']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe(prod.localhostUrl);
  });

  test('delays answers by an injected delay', async ({ expect }) => {
    emu.injectFault({ path: /^\/apps\/emu-slow\/config-vars$/, delayMs: 1500, times: 1 });
    const started = Date.now();
    const r = await runHeroku(emu, ['config:get', 'DATABASE_URL', '-a', 'emu-slow']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(prod.localhostUrl);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
  });
});

describe('the emulator HTTP surface', () => {
  test('answers JSON with application/json, and 401 with Heroku error JSON for a wrong key', async () => {
    const ok = await fetch(`${emu.url}/apps/emu-main/config-vars`, { headers: { Authorization: `Bearer ${emu.apiKey}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^application\/json/);
    const bad = await fetch(`${emu.url}/apps/emu-main/config-vars`, { headers: { Authorization: 'Bearer wrong' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await bad.json()).toEqual({ id: 'unauthorized', message: 'Invalid credentials provided.' });
  });

  test('answers the resolver with 404 "Couldn\'t find that addon." for an app without a database', async () => {
    emu.addApp({ name: 'emu-nodb' });
    const res = await fetch(`${emu.url}/actions/addon-attachments/resolve`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${emu.apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ addon_attachment: 'DATABASE_URL', app: 'emu-nodb' }),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ id: 'not_found', message: "Couldn't find that addon." });
    emu.removeApp('emu-nodb');
  });

  test('applies relative ps:scale quantities and keeps the add-on in step with DATABASE_URL', async () => {
    emu.addApp({ name: 'emu-direct', formation: { web: 1 } });
    const patch = (body: unknown): Promise<Response> =>
      fetch(`${emu.url}/apps/emu-direct/formation`, {
        method: 'PATCH',
        headers: { Authorization: `Bearer ${emu.apiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await patch({ updates: [{ type: 'web', quantity: '+2' }] })).status).toBe(200);
    expect(emu.app('emu-direct').formation).toEqual({ web: 3 });
    expect((await patch({ updates: [{ type: 'nope', quantity: '1' }] })).status).toBe(404);
    const auth = { headers: { Authorization: `Bearer ${emu.apiKey}` } };
    expect(await (await fetch(`${emu.url}/apps/emu-direct/addons`, auth)).json()).toEqual([]);
    emu.setConfigVar('emu-direct', 'DATABASE_URL', prod.localhostUrl);
    expect(await (await fetch(`${emu.url}/apps/emu-direct/addons`, auth)).json()).toHaveLength(1);
    emu.removeApp('emu-direct');
  });
});

describe('npm run emulator (standalone)', () => {
  const tsx = resolve(REPO_ROOT, 'node_modules', '.bin', 'tsx');
  const main = resolve(REPO_ROOT, 'test', 'heroku-emulator', 'main.ts');

  test('prints the env, serves the app, and stops cleanly on SIGTERM', async () => {
    const child = spawn(tsx, [main, '--app', `emu-cli=${prod.localhostUrl}`, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      await checkStandalone();
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);

    async function checkStandalone(): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!/heroku pg:info -a emu-cli/.test(stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const env = Object.fromEntries([...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m): [string, string] => [m[1]!, m[2]!]));
    expect(Object.keys(env).sort()).toEqual(Object.keys(emu.env).sort());
    expect(stdout).toMatch(/drydock doctor -a emu-cli/);
    expect(stdout).not.toContain(prod.localhostUrl);
    const res = await fetch(`${env.HEROKU_HOST}/apps/emu-cli/config-vars`, { headers: { Authorization: `Bearer ${env.HEROKU_API_KEY}` } });
    expect(await res.json()).toEqual({ DATABASE_URL: prod.localhostUrl });
    expect(existsSync(env.HOME ?? '')).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(env.HOME ?? '')).toBe(false);
    }
  });

  test('--help documents the flags for several databases, shared databases and faults', async () => {
    const child = spawn(tsx, [main, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    expect(await new Promise<number | null>((res) => child.on('exit', (c) => res(c)))).toBe(0);
    for (const flag of ['--colour APP=COLOUR', '--attach APP:NAME=URL', '--attach APP:NAME=OWNER[:ATT]', '--billing-app APP:NAME=OWNER', '--capture-mode APP=MODE', '--poll-fault STATUS[xN]', '--rate-limit BUDGET[/PER_MIN]', '--url-ttl SECONDS', '--etag multipart|opaque|md5']) {
      expect(stdout).toContain(flag);
    }
  });

  test('models a colour attachment, a follower, a shared database and one billed to another app', async () => {
    const other = prod.localhostUrl.replace(/\/[^/]*$/, '/postgres');
    const args = [main, '--port', '0', '--app', `emu-shop=${prod.localhostUrl}`, '--colour', 'emu-shop=COBALT', '--attach', `emu-shop:HEROKU_POSTGRESQL_AMBER=${other}`];
    args.push('--app', 'emu-reports', '--attach', 'emu-reports:DATABASE=emu-shop:HEROKU_POSTGRESQL_AMBER', '--attach', `emu-reports:HEROKU_POSTGRESQL_PINK=${other}`, '--billing-app', 'emu-reports:HEROKU_POSTGRESQL_PINK=emu-payer');
    args.push('--capture-mode', 'emu-shop=slow', '--poll-fault', '429x21', '--rate-limit', '4500/75', '--url-ttl', '600', '--etag', 'opaque');
    const child = spawn(tsx, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!/^export HEROKU_HOST=/m.test(stdout) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(stderr).toBe('');
      const host = /^export HEROKU_HOST=(.*)$/m.exec(stdout)?.[1] ?? '';
      const key = /^export HEROKU_API_KEY=(.*)$/m.exec(stdout)?.[1] ?? '';
      const get = async (path: string) => (await fetch(`${host}${path}`, { headers: { Authorization: `Bearer ${key}` } })).json();
      // Provisioning order: the colour's config var first, then DATABASE_URL; the follower after.
      expect(Object.entries((await get('/apps/emu-shop/config-vars')) as Record<string, string>)).toEqual([
        ['HEROKU_POSTGRESQL_COBALT_URL', prod.localhostUrl],
        ['DATABASE_URL', prod.localhostUrl],
        ['HEROKU_POSTGRESQL_AMBER_URL', other],
      ]);
      const attachments = (await get('/apps/emu-reports/addon-attachments')) as Array<{ name: string; addon: { app: { name: string } } }>;
      expect(attachments.map((a) => [a.name, a.addon.app.name])).toEqual([
        ['DATABASE', 'emu-shop'],
        ['HEROKU_POSTGRESQL_PINK', 'emu-payer'],
      ]);
      // The payer, created for --billing-app, has the database under a colour of its own.
      expect(Object.keys((await get('/apps/emu-payer/config-vars')) as Record<string, string>)).toEqual(['HEROKU_POSTGRESQL_AMBER_URL']);
      const limited = await fetch(`${host}/apps/emu-shop`, { headers: { Authorization: `Bearer ${key}` } });
      expect(limited.headers.get('ratelimit-remaining')).toMatch(/^\d+$/);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  test('exits 2 with a one-line error for bad arguments, without echoing the URL', async () => {
    const child = spawn(tsx, [main, '--app', 'emu-x=mysql://u:s3cretpw@h/db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    expect(code).toBe(2);
    const lines = stderr.split('\n').filter((l) => l.trim() && !/^npm warn/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^emulator: --app emu-x: the DATABASE_URL must be a postgres:\/\/ URL/);
    expect(stderr).not.toContain('s3cretpw');
  });
});
