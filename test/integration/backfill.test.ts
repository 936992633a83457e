/**
 * `drydock backfill` end to end on real PostgreSQL with the built CLI: composite keys, --where,
 * refusals (no primary key, bad --set, bad flags: exit 2, one line, nothing changed), the dry run
 * (changes nothing, not even the progress table), --json, SIGTERM then --resume, and a backfill run as
 * its own migration by `migrate up` and measured by `rehearse`. The 3M-row scenario with SIGKILL is
 * backfill-scenario.test.ts.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

import { CLI_PATH, runCli } from '../helpers/cli.js';
import { scalar, type TestDb } from '../helpers/db.js';
import { rehearseScope } from '../helpers/rehearse.js';
import { testScope } from '../helpers/scope.js';
import type { RehearsalReport } from '../../src/rehearse/report.js';

const scope = testScope();
const { env: rehearseEnv, migrationsDir, pulled } = rehearseScope('drydock-backfill-');

async function counts(d: TestDb, sql: string): Promise<Record<string, number>> {
  const { rows } = await d.query<{ k: string; n: string }>(sql);
  return Object.fromEntries(rows.map((r) => [r.k, Number(r.n)]));
}

async function itemsDb(label: string, rows = 20_000): Promise<TestDb> {
  const d = await scope.db(label);
  await d.query(`
    CREATE TABLE items (id int PRIMARY KEY, kind text NOT NULL, payload text, n int NOT NULL DEFAULT 0);
    INSERT INTO items SELECT g, CASE WHEN g % 4 = 0 THEN 'old' ELSE 'new' END, md5(g::text), 0 FROM generate_series(1, ${rows}) g;
    ANALYZE items;`);
  return d;
}

describe('drydock backfill', () => {
  it('updates every row once in keyset batches, and --json prints one summary', async () => {
    const d = await itemsDb('bf_json');
    const res = await runCli(['backfill', 'items', '--set', 'n = n + 1, payload = upper(payload)', '--batch-size', '3000', '--url', d.url, '--json']);
    expect(res.exitCode, res.stderr).toBe(0);
    const summary = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ dryRun: false, table: 'public.items', key: ['id'], rowsUpdated: 20_000, rowsScanned: 20_000, batches: 7, resumed: false, totalRowsUpdated: 20_000 });
    expect(summary.longestBatchMs).toBeTypeOf('number');
    expect(await counts(d, 'SELECT n::text AS k, count(*) AS n FROM items GROUP BY n')).toEqual({ 1: 20_000 });
    expect(await scalar(d.name, "SELECT count(*) FROM items WHERE payload <> upper(payload)")).toBe(0);
    const progress = await d.query<{ last_key: string[]; rows_updated: string; finished: boolean }>('SELECT last_key, rows_updated, finished_at IS NOT NULL AS finished FROM drydock_backfills');
    expect(progress.rows).toEqual([{ last_key: ['20000'], rows_updated: '20000', finished: true }]);
  });

  it('slows down to --max-wal-rate: pauses until the WAL rate of each batch and pause is under the cap', async () => {
    const d = await itemsDb('bf_wal', 20_000);
    // Two batches: the server's WAL counts other sessions' writes too, so a busy server makes every pause (at most 10 s) longer.
    const res = await runCli(['backfill', 'items', '--set', 'payload = payload || md5(payload)', '--batch-size', '10000', '--max-wal-rate', '2MB/s', '--url', d.url, '--json']);
    expect(res.exitCode, res.stderr).toBe(0);
    const r = JSON.parse(res.stdout) as { walPauses: number; pausedMs: number; walBytes: number; durationMs: number; batches: number };
    expect(r.batches).toBe(2);
    expect(r.walPauses).toBeGreaterThan(0);
    expect(r.pausedMs).toBeGreaterThan(0);
    // The run's time includes its pauses, and no single pause is longer than 10 s. How long each pause is for a
    // measured rate is pace.ts's arithmetic (test/unit/backfill/pace.test.ts): here the server's WAL also counts
    // every other session's writes (a parallel test suite's), so the run's own total cannot be predicted from it.
    expect(r.walBytes).toBeGreaterThan(0);
    expect(r.durationMs).toBeGreaterThanOrEqual(r.pausedMs);
    expect(r.pausedMs).toBeLessThanOrEqual(r.walPauses * 10_000 + 1_000);
  });

  it('walks a composite primary key and updates only the rows --where matches', async () => {
    const d = await scope.db('bf_composite');
    await d.query(`
      CREATE TABLE events (tenant text, seq int, state text, n int NOT NULL DEFAULT 0, PRIMARY KEY (tenant, seq));
      INSERT INTO events SELECT t, s, CASE WHEN s % 3 = 0 THEN 'pending' ELSE 'done' END, 0 FROM unnest(ARRAY['acme', 'beta', 'Zed', 'a b']) t, generate_series(1, 2500) s;
      ANALYZE events;`);
    const res = await runCli(['backfill', 'events', '--set', "n = n + 1, state = 'migrated'", '--where', "state = 'pending'", '--batch-size', '700', '--url', d.url]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/Backfilled public\.events on .*: 3,332 row\(s\) updated, 10,000 scanned, in 15 batch\(es\)/);
    expect(await counts(d, "SELECT state || ':' || n AS k, count(*) AS n FROM events GROUP BY 1")).toEqual({ 'migrated:1': 3332, 'done:0': 6668 });
  });

  it('refuses a table without a primary key, saying why, and changes nothing', async () => {
    const d = await scope.db('bf_nopk');
    await d.query('CREATE TABLE logs (line text); INSERT INTO logs VALUES (\'a\')');
    const res = await runCli(['backfill', 'logs', '--set', 'line = upper(line)', '--url', d.url]);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: public\.logs has no primary key: backfill walks a table in primary-key order/m);
    expect(res.stderr).toMatch(/^hint: add one first/m);
    expect(await scalar(d.name, "SELECT count(*) FROM logs WHERE line = 'a'")).toBe(1);
    expect(await scalar(d.name, "SELECT count(*) FROM pg_class WHERE relname = 'drydock_backfills'")).toBe(0);
  });

  it.each([
    [['--set', 'n = '], /^error: --set does not parse: syntax error at end of input/],
    [['--set', 'n = 1; DROP TABLE items'], /^error: --set must not hold more than one statement/],
    [['--set', 'nope = 1'], /^error: --set assigns "nope", which is not a column of public\.items/],
    [['--set', 'id = id + 1'], /^error: --set assigns the primary key column id/],
    [['--set', 'n = n + 1', '--where', 'missing > 0'], /^error: --set\/--where cannot update public\.items: column "missing" does not exist/],
    [['--where', 'n = 0'], /^error: --set is required/],
    [['--set', 'n = 1', '--batch-time', '200'], /^error: --batch-time needs a unit/],
    [['--set', 'n = 1', '--batch-size', '100', '--batch-time', '1s'], /^error: --batch-size and --batch-time both given/],
    [['--set', 'n = 1', '--max-wal-rate', 'lots'], /^error: --max-wal-rate must be a rate of WAL/],
    [['--set', 'n = 1', '--resume', '--restart'], /^error: --resume and --restart both given/],
    [['--set', 'n = 1', '--resume'], /^error: --resume: no backfill of public\.items is recorded/],
  ])('refuses %j with one error line and a hint, exit 2, nothing changed', async (args, message) => {
    const d = await itemsDb('bf_bad', 100);
    const res = await runCli(['backfill', 'items', ...args, '--url', d.url]);
    expect(res.exitCode).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(message);
    expect(lines[1]).toMatch(/^hint: /);
    expect(res.stdout).toBe('');
    expect(await scalar(d.name, 'SELECT count(*) FROM items WHERE n <> 0')).toBe(0);
    expect(await scalar(d.name, "SELECT count(*) FROM pg_class WHERE relname = 'drydock_backfills'")).toBe(0);
  });

  it('answers bad input with one JSON error document under --json', async () => {
    const d = await itemsDb('bf_badjson', 10);
    const res = await runCli(['backfill', 'items', '--set', 'n =', '--url', d.url, '--json']);
    expect(res.exitCode).toBe(2);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: false, error: { exitCode: 2, message: expect.stringMatching(/^--set does not parse/) as unknown } });
  });

  it('dry run: says what it would do and changes nothing, not even the progress table', async () => {
    const d = await itemsDb('bf_dry');
    const before = await scalar(d.name, "SELECT sum(hashtext(id || payload || n))::int8 FROM items");
    const res = await runCli(['backfill', 'items', '--set', 'n = n + 1', '--where', "kind = 'old'", '--batch-size', '1000', '--url', d.url, '--dry-run']);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toContain('nothing was changed (and drydock_backfills, the progress table, was not created)');
    expect(res.stdout).toContain("Would update public.items where kind = 'old': SET n = n + 1");
    expect(res.stdout).toMatch(/rows: ~20,000 in the table, ~5,0\d\d matching/);
    expect(res.stdout).toContain('batches: by primary key (id), 1000 rows per batch: about 20 batches');
    expect(res.stdout).toContain('WHERE "id" > :last_id::integer ORDER BY "id" LIMIT :batch_size');
    expect(res.stdout).toContain("AND (kind = 'old')");
    expect(await scalar(d.name, "SELECT sum(hashtext(id || payload || n))::int8 FROM items")).toBe(before);
    expect(await scalar(d.name, "SELECT count(*) FROM pg_class WHERE relname = 'drydock_backfills'")).toBe(0);
    const json = await runCli(['backfill', 'items', '--set', 'n = n + 1', '--url', d.url, '--dry-run', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ dryRun: true, plan: { action: 'start', table: 'public.items', estimatedRows: 20_000, estimatedBatches: null, progressTableExists: false } });
  });

  it('stops on SIGTERM after the batch in flight, exits 143 saying how to resume, and --resume finishes without updating a row twice', async () => {
    const d = await itemsDb('bf_term', 60_000);
    const args = ['backfill', 'items', '--set', 'n = n + 1', '--where', "kind = 'new'", '--batch-size', '1000', '--sleep', '20ms', '--url', d.url];
    const child = execa(process.execPath, [CLI_PATH, ...args], { reject: false, env: { CI: 'true' } });
    // Wait for a few batches to commit.
    for (let i = 0; i < 200 && (await scalar(d.name, "SELECT coalesce((SELECT batches FROM drydock_backfills), 0)").catch(() => 0)) < 5; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    const stopped = await child;
    expect(stopped.exitCode, String(stopped.stderr)).toBe(143);
    expect(String(stopped.stderr)).toMatch(/interrupted \(SIGTERM\): backfill of public\.items stopped after \d+ batch\(es\) of this run; \d+ row\(s\) updated now, \d+ in all; progress is recorded up to key \d+ and no batch is left open/);
    expect(String(stopped.stderr)).toMatch(/hint: run the same command with --resume/);
    const p = (await d.query<{ last: string; done: string; finished: boolean }>('SELECT last_key[1] AS last, rows_updated AS done, finished_at IS NOT NULL AS finished FROM drydock_backfills')).rows[0]!;
    expect(p.finished).toBe(false);
    expect(Number(p.last)).toBeLessThan(60_000);
    // The progress row is exactly what was committed.
    expect(await scalar(d.name, 'SELECT count(*) FROM items WHERE n = 1')).toBe(Number(p.done));
    expect(await scalar(d.name, `SELECT count(*) FROM items WHERE n = 1 AND id > ${p.last}`)).toBe(0);
    expect(await scalar(d.name, 'SELECT count(*) FROM pg_stat_activity WHERE application_name = \'drydock backfill\'')).toBe(0);

    // The same command again refuses without --resume; a different --set refuses --resume.
    const again = await runCli(args);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/an unfinished backfill of public\.items is recorded.*\nhint: run the same command with --resume/);
    const other = await runCli(['backfill', 'items', '--set', 'n = n + 2', '--where', "kind = 'new'", '--resume', '--url', d.url]);
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toMatch(/--resume: the unfinished backfill of public\.items was started with different arguments: --set was "n = n \+ 1", now "n = n \+ 2"/);

    const resumed = await runCli([...args, '--resume', '--json']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout) as { resumed: boolean; totalRowsUpdated: number; rowsUpdated: number };
    expect(summary.resumed).toBe(true);
    expect(summary.totalRowsUpdated).toBe(45_000);
    expect(summary.rowsUpdated).toBe(45_000 - Number(p.done));
    expect(await counts(d, "SELECT kind || ':' || n AS k, count(*) AS n FROM items GROUP BY 1")).toEqual({ 'new:1': 45_000, 'old:0': 15_000 });
    // Resuming a finished backfill does nothing.
    const done = await runCli([...args, '--resume']);
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.stdout).toContain('had already finished');
    expect(await scalar(d.name, 'SELECT max(n) FROM items')).toBe(1);
  });

  it('--restart abandons an unfinished backfill and starts from the first key', async () => {
    const d = await itemsDb('bf_restart', 1000);
    await d.query(`CREATE TABLE drydock_backfills (table_name text PRIMARY KEY, fingerprint text NOT NULL, set_sql text NOT NULL, where_sql text, key_columns text[] NOT NULL, last_key text[], rows_updated bigint NOT NULL DEFAULT 0, rows_scanned bigint NOT NULL DEFAULT 0, batches integer NOT NULL DEFAULT 0, started_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz);
      INSERT INTO drydock_backfills (table_name, fingerprint, set_sql, key_columns, last_key, rows_updated, batches) VALUES ('public.items', 'x', 'n = 5', '{id}', '{500}', 500, 1)`);
    const refused = await runCli(['backfill', 'items', '--set', 'n = n + 1', '--url', d.url]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/it was started with other arguments \(--set "n = 5"\): finish it with those and --resume, or pass --restart/);
    const res = await runCli(['backfill', 'items', '--set', 'n = n + 1', '--restart', '--url', d.url]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await counts(d, 'SELECT n::text AS k, count(*) AS n FROM items GROUP BY n')).toEqual({ 1: 1000 });
  });

  it('runs a -- drydock:backfill migration with migrate up (outside a transaction), and refuses one in a transaction or mixed with schema changes', async () => {
    const { d, m, cli } = await scope.setup('bf_migrate', [
      { version: '20270101000000', name: 'add_email_lower', up: 'CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, email_lower text);\nINSERT INTO users SELECT g, \'User\' || g || \'@Example.com\', NULL FROM generate_series(1, 5000) g;', down: 'DROP TABLE users;' },
      { version: '20270102000000', name: 'backfill_email_lower', up: '-- drydock:backfill users --set "email_lower = lower(email)" --where "email_lower IS NULL" --batch-size 800', upNoTransaction: true, down: 'SELECT 1;' },
    ]);
    const res = await cli('migrate', 'up');
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await scalar(d.name, 'SELECT count(*) FROM users WHERE email_lower = lower(email)')).toBe(5000);
    expect(await scalar(d.name, "SELECT batches FROM drydock_backfills WHERE table_name = 'public.users'")).toBe(7);
    expect(await scalar(d.name, "SELECT count(*) FROM schema_migrations WHERE version = '20270102000000'")).toBe(1);
    const status = await cli('migrate', 'status');
    expect(status.stdout).not.toContain('up section empty');
    // drydock_backfills is bookkeeping: verify's schema contract does not call it drift.
    const verified = await cli('verify', '--json');
    expect(verified.exitCode, verified.stdout).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, errors: 0, warnings: 0 });

    m.write({ version: '20270103000000', name: 'mixed', up: 'ALTER TABLE users ADD COLUMN flag boolean;\n-- drydock:backfill users --set "flag = true"', upNoTransaction: true });
    const mixed = await cli('migrate', 'up');
    expect(mixed.exitCode).toBe(2);
    expect(mixed.stderr).toMatch(/20270103000000_mixed\.sql:3: a backfill runs in a migration of its own, without other statements \(found AlterTable at line 2\)/);
    m.remove('20270103000000_mixed.sql');
    m.write({ version: '20270104000000', name: 'in_tx', up: '-- drydock:backfill users --set "email = email"' });
    const inTx = await cli('migrate', 'up');
    expect(inTx.exitCode).toBe(2);
    expect(inTx.stderr).toMatch(/20270104000000_in_tx\.sql:2: a -- drydock:backfill migration commits batch by batch, so it cannot run inside one transaction/);
    expect(inTx.stderr).toMatch(/hint: mark the section `-- migrate:up transaction:false`/);
  });

  it('resumes a backfill migration stopped by SIGTERM when the migrations run again, updating no row twice', async () => {
    const { d, m } = await scope.setup('bf_migrate_resume', [
      { version: '20270101000000', name: 'create_counters', up: 'CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);\nINSERT INTO counters (id) SELECT generate_series(1, 60000);', down: 'DROP TABLE counters;' },
      { version: '20270102000000', name: 'bump', up: '-- drydock:backfill counters --set "n = n + 1" --batch-size 1000 --sleep 20ms', upNoTransaction: true, down: 'SELECT 1;' },
    ]);
    const args = ['migrate', 'up', '--dir', m.dir, '--url', d.url];
    const child = execa(process.execPath, [CLI_PATH, ...args], { reject: false, env: { CI: 'true' }, cwd: m.root });
    for (let i = 0; i < 300 && (await scalar(d.name, 'SELECT coalesce((SELECT batches FROM drydock_backfills), 0)').catch(() => 0)) < 5; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    const stopped = await child;
    expect(stopped.exitCode, String(stopped.stderr)).toBe(143);
    // The migration runner's own account of an interrupted transaction:false migration: its committed batches stay, it is not recorded.
    expect(String(stopped.stderr)).toMatch(/interrupted \(SIGTERM\): 20270102000000_bump\.sql \(transaction:false\) was stopped: its statements that had finished stay applied and it is not recorded as applied/);
    expect(String(stopped.stderr)).toMatch(/hint: run the same command again to continue/);
    expect(await scalar(d.name, "SELECT count(*) FROM schema_migrations WHERE version = '20270102000000'")).toBe(0);
    const done = await scalar(d.name, 'SELECT rows_updated FROM drydock_backfills');
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(60_000);
    expect(await scalar(d.name, 'SELECT count(*) FROM counters WHERE n = 1')).toBe(done);
    const again = await runCli(args, { cwd: m.root });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await counts(d, 'SELECT n::text AS k, count(*) AS n FROM counters GROUP BY n')).toEqual({ 1: 60_000 });
    expect(await scalar(d.name, "SELECT count(*) FROM schema_migrations WHERE version = '20270102000000'")).toBe(1);
  });

  it('rehearse measures a backfill migration like any other: rows, WAL, probes of its table', async () => {
    const source = await scope.db('bf_rh_src');
    await source.query(`
      CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
      CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, email_lower text);
      INSERT INTO users SELECT g, 'User' || g || '@Example.com', NULL FROM generate_series(1, 30000) g;`);
    const to = await pulled(source.localhostUrl, 'bf_rh');
    const dir = await migrationsDir({
      '20270102000000_backfill_email_lower.sql': '-- migrate:up transaction:false\n-- drydock:backfill users --set "email_lower = lower(email)" --batch-time 100ms\n\n-- migrate:down\nUPDATE users SET email_lower = NULL;\n',
    });
    const res = await runCli(['rehearse', '--no-fresh', '--to', to, '--dir', dir, '--json'], { env: rehearseEnv, timeoutMs: 180_000 });
    expect([0, 1], res.stderr).toContain(res.exitCode);
    const report = JSON.parse(res.stdout) as RehearsalReport;
    const m = report.migrations[0]!;
    expect(m.statements).toHaveLength(1);
    expect(m.statements[0]).toMatchObject({ line: 2, rowCount: 30_000 });
    expect(m.rowsChanged).toBe(30_000);
    expect(m.walBytes).toBeGreaterThan(0);
    expect(m.failure).toBeUndefined();
    // The reversibility check: the progress table is drydock's, not a schema change the down section must undo.
    expect(JSON.stringify(report)).not.toMatch(/drydock_backfills/);
    expect(report.reversible.ok).toBe(true);
    expect(res.exitCode).toBe(0);
  });
});
