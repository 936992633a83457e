/**
 * `drydock rehearse` on a pulled copy (pull --from-url makes the working database and its pristine
 * snapshot): real PostgreSQL, real pg_dump, the built CLI. The source's tables are made by hand, not
 * by migrations, so a fresh database would differ: these runs pass --no-fresh (rehearse-fresh.test.ts
 * covers the fresh-database comparison).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLI_PATH, runCli } from '../helpers/cli.js';
import { rehearseScope } from '../helpers/rehearse.js';
import { adminQuery, createTestDb, drydockCopiesOf, scalar, uniqueDbName, type TestDb } from '../helpers/db.js';
import type { RehearsalReport } from '../../src/rehearse/report.js';

let source: TestDb;
const { env, migrationsDir, pulled: pulledFrom } = rehearseScope('drydock-rehearse-');

/** A table's contents, as one checksum. */
const ITEMS_SUM = `SELECT ('x' || substr(md5(string_agg(id || ':' || code || ':' || payload, ',' ORDER BY id)), 1, 15))::bit(60)::int8 AS n FROM items`;

/** A working copy of the source, pulled with its pristine snapshot. */
function pulled(label: string): Promise<string> {
  return pulledFrom(source.localhostUrl, label);
}

beforeAll(async () => {
  source = await createTestDb('rehearse_src');
  // 200k rows; `code` repeats (every 1000th row shares its code with the row before it).
  await source.query(`
    CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
    INSERT INTO schema_migrations VALUES ('20260101000000');
    CREATE TABLE items (id int PRIMARY KEY, code text NOT NULL, payload text NOT NULL);
    INSERT INTO items SELECT g, 'c' || (g - (g % 1000 = 0)::int), md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 200000) g;
    CREATE TABLE small (id int PRIMARY KEY);
    INSERT INTO small SELECT generate_series(1, 10);
  `);
}, 120_000);

afterAll(async () => {
  await source?.drop();
});

describe('drydock rehearse', () => {
  it('gives each pending migration its verdict from what it did on the copy, checks rollbacks, and resets the copy', async () => {
    const to = await pulled('rh_main');
    const dir = await migrationsDir({
      '20270101000000_small_flag.sql': '-- migrate:up\nALTER TABLE small ADD COLUMN flag boolean;\n\n-- migrate:down irreversible\n',
      '20270102000000_add_note.sql': '-- migrate:up\nALTER TABLE items ADD COLUMN note text;\n\n-- migrate:down\nALTER TABLE items DROP COLUMN note;\n',
      '20270103000000_index_payload.sql': '-- migrate:up\nCREATE INDEX items_payload_idx ON items (payload, code);\n\n-- migrate:down\nDROP INDEX items_payload_idx;\n',
      '20270104000000_audit.sql': '-- migrate:up\nCREATE TABLE audit (id int);\nCREATE INDEX audit_id_idx ON audit (id);\n\n-- migrate:down\nDROP INDEX audit_id_idx;\n',
      '20270105000000_unique_code.sql': '-- migrate:up\nCREATE UNIQUE INDEX items_code_key ON items (code);\n\n-- migrate:down\nDROP INDEX items_code_key;\n',
      '20270106000000_after.sql': '-- migrate:up\nALTER TABLE small ADD COLUMN other int;\n\n-- migrate:down\nALTER TABLE small DROP COLUMN other;\n',
    });
    const before = await scalar(to, ITEMS_SUM);
    const report = join(dir, 'report.md');
    const summary = join(dir, 'summary.md');
    const res = await runCli(['rehearse', '--no-fresh', '--to', to, '--dir', dir, '--block-threshold', '100ms', '--json', '--report', report], { env: { ...env, GITHUB_STEP_SUMMARY: summary }, timeoutMs: 180_000 });
    expect(res.exitCode, res.stderr).toBe(1);
    const doc = JSON.parse(res.stdout) as RehearsalReport;
    const byName = Object.fromEntries(doc.migrations.map((m) => [m.name, m]));
    expect(doc.migrations.map((m) => [m.name, m.verdict])).toEqual([
      ['small_flag', 'irreversible'],
      ['add_note', 'safe'],
      ['index_payload', 'blocking'],
      ['audit', 'safe'],
      ['unique_code', 'fails'],
    ]);
    expect(doc.notRun).toEqual([{ version: '20270106000000', name: 'after' }]);
    expect(doc.copy).toMatchObject({ database: to, snapshot: 'pristine', reset: 'snapshot' });

    // The non-concurrent index build blocked writes to items for about as long as it ran, not reads.
    const index = byName.index_payload!;
    const build = index.statements[0]!;
    expect(build.indexBuilds).toEqual([expect.objectContaining({ relation: 'public.items_payload_idx', kind: 'index' })]);
    expect(build.indexBuilds[0]!.bytes).toBeGreaterThan(1_000_000);
    expect(index.blockedTables.writes).toBe('public.items');
    expect(index.blockedMs.writes).toBeGreaterThanOrEqual(100);
    // Probes of the tables a statement names are connected before it starts: a wait is measured from its start (± a probe's 20 ms pause).
    expect(index.blockedMs.writes).toBeGreaterThan(build.durationMs - 150);
    expect(index.blockedMs.writes).toBeLessThan(build.durationMs + 1_000);
    expect(index.blockedMs.reads).toBeLessThan(100);
    expect(index.locks).toContainEqual(expect.objectContaining({ relation: 'public.items', mode: 'ShareLock' }));
    expect(index.findings.map((f) => f.rule)).toContain('require-concurrent-index-creation');
    expect(index.walBytes).toBeGreaterThan(0);
    expect(index.reason).toContain('blocked writes to public.items');

    // ADD COLUMN without a default: a brief ACCESS EXCLUSIVE, no rewrite.
    expect(byName.add_note!.locks).toContainEqual(expect.objectContaining({ relation: 'public.items', mode: 'AccessExclusiveLock' }));
    expect(byName.add_note!.rewrites).toEqual([]);

    // The unique index fails on the copy's data, with Postgres's DETAIL.
    const unique = byName.unique_code!;
    expect(unique.failure!.details.join('\n')).toMatch(/detail: Key \(code\)=\(c\d+\) is duplicated/);

    // Down of audit leaves the table; irreversible small_flag is not rolled back and not a failure.
    expect(doc.reversible.ok).toBe(false);
    expect(doc.reversible.skipped).toEqual(['20270101000000_small_flag.sql']);
    expect(doc.reversible.checked).toEqual(['20270104000000_audit.sql', '20270103000000_index_payload.sql', '20270102000000_add_note.sql']);
    expect(doc.reversible.problems).toContainEqual(expect.objectContaining({ migration: '20270104000000_audit.sql', object: 'table public.audit' }));
    expect(doc.freshDatabase).toEqual({ checked: false, ok: null, differences: [], note: 'not checked (--no-fresh)' });

    // Left nothing behind: the working database is pristine again, no scratch copy remains.
    expect(doc.resetAfterwards).toBe(true);
    expect(await scalar(to, ITEMS_SUM)).toBe(before);
    expect(await scalar(to, `SELECT count(*) AS n FROM information_schema.columns WHERE table_name IN ('items', 'small') AND column_name IN ('note', 'flag')`)).toBe(0);
    expect(await scalar(to, `SELECT count(*) AS n FROM pg_class WHERE relname IN ('audit', 'items_payload_idx', 'drydock_migrations')`)).toBe(0);
    expect(await scalar(to, 'SELECT count(*) AS n FROM schema_migrations')).toBe(1);
    expect((await drydockCopiesOf(to)).map((c) => c.kind)).toEqual(['snapshot']);

    // The Markdown report, in the file and in the job summary.
    const markdown = await readFile(report, 'utf8');
    expect(markdown).toContain('| `20270103000000_index_payload.sql` | **blocking** |');
    expect(markdown).toContain('**Reversible:** no');
    expect(await readFile(summary, 'utf8')).toBe(`${markdown}\n`);
  }, 240_000);

  it('exits 0 when every migration is safe and reversible; --keep leaves them applied', async () => {
    const to = await pulled('rh_safe');
    const dir = await migrationsDir({
      '20270101000000_add_note.sql': '-- migrate:up\nALTER TABLE items ADD COLUMN note text;\n\n-- migrate:down\nALTER TABLE items DROP COLUMN note;\n',
      '20270102000000_index.sql': '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY items_code_idx ON items (code);\n\n-- migrate:down\nDROP INDEX items_code_idx;\n',
    });
    const res = await runCli(['rehearse', '--no-fresh', '--to', to, '--dir', dir, '--json', '--keep'], { env, timeoutMs: 180_000 });
    expect(res.exitCode, res.stderr).toBe(0);
    const doc = JSON.parse(res.stdout) as RehearsalReport;
    expect(doc.migrations.map((m) => m.verdict)).toEqual(['safe', 'safe']);
    expect(doc.migrations[1]!.blockedMs.writes).toBeLessThan(1_000);
    expect(doc.reversible).toMatchObject({ ok: true, problems: [] });
    expect(doc.resetAfterwards).toBe(false);
    expect(await scalar(to, `SELECT count(*) AS n FROM pg_class WHERE relname = 'items_code_idx'`)).toBe(1);

    // The next rehearsal starts from the pristine copy again (what --keep or a killed run left is reset).
    const again = await runCli(['rehearse', '--no-fresh', '--to', to, '--dir', dir, '--json'], { env, timeoutMs: 180_000 });
    expect(again.exitCode, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as RehearsalReport).migrations).toHaveLength(2);
    expect(await scalar(to, `SELECT count(*) AS n FROM pg_class WHERE relname = 'items_code_idx'`)).toBe(0);
  }, 240_000);

  it('reports what a migration left behind (INVALID index, NOT VALID constraint), rows changed and temporary files; refuses a snapshot older than --max-age', async () => {
    const to = await pulled('rh_left');
    const dir = await migrationsDir({
      '20270101000000_check.sql': "-- migrate:up\nALTER TABLE items ADD CONSTRAINT items_code_nonempty CHECK (code <> '') NOT VALID;\nUPDATE small SET id = id WHERE id <= 3;\n\n-- migrate:down\nALTER TABLE items DROP CONSTRAINT items_code_nonempty;\n",
      '20270101500000_sorted.sql': "-- migrate:up\nSET LOCAL maintenance_work_mem = '1MB';\nSET LOCAL max_parallel_maintenance_workers = 0;\nCREATE INDEX items_payload_only_idx ON items (payload);\n\n-- migrate:down\nDROP INDEX items_payload_only_idx;\n",
      '20270102000000_unique.sql': '-- migrate:up transaction:false\nCREATE UNIQUE INDEX CONCURRENTLY items_code_key ON items (code);\n\n-- migrate:down\nDROP INDEX items_code_key;\n',
    });
    const res = await runCli(['rehearse', '--no-fresh', '--to', to, '--dir', dir, '--json'], { env, timeoutMs: 180_000 });
    expect(res.exitCode, res.stderr).toBe(1);
    const doc = JSON.parse(res.stdout) as RehearsalReport;
    const [check, sorted, unique] = doc.migrations;
    // An index build whose sort does not fit in maintenance_work_mem writes temporary files.
    expect(sorted!.tempFiles!.files).toBeGreaterThan(0);
    expect(sorted!.tempFiles!.bytes).toBeGreaterThan(1_000_000);
    expect(check!.tempFiles).toEqual({ files: 0, bytes: 0 });
    expect(check).toMatchObject({ verdict: 'safe', rowsChanged: 3, leftBehind: { invalidIndexes: [], notValidConstraints: ['public.items items_code_nonempty'] } });
    expect(check!.statements.map((s) => s.rowCount)).toEqual([null, 3]);
    expect(unique!.verdict).toBe('fails');
    expect(unique!.leftBehind.invalidIndexes).toEqual(['public.items_code_key on public.items']);
    expect(unique!.failure!.details.join('\n')).toContain('is duplicated');
    // Reversibility covers what applied: the NOT VALID check rolls back cleanly.
    expect(doc.reversible).toMatchObject({ ok: true, checked: ['20270101500000_sorted.sql', '20270101000000_check.sql'] });
    // The reset removed the INVALID index and the constraint.
    expect(await scalar(to, `SELECT count(*) AS n FROM pg_class WHERE relname = 'items_code_key'`)).toBe(0);
    expect(await scalar(to, `SELECT count(*) AS n FROM pg_constraint WHERE conname = 'items_code_nonempty'`)).toBe(0);

    // A pristine snapshot taken two days ago is older than --max-age 24h: refused, naming the pull to run.
    const snapshot = (await drydockCopiesOf(to)).find((c) => c.kind === 'snapshot')!.datname;
    const { rows } = await adminQuery<{ comment: string }>(`SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`, [snapshot]);
    const meta = { ...(JSON.parse(rows[0]!.comment) as Record<string, unknown>), createdAt: new Date(Date.now() - 48 * 3_600_000).toISOString() };
    await adminQuery(`COMMENT ON DATABASE "${snapshot}" IS '${JSON.stringify(meta).replace(/'/g, "''")}'`);
    const old = await runCli(['rehearse', '--to', to, '--dir', dir, '--max-age', '24h'], { env });
    expect(old.exitCode).toBe(2);
    expect(old.stderr).toMatch(/pristine snapshot of \S+ is (48 h|2 d) old, older than --max-age 24 h/);
    expect(old.stderr).toContain(`drydock pull -a APP --to ${to}`);
    expect((await runCli(['rehearse', '--to', to, '--dir', dir, '--max-age', '72h', '--json'], { env, timeoutMs: 180_000 })).exitCode).toBe(1);
  }, 240_000);

  it('a rehearsal killed mid-migration is cleaned up by the next run: the copy is pristine again', async () => {
    const to = await pulled('rh_kill');
    const slow = await migrationsDir({
      '20270101000000_slow.sql': '-- migrate:up\nALTER TABLE items ADD COLUMN note text;\nSELECT pg_sleep(30);\n\n-- migrate:down\nALTER TABLE items DROP COLUMN note;\n',
    });
    const child = spawn(process.execPath, [CLI_PATH, 'rehearse', '--to', to, '--dir', slow], { env: { ...process.env, ...env, CI: 'true', DRYDOCK_SNAPSHOT_SPARE: '0' }, stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    // Kill it once the migration runs on the server (its transaction holds ACCESS EXCLUSIVE on items while it sleeps).
    for (let i = 0; ; i++) {
      const { rows } = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'SELECT pg_sleep(30)%'`, [to]);
      if (Number(rows[0]!.n) > 0) break;
      if (i > 600) throw new Error('the migration never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await exited;
    // The killed run's migration session still sleeps in its transaction on the working database.
    const quick = await migrationsDir({ '20270101000000_a.sql': '-- migrate:up\nALTER TABLE small ADD COLUMN x int;\n\n-- migrate:down\nALTER TABLE small DROP COLUMN x;\n' });
    const next = await runCli(['rehearse', '--no-fresh', '--to', to, '--dir', quick, '--json'], { env, timeoutMs: 180_000 });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(await scalar(to, `SELECT count(*) AS n FROM information_schema.columns WHERE column_name IN ('note', 'x')`)).toBe(0);
    // The killed run's sleeping session was ended by the reset.
    expect((await adminQuery(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'SELECT pg_sleep%'`, [to])).rowCount).toBe(0);
    expect((await drydockCopiesOf(to)).map((c) => c.kind)).toEqual(['snapshot']);

    // Nothing pending: nothing to rehearse, exit 0.
    const none = await migrationsDir({});
    const empty = await runCli(['rehearse', '--no-fresh', '--to', to, '--dir', none], { env, timeoutMs: 180_000 });
    expect(empty.exitCode, empty.stderr).toBe(0);
    expect(empty.stdout).toContain('Nothing pending: there is nothing to rehearse.');
    expect(empty.stdout).toContain('Reversible: yes (nothing to roll back)');
  }, 240_000);

  it('Ctrl-C stops a rehearsal mid-migration (exit 130), cancels the statement and says how the copy is reset', async () => {
    const to = await pulled('rh_int');
    const slow = await migrationsDir({ '20270101000000_slow.sql': '-- migrate:up\nSELECT pg_sleep(30);\n\n-- migrate:down\nSELECT 1;\n' });
    const child = spawn(process.execPath, [CLI_PATH, 'rehearse', '--to', to, '--dir', slow], { env: { ...process.env, ...env, CI: 'true', DRYDOCK_SNAPSHOT_SPARE: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; ; i++) {
      const { rows } = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'SELECT pg_sleep(30)%'`, [to]);
      if (Number(rows[0]!.n) > 0) break;
      if (i > 600) throw new Error('the migration never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    const started = Date.now();
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(stderr).toContain(`interrupted (SIGINT): the rehearsal on ${to} stopped`);
    expect(stderr).toContain(`drydock snapshot restore pristine --to ${to}`);
    expect((await adminQuery(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'SELECT pg_sleep%' AND state = 'active'`, [to])).rowCount).toBe(0);
  }, 240_000);

  it('refuses (exit 2) without a pristine snapshot, naming the pull to run; changes nothing', async () => {
    const to = uniqueDbName('rh_none');
    const dir = await migrationsDir({ '20270101000000_a.sql': '-- migrate:up\nSELECT 1;\n\n-- migrate:down\nSELECT 1;\n' });
    const res = await runCli(['rehearse', '--to', to, '--dir', dir], { env });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toContain(`no pristine snapshot of ${to}`);
    expect(res.stderr).toContain('drydock pull');
  });
});
