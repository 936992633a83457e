/**
 * runMigrations in-process against real test databases: dry runs, a failing migration mid-run, and the
 * runner's advisory lock held by another session.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

import { MIGRATION_LOCK_KEY } from '../../src/pg/lock.js';
import { parseDatabaseUrl } from '../../src/pg/url.js';
import { runMigrations, type MigrationRunOptions } from '../../src/pipelines/migrate.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { makeDeps } from '../helpers/fakes.js';
import { makeMigrationDir, type MigrationSpec } from '../helpers/migrations.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const users: MigrationSpec = { version: '20260101000000', name: 'create_users', up: 'CREATE TABLE users (id bigserial PRIMARY KEY, email text);', down: 'DROP TABLE users;' };
const posts: MigrationSpec = { version: '20260102000000', name: 'create_posts', up: 'CREATE TABLE posts (id int);', down: 'DROP TABLE posts;' };
const broken: MigrationSpec = { version: '20260103000000', name: 'broken', up: 'CREATE TABLE rooms (id int);\nINSERT INTO no_such_table VALUES (1);', down: 'DROP TABLE rooms;' };
const later: MigrationSpec = { version: '20260104000000', name: 'later', up: 'CREATE TABLE later (id int);', down: 'DROP TABLE later;' };

async function setup(label: string, specs: MigrationSpec[]) {
  const db = await createTestDb(label);
  const dir = makeMigrationDir(specs);
  const deps = makeDeps();
  cleanups.push(() => db.drop(), () => dir.cleanup(), () => deps.cleanup());
  const options = (extra: Partial<MigrationRunOptions> = {}): MigrationRunOptions => ({
    url: parseDatabaseUrl(db.url),
    dir: dir.dir,
    action: { direction: 'up' },
    settings: { lockTimeoutMs: 2000, statementTimeoutMs: 0, lockRetries: 0, retryBaseMs: 10 },
    ...extra,
  });
  return { db, deps, options };
}

async function tables(db: TestDb): Promise<string[]> {
  const { rows } = await db.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
  return rows.map((r) => r.t);
}

async function versions(db: TestDb): Promise<string[]> {
  const { rows } = await db.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
  return rows.map((r) => r.version);
}

describe('runMigrations', () => {
  it('a dry run plans every pending migration and changes nothing: no ledger is created on a fresh database', async () => {
    const { db, deps, options } = await setup('mig_dry', [users, posts]);
    const result = await runMigrations(deps, options({ dryRun: true }));
    expect(result.dryRun).toBe(true);
    expect(result.planned.map((p) => p.version)).toEqual(['20260101000000', '20260102000000']);
    expect(result.ran).toEqual([]);
    expect(result.version).toBe('0');
    expect(await tables(db)).toEqual([]);
  });

  it('a dry run after real runs leaves the ledger and the schema as they were', async () => {
    const { db, deps, options } = await setup('mig_dry2', [users]);
    await runMigrations(deps, options());
    const dir = makeMigrationDir([users, posts]);
    cleanups.push(() => dir.cleanup());
    const result = await runMigrations(deps, options({ dir: dir.dir, dryRun: true }));
    expect(result.planned.map((p) => p.version)).toEqual(['20260102000000']);
    expect(await versions(db)).toEqual(['20260101000000']);
    expect(await tables(db)).not.toContain('posts');
  });

  it('a failing migration leaves the earlier ones applied, rolls itself back, and stops the run', async () => {
    const { db, deps, options } = await setup('mig_fail', [users, posts, broken, later]);
    await expect(runMigrations(deps, options())).rejects.toThrow(/20260103000000_broken\.sql:\d+:\d+: migration failed: relation "no_such_table" does not exist/);
    expect(await versions(db)).toEqual(['20260101000000', '20260102000000']);
    const present = await tables(db);
    expect(present).toEqual(expect.arrayContaining(['users', 'posts']));
    expect(present).not.toContain('rooms');
    expect(present).not.toContain('later');
  });

  it('waits while another session holds the runner lock, then proceeds', async () => {
    const { db, deps, options } = await setup('mig_lock', [users]);
    const holder = new pg.Client({ connectionString: db.url, application_name: 'other runner' });
    await holder.connect();
    cleanups.push(() => holder.end().catch(() => undefined));
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY.toString()]);
    let settled = false;
    const run = runMigrations(deps, options({ lockWaitMs: 30_000 })).finally(() => (settled = true));
    // The runner says it waits, and does not apply anything while the lock is held.
    const deadline = Date.now() + 15_000;
    while (!/waiting for another migration runner/.test(deps.stdout.text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(deps.stdout.text).toMatch(/waiting for another migration runner \(pid \d+, other runner\)/);
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    expect(await tables(db)).toEqual([]);
    await holder.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY.toString()]);
    const result = await run;
    expect(result.ran.map((r) => r.version)).toEqual(['20260101000000']);
    expect(await versions(db)).toEqual(['20260101000000']);
  });

  it('gives up when the lock is held longer than lockWaitMs, having changed nothing', async () => {
    const { db, deps, options } = await setup('mig_lock2', [users]);
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    cleanups.push(() => holder.end().catch(() => undefined));
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY.toString()]);
    await expect(runMigrations(deps, options({ lockWaitMs: 500 }))).rejects.toThrow(/migration/);
    expect(await tables(db)).toEqual([]);
  });
});
