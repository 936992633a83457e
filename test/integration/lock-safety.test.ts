/**
 * Lock safety: a migration that cannot get its lock gives up within bounded retries, and while it
 * waits, other sessions' queries on that table are held up no longer than lock_timeout.
 *
 * Postgres queues lock requests: once ALTER TABLE waits for ACCESS EXCLUSIVE behind a reader, every
 * later SELECT on that table waits behind the ALTER. Without lock_timeout that is an outage.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { makeMigrationDir, type MigrationDir } from '../helpers/migrations.js';

const LOCK_TIMEOUT_MS = 400;

let d: TestDb;
let m: MigrationDir;

beforeAll(async () => {
  d = await createTestDb('lock_safety');
  m = makeMigrationDir([{ version: '20260101000000', name: 'create_users', up: 'CREATE TABLE users (id bigserial PRIMARY KEY, email text);\nINSERT INTO users (email) SELECT g::text FROM generate_series(1, 100) g;', down: 'DROP TABLE users;' }]);
  expect((await runCli(['migrate', '--dir', m.dir, '--url', d.url])).exitCode).toBe(0);
  m.write({ version: '20260102000000', name: 'add_nickname', up: 'ALTER TABLE users ADD COLUMN nickname text;', down: 'ALTER TABLE users DROP COLUMN nickname;' });
});

afterAll(async () => {
  m?.cleanup();
  await d?.drop();
});

describe('lock safety', () => {
  it('gives up after bounded retries and never blocks other queries for longer than lock_timeout', async () => {
    const holder = new pg.Client({ connectionString: d.url });
    const probe = new pg.Client({ connectionString: d.url });
    await Promise.all([holder.connect(), probe.connect()]);
    try {
      // A long-running read transaction holds ACCESS SHARE on users.
      await holder.query('BEGIN');
      await holder.query('SELECT count(*) FROM users');

      const started = Date.now();
      let finished = false;
      const release = runCli(['release', '--dir', m.dir, '--lock-timeout', `${LOCK_TIMEOUT_MS}ms`, '--lock-retries', '2'], {
        cwd: m.root,
        env: { DATABASE_URL: d.url, DRYDOCK_LOCK_RETRY_BASE: '200ms' },
      }).finally(() => {
        finished = true;
      });

      // Meanwhile, production traffic: short reads on the same table.
      const latencies: number[] = [];
      while (!finished) {
        const t0 = performance.now();
        await probe.query('SELECT count(*) FROM users');
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 10));
      }
      const res = await release;
      const elapsed = Date.now() - started;

      expect(res.exitCode).toBe(2);
      expect(res.stderr).toMatch(/^error: 20260102000000_add_nickname\.sql(:\d+:\d+)?: gave up after 3 attempts: could not get a lock within lock_timeout 400 ms/m);
      expect(res.stderr).toMatch(/^hint: another session holds a conflicting lock/m);
      expect(res.stdout).toMatch(/lock_timeout \(400 ms\) hit: another session holds a conflicting lock; retry 1\/2 in/);
      // Three attempts of 400 ms plus two backoffs: bounded, not forever.
      expect(elapsed).toBeGreaterThanOrEqual(3 * LOCK_TIMEOUT_MS);
      expect(elapsed).toBeLessThan(15_000);
      // The probe really queued behind the waiting ALTER at least once …
      expect(latencies.filter((l) => l > LOCK_TIMEOUT_MS / 4).length).toBeGreaterThan(0);
      // … and never for much longer than lock_timeout.
      expect(Math.max(...latencies)).toBeLessThan(LOCK_TIMEOUT_MS + 500);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await Promise.all([holder.end(), probe.end()]);
    }
    const { rows } = await d.query(`SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'nickname'`);
    expect(rows[0]!.n).toBe(0);
    const versions = await d.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY 1');
    expect(versions.rows.map((r) => r.version)).toEqual(['20260101000000']);
  });

  it('applies the migration once the conflicting session is gone', async () => {
    const res = await runCli(['release', '--dir', m.dir, '--lock-timeout', `${LOCK_TIMEOUT_MS}ms`], { cwd: m.root, env: { DATABASE_URL: d.url } });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('applied 1 migration(s)');
  });
});
