/**
 * `drydock pull -a APP` and `drydock backups` through the real heroku CLI and the emulator:
 * live, newest backup, chosen backup, --capture, the cache, and the emulator's faults.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { CLI_PATH, runCli } from '../helpers/cli.js';
import { adminQuery, createTestDb, execIn, scalar, testServerUrl, type TestDb, workingDatabases } from '../helpers/db.js';
import { herokuBinPath } from '../helpers/heroku.js';

let emu: Emulator;
let prod: TestDb;
let cache: string;
const { target, dropAll: dropTargets } = workingDatabases();


function env(extra: Record<string, string> = {}): Record<string, string> {
  return { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl(), DRYDOCK_CACHE_DIR: cache, ...extra };
}

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'drydock-cache-'));
  prod = await createTestDb('pullh_prod');
  await prod.query(`
    CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);
    CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
    INSERT INTO schema_migrations VALUES ('20260101000000');
    INSERT INTO users (email) SELECT 'u' || g FROM generate_series(1, 3000) g;
    CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint CONSTRAINT orders_user_fk REFERENCES users (id), legacy_user bigint);
    COMMENT ON CONSTRAINT orders_user_fk ON orders IS 'who ordered';
    INSERT INTO orders (user_id, legacy_user) SELECT 1 + g % 3000, CASE WHEN g = 1 THEN 777777 ELSE 1 END FROM generate_series(1, 500) g;
    ALTER TABLE orders ADD CONSTRAINT orders_legacy_fk FOREIGN KEY (legacy_user) REFERENCES users (id) NOT VALID;`);
  emu = await startEmulator({ apps: [
    { name: 'pull-app', databaseUrl: prod.localhostUrl },
    { name: 'pull-fail', databaseUrl: prod.localhostUrl },
    { name: 'pull-old', databaseUrl: prod.localhostUrl },
    { name: 'pull-dl', databaseUrl: prod.localhostUrl },
    { name: 'pull-race', databaseUrl: prod.localhostUrl },
  ] });
  await emu.addBackup('pull-app');
}, 120_000);

afterAll(async () => {
  await emu?.stop();
  await dropTargets();
  await prod?.drop();
  rmSync(cache, { recursive: true, force: true });
});

describe('drydock pull -a APP', () => {
  it('pulls the live database', async () => {
    const to = target('ph_live');
    const res = await runCli(['pull', '-a', 'pull-app', '--from', 'live', '--to', to, '--no-snapshot'], { env: env() });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('Pulled live database of pull-app');
    expect(await scalar(to, 'SELECT count(*) AS n FROM users')).toBe(3000);
  });

  it('stops with a one-line error for an unknown app, creating nothing', async () => {
    for (const from of ['live', 'backup']) {
      const to = target(`ph_unknown_${from}`);
      const res = await runCli(['pull', '-a', 'no-such-app', '--from', from, '--to', to], { env: env() });
      expect(res.exitCode, from).not.toBe(0);
      expect(res.stderr).toMatch(/^error: Heroku app no-such-app not found/m);
      expect(res.stderr).not.toMatch(/\n\s+at /);
      expect((await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [to])).rows).toEqual([]);
      expect((await adminQuery(`SELECT 1 FROM pg_database WHERE datname LIKE 'drydock\\_pull\\_%' AND shobj_description(oid, 'pg_database') LIKE $1`, [`%${to}%`])).rows).toEqual([]);
    }
  });

  it('pulls the newest backup, and a second pull of it downloads nothing', async () => {
    const to = target('ph_backup');
    await prod.query(`INSERT INTO users (email) VALUES ('after-backup')`); // not in the backup
    // DRYDOCK_STREAM_RESTORE=1: load while downloading even though this small download is over at once.
    const first = await runCli(['pull', '-a', 'pull-app', '--from', 'backup', '--to', to, '--json'], { env: env({ DRYDOCK_STREAM_RESTORE: '1' }) });
    expect(first.exitCode).toBe(0);
    // Each table's own indexes and keys are built once its data is in (users' key before orders' data).
    expect(first.stderr).toMatch(/Downloaded backup b001: .* \(schema and data loaded as it arrived, [1-9]\d* index\(es\) and key\(s\) built as their tables' data came in\)/);
    const result = JSON.parse(first.stdout) as { backup: { id: string; cached: boolean } };
    expect(result.backup.id).toBe('b001');
    expect(await scalar(to, 'SELECT count(*) AS n FROM users')).toBe(3000);
    // Keys valid in production arrive valid (without a re-check), a NOT VALID one stays so, comments too.
    expect(await scalar(to, `SELECT count(*) AS n FROM pg_constraint WHERE conname = 'orders_user_fk' AND convalidated`)).toBe(1);
    expect(await scalar(to, `SELECT count(*) AS n FROM pg_constraint WHERE conname = 'orders_legacy_fk' AND NOT convalidated`)).toBe(1);
    expect(await scalar(to, `SELECT count(*) AS n FROM pg_constraint WHERE obj_description(oid, 'pg_constraint') = 'who ordered'`)).toBe(1);
    const downloads = () => emu.requests.filter((r) => r.path.startsWith('/backups/')).length;
    const before = downloads();
    const second = await runCli(['pull', '-a', 'pull-app', '--from', 'b001', '--to', to], { env: env() });
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toMatch(/Backup b001 is in the cache .*: nothing to download/);
    expect(downloads()).toBe(before);
    await prod.query(`DELETE FROM users WHERE email = 'after-backup'`);
  });

  it('leaves a foreign key NOT VALID, with a warning, when the data it points to is excluded', async () => {
    const to = target('ph_excl');
    const res = await runCli(['pull', '-a', 'pull-app', '--from', 'b001', '--to', to, '--exclude-table-data', 'users', '--no-snapshot', '--json'], { env: env() });
    expect(res.exitCode).toBe(0);
    expect((JSON.parse(res.stdout) as { notValidForeignKeys: unknown }).notValidForeignKeys).toEqual([{ name: 'orders_user_fk', table: 'public.orders', references: 'public.users' }]);
    expect(res.stderr).toMatch(/foreign key orders_user_fk on public\.orders left NOT VALID: the data of public\.users was excluded; once it is there, run ALTER TABLE "public"\."orders" VALIDATE CONSTRAINT "orders_user_fk";/);
    expect(await scalar(to, 'SELECT count(*) AS n FROM orders')).toBe(500);
    expect(await scalar(to, 'SELECT count(*) AS n FROM users')).toBe(0);
  });

  it('refuses an --exclude-table-data pattern that names no table of the backup, before anything loads (cached or not, dry run too)', async () => {
    const to = target('ph_excl_typo');
    await adminQuery(`CREATE DATABASE "${to}"`);
    await execIn(to, `CREATE TABLE previous_marker (note text)`);
    const fresh = mkdtempSync(join(tmpdir(), 'drydock-cache-'));
    try {
      const args = ['pull', '-a', 'pull-app', '--from', 'b001', '--to', to, '--exclude-table-data', 'usrs,public.ordrs'];
      const message = /^error: --exclude-table-data "usrs" \(did you mean "users"\?\), "public\.ordrs" \(did you mean "public\.orders"\?\): they name no table of /m;
      // Not in the cache: the dry run checks production's tables; the pull checks the archive's table of
      // contents as it arrives (loading while downloading, or from the downloaded file).
      const dry = await runCli([...args, '--dry-run'], { env: env({ DRYDOCK_CACHE_DIR: fresh }) });
      expect(dry.exitCode).toBe(2);
      expect(dry.stderr).toMatch(message);
      expect(dry.stderr).toMatch(/they name no table of the live database of pull-app \(checked in place of the backup, which is not downloaded\)$/m);
      for (const stream of ['1', '0']) {
        const res = await runCli(args, { env: env({ DRYDOCK_CACHE_DIR: fresh, DRYDOCK_STREAM_RESTORE: stream }) });
        expect(res.exitCode, `stream ${stream}`).toBe(2);
        expect(res.stderr).toMatch(message);
        expect(res.stderr).toMatch(/they name no table of backup b001 of pull-app$/m);
      }
      // In the cache now: refused in preflight (the dry run too), from its table of contents.
      const cached = await runCli([...args, '--dry-run'], { env: env({ DRYDOCK_CACHE_DIR: fresh }) });
      expect(cached.exitCode).toBe(2);
      expect(cached.stderr).toMatch(/they name no table of backup b001 of pull-app$/m);
      expect(await scalar(to, `SELECT count(*) AS n FROM pg_tables WHERE tablename = 'previous_marker'`)).toBe(1);
      expect((await adminQuery(`SELECT 1 FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE $1`, [`%${to}%`])).rows).toEqual([]);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it("asks for the newest backup's URL with the list (one round of the CLI), and never uses it when a newer backup finished meanwhile", async () => {
    // Finished well before the pull: the URL asked for without an id is its own (confirmed by a second list).
    await emu.addBackup('pull-race', { ageMs: 10 * 60_000 });
    const fresh = mkdtempSync(join(tmpdir(), 'drydock-cache-'));
    try {
      const posts = (): string[] => emu.requests.filter((r) => r.method === 'POST' && r.path.includes('/apps/pull-race/transfers/')).map((r) => r.path);
      const to = target('ph_race');
      const ok = await runCli(['pull', '-a', 'pull-race', '--from', 'backup', '--to', to, '--no-snapshot'], { env: env({ DRYDOCK_CACHE_DIR: fresh }) });
      expect(ok.exitCode, ok.stderr).toBe(0);
      expect(posts()).toEqual(['/client/v11/apps/pull-race/transfers/1/actions/public-url']);
      expect(await scalar(to, 'SELECT count(*) AS n FROM users')).toBe(3000);
      // Now b002 finishes after both lists were read (the pull's and the CLI's) and before the URL is given.
      const transferLists = (): number => emu.requests.filter((r) => r.method === 'GET' && r.path === '/client/v11/apps/pull-race/transfers').length;
      const listsBefore = transferLists();
      let added = false;
      emu.setRequestHook(async (method, path) => {
        if (added || method !== 'POST' || !path.endsWith('/actions/public-url')) return;
        added = true;
        for (let i = 0; i < 200 && transferLists() < listsBefore + 2; i++) await new Promise((r) => setTimeout(r, 50));
        await emu.addBackup('pull-race');
      });
      const other = mkdtempSync(join(tmpdir(), 'drydock-cache-'));
      try {
        const raced = await runCli(['pull', '-a', 'pull-race', '--from', 'backup', '--to', to, '--no-snapshot'], { env: env({ DRYDOCK_CACHE_DIR: other }) });
        expect(raced.exitCode, raced.stderr).toBe(2);
        expect(raced.stderr).toMatch(/^error: backup b002 of pull-race finished while this pull asked for b001's download URL: the URL may be the newer backup's, so it was not used$/m);
        expect(raced.stderr).toMatch(/^hint: nothing was changed; run again, or name the backup \(--from b001\)$/m);
        // Nothing kept under b001's name, the working copy untouched.
        expect(existsSync(join(other, 'backups', 'pull-race', 'b001.dump'))).toBe(false);
        expect(await scalar(to, 'SELECT count(*) AS n FROM users')).toBe(3000);
      } finally {
        emu.setRequestHook(null);
        rmSync(other, { recursive: true, force: true });
      }
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('captures a fresh backup with --capture and pulls it', async () => {
    const to = target('ph_capture');
    await prod.query(`INSERT INTO users (email) VALUES ('fresh')`);
    const res = await runCli(['pull', '-a', 'pull-app', '--capture', '--to', to, '--no-snapshot'], { env: env() });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/Captured backup b\d{3}/);
    expect(await scalar(to, `SELECT count(*) AS n FROM users WHERE email = 'fresh'`)).toBe(1);
    await prod.query(`DELETE FROM users WHERE email = 'fresh'`);
  });

  it('refuses a newest backup older than --max-age', async () => {
    await emu.addBackup('pull-old', { ageMs: 48 * 3_600_000 });
    const to = target('ph_old');
    const res = await runCli(['pull', '-a', 'pull-old', '--from', 'backup', '--to', to], { env: env() });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: the newest backup of pull-old \(b001\) is (4[78] h|2 d) old, older than --max-age 24 h/m);
    expect((await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [to])).rows).toEqual([]);
    const allowed = await runCli(['pull', '-a', 'pull-old', '--from', 'backup', '--to', to, '--max-age', '72h', '--no-snapshot'], { env: env() });
    expect(allowed.exitCode).toBe(0);
  });

  it('fails clearly, keeping nothing, when the download is truncated or corrupt', async () => {
    await emu.addBackup('pull-dl');
    const to = target('ph_dl');
    await adminQuery(`CREATE DATABASE "${to}"`);
    // Loading while downloading (1) or not (auto: this download is fast): the download's error either way.
    for (const stream of ['1', 'auto']) {
      for (const kind of ['truncate', 'corrupt'] as const) {
        emu.setDownloadFault({ kind, times: 1 });
        const res = await runCli(['pull', '-a', 'pull-dl', '--from', 'backup', '--to', to], { env: env({ DRYDOCK_STREAM_RESTORE: stream }) });
        expect(res.exitCode).toBe(2);
        // A corrupt download has the right size and table of contents (and real S3 ETags are no MD5s): pg_restore finds it.
        expect(res.stderr).toMatch(kind === 'truncate' ? /downloading backup b001 failed: (got \d+ of \d+ bytes|aborted|the connection closed early)/ : /^error: backup b001 is damaged: .*pg_restore cannot read its data/m);
        if (kind === 'corrupt') expect(res.stderr).toMatch(/^hint: the damaged copy was removed from the cache/m);
        expect(await scalar(to, `SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'`)).toBe(0);
        expect(await scalar(to, `SELECT count(*) AS n FROM pg_database WHERE datname LIKE 'drydock_pull_%' AND shobj_description(oid, 'pg_database') LIKE '%${to}%'`)).toBe(0);
      }
    }
    emu.setDownloadFault(null);
    const ok = await runCli(['pull', '-a', 'pull-dl', '--from', 'backup', '--to', to, '--no-snapshot'], { env: env() });
    expect(ok.exitCode).toBe(0);
    // auto: a download that is over within seconds is waited for, then restored with --jobs.
    expect(ok.stdout).toMatch(/Downloaded backup b001: [^\n]*md5 [0-9a-f]{32}\n/);
    expect(ok.stdout).not.toMatch(/loaded as it arrived/);
  });

  it('reports a failed capture with Heroku\'s log lines and changes nothing', async () => {
    emu.setTransferBehavior('pull-fail', { capture: 'fail' });
    const to = target('ph_capfail');
    const res = await runCli(['pull', '-a', 'pull-fail', '--capture', '--to', to], { env: env() });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: .*backup/im);
    expect((await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [to])).rows).toEqual([]);
  });

  it('leaves everything intact when killed during the download, and the next pull completes', async () => {
    const to = target('ph_kill_dl');
    const ownCache = mkdtempSync(join(tmpdir(), 'drydock-cache-kill-'));
    await adminQuery(`CREATE DATABASE "${to}"`);
    await execIn(to, 'CREATE TABLE precious (id int); INSERT INTO precious VALUES (1), (2)');
    await new Promise<void>((resolvePromise, reject) => {
      const child = spawn(process.execPath, [CLI_PATH, 'pull', '-a', 'pull-app', '--from', 'b001', '--to', to], {
        env: { ...process.env, ...env({ DRYDOCK_CACHE_DIR: ownCache, DRYDOCK_TEST_PAUSE_AT: 'during-download', DRYDOCK_STREAM_RESTORE: '1' }), CI: 'true' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('paused at during-download')) child.kill('SIGKILL');
      });
      child.on('exit', () => (stderr.includes('paused at during-download') ? resolvePromise() : reject(new Error(stderr))));
    });
    expect(await scalar(to, 'SELECT count(*) AS n FROM precious')).toBe(2);
    expect(existsSync(join(ownCache, 'backups', 'pull-app', 'b001.json'))).toBe(false);
    const next = await runCli(['pull', '-a', 'pull-app', '--from', 'b001', '--to', to, '--no-snapshot'], { env: env({ DRYDOCK_CACHE_DIR: ownCache }) });
    expect(next.exitCode).toBe(0);
    expect(next.stdout).toMatch(/Downloaded backup b001/);
    expect(await scalar(to, 'SELECT count(*) AS n FROM users')).toBe(3000);
    rmSync(ownCache, { recursive: true, force: true });
  });

  it('backups list, info, download and verify', async () => {
    const list = await runCli(['backups', 'list', '-a', 'pull-app', '--json'], { env: env() });
    expect(list.exitCode).toBe(0);
    const backups = JSON.parse(list.stdout) as Array<{ id: string; status: string }>;
    expect(backups.map((b) => b.id)).toContain('b001');
    const info = await runCli(['backups', 'info', 'b001', '-a', 'pull-app'], { env: env() });
    expect(info.stdout).toMatch(/b001: completed/);
    const out = join(cache, 'copy.dump');
    const dl = await runCli(['backups', 'download', 'b001', '-a', 'pull-app', '-o', out], { env: env() });
    expect(dl.exitCode).toBe(0);
    expect(dl.stdout).toMatch(/md5 [0-9a-f]{32}/);
    expect(dl.stdout).toContain(emu.backups('pull-app')[0]!.md5);
    const verify = await runCli(['backups', 'verify', 'b001', '-a', 'pull-app'], { env: env() });
    expect(verify.exitCode).toBe(0);
    expect(verify.stdout).toMatch(/backup b001 restores: 3 table\(s\), 3501 row\(s\) match the backup, schema version 20260101000000/);
  });
});
