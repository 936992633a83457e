/**
 * `drydock verify`, `drydock diff`, `release --verify` and postdeploy's verification, end to end: the
 * built CLI against real PostgreSQL, and with -a APP the real heroku CLI against the emulator (TLS,
 * a plan, a formation and config vars).
 *
 * The scenario database was migrated, its schema dumped, and then left the way deploys leave databases:
 * a failed CREATE UNIQUE INDEX CONCURRENTLY (an INVALID index), a NOT VALID foreign key and a foreign key
 * without an index (both from a migration), a column added by hand, and a sequence at 85 % of integer.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { adminQuery, testServerUrl, type TestDb } from '../helpers/db.js';
import { herokuBinPath, runHeroku } from '../helpers/heroku.js';
import { makeMigrationDir, type MigrationDir, type MigrationSpec } from '../helpers/migrations.js';
import { testScope } from '../helpers/scope.js';
import type { VerifyFacts } from '../../src/verify/report.js';

const { cleanups, db } = testScope();

const SHOP: MigrationSpec = {
  version: '20260101000000',
  name: 'shop',
  up: [
    'CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);',
    'CREATE TABLE coupons (id serial PRIMARY KEY, code text NOT NULL);',
    'CREATE TABLE orders (id serial PRIMARY KEY, user_id int NOT NULL, coupon_id int, total numeric(10,2) DEFAULT 0 NOT NULL);',
    'CREATE INDEX orders_user_id_idx ON orders (user_id);',
    'CREATE INDEX orders_coupon_id_idx ON orders (coupon_id);',
    'ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id);',
    'ALTER TABLE orders ADD CONSTRAINT orders_coupon_id_fkey FOREIGN KEY (coupon_id) REFERENCES coupons (id);',
  ].join('\n'),
};

/** The half-done migration: a NOT VALID foreign key never validated, and one without an index. */
const HALF_DONE: MigrationSpec = {
  version: '20260102000000',
  name: 'refunds',
  up: [
    'CREATE TABLE refunds (id serial PRIMARY KEY, order_id int NOT NULL, user_id int NOT NULL);',
    'CREATE INDEX refunds_user_id_idx ON refunds (user_id);',
    'ALTER TABLE refunds ADD CONSTRAINT refunds_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;',
    'ALTER TABLE refunds ADD CONSTRAINT refunds_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id);',
  ].join('\n'),
};

const CLEAN_NEXT: MigrationSpec = { version: '20260103000000', name: 'notes', up: 'CREATE TABLE notes (id serial PRIMARY KEY, body text);' };

interface Project {
  m: MigrationDir;
  /** drydock in the project folder, with --url. */
  cli: (d: TestDb, ...args: string[]) => Promise<CliRun>;
}

function project(specs: MigrationSpec[]): Project {
  const m = makeMigrationDir(specs);
  cleanups.push(() => m.cleanup());
  return { m, cli: (d, ...args) => runCli(['verify', '--url', d.url, '--dir', m.dir, ...args], { cwd: m.root, env: { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() } }) };
}

async function migrateAndDump(d: TestDb, p: Project): Promise<void> {
  const up = await runCli(['migrate', 'up', '--url', d.url, '--dir', p.m.dir], { cwd: p.m.root });
  expect(up.exitCode, up.stderr).toBe(0);
  const dump = await runCli(['schema', 'dump', '--url', d.url], { cwd: p.m.root });
  expect(dump.exitCode, dump.stderr).toBe(0);
}

/** Damage `d` the way deploys do (see the file comment). */
async function breakIt(d: TestDb): Promise<void> {
  await d.query(`INSERT INTO users (email) VALUES ('a@example.com'), ('a@example.com')`);
  await expect(d.query('CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email)')).rejects.toThrow(/could not create unique index/);
  await d.query('ALTER TABLE users ADD COLUMN nickname text');
  await d.query(`SELECT setval('orders_id_seq', 1825361101)`);
}

interface Report {
  ok: boolean;
  exitCode: number;
  findings: Array<{ check: string; level: string; object: string; message: string; fix?: string; source: string }>;
  contract: { checked: boolean; against?: string; note?: string };
  facts: VerifyFacts;
  notes: string[];
}

function parse(res: CliRun): Report {
  // --json: stdout holds one JSON document and nothing else.
  return JSON.parse(res.stdout) as Report;
}

let shop: Project;
let cleanShop: Project;
let broken: TestDb;
let clean: TestDb;

beforeAll(async () => {
  shop = project([SHOP, HALF_DONE]);
  cleanShop = project([SHOP]);
  [broken, clean] = await Promise.all([db('verify_broken'), db('verify_clean')]);
  await Promise.all([migrateAndDump(broken, shop), migrateAndDump(clean, cleanShop)]);
  await breakIt(broken);
  // Used, but far from its limit.
  await clean.query(`INSERT INTO users (email) VALUES ('c@example.com')`);
}, 120_000);

describe('drydock verify', () => {
  it('reports each half-done leftover and the column added by hand, with exit 1 and only JSON on stdout', async () => {
    const res = await shop.cli(broken, '--json');
    expect(res.exitCode, res.stderr).toBe(1);
    const report = parse(res);
    expect(report.ok).toBe(false);
    const by = (check: string) => report.findings.filter((f) => f.check === check);
    expect(by('invalid-index')).toEqual([expect.objectContaining({ level: 'error', object: 'index public.users_email_key' })]);
    expect(by('invalid-index')[0]?.fix).toContain('DROP INDEX CONCURRENTLY IF EXISTS "public"."users_email_key"');
    expect(by('not-valid-constraint')).toEqual([expect.objectContaining({ level: 'error', object: 'constraint public.refunds refunds_user_id_fkey', fix: 'ALTER TABLE "public"."refunds" VALIDATE CONSTRAINT "refunds_user_id_fkey"; (takes only a SHARE UPDATE EXCLUSIVE lock: reads and writes go on)' })]);
    expect(by('unindexed-foreign-key')).toEqual([expect.objectContaining({ level: 'warn', object: 'fk constraint public.refunds refunds_order_id_fkey' })]);
    expect(by('differs-from-schema')).toEqual([expect.objectContaining({ level: 'error', object: 'table public.users', message: 'table public.users differs between the database and db/schema.sql (in the database only: `nickname text`)' })]);
    expect(by('sequence-near-limit')).toEqual([expect.objectContaining({ level: 'error', object: 'sequence public.orders_id_seq' })]);
    expect(by('sequence-near-limit')[0]?.message).toContain('(85.0 %, limited by its type integer)');
    expect(report.findings.map((f) => f.check).sort()).toEqual(['differs-from-schema', 'invalid-index', 'not-valid-constraint', 'sequence-near-limit', 'unindexed-foreign-key']);
    expect(report.contract).toMatchObject({ checked: true, against: 'db/schema.sql' });
    // Every number says where it came from.
    expect(report.findings.every((f) => f.source.length > 0)).toBe(true);
    expect(report.facts.connections?.source).toContain('max_connections');
  });

  it('prints the contract as a diff and each fix in text mode', async () => {
    const res = await shop.cli(broken);
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toContain('Schema contract: compared with db/schema.sql: 1 difference(s)');
    expect(res.stdout).toContain('  ~ ERROR [differs-from-schema] table public.users differs');
    expect(res.stdout).toContain('fix: DROP INDEX CONCURRENTLY IF EXISTS "public"."users_email_key"');
    expect(res.stdout).toMatch(/verify: 4 error\(s\), 1 warning\(s\)$/m);
    expect(res.stderr).toMatch(/^error: verify: 4 error\(s\) \(differs-from-schema, invalid-index, not-valid-constraint, sequence-near-limit\)$/m);
  });

  it('exits 0 on a clean database', async () => {
    const res = await cleanShop.cli(clean, '--json');
    expect(res.exitCode, res.stderr).toBe(0);
    const report = parse(res);
    expect(report).toMatchObject({ ok: true, findings: [], contract: { checked: true, against: 'db/schema.sql' } });
    expect(report.facts.ssl).toMatchObject({ checked: false, note: 'a local connection: SSL not required' });
    const text = await cleanShop.cli(clean);
    expect(text.stdout).toMatch(/^verify: clean$/m);
  });

  it('compares with the schema file plus the newer migrations, built on a scratch database it drops, when the file is behind', async () => {
    const p = project([SHOP, HALF_DONE]);
    const d = await db('verify_behind');
    await migrateAndDump(d, p);
    await d.query('CREATE INDEX refunds_order_id_idx ON refunds (order_id); ALTER TABLE refunds VALIDATE CONSTRAINT refunds_user_id_fkey');
    p.m.write(CLEAN_NEXT);
    expect((await runCli(['migrate', 'up', '--url', d.url, '--dir', p.m.dir], { cwd: p.m.root })).exitCode).toBe(0);
    const res = await p.cli(d, '--json');
    const report = parse(res);
    // The index and the validation made by hand are drift the history does not have.
    expect(report.contract.against).toBe('db/schema.sql + 1 migration, built on a scratch database');
    expect(report.findings.map((f) => [f.check, f.object])).toEqual([['not-in-schema', 'index public.refunds_order_id_idx'], ['differs-from-schema', 'fk constraint public.refunds refunds_user_id_fkey']]);
    expect(res.exitCode).toBe(1);
    // Scratch databases are named `<database, cut to fit>_drydock_fresh_<random>`.
    const left = await adminQuery(`SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND datname LIKE '%\\_drydock\\_fresh\\_%'`, [d.name.slice(0, 30)]);
    expect(left.rows).toEqual([]);
  });

  it('lets drydock.json and flags set which checks are errors', async () => {
    const demote = ['--warn', 'invalid-index,not-valid-constraint,sequence-near-limit,differs-from-schema'];
    const warned = await shop.cli(broken, ...demote, '--json');
    expect(warned.exitCode, warned.stderr).toBe(0);
    expect(parse(warned).findings.every((f) => f.level === 'warn')).toBe(true);
    writeFileSync(join(shop.m.root, 'drydock.json'), JSON.stringify({ verifyChecks: { 'unindexed-foreign-key': 'error', 'table-bloat': 'off' } }));
    try {
      const strict = await shop.cli(broken, ...demote, '--json');
      expect(strict.exitCode).toBe(1);
      expect(parse(strict).findings.filter((f) => f.level === 'error').map((f) => f.check)).toEqual(['unindexed-foreign-key']);
      const skipped = await shop.cli(broken, ...demote, '--skip', 'unindexed-foreign-key');
      expect(skipped.exitCode).toBe(0);
      writeFileSync(join(shop.m.root, 'drydock.json'), JSON.stringify({ verifyChecks: { 'no-such-check': 'error' } }));
      const bad = await shop.cli(broken);
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain('unknown check "no-such-check"');
    } finally {
      rmSync(join(shop.m.root, 'drydock.json'), { force: true });
    }
  });

  it('refuses bad input with one line and exit 2, as JSON with --json', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--schema', 'nope.sql'], /^error: schema file nope\.sql not found$/m],
      [['--error', 'invalid-index,bogus'], /^error: --error: unknown check "bogus"$/m],
      [['--warn', 'ssl', '--skip', 'ssl'], /^error: check "ssl" is in both --warn and --skip$/m],
      [['-a', 'my-app'], /^error: give --url or -a APP, not both$/m],
    ];
    for (const [args, message] of cases) {
      const res = await shop.cli(clean, ...args);
      expect(res.exitCode, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toMatch(message);
      expect(res.stderr).toMatch(/^hint: /m);
      expect(res.stdout).not.toContain('Schema contract');
    }
    const down = await runCli(['verify', '--url', 'postgres://postgres@127.0.0.1:1/nothing', '--json'], { cwd: shop.m.root });
    expect(down.exitCode).toBe(2);
    expect((JSON.parse(down.stdout) as { error: { message: string } }).error.message).toContain('127.0.0.1:1');
    const noDb = await runCli(['verify'], { cwd: shop.m.root, env: { DATABASE_URL: undefined } });
    expect(noDb.exitCode).toBe(2);
  });
});

describe('drydock verify: sessions', () => {
  it('counts sessions idle in a transaction and waiting for a lock, from pg_stat_activity', async () => {
    const d = await db('verify_sessions');
    await d.query('CREATE TABLE jobs (id int PRIMARY KEY)');
    const idle = new pg.Client({ connectionString: d.url, application_name: 'worker.1' });
    const waiter = new pg.Client({ connectionString: d.url, application_name: 'web.1' });
    await Promise.all([idle.connect(), waiter.connect()]);
    cleanups.push(() => Promise.all([idle.end(), waiter.end()]).then(() => undefined));
    await idle.query('BEGIN; LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE');
    const waiting = waiter.query('SELECT count(*) FROM jobs');
    try {
      const res = await runCli(['verify', '--url', d.url, '--json', '--skip', 'missing-in-database,not-in-schema,differs-from-schema']);
      expect(res.exitCode, res.stderr).toBe(0);
      const report = parse(res);
      expect(report.facts.sessions).toMatchObject({ idleInTransaction: 1, blocked: 1, active: 1 });
      // Both are under the thresholds (1 min idle, 5 s waiting): counted, not findings.
      expect(report.findings).toEqual([]);
      // The table sizes wait for the lock at most 2 s, then are left out, and verify says so instead of hanging.
      expect(report.notes).toContain('table sizes not read: another session holds a lock on a table (waited 2 s): see the sessions above');
    } finally {
      await idle.query('ROLLBACK');
      await waiting;
    }
  });
});

describe('drydock diff', () => {
  it('compares two databases, and a database with a schema file, with the same normalisation', async () => {
    const dbs = await runCli(['diff', clean.url, broken.url, '--json']);
    expect(dbs.exitCode, dbs.stderr).toBe(1);
    const report = JSON.parse(dbs.stdout) as { same: boolean; differences: Array<{ object: string; kind: string; problem: string }> };
    expect(report.same).toBe(false);
    // The second migration's table, and the column added by hand on the broken one.
    const differences = report.differences.map((d) => `${d.kind} ${d.object}`);
    expect(differences).toContain('changed table public.users');
    expect(differences).toContain('only-b table public.refunds');
    expect(differences.filter((d) => d.startsWith('only-a'))).toEqual([]);
    const schemaFile = join(shop.m.root, 'db/schema.sql');
    const text = await runCli(['diff', broken.url, schemaFile]);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toContain(`~ table public.users differs between postgres@127.0.0.1:5432/${broken.name} and ${schemaFile} (in postgres@127.0.0.1:5432/${broken.name} only: \`nickname text\`)`);
    const twin = await db('verify_twin');
    expect((await runCli(['migrate', 'up', '--url', twin.url, '--dir', shop.m.dir], { cwd: shop.m.root })).exitCode).toBe(0);
    const same = await runCli(['diff', twin.url, 'db/schema.sql', '--json'], { cwd: shop.m.root });
    expect(same.exitCode, same.stderr).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ same: true, differences: [], versions: { a: ['20260101000000', '20260102000000'], b: ['20260101000000', '20260102000000'] } });
    const byName = await runCli(['diff', broken.name, broken.url], { env: { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() } });
    expect(byName.exitCode, byName.stderr).toBe(0);
    expect(byName.stdout).toMatch(/^diff: the same schema$/m);
  });

  it('refuses an operand it cannot read, exit 2', async () => {
    const res = await runCli(['diff', 'missing/schema.sql', clean.url]);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: schema file missing\/schema\.sql not found$/m);
    const bad = await runCli(['diff', 'not a name', clean.url]);
    expect(bad.exitCode).toBe(2);
  });
});

describe('release --verify and postdeploy', () => {
  it('release --verify fails a release that left an INVALID index, with the exact fix; without --verify it only warns', async () => {
    const p = project([SHOP]);
    const d = await db('verify_release');
    await migrateAndDump(d, p);
    await d.query(`INSERT INTO users (email) VALUES ('b@example.com'), ('b@example.com')`);
    await expect(d.query('CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email)')).rejects.toThrow();
    p.m.write(CLEAN_NEXT);
    const env = { DATABASE_URL: d.url, DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() };
    const res = await runCli(['release', '--dir', p.m.dir, '--verify'], { cwd: p.m.root, env });
    expect(res.exitCode, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toContain('release: verifying the schema contract');
    expect(res.stderr).toMatch(/^error: release --verify: 1 error\(s\) in .*: INVALID index public\.users_email_key on public\.users/m);
    expect(res.stderr).toMatch(/^hint: index public\.users_email_key: DROP INDEX CONCURRENTLY IF EXISTS "public"\."users_email_key"; then build it again/m);
    // The pending migration ran; the release failed after it.
    expect((await d.query(`SELECT to_regclass('notes') AS t`)).rows[0]?.t).toBe('notes');
    const plain = await runCli(['release', '--dir', p.m.dir], { cwd: p.m.root, env });
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(/warning: INVALID index public\.users_email_key on public\.users/);
    await d.query('DROP INDEX CONCURRENTLY users_email_key');
    const again = await runCli(['release', '--dir', p.m.dir, '--verify'], { cwd: p.m.root, env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/release: verify: no errors \(the schema matches db\/schema\.sql \+ 1 migration, built on a scratch database; nothing half-done\)/);
  });

  it('postdeploy verifies the review app\'s schema: clean after a load, a finding when the setup command made something else', async () => {
    const p = project([SHOP, HALF_DONE]);
    const source = await db('verify_pd_source');
    await migrateAndDump(source, p);
    // The review app loads a schema whose migration left a NOT VALID foreign key and an unindexed one.
    const fresh = await db('verify_pd');
    const half = await runCli(['postdeploy', '--dir', p.m.dir], { cwd: p.m.root, env: { DATABASE_URL: fresh.url } });
    expect(half.exitCode, half.stderr).toBe(1);
    expect(half.stderr).toContain('postdeploy: verify: foreign key refunds_order_id_fkey on public.refunds (order_id) → public.orders has no index on its columns');
    expect(half.stderr).toMatch(/^error: postdeploy --verify: 1 error\(s\) in .*: foreign key refunds_user_id_fkey on public\.refunds is NOT VALID/m);
    const ok = await runCli(['postdeploy', '--dir', cleanShop.m.dir], { cwd: cleanShop.m.root, env: { DATABASE_URL: (await db('verify_pd_ok')).url } });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/postdeploy: done: .* set up \(loaded .*schema\.sql; schema version 20260101000000; no seeds\), verified against db\/schema\.sql$/m);
    const other = await db('verify_pd_cmd');
    const command = `psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -f db/schema.sql -c "ALTER TABLE public.coupons ADD COLUMN expires_at timestamptz"`;
    const bad = await runCli(['postdeploy', '--dir', cleanShop.m.dir, '--command', command], { cwd: cleanShop.m.root, env: { DATABASE_URL: other.url } });
    expect(bad.exitCode, bad.stderr).toBe(1);
    expect(bad.stderr).toContain('error: postdeploy --verify: 1 error(s)');
    expect(bad.stderr).toContain('table public.coupons differs between the database and db/schema.sql (in the database only: `expires_at timestamp with time zone`)');
    const skipped = await runCli(['postdeploy', '--dir', cleanShop.m.dir, '--command', command, '--no-verify'], { cwd: cleanShop.m.root, env: { DATABASE_URL: (await db('verify_pd_skip')).url } });
    expect(skipped.exitCode, skipped.stderr).toBe(0);
  });
});

describe('verify -a APP: the Heroku facts through the heroku CLI', () => {
  let emu: Emulator;
  let prod: TestDb;
  let p: Project;

  beforeAll(async () => {
    p = project([SHOP]);
    prod = await db('verify_heroku');
    await migrateAndDump(prod, p);
    emu = await startEmulator({
      tls: true,
      apps: [
        { name: 'verify-busy', databaseUrl: prod.localhostUrl, plan: 'essential-0', formation: { web: 2, worker: 1 }, configVars: { DB_POOL: '10', WEB_CONCURRENCY: '2' } },
        { name: 'verify-calm', databaseUrl: prod.localhostUrl, plan: 'standard-0', formation: { web: 1 }, configVars: { RAILS_MAX_THREADS: '5' } },
      ],
    });
    cleanups.push(() => emu.stop());
  }, 120_000);

  const heroku = (...args: string[]) =>
    runCli(['verify', '--dir', p.m.dir, ...args], { cwd: p.m.root, env: { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() } });

  it('reads connections and the plan\'s limit from pg:info, the pools from the formation and config vars, over SSL', async () => {
    const res = await heroku('-a', 'verify-busy', '--json');
    expect(res.exitCode, res.stderr).toBe(0);
    const report = parse(res);
    expect(report.facts.ssl).toMatchObject({ encrypted: true, sslmode: 'require', checked: true });
    expect(report.facts.connections).toMatchObject({ limit: 20, source: 'heroku pg:info (Connections, plan Essential 0)' });
    expect(report.facts.connections?.demand).toMatchObject({ total: 2 * 2 * 10 + 10 + 10 + 10, poolFrom: 'config var DB_POOL' });
    const pools = report.findings.filter((f) => f.check === 'pool-over-limit');
    expect(pools).toEqual([expect.objectContaining({ level: 'warn', message: "the app's pools can open 70 connections (web 2 dynos × 2 processes × 10 + worker 1 dyno × 10 + release 10 + one-off 10) but the plan allows 20" })]);
    expect(pools[0]?.source).toContain('heroku ps:scale (formation); heroku config (DB_POOL, WEB_CONCURRENCY); heroku pg:info');
    expect(report.contract).toMatchObject({ checked: true, against: 'db/schema.sql' });
    // Heroku's own diagnostics, through `heroku pg:diagnose --json`: its checks, and its yellow ones as warnings.
    expect(report.facts.diagnose?.checks.map((c) => c.name)).toEqual(['Connection Count', 'Long Queries', 'Idle in Transaction', 'Indexes', 'Bloat', 'Hit Rate', 'Blocking Queries', 'Sequences', 'Load']);
    const diagnose = report.findings.filter((f) => f.check === 'heroku-diagnose');
    // The shop's foreign-key indexes were never scanned: pg:diagnose's Indexes check is yellow.
    expect(diagnose.map((f) => f.message)).toContain('heroku pg:diagnose: YELLOW Indexes (2 row(s))');
    expect(diagnose[0]?.source).toBe(`heroku pg:diagnose (report ${report.facts.diagnose?.report})`);
    expect(diagnose.every((f) => f.level === 'warn')).toBe(true);
  });

  it('the emulator answers pg:diagnose as Heroku does: a report the CLI prints, and shows again by its id', async () => {
    const first = await runHeroku(emu, ['pg:diagnose', '-a', 'verify-calm']);
    expect(first.exitCode, first.stderr).toBe(0);
    const id = /^Report ([0-9a-f-]{36}) for verify-calm::DATABASE_URL$/m.exec(first.stdout)?.[1];
    expect(id).toBeDefined();
    expect(first.stdout).toMatch(/^GREEN: Connection Count$/m);
    expect(first.stdout).toMatch(/^YELLOW: Indexes$/m);
    expect(first.stdout).toMatch(/^SKIPPED: Load$/m);
    const again = await runHeroku(emu, ['pg:diagnose', id!, '-a', 'verify-calm', '--json']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { id: string }).id).toBe(id);
  });

  it('stays quiet on a plan with room, and fails with an error finding when told pools are errors', async () => {
    const calm = await heroku('-a', 'verify-calm', '--database', 'DATABASE_URL');
    expect(calm.exitCode, calm.stderr).toBe(0);
    expect(calm.stdout).toMatch(/^ {2}Connections: \d+\/120 in use \(heroku pg:info \(Connections, plan Standard 0\)\)$/m);
    expect(calm.stdout).toMatch(/^ {2}Pools: the app can open 15 \(web 1 dyno × 5 \+ release 5 \+ one-off 5; heroku ps:scale \(formation\), heroku config \(RAILS_MAX_THREADS, WEB_CONCURRENCY\)\)$/m);
    expect(calm.stdout).toMatch(/^ {2}SSL: in use \(sslmode require\)$/m);
    const strict = await heroku('-a', 'verify-busy', '--error', 'pool-over-limit');
    expect(strict.exitCode).toBe(1);
    expect(strict.stderr).toMatch(/^error: verify: 1 error\(s\) \(pool-over-limit\)$/m);
  });
});
