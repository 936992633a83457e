/**
 * Progress that moves: a live pull over a slow link reports bytes, rows and a share within a table
 * before that table is done (plain logs; --json keeps stdout for the result); a backup restore reports
 * pg_restore's items as counts that reach the total; `backups capture` shows each of Heroku's log
 * lines once. Real PostgreSQL, real pg_dump/pg_restore, the real heroku CLI against the emulator.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tocEntries } from '../../src/backups/toc.js';
import { PgTools } from '../../src/pg/pg-tools.js';
import { discoverTools } from '../../src/pg/tools.js';
import { parseDatabaseUrl } from '../../src/pg/url.js';
import { restoreBackupArchive, type RestoreItemsProgress } from '../../src/pull/restore-backup.js';
import { Link, startThrottleProxy, type ThrottleProxy } from '../../scripts/bench/throttle-proxy.js';
import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { createTestDb, scalar, testServerUrl, type TestDb, workingDatabases } from '../helpers/db.js';
import { herokuBinPath } from '../helpers/heroku.js';

const BIG_ROWS = 60_000;

let prod: TestDb;
let link: ThrottleProxy;
let emu: Emulator;
let cache: string;
const { target, dropAll: dropTargets } = workingDatabases();
const scratch: TestDb[] = [];
const pgTools = new PgTools({ discoverTools, env: process.env });


function env(extra: Record<string, string> = {}): Record<string, string> {
  return { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl(), DRYDOCK_CACHE_DIR: cache, ...extra };
}

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'drydock-progress-'));
  prod = await createTestDb('progress_prod');
  // About 7 MB of COPY data in one table (the planner's estimate known), a few small tables around it.
  await prod.query(`
    CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);
    COMMENT ON TABLE users IS 'people';
    INSERT INTO users (email) SELECT 'u' || g || '@example.com' FROM generate_series(1, 500) g;
    CREATE TABLE big (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), payload text NOT NULL);
    INSERT INTO big SELECT g, 1 + g % 500, repeat(md5(g::text), 3) FROM generate_series(1, ${BIG_ROWS}) g;
    CREATE INDEX big_user_idx ON big (user_id);
    CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
    INSERT INTO schema_migrations VALUES ('20260101000000');
    ANALYZE;`);
  // A 12 Mbit/s link (the benchmark's throttle proxy): the big table takes a few seconds to cross.
  const server = new URL(prod.url);
  link = await startThrottleProxy({ target: { host: server.hostname, port: Number(server.port || 5432) }, link: new Link({ mbit: 12 }) });
  emu = await startEmulator({ apps: [{ name: 'progress-app', databaseUrl: prod.localhostUrl }] });
  await emu.addBackup('progress-app');
}, 120_000);

afterAll(async () => {
  await emu?.stop();
  await link?.close();
  await dropTargets();
  for (const db of scratch) await db.drop();
  await prod?.drop();
  rmSync(cache, { recursive: true, force: true });
});

/** `url` through the proxy. */
function through(proxy: ThrottleProxy, url: string): string {
  const u = new URL(url);
  u.port = String(proxy.port);
  return u.toString();
}

/** The plain-log lines of task output ("[OUTPUT] [time] text"), in order. */
function outputLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^\[OUTPUT\] \[[^\]]+\] (.*)$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);
}

describe('a live pull over a slow link', { timeout: 120_000 }, () => {
  it('reports bytes, rows, a share, the rate and the time left within a table before it is done (plain logs)', async () => {
    const to = target('progress_live');
    const res = await runCli(['pull', '--from-url', through(link, prod.localhostUrl), '--to', to, '--no-snapshot'], { env: { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() } });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await scalar(to, 'SELECT count(*) AS n FROM big')).toBe(BIG_ROWS);
    const lines = outputLines(res.stdout);
    const done = lines.findIndex((l) => l.includes(`public.big ${BIG_ROWS} rows`));
    expect(done, res.stdout).toBeGreaterThan(0);
    const within = lines
      .slice(0, done)
      .map((l) => /copying public\.big (\d+) % \(([\d.]+) MB, (\d+) of ~(\d+) rows\)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null);
    // At least one reading in the middle of the table, with its bytes, rows and share.
    expect(within.length, res.stdout).toBeGreaterThan(0);
    expect(within.some((m) => Number(m[1]) > 0 && Number(m[1]) < 100 && Number(m[2]) > 0 && Number(m[3]) > 0)).toBe(true);
    expect(within.every((m) => Number(m[4]) === BIG_ROWS)).toBe(true);
    // The whole copy's share, its rate and the time left, and the step's elapsed time.
    const readings = lines.slice(0, done).filter((l) => l.includes('copying public.big'));
    expect(readings.some((l) => /^\d+\/\d+ tables, \d+ %, [\d.]+ (kB|MB) at [\d.]+ (kB|MB)\/s, about .+ left; .* · \d+ s elapsed$/.test(l)), readings.join('\n')).toBe(true);
    // Throttled: at most one line a second and one per 10 % of the copy (it lasts a few seconds).
    expect(within.length).toBeLessThanOrEqual(11);
    // Then indexes and keys: pg_restore's items as counts, not its lines.
    const postData = lines.findIndex((l) => l.startsWith('indexes and constraints: '));
    expect(postData).toBeGreaterThan(done);
    expect(lines.slice(postData + 1).some((l) => /^pg_restore: [1-9]\d* of [1-9]\d* items/.test(l)), res.stdout).toBe(true);
    expect(lines.filter((l) => /^(pg_restore: )?(creating|launching item|finished item) /.test(l))).toEqual([]);
  });

  it('with --json, keeps stdout for the result and reports progress on stderr', async () => {
    const to = target('progress_json');
    const res = await runCli(['pull', '--from-url', through(link, prod.localhostUrl), '--to', to, '--no-snapshot', '--json'], { env: { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() } });
    expect(res.exitCode, res.stderr).toBe(0);
    expect((JSON.parse(res.stdout) as { rows: number }).rows).toBeGreaterThanOrEqual(BIG_ROWS);
    expect(res.stderr).toMatch(/copying public\.big \d+ % \([\d.]+ MB, \d+ of ~\d+ rows\)/);
  });
});

describe('a backup restore', { timeout: 120_000 }, () => {
  it("counts pg_restore's items up to the number it runs, serial and parallel, with the data loaded before or not", async () => {
    const tool = await pgTools.tool('pg_dump', await scalar(prod.name, "SELECT current_setting('server_version_num')::int / 10000 AS n"));
    const archive = join(cache, 'progress.dump');
    execFileSync(tool.path, ['-Fc', '--no-owner', '-f', archive, prod.url]);
    const major = tool.version.major;
    const toc = await pgTools.listArchive(archive, major);
    // Every entry but the foreign keys, which drydock adds itself (without pg_restore).
    const entries = tocEntries(toc);
    const keys = entries.filter((e) => e.desc.startsWith('FK CONSTRAINT')).length;
    expect(keys).toBe(1);
    for (const dataLoaded of [false, true]) {
      const db = await createTestDb(`progress_restore_${dataLoaded ? 'post' : 'all'}`);
      scratch.push(db);
      const url = parseDatabaseUrl(db.url, 'test');
      if (dataLoaded) await pgTools.restoreArchive(url, archive, { archiveMajor: major, section: ['pre-data', 'data'] });
      const seen: RestoreItemsProgress[] = [];
      await restoreBackupArchive({ archive, archiveMajor: major, toc, target: url, jobs: 2, pgTools, excludedData: () => false, validateForeignKeys: false, dataLoaded, onProgress: (p) => seen.push(p) });
      const last = seen[seen.length - 1]!;
      const postData = tocEntries(await pgTools.listArchive(archive, major, { section: 'post-data' })).length;
      expect(last.total, `dataLoaded ${dataLoaded}`).toBe((dataLoaded ? postData : entries.length) - keys);
      expect(last.done, JSON.stringify(seen)).toBe(last.total);
      // It moved one item at a time, never past the total.
      expect(seen.length).toBeGreaterThan(last.total);
      expect(seen.every((p, i) => p.done <= p.total && (i === 0 || p.done >= seen[i - 1]!.done))).toBe(true);
      expect(await scalar(db.name, 'SELECT count(*) AS n FROM big')).toBe(BIG_ROWS);
    }
  });

  it('shows pg_restore as item counts, not its raw lines, in a backup pull', async () => {
    const to = target('progress_backup');
    const res = await runCli(['pull', '-a', 'progress-app', '--from', 'backup', '--to', to, '--no-snapshot'], { env: env({ DRYDOCK_STREAM_RESTORE: '0' }) });
    expect(res.exitCode, res.stderr).toBe(0);
    const lines = outputLines(res.stdout);
    expect(lines.some((l) => /^pg_restore: \d+ of \d+ items/.test(l)), res.stdout).toBe(true);
    expect(lines.filter((l) => /^(pg_restore: )?(creating|processing data for table|launching item|finished item) /.test(l)), res.stdout).toEqual([]);
  });
});

describe('backups', { timeout: 120_000 }, () => {
  it("shows each of Heroku's log lines once, and how long the capture took", async () => {
    const res = await runCli(['backups', 'capture', '-a', 'progress-app'], { env: env() });
    expect(res.exitCode, res.stderr).toBe(0);
    const id = /^(b\d+): completed, backup/m.exec(res.stdout)?.[1];
    expect(id, res.stdout).toBeDefined();
    // Heroku's log of that backup, as `backups info` reads it.
    const info = await runCli(['backups', 'info', id!, '-a', 'progress-app', '--json'], { env: env() });
    const logs = (JSON.parse(info.stdout) as { logs: Array<{ message: string }> }).logs.map((l) => l.message);
    const shown = logs.filter((m) => !/^pg_dump: (reading|saving|finding|flagging|identifying|last built-in)/.test(m));
    expect(shown.length).toBeGreaterThan(3);
    const printed = res.stdout.split('\n');
    for (const message of shown) {
      expect(printed.filter((l) => l.endsWith(message)).length, `${message}\n${res.stdout}`).toBe(1);
    }
    expect(res.stdout).toMatch(new RegExp(`backups: captured ${id} in \\d+ s`));
  });

  it('download and verify report bytes and pg_restore items as counts that reach the end, a few lines each', async () => {
    const own = mkdtempSync(join(tmpdir(), 'drydock-progress-dl-'));
    try {
      const dl = await runCli(['backups', 'download', 'b001', '-a', 'progress-app'], { env: env({ DRYDOCK_CACHE_DIR: own }) });
      expect(dl.exitCode, dl.stderr).toBe(0);
      const downloading = dl.stdout.split('\n').filter((l) => l.includes('downloading b001: '));
      expect(downloading.length, dl.stdout).toBeGreaterThan(0);
      expect(downloading.length).toBeLessThanOrEqual(12);
      expect(downloading[downloading.length - 1]).toMatch(/downloading b001: [\d.]+ (kB|MB) of [\d.]+ (kB|MB) \(100 %\)( at [\d.]+ (kB|MB)\/s)? · \d+ s elapsed$/);
      const verify = await runCli(['backups', 'verify', 'b001', '-a', 'progress-app'], { env: env({ DRYDOCK_CACHE_DIR: own }) });
      expect(verify.exitCode, verify.stderr).toBe(0);
      const counts = [...verify.stdout.matchAll(/backups verify: pg_restore: (\d+) of (\d+) items/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
      expect(counts.length, verify.stdout).toBeGreaterThan(0);
      const [done, total] = counts[counts.length - 1]!;
      expect(done).toBe(total);
      expect(counts.length).toBeLessThanOrEqual(12);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});
