/**
 * `drydock rehearse --command`: a real framework's migration command (Knex, from npm) run through
 * drydock's protocol proxy on a pulled copy (real PostgreSQL, real pg_dump, the built CLI): verdicts
 * per Knex migration, the rollback command checked, nothing left running.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLI_PATH, ROOT, runCli } from '../helpers/cli.js';
import { rehearseScope } from '../helpers/rehearse.js';
import { adminQuery, createTestDb, scalar, uniqueDbName, type TestDb } from '../helpers/db.js';
import type { RehearsalReport } from '../../src/rehearse/report.js';

let source: TestDb;
const { env, dirs, pulled: pulledFrom } = rehearseScope();
const KNEX = join(ROOT, 'node_modules/.bin/knex');

/** A Knex project: a knexfile reading DATABASE_URL (as Heroku apps do) and JavaScript migrations with up and down. */
async function knexProject(migrations: Record<string, string>, extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'drydock-knex-'));
  dirs.push(dir);
  // Knex installed in the project (the knex CLI refuses to run without a local install).
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  await writeFile(join(dir, 'knexfile.js'), "module.exports = { client: 'pg', connection: process.env.DATABASE_URL, migrations: { directory: './migrations' } };\n");
  await mkdir(join(dir, 'migrations'));
  for (const [name, text] of Object.entries(migrations)) await writeFile(join(dir, 'migrations', name), text);
  for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text);
  return dir;
}

const ADD_NICKNAME = `
// ADD COLUMN without a default: a brief ACCESS EXCLUSIVE lock, no rewrite. Outside a transaction, so
// Knex runs each migration of the batch in its own transaction.
exports.config = { transaction: false };
exports.up = (knex) => knex.schema.alterTable('accounts', (t) => { t.text('nickname'); });
exports.down = (knex) => knex.schema.alterTable('accounts', (t) => { t.dropColumn('nickname'); });
`;
const INDEX_EVENTS = `
exports.up = (knex) => knex.schema.alterTable('events', (t) => { t.index(['payload', 'kind'], 'events_payload_idx'); });
exports.down = (knex) => knex.schema.alterTable('events', (t) => { t.dropIndex(['payload', 'kind'], 'events_payload_idx'); });
`;
const UNIQUE_CODE = `
exports.up = (knex) => knex.schema.alterTable('events', (t) => { t.unique(['code'], { indexName: 'events_code_key' }); });
exports.down = (knex) => knex.schema.alterTable('events', (t) => { t.dropUnique(['code'], 'events_code_key'); });
`;

/** A working copy of the source, pulled with its pristine snapshot. */
function pulled(label: string): Promise<string> {
  return pulledFrom(source.localhostUrl, label);
}

beforeAll(async () => {
  source = await createTestDb('rehearse_knex_src');
  // 150k events; `code` repeats (every 1000th row shares its code with the row before it).
  await source.query(`
    CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL);
    INSERT INTO accounts SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 1000) g;
    CREATE TABLE events (id int PRIMARY KEY, account_id int NOT NULL REFERENCES accounts, kind text NOT NULL, code text NOT NULL, payload text NOT NULL);
    INSERT INTO events SELECT g, 1 + g % 1000, 'k' || (g % 7), 'c' || (g - (g % 1000 = 0)::int), md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 150000) g;
    ANALYZE;
  `);
}, 120_000);

afterAll(async () => {
  await source?.drop();
});

describe('drydock rehearse --command (Knex)', () => {
  it('gives each Knex migration its verdict from what its statements did, checks the rollback command, and resets the copy', async () => {
    const to = await pulled('rk_main');
    const dir = await knexProject({ '20270101000000_add_nickname.js': ADD_NICKNAME, '20270102000000_index_events.js': INDEX_EVENTS, '20270103000000_unique_code.js': UNIQUE_CODE });
    const knexfile = join(dir, 'knexfile.js');
    const res = await runCli(
      // 150 ms: an instant column add stays under it on a busy machine; the index build waits longer.
      ['rehearse', '--to', to, '--block-threshold', '150ms', '--json', '--command', `npx knex migrate:latest --knexfile ${knexfile}`, '--rollback-command', `npx knex migrate:rollback --all --knexfile ${knexfile}`],
      { env, timeoutMs: 240_000 },
    );
    expect(res.exitCode, res.stderr).toBe(1);
    const doc = JSON.parse(res.stdout) as RehearsalReport;
    expect(doc.migrations.map((m) => [m.file, m.verdict]), res.stderr).toEqual([
      ['20270101000000_add_nickname.js', 'safe'],
      ['20270102000000_index_events.js', 'blocking'],
      ['the migration after 20270102000000_index_events.js (not recorded by the framework)', 'fails'],
    ]);
    expect(doc.command).toMatchObject({ framework: 'Knex', rollbackCommand: `npx knex migrate:rollback --all --knexfile ${knexfile}` });
    expect(doc.command!.exitCode).not.toBe(0);
    expect(doc.command!.bookkeeping).toBeGreaterThan(5);
    expect(doc.command!.problems).toEqual([]);
    const [nickname, index, unique] = doc.migrations;

    // Only the migrations' own statements are reported: Knex's ledger, lock table and catalog queries are not.
    expect(nickname!.statements.map((s) => s.sql)).toEqual(['alter table "accounts" add column "nickname" text']);
    expect(nickname!.locks).toContainEqual(expect.objectContaining({ relation: 'public.accounts', mode: 'AccessExclusiveLock' }));
    expect(nickname!.rewrites).toEqual([]);
    const everything = JSON.stringify(doc.migrations);
    expect(everything).not.toMatch(/knex_migrations|information_schema|pg_catalog/);

    // The non-concurrent index build blocked writes to events for about as long as it ran, not reads.
    const build = index!.statements[0]!;
    expect(build.sql).toMatch(/^create index "events_payload_idx" on "events"/);
    expect(build.indexBuilds).toEqual([expect.objectContaining({ relation: 'public.events_payload_idx', kind: 'index' })]);
    expect(build.indexBuilds[0]!.bytes).toBeGreaterThan(1_000_000);
    expect(index!.blockedTables.writes).toBe('public.events');
    expect(index!.blockedMs.writes).toBeGreaterThanOrEqual(150);
    // Probes of the tables a statement names are connected before the proxy lets it through.
    expect(index!.blockedMs.writes).toBeGreaterThan(build.durationMs - 150);
    expect(index!.blockedMs.reads).toBeLessThan(50);
    expect(index!.locks).toContainEqual(expect.objectContaining({ relation: 'public.events', mode: 'ShareLock' }));
    expect(index!.findings.map((f) => f.rule)).toContain('require-concurrent-index-creation');
    expect(index!.walBytes).toBeGreaterThan(0);

    // The unique constraint fails on the copy's duplicates, with Postgres's DETAIL; Knex never recorded it.
    expect(unique!.failure!.message).toMatch(/could not create unique index "events_code_key" \(SQLSTATE 23505\)/);
    expect(unique!.failure!.details.join('\n')).toMatch(/detail: Key \(code\)=\(c\d+\) is duplicated/);
    expect(unique!.statements.map((s) => s.sql)).toEqual(['alter table "events" add constraint "events_code_key" unique ("code")']);

    // The rollback command undid both applied migrations; the command ran again to the same schema.
    expect(doc.reversible).toEqual({ ok: true, checked: ['20270102000000_index_events.js', '20270101000000_add_nickname.js'], skipped: [], problems: [] });

    // Knex's own output went to stderr as information; stdout held only the JSON.
    expect(res.stderr).toMatch(/migration command: .*migration file "20270103000000_unique_code.js" failed/);
    expect(res.stderr).toContain('rollback command: ');

    // Left nothing behind: the copy is pristine again.
    expect(doc.resetAfterwards).toBe(true);
    expect(await scalar(to, `SELECT count(*) AS n FROM pg_class WHERE relname IN ('knex_migrations', 'events_payload_idx')`)).toBe(0);
    expect(await scalar(to, `SELECT count(*) AS n FROM information_schema.columns WHERE column_name = 'nickname'`)).toBe(0);
  }, 300_000);

  it("takes the command from drydock.json; a Knex batch in one transaction holds each migration's locks until it commits", async () => {
    const to = await pulled('rk_batch');
    const add = ADD_NICKNAME.replace('exports.config = { transaction: false };', '');
    const dir = await knexProject(
      { '20270101000000_add_nickname.js': add, '20270102000000_index_events.js': INDEX_EVENTS },
      { 'drydock.json': JSON.stringify({ migrateCommand: `${KNEX} migrate:latest --knexfile knexfile.js` }) },
    );
    const res = await runCli(['rehearse', '--to', to, '--block-threshold', '50ms', '--json'], { env, cwd: dir, timeoutMs: 240_000 });
    expect(res.exitCode, res.stderr).toBe(1);
    const doc = JSON.parse(res.stdout) as RehearsalReport;
    expect(doc.command!.exitCode).toBe(0);
    const [nickname, index] = doc.migrations;
    // The column add's ACCESS EXCLUSIVE lock on accounts lasts until the batch commits, after the index build.
    expect(nickname).toMatchObject({ file: '20270101000000_add_nickname.js', verdict: 'blocking', blockedTables: { reads: 'public.accounts' } });
    expect(nickname!.blockedMs.reads).toBeGreaterThan(index!.statements[0]!.durationMs - 150);
    expect(index).toMatchObject({ file: '20270102000000_index_events.js', verdict: 'blocking', blockedTables: { writes: 'public.events' } });
    // Not checked without a rollback command: not a failure either.
    expect(doc.reversible).toMatchObject({ ok: null, problems: [] });
    expect(doc.reversible.note).toContain('--rollback-command');

    // A command that fails before it runs any SQL could not rehearse anything: exit 2, with its own words.
    const broken = await runCli(['rehearse', '--to', to, '--command', 'echo "knexfile not found" >&2; exit 3'], { env, cwd: dir, timeoutMs: 240_000 });
    expect(broken.exitCode, broken.stderr).toBe(2);
    expect(broken.stderr).toContain('the migration command failed (exit 3) before it ran any SQL: knexfile not found');
  }, 300_000);

  it('Ctrl-C stops the command: its process group, its sessions on the copy and the proxy are gone (exit 130)', async () => {
    const to = await pulled('rk_int');
    const marker = `drydock_marker_${process.pid}`;
    const command = `psql "$DATABASE_URL" -c "SELECT pg_sleep(60) AS ${marker}"`;
    const child = spawn(process.execPath, [CLI_PATH, 'rehearse', '--to', to, '--command', command], { env: { ...process.env, ...env, CI: 'true', DRYDOCK_SNAPSHOT_SPARE: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; ; i++) {
      const { rows } = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND query LIKE $2`, [to, `%${marker}%`]);
      if (Number(rows[0]!.n) > 0) break;
      if (i > 600) throw new Error(`the command never started: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const started = Date.now();
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    // Not after the 60 s sleep: the command's children were stopped with it.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(stderr).toContain(`interrupted (SIGINT): the rehearsal on ${to} stopped`);
    expect((await adminQuery(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE $2`, [to, `%${marker}%`])).rowCount).toBe(0);
    const left = await execa('pgrep', ['-f', marker], { reject: false });
    expect(left.stdout.trim()).toBe('');
  }, 240_000);

  it('refuses --rollback-command without a command, and an empty --command (exit 2), before changing anything', async () => {
    const to = uniqueDbName('rk_none');
    const lone = await runCli(['rehearse', '--to', to, '--rollback-command', 'npx knex migrate:rollback --all'], { env });
    expect(lone.exitCode).toBe(2);
    expect(lone.stderr).toContain('--rollback-command needs --command');
    const empty = await runCli(['rehearse', '--to', to, '--command', ' '], { env });
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain('--command is empty');
  });
});
