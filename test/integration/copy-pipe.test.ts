/**
 * The COPY pipe of the live pull (src/pull/copy-pipe.ts) between two real PostgreSQL sessions: rows
 * of every size arrive intact in text and binary, and a failure on either side ends the copy with the
 * server's error instead of hanging, without leaving a session that could run a query by mistake.
 * Heroku Postgres only takes TLS connections, so the pipe is also run over TLS (a real PostgreSQL 17
 * with ssl = on).
 */
import { pipeline } from 'node:stream/promises';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { copyIn, copyOut } from '../../src/pull/copy-pipe.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { embeddedPostgresAvailable, startEmbeddedPostgres } from '../helpers/embedded-pg.js';

let source: TestDb;
let target: TestDb;

const TABLE = `CREATE TABLE items (id int PRIMARY KEY, label text, blob bytea, doc jsonb, at timestamptz)`;

beforeAll(async () => {
  source = await createTestDb('pipe_src');
  target = await createTestDb('pipe_dst');
  await source.query(TABLE);
  // Small rows, empty and NULL values, and rows far larger than a socket read (they span many chunks).
  await source.query(`
    INSERT INTO items
    SELECT g, CASE WHEN g % 11 = 0 THEN NULL WHEN g % 13 = 0 THEN '' ELSE E'row \\t' || g END,
      CASE WHEN g % 500 = 0 THEN decode(repeat(md5(g::text), 40000), 'hex') ELSE decode(md5(g::text), 'hex') END,
      jsonb_build_object('g', g, 'text', repeat('x', g % 300)), timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'
    FROM generate_series(1, 20000) g`);
  await target.query(TABLE);
  await target.query(`CREATE TABLE strict (LIKE items)`);
  await target.query(`ALTER TABLE strict ADD CHECK (id < 100)`);
});

afterAll(async () => {
  await source?.drop();
  await target?.drop();
});

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

async function fingerprint(db: TestDb, table: string): Promise<string> {
  const { rows } = await db.query<{ h: string }>(`SELECT md5(string_agg(md5(t::text), '' ORDER BY id)) AS h FROM ${table} t`);
  return rows[0]!.h;
}

describe('copy pipe', () => {
  for (const format of ['binary', 'text']) {
    it(`copies every row intact (${format})`, async () => {
      const src = await client(source.url);
      const dst = await client(target.url);
      try {
        await dst.query('BEGIN');
        await dst.query('TRUNCATE items');
        const out = src.query(copyOut(`COPY items TO STDOUT (FORMAT ${format})`));
        const into = dst.query(copyIn(`COPY items FROM STDIN (FORMAT ${format}, FREEZE)`));
        await pipeline(out, into);
        await dst.query('COMMIT');
        expect(out.rowCount).toBe(20000);
        expect(into.rowCount).toBe(20000);
        // Both sessions are usable afterwards.
        expect((await src.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
        expect((await dst.query<{ two: number }>('SELECT 2 AS two')).rows[0]?.two).toBe(2);
      } finally {
        await src.end();
        await dst.end();
      }
      expect(await fingerprint(target, 'items')).toBe(await fingerprint(source, 'items'));
    });
  }

  it('fails with the target server error when the data is rejected, and closes both sessions', async () => {
    const src = await client(source.url);
    const dst = await client(target.url);
    try {
      await dst.query('BEGIN');
      const out = src.query(copyOut('COPY items TO STDOUT (FORMAT binary)'));
      const into = dst.query(copyIn('COPY strict FROM STDIN (FORMAT binary)'));
      await expect(pipeline(out, into)).rejects.toThrow(/violates check constraint/);
      await expect(dst.query('SELECT 1')).rejects.toThrow();
      await expect(src.query('SELECT 1')).rejects.toThrow();
    } finally {
      await src.end().catch(() => undefined);
      await dst.end().catch(() => undefined);
    }
    expect((await target.query('SELECT count(*)::int AS n FROM strict')).rows[0]!.n).toBe(0);
  });

  it('fails with the source server error when the source cannot be read', async () => {
    const src = await client(source.url);
    const dst = await client(target.url);
    try {
      const out = src.query(copyOut('COPY no_such_table TO STDOUT (FORMAT binary)'));
      const into = dst.query(copyIn('COPY items FROM STDIN (FORMAT binary)'));
      await expect(pipeline(out, into)).rejects.toThrow(/no_such_table/);
      // The source session only saw an error: it is still usable.
      expect((await src.query<{ three: number }>('SELECT 3 AS three')).rows[0]?.three).toBe(3);
    } finally {
      await src.end().catch(() => undefined);
      await dst.end().catch(() => undefined);
    }
  });

  it.skipIf(!embeddedPostgresAvailable())('copies over TLS connections, as from Heroku', async () => {
    const server = await startEmbeddedPostgres({ ssl: true });
    try {
      const admin = await client(server.url);
      await admin.query('CREATE DATABASE tls_src');
      await admin.query('CREATE DATABASE tls_dst');
      await admin.end();
      const tlsUrl = (db: string) => `postgres://postgres@localhost:${server.port}/${db}?sslmode=no-verify`;
      const setup = await client(tlsUrl('tls_src'));
      await setup.query(TABLE);
      await setup.query(`INSERT INTO items SELECT g, 'row ' || g, decode(repeat(md5(g::text), 1 + (g % 7) * 300), 'hex'), jsonb_build_object('g', g), now() FROM generate_series(1, 5000) g`);
      const { rows: expected } = await setup.query<{ h: string }>(`SELECT md5(string_agg(md5(t::text), '' ORDER BY id)) AS h FROM items t`);
      await setup.end();
      const src = await client(tlsUrl('tls_src'));
      const dst = await client(tlsUrl('tls_dst'));
      try {
        expect((await src.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0]!.ssl).toBe(true);
        await dst.query(TABLE);
        const out = src.query(copyOut('COPY items TO STDOUT (FORMAT binary)'));
        const into = dst.query(copyIn('COPY items FROM STDIN (FORMAT binary)'));
        await pipeline(out, into);
        expect([out.rowCount, into.rowCount]).toEqual([5000, 5000]);
        const { rows: copied } = await dst.query<{ h: string }>(`SELECT md5(string_agg(md5(t::text), '' ORDER BY id)) AS h FROM items t`);
        expect(copied[0]!.h).toBe(expected[0]!.h);
      } finally {
        await src.end();
        await dst.end();
      }
    } finally {
      await server.stop();
    }
  });
});
