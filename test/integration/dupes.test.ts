/**
 * `drydock dupes` on small real databases, one behaviour per test: bad input, composite and
 * expression keys, partial keys (--where), NULLs, the survivor rules, the reference graph, and what
 * the generated migrations do under `drydock migrate up`/`down` when the data or the schema changed
 * after they were generated. The built CLI, real PostgreSQL.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { DupesReport } from '../../src/dupes/report.js';
import { CLI_PATH, runCli } from '../helpers/cli.js';
import type { TestDb } from '../helpers/db.js';
import { testScope } from '../helpers/scope.js';

const scope = testScope();
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'drydock-dupes-'));
  dirs.push(d);
  return d;
}

async function dupes(db: TestDb, ...args: string[]): Promise<{ exitCode: number; doc: DupesReport; stderr: string; stdout: string }> {
  const res = await runCli(['dupes', ...args, '--url', db.url, '--json']);
  let doc = {} as DupesReport;
  try {
    doc = JSON.parse(res.stdout) as DupesReport;
  } catch {
    // an error document or nothing: the caller looks at stderr
  }
  return { exitCode: res.exitCode, doc, stderr: res.stderr, stdout: res.stdout };
}

async function sum(db: TestDb, table: string, order: string): Promise<string> {
  return (await db.query<{ s: string }>(`SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY ${order}), '')) AS s FROM ${table} x`)).rows[0]!.s;
}

async function one(db: TestDb, sql: string): Promise<string> {
  return String(Object.values((await db.query(sql)).rows[0] as Record<string, unknown>)[0]);
}

/** users(id, email, tenant_id, created_at, deleted_at) with posts pointing at them. */
async function smallDb(label: string, extra = ''): Promise<TestDb> {
  const db = await scope.db(label);
  await db.query(`
    CREATE TABLE users (id bigint PRIMARY KEY, email text, tenant_id int NOT NULL DEFAULT 1, created_at timestamptz NOT NULL, deleted_at timestamptz);
    INSERT INTO users VALUES
      (1, 'a@x.com', 1, '2020-01-01', NULL), (2, 'A@x.com', 1, '2020-01-02', NULL), (3, 'a@x.com', 1, '2020-01-03', NULL),
      (4, 'b@x.com', 1, '2020-01-04', NULL), (5, 'b@x.com', 1, '2020-01-05', '2021-01-01'),
      (6, NULL, 1, '2020-01-06', NULL), (7, NULL, 1, '2020-01-07', NULL),
      (8, 'c@x.com', 1, '2020-01-08', NULL), (9, 'c@x.com', 2, '2020-01-09', NULL);
    CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id) ON DELETE SET NULL, title text);
    INSERT INTO posts VALUES (1, 1, 'one'), (2, 3, 'three'), (3, 3, 'three again'), (4, 2, 'two'), (5, 5, 'five'), (6, 7, 'seven');
    ${extra}`);
  return db;
}

describe('bad input: one line, exit 2, nothing changed', () => {
  it('refuses what it cannot look at before touching the database or the folder', async () => {
    const db = await smallDb('dupes_bad');
    const dir = await tempDir();
    const cases: Array<[string[], RegExp]> = [
      [['nope', 'email'], /no table nope/],
      [['users', 'email); DROP TABLE users; --'], /KEY .* (is not|not valid)/],
      [['users', 'no_such_column'], /does not fit public\.users: column "no_such_column" does not exist/],
      [['users', 'email', '--keep', 'loudest'], /--keep "loudest" is not a rule/],
      [['users', 'email', '--keep', 'ORDER BY nope DESC'], /does not fit public\.users: column "nope" does not exist/],
      [['users', 'email', '--where', 'deleted_at IS NULL; DELETE FROM users'], /--where/],
      [['users', 'email', '--constraint'], /--constraint only goes with --generate NAME/],
      [['users', 'email', '--generate', 'Bad Name!'], /may only use lowercase letters/],
      [['users', 'count(*)'], /aggregate or window function/],
      [['users', 'lower(email)', '--constraint', '--generate', 'x'], /--constraint needs a KEY of plain columns and no --where/],
    ];
    for (const [args, message] of cases) {
      const res = await runCli(['dupes', ...args, '--url', db.url, '--dir', dir]);
      expect(res.exitCode, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      const lines = res.stderr.trim().split('\n');
      expect(lines[0], args.join(' ')).toMatch(/^error: /);
      expect(lines[0]).toMatch(message);
      expect(lines.length, res.stderr).toBeLessThanOrEqual(2);
      expect(lines[1] ?? 'hint:').toMatch(/^hint: /);
    }
    const both = await runCli(['dupes', 'users', 'email', '--url', db.url, '--to', 'x']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toMatch(/give --url or --to, not both/);
    const json = await runCli(['dupes', 'nope', 'email', '--url', db.url, '--json']);
    expect(json.exitCode).toBe(2);
    const error = JSON.parse(json.stdout) as { ok: boolean; error: { exitCode: number; message: string } };
    expect(error.ok).toBe(false);
    expect(error.error.exitCode).toBe(2);
    expect(error.error.message).toMatch(/no table nope/);
    expect(await readdir(dir)).toEqual([]);
    expect(await one(db, 'SELECT count(*) FROM users')).toBe('9');
  });
});

describe('interrupted', () => {
  it('stops on Ctrl-C: the running query is cancelled, no session is left, nothing was changed', async () => {
    const db = await scope.db('dupes_sigint');
    await db.query(`CREATE TABLE users (id bigint PRIMARY KEY, email text); INSERT INTO users SELECT g, 'u' || (g % 500) FROM generate_series(1, 3000) g;`);
    // A key that takes a few milliseconds a row: the GROUP BY runs for seconds.
    const child = spawn(process.execPath, [CLI_PATH, 'dupes', 'users', "email || pg_sleep(0.005)::text", '--url', db.url], { env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const sessions = async (): Promise<number> => Number(await one(db, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'drydock dupes%' AND state = 'active'`));
    const deadline = Date.now() + 30_000;
    while (!(/grouping public\.users/.test(out) && (await sessions()) > 0)) {
      if (Date.now() > deadline) throw new Error(`never started grouping:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(out).toMatch(/interrupted \(SIGINT\): drydock dupes stopped; it only reads, nothing was changed and no file was written/);
    expect(Number(await one(db, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'drydock dupes%'`))).toBe(0);
  });
});

describe('the report', () => {
  it('groups NULLs never, unless --nulls-not-distinct; expression keys and --where as the index would', async () => {
    const db = await smallDb('dupes_keys');
    const plain = await dupes(db, 'users', 'email');
    expect(plain.exitCode).toBe(1);
    expect(plain.doc).toMatchObject({ groups: 3, surplus: 3 });
    expect(plain.doc.largest[0]).toMatchObject({ key: ['a@x.com'], rows: 2 });

    const lower = await dupes(db, 'users', 'lower(email)');
    expect(lower.doc).toMatchObject({ groups: 3, surplus: 4, key: ['lower(email)'] });
    expect(lower.doc.largest[0]!.members.map((m) => [m.key.id, m.survives])).toEqual([['1', true], ['2', false], ['3', false]]);

    const live = await dupes(db, 'users', 'lower(email)', '--where', 'deleted_at IS NULL');
    expect(live.doc).toMatchObject({ groups: 2, surplus: 3, where: 'deleted_at IS NULL' });

    const composite = await dupes(db, 'users', 'tenant_id, email');
    expect(composite.doc).toMatchObject({ groups: 2, key: ['tenant_id', 'email'] });
    const separate = await dupes(db, 'users', 'tenant_id', 'email');
    expect(separate.doc.groups).toBe(2);

    const nulls = await dupes(db, 'users', 'email', '--nulls-not-distinct');
    expect(nulls.doc).toMatchObject({ groups: 4, surplus: 4, nullsNotDistinct: true });
    expect(nulls.doc.largest.some((g) => g.key[0] === null)).toBe(true);
  });

  it('shows every row of a group as the key\'s type compares them (citext: A@x.com and a@x.com)', async () => {
    const db = await scope.db('dupes_citext');
    await db.query(`
      CREATE EXTENSION IF NOT EXISTS citext;
      CREATE TABLE users (id bigint PRIMARY KEY, email citext, created_at timestamptz NOT NULL);
      INSERT INTO users VALUES (1, 'A@x.com', '2020-01-02'), (2, 'a@x.com', '2020-01-01'), (3, 'a@X.COM', '2020-01-03'), (4, NULL, '2020-01-04'), (5, NULL, '2020-01-05');`);
    const res = await dupes(db, 'users', 'email');
    expect(res.doc).toMatchObject({ groups: 1, surplus: 2 });
    expect(res.doc.largest[0]!.members.map((m) => [m.key.id, m.survives])).toEqual([['2', true], ['1', false], ['3', false]]);
    const nulls = await dupes(db, 'users', 'email', '--nulls-not-distinct');
    expect(nulls.doc.largest.map((g) => g.members.length)).toEqual([3, 2]);
  });

  it('picks the survivor by the rule and says why; a rule with ties is unresolved and generates nothing', async () => {
    const db = await smallDb('dupes_keep');
    const newest = await dupes(db, 'users', 'lower(email)', '--keep', 'newest');
    expect(newest.doc.largest[0]!.members.find((m) => m.survives)!.key).toEqual({ id: '3' });
    expect(newest.doc.largest[0]!.reason).toMatch(/3 survives: the latest/);

    const most = await dupes(db, 'users', 'lower(email)', '--keep', 'most-referenced');
    expect(most.doc.largest[0]!.members.find((m) => m.survives)!.key).toEqual({ id: '3' });
    expect(most.doc.largest[0]!.members.find((m) => m.survives)!.why).toEqual([2]);

    await db.query(`UPDATE users SET created_at = '2020-01-01' WHERE id IN (1, 2, 3)`);
    const tied = await dupes(db, 'users', 'lower(email)', '--keep', 'ORDER BY created_at');
    expect(tied.exitCode).toBe(1);
    expect(tied.doc.unresolved).toBe(1);
    expect(tied.doc.largest[0]!.reason).toMatch(/UNRESOLVED/);
    const dir = await tempDir();
    const refused = await runCli(['dupes', 'users', 'lower(email)', '--keep', 'ORDER BY created_at', '--generate', 'dedupe_users_email', '--dir', dir, '--url', db.url]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/tie for first .* no migration was written/);
    expect(await readdir(dir)).toEqual([]);
    const broken = await dupes(db, 'users', 'lower(email)', '--keep', 'ORDER BY created_at, id DESC');
    expect(broken.doc.unresolved).toBe(0);
    expect(broken.doc.largest[0]!.members.find((m) => m.survives)!.key).toEqual({ id: '3' });
  });

  it('walks the reference graph several levels deep, with ON DELETE, composite keys and look-alike columns', async () => {
    const db = await scope.db('dupes_graph');
    await db.query(`
      CREATE TABLE accounts (tenant_id int, id bigint, handle text, PRIMARY KEY (tenant_id, id));
      INSERT INTO accounts VALUES (1, 1, 'x'), (1, 2, 'x'), (2, 1, 'x');
      CREATE TABLE orders (id bigint PRIMARY KEY, tenant_id int, account_id bigint, FOREIGN KEY (tenant_id, account_id) REFERENCES accounts ON DELETE CASCADE);
      CREATE TABLE lines (id bigint PRIMARY KEY, order_id bigint REFERENCES orders ON DELETE RESTRICT);
      CREATE TABLE notes (id bigint PRIMARY KEY, line_id bigint REFERENCES lines ON DELETE SET NULL);
      INSERT INTO orders VALUES (1, 1, 2);
      CREATE TABLE users (id bigint PRIMARY KEY, email text);
      INSERT INTO users VALUES (1, 'a'), (2, 'a');
      CREATE TABLE audits (id bigint PRIMARY KEY, user_id bigint, author_user_id bigint, user_uuid uuid);
      INSERT INTO audits VALUES (1, 2, 1, NULL);
      CREATE TABLE logs (id bigint PRIMARY KEY, user_id bigint);
      INSERT INTO logs VALUES (1, 999);`);
    const accounts = await dupes(db, 'accounts', 'tenant_id, handle');
    expect(accounts.doc.references.map((r) => [r.level, r.table, r.columns.join(','), r.refColumns.join(','), r.onDelete])).toEqual([
      [1, 'orders', 'tenant_id,account_id', 'tenant_id,id', 'cascade'],
      [2, 'lines', 'order_id', 'id', 'restrict'],
      [3, 'notes', 'line_id', 'id', 'set null'],
    ]);
    const users = await dupes(db, 'users', 'email');
    // audits.user_id and author_user_id hold users' ids: no foreign key, stranded rows; logs.user_id holds none.
    expect(users.doc.references.map((r) => `${r.table}.${r.columns[0]} ${r.foreignKey ?? 'none'}`)).toEqual(['audits.author_user_id none', 'audits.user_id none']);
    expect(users.doc.references[1]!.note).toMatch(/stranded/);
    expect(users.doc.references[1]!.suggestion![0]).toMatch(/ADD CONSTRAINT "audits_user_id_fkey" FOREIGN KEY \("user_id"\) REFERENCES "public"."users" \("id"\) NOT VALID;/);
    expect(users.doc.references[1]!.suggestion![1]).toMatch(/VALIDATE CONSTRAINT/);
  });
});

describe('the generated migrations under migrate up / down', () => {
  it('re-points composite references, keeps ON DELETE SET NULL rows pointing at the survivor, and restores exactly', async () => {
    const db = await scope.db('dupes_composite');
    await db.query(`
      CREATE TABLE accounts (tenant_id int, id bigint GENERATED ALWAYS AS IDENTITY, handle text, handle_lower text GENERATED ALWAYS AS (lower(handle)) STORED, PRIMARY KEY (tenant_id, id));
      INSERT INTO accounts (tenant_id, handle) VALUES (1, 'Ann'), (1, 'ann'), (2, 'ann'), (1, 'bob'), (1, 'BOB'), (1, 'Bob');
      CREATE TABLE orders (id bigint PRIMARY KEY, tenant_id int NOT NULL, account_id bigint, FOREIGN KEY (tenant_id, account_id) REFERENCES accounts ON DELETE SET NULL (account_id));
      INSERT INTO orders SELECT g, 1, g % 6 + 1 FROM generate_series(1, 60) g WHERE g % 6 + 1 <> 3;
      INSERT INTO orders SELECT g, 2, 3 FROM generate_series(61, 70) g;`);
    const before = { accounts: await sum(db, 'accounts', 'tenant_id, id'), orders: await sum(db, 'orders', 'id') };
    const dir = await tempDir();
    const gen = await runCli(['dupes', 'accounts', 'tenant_id, lower(handle)', '--keep', 'newest', '--generate', 'dedupe_accounts', '--dir', dir, '--url', db.url]);
    expect(gen.exitCode, gen.stderr).toBe(0);
    const up = await runCli(['migrate', 'up', '--url', db.url, '--dir', dir]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await one(db, 'SELECT string_agg(id::text, \',\' ORDER BY tenant_id, id) FROM accounts')).toBe('2,6,3');
    expect(await one(db, 'SELECT count(*) FROM orders WHERE account_id IS NULL')).toBe('0');
    expect(await one(db, "SELECT string_agg(DISTINCT account_id::text, ',') FROM orders WHERE tenant_id = 1")).toBe('2,6');
    expect(await one(db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_tenant_id_handle_key'::regclass")).toBe('true');
    const down = await runCli(['migrate', 'down', '--url', db.url, '--dir', dir, '--to', '0']);
    expect(down.exitCode, down.stderr).toBe(0);
    expect({ accounts: await sum(db, 'accounts', 'tenant_id, id'), orders: await sum(db, 'orders', 'id') }).toEqual(before);
  });

  it('re-points a self-reference and the rows of a partitioned child (ctid repeats across partitions), and restores them', async () => {
    const db = await scope.db('dupes_selfref');
    await db.query(`
      CREATE TABLE users (id bigint PRIMARY KEY, email text, invited_by bigint REFERENCES users, created_at timestamptz NOT NULL);
      INSERT INTO users VALUES (1, 'a', NULL, '2020-01-01'), (2, 'a', 1, '2020-01-02'), (3, 'b', 2, '2020-01-03'), (4, 'b', 2, '2020-01-04'), (5, 'c', 4, '2020-01-05');
      CREATE TABLE visits (id bigint, user_id bigint REFERENCES users, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE visits_2020 PARTITION OF visits FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
      CREATE TABLE visits_2021 PARTITION OF visits FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');
      INSERT INTO visits SELECT g, g % 5 + 1, '2020-06-01'::date + (g % 2) * 365 FROM generate_series(1, 100) g;`);
    const before = { users: await sum(db, 'users', 'id'), visits: await sum(db, 'visits', 'id') };
    const dir = await tempDir();
    const gen = await runCli(['dupes', 'users', 'email', '--batch-size', '7', '--generate', 'dedupe_users_email', '--dir', dir, '--url', db.url]);
    expect(gen.exitCode, gen.stderr).toBe(0);
    const up = await runCli(['migrate', 'up', '--url', db.url, '--dir', dir]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await one(db, "SELECT string_agg(id || ':' || coalesce(invited_by::text, '-'), ',' ORDER BY id) FROM users")).toBe('1:-,3:1,5:3');
    const survivorOf = '(ARRAY[1, 1, 3, 3, 5])[id % 5 + 1]';
    expect(await one(db, `SELECT count(*) FROM visits WHERE user_id <> ${survivorOf}`)).toBe('0');
    expect(await one(db, 'SELECT count(*) FROM visits')).toBe('100');
    const down = await runCli(['migrate', 'down', '--url', db.url, '--dir', dir, '--to', '0']);
    expect(down.exitCode, down.stderr).toBe(0);
    expect({ users: await sum(db, 'users', 'id'), visits: await sum(db, 'visits', 'id') }).toEqual(before);
  });

  it('builds a partial, NULLS NOT DISTINCT or expression index as asked', async () => {
    const db = await smallDb('dupes_index');
    const dir = await tempDir();
    expect((await runCli(['dupes', 'users', 'lower(email)', '--where', 'deleted_at IS NULL', '--generate', 'dedupe_live_emails', '--dir', dir, '--url', db.url])).exitCode).toBe(0);
    const up = await runCli(['migrate', 'up', '--url', db.url, '--dir', dir]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await one(db, "SELECT pg_get_indexdef('users_email_key'::regclass)")).toBe('CREATE UNIQUE INDEX users_email_key ON public.users USING btree (lower(email)) WHERE (deleted_at IS NULL)');
    // the deleted b@x.com (5) is outside the index: kept, with its post; c@x.com of tenant 2 (9) goes
    expect(await one(db, 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM users')).toBe('1,4,5,6,7,8');
    expect(await one(db, 'SELECT string_agg(user_id::text, \',\' ORDER BY id) FROM posts')).toBe('1,1,1,1,5,7');

    const db2 = await smallDb('dupes_nnd');
    const dir2 = await tempDir();
    expect((await runCli(['dupes', 'users', 'email', '--nulls-not-distinct', '--constraint', '--generate', 'dedupe_emails', '--dir', dir2, '--url', db2.url])).exitCode).toBe(0);
    expect((await runCli(['migrate', 'up', '--url', db2.url, '--dir', dir2])).exitCode).toBe(0);
    expect(await one(db2, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'users_email_key'")).toBe('UNIQUE NULLS NOT DISTINCT (email)');
    expect(await one(db2, 'SELECT count(*) FROM users WHERE email IS NULL')).toBe('1');
  });

  it('refuses at run time, changing nothing, when the data changed so that the rule cannot resolve a group', async () => {
    const db = await smallDb('dupes_changed');
    const dir = await tempDir();
    const gen = await runCli(['dupes', 'users', 'lower(email)', '--keep', 'ORDER BY created_at', '--generate', 'dedupe_emails', '--dir', dir, '--url', db.url]);
    expect(gen.exitCode, gen.stderr).toBe(0);
    // After the copy was taken: a new duplicate that ties with the survivor under the rule.
    await db.query(`INSERT INTO users VALUES (10, 'a@X.com', 1, '2020-01-01', NULL)`);
    const before = { users: await sum(db, 'users', 'id'), posts: await sum(db, 'posts', 'id') };
    const up = await runCli(['migrate', 'up', '--url', db.url, '--dir', dir]);
    expect(up.exitCode).toBe(2);
    expect(up.stderr).toMatch(/tie for first place in their group of duplicates on \(lower\(email\)\) under the rule, e\.g\. the group \["a@x\.com"\]: the rule cannot resolve them/);
    expect(up.stderr).toMatch(/nothing was changed/);
    expect({ users: await sum(db, 'users', 'id'), posts: await sum(db, 'posts', 'id') }).toEqual(before);
    expect(await one(db, "SELECT count(*) FROM pg_class WHERE relname LIKE 'dedupe_emails%'")).toBe('0');
    expect(await one(db, 'SELECT count(*) FROM drydock_migrations')).toBe('0');
  });

  it('resolves duplicates written after it was generated with the same rule', async () => {
    const db = await smallDb('dupes_newrows');
    const dir = await tempDir();
    expect((await runCli(['dupes', 'users', 'lower(email)', '--generate', 'dedupe_emails', '--dir', dir, '--url', db.url])).exitCode).toBe(0);
    await db.query(`INSERT INTO users VALUES (10, 'D@x.com', 1, '2020-02-01', NULL), (11, 'd@x.com', 1, '2020-02-02', NULL); INSERT INTO posts VALUES (7, 11, 'new')`);
    const up = await runCli(['migrate', 'up', '--url', db.url, '--dir', dir]);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(await one(db, 'SELECT user_id FROM posts WHERE id = 7')).toBe('10');
    expect(await one(db, 'SELECT count(*) FROM users WHERE id = 11')).toBe('0');
  });

  it('refuses when a foreign key to the table appeared after it was generated', async () => {
    const db = await smallDb('dupes_newfk');
    const dir = await tempDir();
    expect((await runCli(['dupes', 'users', 'lower(email)', '--generate', 'dedupe_emails', '--dir', dir, '--url', db.url])).exitCode).toBe(0);
    await db.query('CREATE TABLE likes (id int PRIMARY KEY, user_id bigint REFERENCES users); INSERT INTO likes VALUES (1, 2)');
    const up = await runCli(['migrate', 'up', '--url', db.url, '--dir', dir]);
    expect(up.exitCode).toBe(2);
    expect(up.stderr).toMatch(/foreign key\(s\) to public\.users that this migration does not re-point: likes_user_id_fkey on public\.likes/);
    expect(await one(db, 'SELECT count(*) FROM users')).toBe('9');
  });

  it('adds the missing foreign key of a look-alike column first, and validates it after', async () => {
    const db = await smallDb('dupes_addfk', `CREATE TABLE events (id bigint PRIMARY KEY, user_id bigint); INSERT INTO events VALUES (1, 2), (2, 3), (3, 4);`);
    const dir = await tempDir();
    const gen = await runCli(['dupes', 'users', 'lower(email)', '--add-foreign-keys', '--generate', 'dedupe_emails', '--dir', dir, '--url', db.url]);
    expect(gen.exitCode, gen.stderr).toBe(0);
    expect((await readdir(dir)).map((f) => f.slice(15))).toEqual(['dedupe_emails_add_foreign_keys.sql', 'dedupe_emails_prepare.sql', 'dedupe_emails.sql', 'dedupe_emails_validate_foreign_keys.sql', 'dedupe_emails_unique_index.sql']);
    const before = await sum(db, 'events', 'id');
    expect((await runCli(['migrate', 'up', '--url', db.url, '--dir', dir])).exitCode).toBe(0);
    expect(await one(db, "SELECT convalidated FROM pg_constraint WHERE conname = 'events_user_id_fkey'")).toBe('true');
    expect(await one(db, "SELECT string_agg(user_id::text, ',' ORDER BY id) FROM events")).toBe('1,1,4');
    expect((await runCli(['migrate', 'down', '--url', db.url, '--dir', dir, '--to', '0'])).exitCode).toBe(0);
    expect(await sum(db, 'events', 'id')).toBe(before);
  });

  it('re-points a second level to the row a merged row merged into, and restores both', async () => {
    const db = await smallDb('dupes_deep', `
      CREATE TABLE memberships (id bigint PRIMARY KEY, user_id bigint REFERENCES users ON DELETE CASCADE, room int, UNIQUE (user_id, room));
      INSERT INTO memberships VALUES (1, 1, 1), (2, 2, 1), (3, 3, 2), (4, 3, 1);
      CREATE TABLE badges (id bigint PRIMARY KEY, membership_id bigint REFERENCES memberships ON DELETE CASCADE, name text);
      INSERT INTO badges VALUES (1, 2, 'merged away'), (2, 3, 're-pointed membership'), (3, 1, 'kept'), (4, 4, 'merged away too');`);
    const before = { memberships: await sum(db, 'memberships', 'id'), badges: await sum(db, 'badges', 'id'), users: await sum(db, 'users', 'id') };
    const dir = await tempDir();
    const gen = await runCli(['dupes', 'users', 'lower(email)', '--generate', 'dedupe_emails', '--dir', dir, '--url', db.url]);
    expect(gen.exitCode, gen.stderr).toBe(0);
    const up = await runCli(['migrate', 'up', '--url', db.url, '--dir', dir]);
    expect(up.exitCode, up.stderr).toBe(0);
    // users 2 and 3 merge into 1: memberships 2 and 4 collide with 1 on (user_id, room) and go; 3 is re-pointed.
    expect(await one(db, "SELECT string_agg(id || ':' || user_id || '/' || room, ',' ORDER BY id) FROM memberships")).toBe('1:1/1,3:1/2');
    expect(await one(db, "SELECT string_agg(id || ':' || membership_id, ',' ORDER BY id) FROM badges")).toBe('1:1,2:3,3:1,4:1');
    const down = await runCli(['migrate', 'down', '--url', db.url, '--dir', dir, '--to', '0']);
    expect(down.exitCode, down.stderr).toBe(0);
    expect({ memberships: await sum(db, 'memberships', 'id'), badges: await sum(db, 'badges', 'id'), users: await sum(db, 'users', 'id') }).toEqual(before);
  });

  it('refuses to generate what it could not do: a merge that would collide again one level down', async () => {
    const db = await smallDb('dupes_third', `
      CREATE TABLE memberships (id bigint PRIMARY KEY, user_id bigint REFERENCES users, room int, UNIQUE (user_id, room));
      CREATE TABLE badges (id bigint PRIMARY KEY, membership_id bigint UNIQUE REFERENCES memberships);`);
    const dir = await tempDir();
    const res = await runCli(['dupes', 'users', 'lower(email)', '--generate', 'dedupe_emails', '--dir', dir, '--url', db.url]);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/re-pointing badges\(membership_id\) to the merged rows can collide on its own unique key: drydock does not merge a third level/);
    expect(await readdir(dir)).toEqual([]);
  });
});
