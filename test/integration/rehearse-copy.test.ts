/**
 * `drydock rehearse`'s production copy: a pull (--from-url, -a APP through the real heroku CLI and the
 * emulator) when the pristine snapshot is missing or older than --max-age; timings on tables pulled
 * with --exclude-table-data marked not representative; and an interrupted rehearsal (SIGINT, SIGTERM)
 * that leaves no drydock session on the server and is cleaned up by the next run. Real PostgreSQL,
 * the built CLI. The source's tables are made by hand, not by migrations: the rehearsals pass --no-fresh
 * (rehearse-fresh.test.ts covers the fresh-database comparison).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { CLI_PATH, runCli } from '../helpers/cli.js';
import { adminQuery, createTestDb, drydockCopiesOf, scalar, testServerUrl, uniqueDbName, workingDatabases, type TestDb } from '../helpers/db.js';
import { herokuBinPath } from '../helpers/heroku.js';
import type { RehearsalReport } from '../../src/rehearse/report.js';

let source: TestDb;
let emu: Emulator;
const { target, dropAll } = workingDatabases();
const dirs: string[] = [];
const env = { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() };

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'drydock-rehearse-copy-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

/** Make the working database's pristine snapshot look `hours` old (its tag's createdAt). */
async function ageSnapshot(to: string, hours: number): Promise<void> {
  const snapshot = (await drydockCopiesOf(to)).find((c) => c.kind === 'snapshot')!.datname;
  const { rows } = await adminQuery<{ comment: string }>(`SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`, [snapshot]);
  const meta = { ...(JSON.parse(rows[0]!.comment) as Record<string, unknown>), createdAt: new Date(Date.now() - hours * 3_600_000).toISOString() };
  await adminQuery(`COMMENT ON DATABASE "${snapshot}" IS '${JSON.stringify(meta).replace(/'/g, "''")}'`);
}

/** drydock's sessions (by application_name) on the working database or any drydock copy of it. */
async function drydockSessions(to: string): Promise<string[]> {
  const copies = (await drydockCopiesOf(to)).map((c) => c.datname);
  const { rows } = await adminQuery<{ line: string }>(
    `SELECT datname || ': pid ' || pid || ' ' || application_name || ' (' || coalesce(state, '?') || '): ' || left(query, 60) AS line
     FROM pg_stat_activity WHERE datname = ANY($1) AND application_name LIKE 'drydock%'`,
    [[to, ...copies]],
  );
  return rows.map((r) => r.line);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  source = await createTestDb('rhc_src');
  await source.query(`
    CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
    INSERT INTO schema_migrations VALUES ('20260101000000');
    CREATE TABLE items (id int PRIMARY KEY, payload text NOT NULL);
    INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 100000) g;
    CREATE TABLE events (id int PRIMARY KEY, item_id int NOT NULL, at timestamptz NOT NULL DEFAULT now());
    INSERT INTO events (id, item_id) SELECT g, 1 + g % 100000 FROM generate_series(1, 50000) g;
  `);
  emu = await startEmulator({ apps: [{ name: 'rh-copy-app', databaseUrl: source.localhostUrl }] });
}, 120_000);

afterAll(async () => {
  await emu?.stop();
  await dropAll();
  await source?.drop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('drydock rehearse: the production copy', () => {
  it('pulls with --from-url when there is no pristine snapshot; marks the tables pulled without data; resets from the snapshot next time; pulls again once it is older than --max-age', async () => {
    const to = target('rhc_url');
    const dir = await migrationsDir({
      // Holds ACCESS EXCLUSIVE on events for 400 ms: its probes wait that long, on a table with no rows.
      // The index build is a lint finding on events, which the copy holds no rows of: lint must not call it a tiny table.
      '20270101000000_events_kind.sql': '-- migrate:up\nALTER TABLE events ADD COLUMN kind text;\nCREATE INDEX events_item_id_idx ON events (item_id);\nSELECT pg_sleep(0.4);\n\n-- migrate:down\nDROP INDEX events_item_id_idx;\nALTER TABLE events DROP COLUMN kind;\n',
      '20270102000000_items_note.sql': '-- migrate:up\nALTER TABLE items ADD COLUMN note text;\n\n-- migrate:down\nALTER TABLE items DROP COLUMN note;\n',
    });
    const fromUrl = ['--from-url', source.localhostUrl];
    const first = await runCli(['rehearse', '--no-fresh', ...fromUrl, '--to', to, '--dir', dir, '--exclude-table-data', 'events', '--block-threshold', '200ms', '--json'], { env, timeoutMs: 180_000 });
    expect(first.exitCode, first.stderr).toBe(1);
    const doc = JSON.parse(first.stdout) as RehearsalReport;
    expect(doc.copy).toMatchObject({ database: to, snapshot: 'pristine', reset: 'pulled', pulledFrom: 'the --from-url database', pulledBecause: 'no pristine snapshot', source: 'a database URL', excludeTableData: ['events'], withoutData: ['public.events'] });
    expect(doc.copy.pullSeconds).toBeGreaterThan(0);
    expect(doc.copy.ageSeconds).toBeLessThan(120);
    expect(first.stderr).toContain('rehearse: pulling a fresh copy from the --from-url database (no pristine snapshot)');
    expect(first.stderr).toContain(`rehearse: ${to}: pulled a fresh copy from the --from-url database (no pristine snapshot)`);

    const [events, items] = doc.migrations;
    expect(events).toMatchObject({ name: 'events_kind', verdict: 'blocking', notRepresentative: ['public.events'] });
    expect(events!.blockedTables.writes).toBe('public.events');
    expect(events!.reason).toContain('computed only from public.events, copied without data: not representative');
    // Lint judged events as of unknown size (production's is not the copy's 0 rows): the finding keeps its severity.
    const indexFinding = events!.findings.find((f) => f.rule === 'require-concurrent-index-creation');
    expect(indexFinding, JSON.stringify(events!.findings)).toBeDefined();
    expect(indexFinding!.severity).toBe('error');
    expect(events!.findings.map((f) => f.message).join('\n')).not.toMatch(/0 rows/);
    expect(items).toMatchObject({ name: 'items_note', verdict: 'safe', notRepresentative: [] });
    expect(first.stderr).toContain('20270101000000_events_kind.sql: table public.events was copied without data: its timings are not representative');

    // The pull recorded the excluded tables on the snapshot it kept; the copy is pristine again.
    const list = await runCli(['snapshot', 'list', '--to', to, '--json'], { env });
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: 'pristine', excludeTableData: ['events'] })]);
    expect(await scalar(to, 'SELECT count(*) AS n FROM events')).toBe(0);
    expect(await scalar(to, 'SELECT count(*) AS n FROM items')).toBe(100_000);

    // A fresh snapshot: reset, no pull; the pull-only flag is said to be unused; the text report marks the table.
    const second = await runCli(['rehearse', '--no-fresh', ...fromUrl, '--to', to, '--dir', dir, '--exclude-table-data', 'items', '--block-threshold', '200ms'], { env, timeoutMs: 180_000 });
    expect(second.exitCode, second.stderr).toBe(1);
    expect(second.stdout).toMatch(new RegExp(`rehearse: ${to} reset from its pristine snapshot \\(data \\d+ s old\\)`));
    expect(second.stderr).toContain('warning: rehearse: the pristine snapshot is younger than --max-age, so rehearse does not pull: --exclude-table-data not used');
    expect(second.stdout).not.toContain('pulling a fresh copy');
    expect(second.stdout).toMatch(new RegExp(`Copy: ${to} reset from its pristine snapshot in [\\d.]+ s; the data is \\d+ s old \\(a database URL, taken [^)]+\\); copied without data: public.events`));
    expect(second.stdout).toContain('    table public.events was copied without data: its timings are not representative');
    expect(second.stdout).toMatch(/lock AccessExclusiveLock on public\.events, held .* \(copied without data: not representative\)/);

    // Older than --max-age and nowhere to pull from: refused, naming the commands; nothing changed.
    await ageSnapshot(to, 30);
    const refused = await runCli(['rehearse', '--to', to, '--dir', dir], { env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`the pristine snapshot of ${to} is 30 h old, older than --max-age 24 h`);
    expect(refused.stderr).toContain(`drydock pull -a APP --to ${to}`);
    expect(refused.stderr).toContain('drydock rehearse -a APP');

    // With --from-url: pulled again (all tables with their rows this time), saying why.
    const third = await runCli(['rehearse', '--no-fresh', ...fromUrl, '--to', to, '--dir', dir, '--block-threshold', '200ms', '--json'], { env, timeoutMs: 180_000 });
    const again = JSON.parse(third.stdout) as RehearsalReport;
    expect(again.copy).toMatchObject({ reset: 'pulled', pulledBecause: 'pristine snapshot was 30 h old' });
    expect(again.copy.withoutData).toBeUndefined();
    expect(again.migrations.map((m) => m.notRepresentative)).toEqual([[], []]);
    expect(again.migrations[0]!.reason).not.toContain('not representative');
    expect(await scalar(to, 'SELECT count(*) AS n FROM events')).toBe(50_000);
    expect((await drydockCopiesOf(to)).map((c) => c.kind)).toEqual(['snapshot']);
  }, 300_000);

  it('pulls the live database of -a APP through the heroku CLI when there is no snapshot', async () => {
    const to = target('rhc_app');
    const dir = await migrationsDir({ '20270101000000_note.sql': '-- migrate:up\nALTER TABLE items ADD COLUMN note text;\n\n-- migrate:down\nALTER TABLE items DROP COLUMN note;\n' });
    const res = await runCli(['rehearse', '--no-fresh', '-a', 'rh-copy-app', '--to', to, '--dir', dir, '--json'], { env: { ...env, ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath() }, timeoutMs: 180_000 });
    expect(res.exitCode, res.stderr).toBe(0);
    const doc = JSON.parse(res.stdout) as RehearsalReport;
    expect(doc.copy).toMatchObject({ database: to, reset: 'pulled', pulledFrom: 'rh-copy-app', pulledBecause: 'no pristine snapshot', source: 'live database of rh-copy-app' });
    expect(doc.migrations.map((m) => m.verdict)).toEqual(['safe']);
    expect(await scalar(to, 'SELECT count(*) AS n FROM events')).toBe(50_000);
  }, 180_000);

  it('refuses pull flags when it has nothing to pull from (exit 2), creating nothing', async () => {
    const to = uniqueDbName('rhc_none');
    const dir = await migrationsDir({ '20270101000000_a.sql': '-- migrate:up\nSELECT 1;\n\n-- migrate:down\nSELECT 1;\n' });
    const res = await runCli(['rehearse', '--to', to, '--dir', dir, '--exclude-table-data', 'events', '--jobs', '2'], { env });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: --exclude-table-data, --jobs are for the pull rehearse runs when the copy is missing or too old/m);
    expect(res.stderr).toContain('-a APP');
    expect((await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [to])).rowCount).toBe(0);
    expect(await drydockCopiesOf(to)).toEqual([]);
  });
});

describe('drydock rehearse: interrupted', () => {
  it('SIGINT and SIGTERM during a migration: exit 130 / 143, says where things are, no drydock session stays on the server, and the next run starts from the pristine copy', async () => {
    const to = target('rhc_int');
    const pulled = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to], { env, timeoutMs: 180_000 });
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    // ACCESS EXCLUSIVE on items, then a long sleep: the probes of items wait behind it while the poller polls.
    const slow = await migrationsDir({ '20270101000000_slow.sql': '-- migrate:up\nALTER TABLE items ADD COLUMN note text;\nSELECT pg_sleep(60);\n\n-- migrate:down\nALTER TABLE items DROP COLUMN note;\n' });

    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const child = spawn(process.execPath, [CLI_PATH, 'rehearse', '--to', to, '--dir', slow], { env: { ...process.env, ...env, CI: 'true', DRYDOCK_SNAPSHOT_SPARE: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      await waitFor('the migration and its probes', async () => {
        const { rows } = await adminQuery<{ sleeping: string; probes: string }>(
          `SELECT count(*) FILTER (WHERE query LIKE 'SELECT pg_sleep(60)%' AND state = 'active') AS sleeping,
                  count(*) FILTER (WHERE application_name LIKE 'drydock rehearse (% probe)' AND wait_event_type = 'Lock') AS probes
           FROM pg_stat_activity WHERE datname = $1`,
          [to],
        );
        return Number(rows[0]!.sleeping) > 0 && Number(rows[0]!.probes) >= 2;
      });
      expect(await drydockSessions(to)).not.toEqual([]);
      const sent = Date.now();
      child.kill(signal);
      expect(await exited, stderr).toBe(code);
      expect(Date.now() - sent).toBeLessThan(15_000);
      expect(stderr).toContain(`interrupted (${signal}): the rehearsal on ${to} stopped: a statement it was running was cancelled and its sessions (migration, lock poller, probes) are closed; ${to} is left as the rehearsal had it`);
      expect(stderr).toContain(`drydock snapshot restore pristine --to ${to}`);
      // Every session drydock opened (the migration, the lock poller, the probes, cancels) is gone.
      await waitFor(`no drydock session on ${to}, still: ${(await drydockSessions(to)).join('; ')}`, async () => (await drydockSessions(to)).length === 0, 3_000);
      expect((await drydockCopiesOf(to)).map((c) => c.kind)).toEqual(['snapshot']);
    }

    // The next rehearsal resets the copy first and works.
    const quick = await migrationsDir({ '20270101000000_quick.sql': '-- migrate:up\nALTER TABLE items ADD COLUMN other int;\n\n-- migrate:down\nALTER TABLE items DROP COLUMN other;\n' });
    const next = await runCli(['rehearse', '--no-fresh', '--to', to, '--dir', quick, '--json'], { env, timeoutMs: 180_000 });
    expect(next.exitCode, next.stderr).toBe(0);
    expect((JSON.parse(next.stdout) as RehearsalReport).migrations.map((m) => m.verdict)).toEqual(['safe']);
    expect(await scalar(to, `SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'items' AND column_name IN ('note', 'other')`)).toBe(0);
    expect(await drydockSessions(to)).toEqual([]);
  }, 300_000);
});
