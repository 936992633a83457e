/**
 * The scenario of issue 15: a production copy of realistic size (450 000 rows over three tables),
 * pulled with its pristine snapshot, and six pending migrations that cover every verdict — a safe
 * column add, a non-concurrent CREATE INDEX on the large table (blocking), a unique index over
 * duplicated data (fails), a migration that only works because of a table production got by hand
 * and the history lacks (fails on a fresh database: freshDatabase.ok false), a down section that does
 * not undo its up (not reversible) and an irreversible migration. The measured blocking is checked against an independent measure (a session
 * of the test's own that times its blocked UPDATE and its SELECT during the same statement), and the
 * working database must be exactly the pristine copy afterwards (schema dump and a checksum of every
 * table's rows). Real PostgreSQL, real pg_dump, the built CLI.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { createTestDb, drydockCopiesOf, testServerUrl, urlFor, workingDatabases, type TestDb } from '../helpers/db.js';
import { fingerprint } from '../helpers/fidelity.js';
import type { RehearsalReport } from '../../src/rehearse/report.js';

let source: TestDb;
let dir: string;
const { target, dropAll } = workingDatabases();
const env = { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() };

/** A probe that waits this long makes a migration blocking: well above a brief DDL lock, well below the index build (about 1 s here). */
const THRESHOLD_MS = 250;

/** The blocking statement, as the migration file has it (the independent session looks for it). */
const BLOCKING_STATEMENT = 'CREATE INDEX orders_status_note_idx ON orders (status, lower(note), created_at)';

/** The tables as production's history creates them (the source makes them the same way, with rows). */
const TABLES = `
    CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL, legacy_code text, created_at timestamptz NOT NULL);
    CREATE TABLE orders (id bigint PRIMARY KEY, account_id int NOT NULL REFERENCES accounts, amount numeric(10, 2) NOT NULL, status text NOT NULL, note text NOT NULL, created_at timestamptz NOT NULL);
    CREATE INDEX orders_account_idx ON orders (account_id);
    CREATE TABLE payments (id bigint PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders, paid_at timestamptz NOT NULL, reference text NOT NULL);`;

const MIGRATIONS: Record<string, string> = {
  // Production's history, applied there (its version is recorded).
  '20260101000000_schema.sql': `-- migrate:up\n${TABLES}\n\n-- migrate:down irreversible\n`,
  '20270101000000_drop_legacy_code.sql': '-- migrate:up\nALTER TABLE accounts DROP COLUMN legacy_code;\n\n-- migrate:down irreversible\n',
  '20270102000000_add_nickname.sql': '-- migrate:up\nALTER TABLE accounts ADD COLUMN nickname text;\n\n-- migrate:down\nALTER TABLE accounts DROP COLUMN nickname;\n',
  '20270103000000_index_orders.sql': `-- migrate:up\n${BLOCKING_STATEMENT};\n\n-- migrate:down\nDROP INDEX orders_status_note_idx;\n`,
  // legacy_discounts was made on production by hand: no migration creates it.
  '20270103500000_discounted_orders.sql': '-- migrate:up\nCREATE VIEW discounted_orders AS SELECT o.id, d.percent FROM orders o JOIN legacy_discounts d ON d.code = o.status;\n\n-- migrate:down\nDROP VIEW discounted_orders;\n',
  // Its down section forgets the table.
  '20270104000000_order_audit.sql':
    '-- migrate:up\nCREATE TABLE order_audit (id bigserial PRIMARY KEY, order_id bigint NOT NULL, at timestamptz NOT NULL DEFAULT now());\nCREATE INDEX order_audit_order_idx ON order_audit (order_id);\n\n-- migrate:down\nDROP INDEX order_audit_order_idx;\n',
  // 10 e-mail addresses are there twice.
  '20270105000000_unique_email.sql': '-- migrate:up\nCREATE UNIQUE INDEX accounts_email_key ON accounts (email);\n\n-- migrate:down\nDROP INDEX accounts_email_key;\n',
};

beforeAll(async () => {
  source = await createTestDb('rhs_src');
  await source.query(`
    CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
    INSERT INTO schema_migrations VALUES ('20260101000000');
    ${TABLES}
    INSERT INTO accounts SELECT g, 'user' || (CASE WHEN g % 5000 = 0 THEN g - 1 ELSE g END) || '@example.com', 'L' || g, '2025-01-01'::timestamptz + g * interval '10 minutes' FROM generate_series(1, 50000) g;
    INSERT INTO orders SELECT g, 1 + g % 50000, (g % 100000) / 100.0, (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + g % 4], 'order ' || g || ' for account ' || (1 + g % 50000) || ' ' || md5(g::text), '2026-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 300000) g;
    INSERT INTO payments SELECT g, g * 3, '2026-01-01'::timestamptz + g * interval '3 minutes', md5((g * 7)::text) FROM generate_series(1, 100000) g;
    CREATE TABLE legacy_discounts (code text PRIMARY KEY, percent int NOT NULL);
    INSERT INTO legacy_discounts VALUES ('paid', 5), ('shipped', 10);
  `);
  dir = await mkdtemp(join(tmpdir(), 'drydock-rehearse-scenario-'));
  for (const [name, text] of Object.entries(MIGRATIONS)) await writeFile(join(dir, name), text);
}, 120_000);

afterAll(async () => {
  await dropAll();
  await source?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function connected(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'rehearse-scenario test' });
  // The rehearsal's reset at the end ends sessions left on the working database: never crash on it.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/**
 * The independent measure: once the rehearsal's first run of `statement` is active on `database`, a
 * session of the test's own times an UPDATE of the table (in a transaction it rolls back) and another a
 * SELECT. Its sessions connect once the rehearsal has reset the working database (its first session
 * there: the reset ends every session on the database), before the statement starts.
 */
async function timeOwnQueriesDuring(database: string, statement: string, signal: { done: boolean }): Promise<{ updateMs: number; selectMs: number }> {
  const admin = await connected(testServerUrl());
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const seen = async (sql: string, params: unknown[]): Promise<boolean> => ((await admin.query(sql, params)).rowCount ?? 0) > 0;
  try {
    while (!(await seen(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'drydock rehearse%'`, [database]))) {
      if (signal.done) throw new Error('the rehearsal ended before its probes started');
      await sleep(5);
    }
    const [writer, reader] = await Promise.all([connected(urlFor(database)), connected(urlFor(database))]);
    try {
      await writer.query('BEGIN');
      while (!(await seen(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND state = 'active' AND application_name = 'drydock migrate' AND position($2 in query) > 0`, [database, statement]))) {
        if (signal.done) throw new Error(`the rehearsal ended before "${statement}" was seen running`);
        await sleep(5);
      }
      const timed = async (fn: () => Promise<unknown>): Promise<number> => {
        const started = performance.now();
        await fn();
        return performance.now() - started;
      };
      const [updateMs, selectMs] = await Promise.all([
        timed(() => writer.query('UPDATE orders SET amount = amount WHERE id = 1')),
        timed(() => reader.query('SELECT count(*) FROM orders WHERE id <= 1000')),
      ]);
      await writer.query('ROLLBACK');
      return { updateMs, selectMs };
    } finally {
      await Promise.all([writer.end(), reader.end()]);
    }
  } finally {
    await admin.end();
  }
}

describe('drydock rehearse: the scenario', () => {
  it('gives every verdict on a realistic copy, measures the blocking as an independent session feels it, and leaves the copy exactly pristine', async () => {
    const to = target('rhs');
    const pulled = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to], { env, timeoutMs: 120_000 });
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    const pristine = await fingerprint(urlFor(to));
    expect(pristine.checksums['public.orders']).toMatchObject({ rows: 300_000 });

    const state = { done: false };
    const rehearsal = runCli(['rehearse', '--to', to, '--dir', dir, '--block-threshold', `${THRESHOLD_MS}ms`, '--json'], { env, timeoutMs: 180_000 }).finally(() => (state.done = true));
    const [res, own] = await Promise.all([rehearsal, timeOwnQueriesDuring(to, BLOCKING_STATEMENT, state)]);
    expect(res.exitCode, res.stderr).toBe(1);
    const doc = JSON.parse(res.stdout) as RehearsalReport;

    // One verdict each.
    expect(doc.migrations.map((m) => [m.name, m.verdict])).toEqual([
      ['drop_legacy_code', 'irreversible'],
      ['add_nickname', 'safe'],
      ['index_orders', 'blocking'],
      ['discounted_orders', 'fails'],
      ['order_audit', 'safe'],
      ['unique_email', 'fails'],
    ]);
    const [, add, index, discounted, , unique] = doc.migrations;
    expect(add!.rewrites).toEqual([]);
    expect(unique!.failure!.details.join('\n')).toMatch(/Key \(email\)=\(user\d+@example\.com\) is duplicated/);
    // The data check counted the duplicates before the migration ran, and the verdict cites it (every 5,000th account repeats the one before).
    expect(unique!.reason).toMatch(/^it fails on the copy's data: CREATE UNIQUE INDEX accounts_email_key would fail: 20 rows share 10 duplicated values of \(email\), e\.g\. 'user\d+@example\.com' ×2/);
    // It worked on the copy; on a fresh database built from the history it cannot: the table it relies on is named.
    expect(discounted!.failure).toBeUndefined();
    expect(discounted!.reason).toBe('it fails on a fresh database: relation "legacy_discounts" does not exist (SQLSTATE 42P01, line 2) (table public.legacy_discounts exists on the copy but not on a fresh database)');
    expect(doc.freshDatabase).toMatchObject({ checked: true, ok: false, how: '6 migrations from zero' });
    expect(doc.freshDatabase.differences.map((d) => d.object)).toEqual(['migration 20270103500000_discounted_orders.sql', 'table public.legacy_discounts', 'constraint public.legacy_discounts legacy_discounts_pkey']);
    expect(doc.reversible.ok).toBe(false);
    expect(doc.reversible.skipped).toEqual(['20270101000000_drop_legacy_code.sql']);
    expect(doc.reversible.problems).toContainEqual(expect.objectContaining({ migration: '20270104000000_order_audit.sql', object: 'table public.order_audit' }));
    // Each leftover is blamed on the migration that left it; re-applying then fails on it.
    expect(doc.reversible.problems.filter((p) => p.object !== 'up section').every((p) => p.migration === '20270104000000_order_audit.sql')).toBe(true);

    // The index build blocked writes to orders for about as long as it ran, not reads.
    const build = index!.statements.find((s) => s.sql.startsWith('CREATE INDEX'))!;
    expect(build.indexBuilds).toEqual([expect.objectContaining({ relation: 'public.orders_status_note_idx', kind: 'index' })]);
    expect(index!.blockedTables.writes).toBe('public.orders');
    expect(index!.blockedMs.writes).toBeGreaterThan(THRESHOLD_MS);
    expect(Math.abs(index!.blockedMs.writes - build.durationMs)).toBeLessThan(Math.max(150, 0.2 * build.durationMs));
    expect(index!.blockedMs.reads).toBeLessThan(THRESHOLD_MS);

    // The independent session felt the same: its UPDATE waited as long as the probes' writes (within 20 %), its SELECT did not wait.
    expect(own.updateMs).toBeGreaterThan(THRESHOLD_MS);
    expect(Math.abs(index!.blockedMs.writes - own.updateMs)).toBeLessThanOrEqual(0.2 * own.updateMs);
    expect(own.selectMs).toBeLessThan(THRESHOLD_MS);

    // Nothing left behind: the working database is the pristine copy, schema and every row; no scratch copy.
    expect(doc.resetAfterwards).toBe(true);
    const after = await fingerprint(urlFor(to));
    expect(after.schema).toBe(pristine.schema);
    expect(after.checksums).toEqual(pristine.checksums);
    expect(after.facts).toEqual(pristine.facts);
    expect((await drydockCopiesOf(to)).map((c) => c.kind)).toEqual(['snapshot']);
  }, 180_000);
});
