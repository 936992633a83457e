/**
 * Issue 17's scenario end to end: 1,000,000 users with about 1 % duplicate twitter_ids, posts (a
 * foreign key), memberships (a join table with its own unique key), events (a user_id without a
 * foreign key) and comments (a child of posts). `drydock dupes --generate` writes the migrations,
 * drydock's own `migrate up` runs them: no duplicate is left, nothing is orphaned, the unique index is
 * valid, every reference points at a survivor and no entity is lost; `migrate down` puts every row
 * back exactly (checksums). Real PostgreSQL, the built CLI.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { DupesReport } from '../../src/dupes/report.js';
import { runCli } from '../helpers/cli.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { checksums, facts, seedScenario } from '../helpers/dupes.js';

const USERS = 1_000_000;
let db: TestDb;
let dir: string;

beforeAll(async () => {
  db = await createTestDb('dupes_1m');
  dir = await mkdtemp(join(tmpdir(), 'drydock-dupes-scenario-'));
  await seedScenario(db, USERS);
}, 240_000);

afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('drydock dupes on 1M users', () => {
  it('reports, generates, migrates up to a unique key and down to the exact original rows', async () => {
    const before = await checksums(db);
    const factsBefore = await facts(db);
    expect(factsBefore.duplicateGroups).toBeGreaterThan(9000);

    const report = await runCli(['dupes', 'users', 'twitter_id', '--url', db.url, '--json'], { timeoutMs: 120_000 });
    expect(report.exitCode, report.stderr).toBe(1);
    const doc = JSON.parse(report.stdout) as DupesReport;
    expect(doc.groups).toBe(factsBefore.duplicateGroups);
    // 3 surplus rows in the group of 4, one in each pair.
    expect(doc.surplus).toBe(doc.groups + 2);
    expect(doc.largest[0]).toMatchObject({ key: ['tw_big'], rows: 4 });
    expect(doc.largest[0]!.members.find((m) => m.survives)!.key).toEqual({ id: '1' }); // bigint, as pg returns it: exact
    const refs = doc.references.map((r) => `${r.level} ${r.table}(${r.columns.join(',')}) ${r.foreignKey ?? 'no fk'}`);
    expect(refs).toEqual(expect.arrayContaining(['1 posts(user_id) posts_user_id_fkey', '1 memberships(user_id) memberships_user_id_fkey', '2 comments(post_id) comments_post_id_fkey', '1 events(user_id) no fk']));
    expect(doc.references.find((r) => r.table === 'memberships')!.mergeKey).toEqual(['user_id', 'room_id']);

    const gen = await runCli(['dupes', 'users', 'twitter_id', '--url', db.url, '--generate', 'dedupe_users_twitter_id', '--constraint', '--dir', dir], { timeoutMs: 120_000 });
    expect(gen.exitCode, gen.stderr).toBe(0);
    const files = (await readdir(dir)).sort();
    expect(files.map((f) => f.replace(/^\d{14}_/, ''))).toEqual(['dedupe_users_twitter_id_prepare.sql', 'dedupe_users_twitter_id.sql', 'dedupe_users_twitter_id_unique_index.sql']);
    expect(await readFile(join(dir, files[1]!), 'utf8')).toMatch(/^-- migrate:up transaction:false$/m);

    const up = await runCli(['migrate', 'up', '--url', db.url, '--dir', dir], { timeoutMs: 300_000 });
    expect(up.exitCode, up.stderr).toBe(0);

    const after = await facts(db, 'dedupe_users_twitter_id_audit');
    expect(after.duplicateGroups).toBe(0);
    expect(after.distinctKeys).toBe(factsBefore.distinctKeys);
    expect(after.nullKeys).toBe(factsBefore.nullKeys);
    expect(after.orphans).toEqual({ posts: 0, memberships: 0, events: 0, comments: 0 });
    expect(after.pointingAtRemoved).toBe(0);
    const { rows: removed } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM dedupe_users_twitter_id_audit WHERE action = 'remove'`);
    expect(Number(removed[0]!.n)).toBe(doc.surplus);
    const { rows: users } = await db.query<{ n: string }>('SELECT count(*) AS n FROM users');
    expect(Number(users[0]!.n)).toBe(USERS - doc.surplus);
    // Every duplicate's post, membership and event now belongs to its survivor (user g-1 of each pair).
    const { rows: survivors } = await db.query<{ bad: string }>(`SELECT count(*) AS bad FROM posts WHERE title LIKE 'dup post %' AND user_id <> CASE WHEN substr(title, 10)::bigint % 1000 = 500 THEN substr(title, 10)::bigint ELSE substr(title, 10)::bigint - 1 END AND substr(title, 10)::bigint > 4`);
    expect(Number(survivors[0]!.bad)).toBe(0);
    const { rows: merged } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM dedupe_users_twitter_id_audit WHERE action = 'merge' AND table_name = 'public.memberships'`);
    expect(Number(merged[0]!.n)).toBeGreaterThan(8000);
    const { rows: index } = await db.query<{ valid: boolean; unique: boolean; con: string | null }>(`
      SELECT i.indisvalid AS valid, i.indisunique AS unique, (SELECT conname FROM pg_constraint WHERE conindid = i.indexrelid) AS con
      FROM pg_index i WHERE i.indexrelid = 'users_twitter_id_key'::regclass`);
    expect(index[0]).toEqual({ valid: true, unique: true, con: 'users_twitter_id_key' });

    const report2 = await runCli(['dupes', 'users', 'twitter_id', '--url', db.url], { timeoutMs: 120_000 });
    expect(report2.exitCode, report2.stderr).toBe(0);
    expect(report2.stdout).toMatch(/No duplicates/);

    const down = await runCli(['migrate', 'down', '--url', db.url, '--dir', dir, '--to', '0'], { timeoutMs: 300_000 });
    expect(down.exitCode, down.stderr).toBe(0);
    expect(await checksums(db)).toEqual(before);
    const { rows: left } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM pg_class WHERE relname LIKE 'dedupe_users_twitter_id%' OR relname = 'users_twitter_id_key'`);
    expect(Number(left[0]!.n)).toBe(0);
  }, 600_000);
});
