/**
 * Download integrity without the ETag (issue 16, item 4). Real backups are uploaded to S3 in parts, so
 * their ETag is `<hex>-<parts>`, not an MD5, and an encrypted single-part object's 32 hex digits are
 * not its MD5 either. drydock proves a download whole by its size (Content-Length, and the size Heroku
 * lists) and by pg_restore reading the archive's whole table of contents; a signed URL that expired is
 * asked for again. Signed URLs come from the real heroku CLI (`pg:backups:url`) and the emulator's
 * HTTPS server; the ETag style and download faults are global, so these tests run one after another.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { globalAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { downloadToCache } from '../../src/backups/cache.js';
import { DrydockError } from '../../src/errors.js';
import { HerokuCli } from '../../src/heroku/cli.js';
import { startEmulator, type EmulatedBackup, type Emulator } from '../heroku-emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { createTestDb, testServerUrl, type TestDb } from '../helpers/db.js';
import { makeDeps, type TestDeps } from '../helpers/fakes.js';
import { herokuBinPath } from '../helpers/heroku.js';

const APP = 'dl-app';

let emu: Emulator;
let prod: TestDb;
let deps: TestDeps;
let dir: string;
let backup: EmulatedBackup;
let cli: HerokuCli;
/** Each download goes into a cache of its own (a hit would download nothing). */
let caches = 0;

function freshCache(): string {
  caches += 1;
  return join(dir, `cache-${caches}`);
}

/** The options drydock downloads with. */
function checks(extra: { expectedBytes?: number } = {}) {
  return {
    expectedBytes: 'expectedBytes' in extra ? extra.expectedBytes : backup.size,
    freshUrl: () => cli.backupUrl(APP, 'b001'),
    verifyArchive: (file: string) => deps.pgTools.listArchive(file, 15),
  };
}

function downloadsOf(b: EmulatedBackup) {
  const path = new URL(b.url).pathname;
  return emu.requests.filter((r) => r.path === path);
}

async function rejection(promise: Promise<unknown>): Promise<DrydockError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DrydockError);
  return error as DrydockError;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-download-'));
  prod = await createTestDb('dl_prod');
  await prod.query(`CREATE TABLE widgets (id int PRIMARY KEY, name text); INSERT INTO widgets SELECT g, repeat('w', 50) || g FROM generate_series(1, 2000) g`);
  emu = await startEmulator({ apps: [{ name: APP, databaseUrl: prod.localhostUrl }] });
  // In this process, trust the emulator's self-signed certificate as NODE_EXTRA_CA_CERTS does for the CLIs.
  globalAgent.options.ca = [...rootCertificates, readFileSync(emu.caCertPath, 'utf8')];
  backup = await emu.addBackup(APP);
  deps = makeDeps();
  cli = new HerokuCli({ bin: herokuBinPath(), env: emu.env });
});

afterAll(async () => {
  delete globalAgent.options.ca;
  await emu?.stop();
  await prod?.drop();
  deps?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('backup downloads are proven whole without trusting the ETag', { timeout: 180_000 }, () => {
  test("a multipart ETag, or 32 hex digits that are not the file's MD5, do not fail a good download", async () => {
    for (const style of ['multipart', 'opaque'] as const) {
      emu.setEtagStyle(style);
      try {
        const entry = await downloadToCache(freshCache(), APP, 'b001', await cli.backupUrl(APP, 'b001'), checks());
        expect(entry.md5).toBe(backup.md5);
        expect((await readFile(entry.file)).equals(await readFile(backup.file))).toBe(true);
      } finally {
        emu.setEtagStyle('multipart');
      }
    }
  });

  test('an expired signed URL is asked for again (once), through heroku pg:backups:url', async () => {
    emu.setPublicUrlTtl(1_000);
    const url = await cli.backupUrl(APP, 'b001');
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    emu.setPublicUrlTtl(3_600_000);
    const before = downloadsOf(backup).length;
    const entry = await downloadToCache(freshCache(), APP, 'b001', url, checks());
    expect(entry.md5).toBe(backup.md5);
    expect(downloadsOf(backup).slice(before).map((r) => r.status)).toEqual([403, 200]);

    // Without a way to ask again: the refusal, in one line, and what to do.
    const error = await rejection(downloadToCache(freshCache(), APP, 'b001', url, { ...checks(), freshUrl: undefined }));
    expect(error.message).toBe('downloading backup b001 failed: HTTP 403 (AccessDenied: Request has expired)');
    expect(error.hint).toMatch(/signed URLs expire\); run again/);
  });

  test('a response that is not the backup is refused: by its size, else by its table of contents', async () => {
    // What the CLI would silently save: an error body answered with 200.
    emu.setDownloadFault({ kind: 'status', status: 200 });
    try {
      const sized = await rejection(downloadToCache(freshCache(), APP, 'b001', await cli.backupUrl(APP, 'b001'), checks()));
      expect(sized.message).toMatch(new RegExp(`^downloading backup b001 failed: got \\d+ bytes, but Heroku lists the backup as about ${backup.size} bytes$`));
      const listed = await rejection(downloadToCache(freshCache(), APP, 'b001', await cli.backupUrl(APP, 'b001'), checks({ expectedBytes: undefined })));
      expect(listed.message).toMatch(/^downloading backup b001 failed: the file is not a whole PostgreSQL archive: pg_restore could not read its table of contents/);
    } finally {
      emu.setDownloadFault(null);
    }
  });

  test('drydock backups download: an opaque ETag, and the file is the backup', async () => {
    emu.setEtagStyle('opaque');
    try {
      const out = join(dir, 'out.dump');
      const res = await runCli(['backups', 'download', 'b001', '-a', APP, '-o', out], {
        env: { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl(), DRYDOCK_CACHE_DIR: freshCache() },
      });
      expect(res.exitCode, res.stderr).toBe(0);
      expect(res.stdout).toContain(`md5 ${backup.md5}`);
      expect((await readFile(out)).equals(await readFile(backup.file))).toBe(true);
    } finally {
      emu.setEtagStyle('multipart');
    }
  });
});
