import { existsSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { run } from '../../src/exec.js';
import { withClient } from '../../src/pg/client.js';
import { parseDatabaseUrl, toPgEnv } from '../../src/pg/url.js';
import { embeddedPostgresAvailable, startEmbeddedPostgres, type EmbeddedPostgres } from '../helpers/embedded-pg.js';

/** The machine's own client tools are PostgreSQL 15. */
const PG_DUMP_15 = '/usr/lib/postgresql/15/bin/pg_dump';

let server: EmbeddedPostgres;

beforeAll(async () => {
  server = await startEmbeddedPostgres({ major: 17 });
});

afterAll(async () => {
  await server?.stop();
});

async function serverVersionNum(url: string): Promise<number> {
  return withClient(parseDatabaseUrl(url), async (client) => {
    const { rows } = await client.query<{ n: string }>(`SELECT current_setting('server_version_num') AS n`);
    return Number(rows[0]!.n);
  });
}

describe('startEmbeddedPostgres', () => {
  it('is available on this machine (a missing server is a failure, not a skip)', () => {
    expect(embeddedPostgresAvailable(17)).toBe(true);
    expect(embeddedPostgresAvailable(12)).toBe(false);
  });

  it('starts a PostgreSQL 17 server reachable through pg', async () => {
    expect(server.major).toBe(17);
    expect(server.version).toMatch(/^17\.\d+/);
    expect(server.url).toBe(`postgres://postgres@localhost:${server.port}/postgres`);
    expect(existsSync(server.dataDir)).toBe(true);
    expect(await serverVersionNum(server.url)).toBeGreaterThanOrEqual(170000);
  });

  it("makes the machine's pg_dump 15 fail with a server version mismatch", async () => {
    const url = parseDatabaseUrl(server.url);
    expect(url.password).toBeUndefined();
    const result = await run(PG_DUMP_15, ['--schema-only'], { env: toPgEnv(url, process.env), reject: false, timeoutMs: 30_000 });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/server version mismatch/);
    expect(result.stderr).toMatch(/server version: 17\.\d+; pg_dump version: 15\.\d+/);
  });

  it('starts a second server on another port next to the first', async () => {
    const second = await startEmbeddedPostgres();
    try {
      expect(second.port).not.toBe(server.port);
      expect(second.dataDir).not.toBe(server.dataDir);
      expect(await serverVersionNum(second.url)).toBeGreaterThanOrEqual(170000);
    } finally {
      await second.stop();
    }
  });

  it('stops idempotently and removes the data directory', async () => {
    const third = await startEmbeddedPostgres();
    await Promise.all([third.stop(), third.stop()]);
    await third.stop();
    expect(existsSync(third.dataDir)).toBe(false);
    await expect(serverVersionNum(third.url)).rejects.toThrow(/connection refused/);
  });
});
