/**
 * Backups and restores in the Heroku emulator, driven by the real heroku CLI (11.10.0): captures
 * are real pg_dumps, restores real pg_restores, downloads go over the emulator's HTTPS server, and
 * every check looks at a real effect (the bytes on disk, the rows in the database). Tests run
 * concurrently, each on its own app, because every CLI call costs about 1.5 s; download faults are
 * global, so those tests run first, on their own.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { run } from '../../src/exec.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { httpsGet, runHeroku, type HerokuRun } from '../helpers/heroku.js';
import { startEmulator, type Emulator } from '../heroku-emulator/index.js';

let emu: Emulator;
let scratch: string;
/** Read-only source of most backups. */
let shared: TestDb;
/** One database per test that restores into it. */
let mainDb: TestDb;
let failDb: TestDb;
let noopDb: TestDb;

const ROWS = 50;

async function seed(db: TestDb): Promise<void> {
  await db.query('CREATE TABLE widgets (id int PRIMARY KEY, name text NOT NULL)');
  await db.query(`INSERT INTO widgets SELECT g, 'w' || g FROM generate_series(1, ${ROWS}) g`);
}

/** The rows as one comparable value. */
async function rowsOf(db: TestDb): Promise<{ n: number; hash: string }> {
  const { rows } = await db.query<{ n: number; hash: string }>(
    `SELECT count(*)::int AS n, coalesce(md5(string_agg(id || ':' || name, ',' ORDER BY id)), '') AS hash FROM widgets`,
  );
  return rows[0] ?? { n: -1, hash: '' };
}

async function dirty(db: TestDb): Promise<void> {
  await db.query(`DELETE FROM widgets WHERE id > 40; UPDATE widgets SET name = 'dirty' WHERE id <= 5; INSERT INTO widgets VALUES (1000, 'new')`);
}

/** The real CLI against the emulator, with room for a busy machine. */
function heroku(args: string[]): Promise<HerokuRun> {
  return runHeroku(emu, args, { timeoutMs: 90_000 });
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** A Data API GET straight at the emulator (what the CLI polls). */
async function dataApi<T>(path: string): Promise<T> {
  const res = await fetch(`${emu.url}/client/v11${path}`, { headers: { Authorization: `Bearer ${emu.apiKey}` } });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

interface TransferJson {
  uuid: string;
  num: number;
  started_at: string | null;
  finished_at: string | null;
  succeeded: boolean;
  processed_bytes: number;
  logs?: Array<{ created_at: string; message: string }>;
}

beforeAll(async () => {
  [shared, mainDb, failDb, noopDb] = await Promise.all([
    createTestDb('bk_shared'),
    createTestDb('bk_main'),
    createTestDb('bk_rfail'),
    createTestDb('bk_noop'),
  ]);
  await Promise.all([shared, mainDb, failDb, noopDb].map(seed));
  scratch = await mkdtemp(join(tmpdir(), 'drydock-backups-test-'));
  emu = await startEmulator({
    apps: [
      { name: 'bk-main', databaseUrl: mainDb.localhostUrl },
      { name: 'bk-cfail', databaseUrl: shared.localhostUrl },
      { name: 'bk-slow', databaseUrl: shared.localhostUrl },
      { name: 'bk-rfail', databaseUrl: failDb.localhostUrl },
      { name: 'bk-noop', databaseUrl: noopDb.localhostUrl },
      { name: 'bk-foreign', databaseUrl: shared.localhostUrl },
      { name: 'bk-api', databaseUrl: shared.localhostUrl },
      { name: 'bk-dl', databaseUrl: shared.localhostUrl },
    ],
  });
});

afterAll(async () => {
  await emu?.stop();
  await Promise.all([shared, mainDb, failDb, noopDb].map((db) => db?.drop()));
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('backup downloads (faults are global: these run alone)', { timeout: 120_000 }, () => {
  test('serves the stored dump over HTTPS with Content-Length and a multipart ETag, which is not its MD5', async () => {
    const backup = await emu.addBackup('bk-dl');
    expect(backup.url.startsWith(`${emu.publicUrl}/backups/`)).toBe(true);
    const res = await httpsGet(emu, backup.url);
    expect(res.status).toBe(200);
    expect(res.complete).toBe(true);
    expect(res.body.equals(await readFile(backup.file))).toBe(true);
    expect(res.headers['content-length']).toBe(String(backup.size));
    // S3's ETag of an upload in parts: the MD5 of the parts' MD5s, then the number of parts.
    expect(res.headers.etag).toBe(`"${md5(createHash('md5').update(res.body).digest())}-1"`);
    expect(res.headers.etag).toBe(`"${backup.etag}"`);
    expect(res.headers.etag).not.toContain(backup.md5);
  });

  test('signed URLs: unsigned, tampered and expired ones are refused as S3 refuses them', async () => {
    const [backup] = emu.backups('bk-dl');
    const url = new URL(backup?.url ?? '');
    const unsigned = await httpsGet(emu, `${url.origin}${url.pathname}`);
    expect(unsigned.status).toBe(403);
    expect(unsigned.body.toString()).toMatch(/<Code>AccessDenied<\/Code><Message>Access Denied</);
    url.searchParams.set('X-Amz-Expires', '999999');
    const tampered = await httpsGet(emu, url.toString());
    expect(tampered.status).toBe(403);
    expect(tampered.body.toString()).toMatch(/<Code>SignatureDoesNotMatch</);
    emu.setPublicUrlTtl(1_000);
    try {
      const short = emu.backups('bk-dl')[0]?.url ?? '';
      expect((await httpsGet(emu, short)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      const expired = await httpsGet(emu, short);
      expect(expired.status).toBe(403);
      expect(expired.body.toString()).toMatch(/<Code>AccessDenied<\/Code><Message>Request has expired</);
    } finally {
      emu.setPublicUrlTtl(3_600_000);
    }
  });

  test('ETag styles: opaque (32 hex digits, not the MD5) and md5', async () => {
    const [backup] = emu.backups('bk-dl');
    try {
      emu.setEtagStyle('opaque');
      const opaque = await httpsGet(emu, backup?.url ?? '');
      expect(opaque.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(opaque.headers.etag).not.toBe(`"${md5(opaque.body)}"`);
      emu.setEtagStyle('md5');
      const plain = await httpsGet(emu, backup?.url ?? '');
      expect(plain.headers.etag).toBe(`"${md5(plain.body)}"`);
    } finally {
      emu.setEtagStyle('multipart');
    }
  });

  test('truncate: promises the whole file, then cuts the connection after about half', async () => {
    const [backup] = emu.backups('bk-dl');
    emu.setDownloadFault({ kind: 'truncate', times: 1 });
    const res = await httpsGet(emu, backup?.url ?? '');
    expect(res.status).toBe(200);
    expect(res.complete).toBe(false);
    expect(Number(res.headers['content-length'])).toBe(backup?.size);
    expect(res.body.length).toBe(Math.floor((backup?.size ?? 0) / 2));
    // times: 1, so the next download is whole again.
    expect((await httpsGet(emu, backup?.url ?? '')).body.length).toBe(backup?.size);
  });

  test('corrupt: the full length with flipped bytes, under the same ETag', async () => {
    const [backup] = emu.backups('bk-dl');
    emu.setDownloadFault({ kind: 'corrupt' });
    try {
      const res = await httpsGet(emu, backup?.url ?? '');
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(backup?.size);
      expect(res.headers.etag).toBe(`"${backup?.etag}"`);
      expect(md5(res.body)).not.toBe(backup?.md5);
    } finally {
      emu.setDownloadFault(null);
    }
  });

  test('status: answers with that HTTP status and an XML error', async () => {
    const [backup] = emu.backups('bk-dl');
    emu.setDownloadFault({ kind: 'status', status: 503, times: 1 });
    const res = await httpsGet(emu, backup?.url ?? '');
    expect(res.status).toBe(503);
    expect(res.body.toString()).toMatch(/<Error><Code>/);
    expect(res.headers.etag).toBeUndefined();
  });

  test('the real CLI does not notice a truncated download or an error status: drydock must verify', async () => {
    const [backup] = emu.backups('bk-dl');
    emu.setDownloadFault({ kind: 'truncate', times: 1 });
    const cut = await heroku(['pg:backups:download', 'b001', '-a', 'bk-dl', '-o', join(scratch, 'cut.dump')]);
    // Node exits 13 ("unsettled top-level await"): the CLI's promise never settles, and it prints nothing.
    expect(cut.exitCode).toBe(13);
    expect((await readFile(join(scratch, 'cut.dump'))).length).toBeLessThan(backup?.size ?? 0);
    emu.setDownloadFault({ kind: 'status', status: 500, times: 1 });
    const err = await heroku(['pg:backups:download', 'b001', '-a', 'bk-dl', '-o', join(scratch, 'err.dump')]);
    expect(err.exitCode).toBe(0);
    expect((await readFile(join(scratch, 'err.dump'))).toString()).toMatch(/<Error><Code>InternalError/);
  });
});

// Generous timeouts: each CLI call takes ~1.5 s alone, but much longer on a busy machine.
describe.concurrent('backups and restores with the real heroku CLI', { timeout: 120_000 }, () => {
  test('captures, lists, describes, serves, downloads and restores a backup', async ({ expect }) => {
    const before = await rowsOf(mainDb);
    const capture = await heroku(['pg:backups:capture', '-a', 'bk-main']);
    expect(capture.exitCode, capture.stderr).toBe(0);
    expect(capture.stderr).toMatch(/Backing up DATABASE to b001\.\.\. done/);
    const [backup, ...others] = emu.backups('bk-main');
    expect(others).toEqual([]);
    expect(backup).toMatchObject({ id: 'b001', num: 1, succeeded: true });
    expect(backup?.size).toBeGreaterThan(0);
    expect(md5(await readFile(backup?.file ?? ''))).toBe(backup?.md5);

    const output = join(scratch, 'main', 'latest.dump');
    const [list, info, url, download] = await Promise.all([
      heroku(['pg:backups', '-a', 'bk-main']),
      heroku(['pg:backups:info', 'b001', '-a', 'bk-main']),
      heroku(['pg:backups:url', 'b001', '-a', 'bk-main']),
      heroku(['pg:backups:download', 'b001', '-a', 'bk-main', '-o', output]),
    ]);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^\s+b001\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000\s+Completed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000\s+\d+\.\d\dKB\s+DATABASE\s*$/m);
    expect(info.exitCode, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/^Status:\s+Completed$/m);
    expect(info.stdout).toMatch(/^=== Backup Logs$/m);
    expect(info.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 pg_dump: dumping contents of table "public\.widgets"$/m);
    expect(info.stdout).toMatch(/ Finished backup of DATABASE to b001/);
    expect(url.exitCode, url.stderr).toBe(0);
    // A presigned URL: the same object, signed anew for each request.
    expect(new URL(url.stdout.trim()).pathname).toBe(new URL(backup?.url ?? '').pathname);
    expect(url.stdout.trim()).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/backups\/[\w-]+\/b001\.dump\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=\d{8}T\d{6}Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}$/);
    expect(download.exitCode, download.stderr).toBe(0);
    const downloaded = await readFile(output);
    expect(downloaded.equals(await readFile(backup?.file ?? ''))).toBe(true);
    const listing = await run('pg_restore', ['--list', output]);
    expect(listing.stdout).toMatch(/TABLE DATA public widgets/);

    await dirty(mainDb);
    expect(await rowsOf(mainDb)).not.toEqual(before);
    const restore = await heroku(['pg:backups:restore', 'b001', 'DATABASE_URL', '-a', 'bk-main', '--confirm', 'bk-main']);
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(restore.stderr).toMatch(/Restoring\.\.\. done/);
    expect(await rowsOf(mainDb)).toEqual(before);
  });

  test('a failed capture exits 2 and shows the last lines of Heroku\'s log', async ({ expect }) => {
    emu.setTransferBehavior('bk-cfail', { capture: 'fail' });
    const r = await heroku(['pg:backups:capture', '-a', 'bk-cfail']);
    expect(r.exitCode).toBe(2);
    const flat = r.stderr.replace(/\s+/g, ' ');
    expect(flat).toContain('An error occurred and the backup did not finish.');
    expect(flat).toContain('pg_dump: error: query failed: server closed the connection unexpectedly');
    expect(flat).toContain('Run heroku pg:backups:info b001 for more details.');
    expect(emu.backups('bk-cfail')).toEqual([expect.objectContaining({ id: 'b001', succeeded: false, file: '', size: 0 })]);
  });

  test('a slow capture reports running with growing processed_bytes, then succeeds', async ({ expect }) => {
    emu.setTransferBehavior('bk-slow', { capture: 'slow', delayMs: 2_500 });
    const started = Date.now();
    const capture = heroku(['pg:backups:capture', '-a', 'bk-slow']);
    // Handled now (awaited below), so a failure can't go unhandled while the loop polls.
    void capture.catch(() => undefined);
    const seen: TransferJson[] = [];
    for (let finished = false; seen.length < 2 && !finished && Date.now() - started < 40_000; ) {
      const [t] = await dataApi<TransferJson[]>('/apps/bk-slow/transfers');
      finished = Boolean(t?.finished_at);
      if (t && !finished && t.processed_bytes > (seen[seen.length - 1]?.processed_bytes ?? 0)) seen.push(t);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(seen).toHaveLength(2);
    for (const t of seen) expect(t).toMatchObject({ finished_at: null, succeeded: false, started_at: expect.any(String) as string });
    const r = await capture;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
    const [done] = await dataApi<TransferJson[]>('/apps/bk-slow/transfers');
    expect(done).toMatchObject({ succeeded: true, finished_at: expect.any(String) as string, processed_bytes: emu.backups('bk-slow')[0]?.size });
  });

  test('a failed restore exits 2 and leaves the database untouched', async ({ expect }) => {
    await emu.addBackup('bk-rfail');
    await dirty(failDb);
    const dirtied = await rowsOf(failDb);
    emu.setTransferBehavior('bk-rfail', { restore: 'fail' });
    const r = await heroku(['pg:backups:restore', 'b001', 'DATABASE_URL', '-a', 'bk-rfail', '--confirm', 'bk-rfail']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.replace(/\s+/g, ' ')).toMatch(/An error occurred and the backup did not finish\. .*pg_restore finished with errors/);
    expect(await rowsOf(failDb)).toEqual(dirtied);
  });

  test('a noop restore reports success but changes nothing', async ({ expect }) => {
    await emu.addBackup('bk-noop');
    await dirty(noopDb);
    const dirtied = await rowsOf(noopDb);
    emu.setTransferBehavior('bk-noop', { restore: 'noop' });
    const r = await heroku(['pg:backups:restore', 'b001', 'DATABASE_URL', '-a', 'bk-noop', '--confirm', 'bk-noop']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await rowsOf(noopDb)).toEqual(dirtied);
  });

  test('a restore from a URL the emulator does not serve fails without touching the database', async ({ expect }) => {
    const before = await rowsOf(shared);
    const r = await heroku(['pg:backups:restore', 'https://backups.example.invalid/x.dump', 'DATABASE_URL', '-a', 'bk-foreign', '--confirm', 'bk-foreign']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.replace(/\s+/g, ' ')).toContain('download failed: could not fetch the backup from backups.example.invalid');
    expect(await rowsOf(shared)).toEqual(before);
  });

  test('the Data API serves transfers by num and uuid, by app name and id, with logs only when verbose', async ({ expect }) => {
    const backup = await emu.addBackup('bk-api', { ageMs: 3 * 86_400_000 });
    const [app] = await fetch(`${emu.url}/apps/bk-api`, { headers: { Authorization: `Bearer ${emu.apiKey}` } }).then(
      async (res) => [(await res.json()) as { id: string }],
    );
    const byNum = await dataApi<TransferJson>('/apps/bk-api/transfers/1');
    const byUuid = await dataApi<TransferJson>(`/apps/${app?.id}/transfers/${backup.uuid}?verbose=true`);
    expect(byNum.uuid).toBe(backup.uuid);
    expect(byNum.logs).toBeUndefined();
    expect(byUuid.num).toBe(1);
    expect(byUuid.logs?.at(-1)?.message).toMatch(/^Finished backup of DATABASE to b001/);
    // Backdated: Heroku's "YYYY-MM-DD HH:MM:SS +0000", three days ago.
    const created = (await dataApi<Array<{ created_at: string }>>('/apps/bk-api/transfers'))[0]?.created_at ?? '';
    expect(created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$/);
    expect(Date.now() - Date.parse(created.replace(' ', 'T').replace(' +0000', 'Z'))).toBeGreaterThan(3 * 86_400_000 - 60_000);
    expect(Date.parse(backup.createdAt)).toBeLessThan(Date.now() - 3 * 86_400_000 + 60_000);
  });
});
