/**
 * The live copy underneath `drydock pull --from live|--from-url` (src/pull/copy-live.ts): binary or
 * text COPY, FREEZE loads, early index builds, and foreign keys trusted, left NOT VALID or checked.
 * Real PostgreSQL (and a real PostgreSQL 17 for the cross-major text path), real pg_dump/pg_restore.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { copyLive, type LiveCopyOptions } from '../../src/pull/copy-live.js';
import { PgTools } from '../../src/pg/pg-tools.js';
import { discoverTools } from '../../src/pg/tools.js';
import { parseDatabaseUrl, withDatabase } from '../../src/pg/url.js';
import { adminQuery, createTestDb, uniqueDbName, urlFor, type TestDb } from '../helpers/db.js';
import { embeddedPostgresAvailable, startEmbeddedPostgres } from '../helpers/embedded-pg.js';

let source: TestDb;
const created: TestDb[] = [];
const pgTools = new PgTools({ discoverTools, env: process.env });

const SOURCE_SQL = `
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE TYPE amount AS (value numeric, currency text);
  CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
  CREATE TABLE users (
    id bigserial PRIMARY KEY, email email NOT NULL UNIQUE, mood mood, moods mood[], balance amount, tags text[],
    data jsonb, born date, seen timestamptz, score numeric(10, 2), flag boolean, ip inet, raw bytea, note text,
    double_id bigint GENERATED ALWAYS AS (id * 2) STORED);
  COMMENT ON TABLE users IS 'people';
  CREATE TABLE posts (id bigserial PRIMARY KEY, user_id bigint NOT NULL, title text, at timestamptz, n numeric);
  ALTER TABLE posts ADD CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
  COMMENT ON CONSTRAINT posts_user_fk ON posts IS 'every post has an author';
  CREATE INDEX posts_title_idx ON posts (lower(title));
  COMMENT ON INDEX posts_title_idx IS 'case-insensitive search';
  CREATE TABLE audit (id bigserial PRIMARY KEY, user_id bigint);
  CREATE TABLE logs (id bigserial, at timestamptz DEFAULT now(), line text);
  CREATE TABLE logs_2026 () INHERITS (logs);
  INSERT INTO users (email, mood, moods, balance, tags, data, born, seen, score, flag, ip, raw, note)
    SELECT 'u' || g || '@example.com', (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood, ARRAY['ok', 'happy']::mood[],
      ROW(g * 1.5, 'EUR')::amount, ARRAY['a', 'b "quoted"', NULL], jsonb_build_object('n', g, 'tab', E'a\\tb'),
      date '2000-01-01' + g, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute', g / 7.0, g % 2 = 0,
      ('10.0.' || (g % 255) || '.1')::inet, decode(md5(g::text), 'hex'), CASE WHEN g % 10 = 0 THEN NULL ELSE E'line\\nbreak \\\\ ' || g END
    FROM generate_series(1, 3000) g;
  INSERT INTO posts (user_id, title, at, n) SELECT 1 + g % 3000, 'Post ' || g, now(), g * 0.25 FROM generate_series(1, 9000) g;
  INSERT INTO audit (user_id) SELECT 1 + g % 3000 FROM generate_series(1, 100) g;
  INSERT INTO audit (user_id) VALUES (999999);
  ALTER TABLE audit ADD CONSTRAINT audit_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
  INSERT INTO logs (line) SELECT 'parent ' || g FROM generate_series(1, 50) g;
  INSERT INTO logs_2026 (line) SELECT 'child ' || g FROM generate_series(1, 70) g;
  SELECT setval('posts_id_seq', 12345);
`;

const TABLES = ['users', 'posts', 'audit', 'only logs', 'logs_2026'];

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Every row of every table, as text, hashed: equal hashes mean equal data. */
async function fingerprint(url: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of TABLES) {
    const rows = await query<{ h: string }>(url, `SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${t} x`);
    out[t] = rows[0]!.h;
  }
  return out;
}

async function foreignKeys(url: string): Promise<Record<string, boolean>> {
  const rows = await query<{ name: string; valid: boolean }>(url, `SELECT conname AS name, convalidated AS valid FROM pg_constraint WHERE contype = 'f' ORDER BY 1`);
  return Object.fromEntries(rows.map((r) => [r.name, r.valid]));
}

async function schemaOf(url: string): Promise<string> {
  const sql = await pgTools.dumpSchema(parseDatabaseUrl(url));
  return sql
    .split('\n')
    .filter((l) => !l.startsWith('--') && !l.startsWith('\\'))
    .join('\n');
}

async function copyInto(label: string, options: Partial<LiveCopyOptions> = {}) {
  const target = await createTestDb(label);
  created.push(target);
  const result = await copyLive({
    source: parseDatabaseUrl(source.url),
    target: parseDatabaseUrl(target.url),
    jobs: 2,
    excludeTableData: [],
    pgTools,
    ...options,
  });
  return { target, result };
}

beforeAll(async () => {
  source = await createTestDb('copy_src');
  await source.query(SOURCE_SQL);
});

afterAll(async () => {
  for (const db of created) await db.drop();
  await source?.drop();
});

describe('copyLive', () => {
  it('copies every row and the exact schema, in binary where types allow, building indexes early', async () => {
    const { target, result } = await copyInto('copy_bin', { earlyIndexMinBytes: 0 });
    expect(result.format).toBe('mixed');
    const users = result.tables.find((t) => t.name === 'users')!;
    const posts = result.tables.find((t) => t.name === 'posts')!;
    expect(users.binarySafe).toBe(false); // mood[] and a composite embed type OIDs in binary form
    expect(posts.binarySafe).toBe(true);
    expect(await fingerprint(target.url)).toEqual(await fingerprint(source.url));
    expect(await schemaOf(target.url)).toBe(await schemaOf(source.url));
    // Valid keys stay valid (trusted), a NOT VALID one stays NOT VALID, with its violating row.
    expect(result.trustedForeignKeys).toEqual(['posts_user_fk']);
    expect(await foreignKeys(target.url)).toEqual({ audit_user_fk: false, posts_user_fk: true });
    expect(await foreignKeys(target.url)).toEqual(await foreignKeys(source.url));
    const [comment] = await query<{ c: string }>(target.url, `SELECT obj_description(oid, 'pg_constraint') AS c FROM pg_constraint WHERE conname = 'posts_user_fk'`);
    expect(comment?.c).toBe('every post has an author');
    const [seq] = await query<{ v: string }>(target.url, `SELECT last_value::text AS v FROM posts_id_seq`);
    expect(seq?.v).toBe('12345');
    // FREEZE: the loaded rows need no hint bits (all frozen in the visibility map).
    await query(target.url, 'CREATE EXTENSION IF NOT EXISTS pg_visibility');
    const [frozen] = await query<{ n: string }>(target.url, `SELECT count(*)::text AS n FROM pg_visibility_map('posts') WHERE NOT all_frozen`);
    expect(frozen?.n).toBe('0');
    // Every table had all its indexes early, so each was analyzed by a stream with nothing left to
    // copy, after its indexes existed (the expression index has statistics of its own).
    expect([...result.analyzed].sort()).toEqual(['public.audit', 'public.logs', 'public.logs_2026', 'public.posts', 'public.users']);
    const [indexStats] = await query<{ n: string }>(target.url, `SELECT count(*)::text AS n FROM pg_statistic WHERE starelid = 'posts_title_idx'::regclass`);
    expect(indexStats?.n).toBe('1');
    // The trusted key is enforced like any other.
    await expect(query(target.url, 'INSERT INTO posts (user_id, title) VALUES (424242, null)')).rejects.toThrow(/violates foreign key constraint "posts_user_fk"/);
  });

  it('leaves a key NOT VALID, and says so, when the data it points to was excluded', async () => {
    const { target, result } = await copyInto('copy_excl', { excludeTableData: ['users'] });
    expect(result.notValidForeignKeys).toEqual([{ name: 'posts_user_fk', table: 'public.posts', references: 'public.users' }]);
    expect(await foreignKeys(target.url)).toEqual({ audit_user_fk: false, posts_user_fk: false });
    const [counts] = await query<{ u: string; p: string }>(target.url, 'SELECT (SELECT count(*) FROM users)::text AS u, (SELECT count(*) FROM posts)::text AS p');
    expect(counts).toEqual({ u: '0', p: '9000' });
    // Small tables get their indexes with the rest of post-data: only those without any were analyzed.
    expect([...result.analyzed].sort()).toEqual(['public.logs', 'public.logs_2026']);
  });

  it('checks keys row by row with validateForeignKeys, and as a role that is not a superuser', async () => {
    const checked = await copyInto('copy_validate', { validateForeignKeys: true });
    expect(checked.result.trustedForeignKeys).toEqual([]);
    expect(await foreignKeys(checked.target.url)).toEqual({ audit_user_fk: false, posts_user_fk: true });

    const role = `drydock_test_role_${process.pid}`;
    await adminQuery(`DROP ROLE IF EXISTS ${role}`);
    await adminQuery(`CREATE ROLE ${role} LOGIN CREATEDB`);
    const name = uniqueDbName('copy_nosuper');
    try {
      await adminQuery(`CREATE DATABASE "${name}" OWNER ${role}`);
      const url = new URL(urlFor(name));
      url.username = role;
      const result = await copyLive({ source: parseDatabaseUrl(source.url), target: parseDatabaseUrl(url.toString()), jobs: 2, excludeTableData: [], pgTools });
      expect(result.notValidForeignKeys).toEqual([]);
      expect(result.trustedForeignKeys).toEqual([]);
      expect(await foreignKeys(url.toString())).toEqual({ audit_user_fk: false, posts_user_fk: true });
      expect(await fingerprint(url.toString())).toEqual(await fingerprint(source.url));
    } finally {
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await adminQuery(`DROP ROLE IF EXISTS ${role}`);
    }
  });

  it.skipIf(!embeddedPostgresAvailable(17))('copies in text format into a server of another major', async () => {
    const pg17 = await startEmbeddedPostgres({ major: 17 });
    try {
      const admin = parseDatabaseUrl(pg17.url);
      await query(pg17.url, 'CREATE DATABASE copy_target');
      const target = withDatabase(admin, 'copy_target');
      const result = await copyLive({ source: parseDatabaseUrl(source.url), target, jobs: 2, excludeTableData: [], pgTools });
      expect(result.format).toBe('text');
      expect(await fingerprint(target.href)).toEqual(await fingerprint(source.url));
      expect(await foreignKeys(target.href)).toEqual({ audit_user_fk: false, posts_user_fk: true });
    } finally {
      await pg17.stop();
    }
  }, 180_000);
});
