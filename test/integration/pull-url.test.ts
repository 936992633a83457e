/**
 * `drydock pull --from-url` and `drydock snapshot`: the local machinery of pulls, without Heroku.
 * Real PostgreSQL, real pg_dump/pg_restore.
 */
import { spawn } from 'node:child_process';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLI_PATH, runCli } from '../helpers/cli.js';
import { adminQuery, createTestDb, execIn, drydockCopiesOf, scalar, testServerUrl, urlFor, type TestDb, workingDatabases } from '../helpers/db.js';

let source: TestDb;
const { target, dropAll: dropTargets } = workingDatabases();


const env = { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() };

beforeAll(async () => {
  source = await createTestDb('pull_src');
  await source.query(`
    CREATE SCHEMA heroku_ext;
    CREATE EXTENSION citext WITH SCHEMA heroku_ext;
    CREATE TABLE users (id bigserial PRIMARY KEY, email heroku_ext.citext NOT NULL UNIQUE);
    CREATE TABLE events (id bigserial PRIMARY KEY, user_id bigint REFERENCES users (id), payload jsonb);
    CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
    INSERT INTO schema_migrations VALUES ('20260101000000'), ('20260201000000');
    INSERT INTO users (email) SELECT 'u' || g || '@example.com' FROM generate_series(1, 5000) g;
    INSERT INTO events (user_id, payload) SELECT 1 + g % 5000, jsonb_build_object('n', g) FROM generate_series(1, 20000) g;
  `);
});

afterAll(async () => {
  await dropTargets();
  await source?.drop();
});

describe('drydock pull --from-url', () => {
  it('copies a live database into a new local database, verified, with a pristine snapshot', async () => {
    const to = target('pull_new');
    const res = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to, '--json'], { env });
    expect(res.exitCode).toBe(0);
    const result = JSON.parse(res.stdout) as { tables: number; rows: number; schemaVersion: string; snapshot: string };
    expect(result).toMatchObject({ tables: 3, rows: 25002, schemaVersion: '20260201000000' });
    expect(await scalar(to, 'SELECT count(*) AS n FROM events')).toBe(20000);
    expect(await scalar(to, `SELECT count(*) AS n FROM pg_indexes WHERE tablename = 'users'`)).toBe(2);
    expect(await scalar(to, `SELECT nextval('users_id_seq') AS n`)).toBe(5001);
    // Every table with rows has planner statistics (analyzed during the copy or at verification).
    expect(await scalar(to, `SELECT count(*) AS n FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_statistic s WHERE s.starelid = c.oid)`)).toBe(0);
    const copies = await drydockCopiesOf(to);
    expect(copies.map((c) => c.kind)).toEqual(['snapshot']);
  });

  it('replaces an existing database only after the new copy is complete, and resets from the snapshot', async () => {
    const to = target('pull_replace');
    await adminQuery(`CREATE DATABASE "${to}"`);
    expect((await runCli(['pull', '--from-url', source.localhostUrl, '--to', to], { env })).exitCode).toBe(0);
    // Rehearse something destructive, then reset.
    await execIn(to, 'DELETE FROM events; DROP TABLE users CASCADE');
    const reset = await runCli(['snapshot', 'restore', 'pristine', '--to', to], { env });
    expect(reset.exitCode).toBe(0);
    expect(reset.stdout).toMatch(/reset to snapshot "pristine" in [\d.]+ s/);
    expect(await scalar(to, 'SELECT count(*) AS n FROM events')).toBe(20000);
    expect(await scalar(to, 'SELECT count(*) AS n FROM users')).toBe(5000);
    const list = await runCli(['snapshot', 'list', '--to', to, '--json'], { env });
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: 'pristine', target: to })]);
    expect((await drydockCopiesOf(to)).map((x) => x.kind)).toEqual(['snapshot']);
  });

  it('hands the pristine snapshot to a background process: a client that writes the moment the pull returns waits for it, and the snapshot is what was pulled', async () => {
    const to = target('pull_handoff');
    const spareEnv = { ...env, DRYDOCK_SNAPSHOT_SPARE: '1' };
    const res = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to, '--json'], { env: spareEnv });
    expect(res.exitCode).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ snapshotPending: true });
    // At once: this connection waits while the snapshot is copied (it is neither refused nor first).
    await execIn(to, 'DELETE FROM events');
    expect(await scalar(to, 'SELECT count(*) AS n FROM events')).toBe(0);
    for (let i = 0; i < 150 && !(await drydockCopiesOf(to)).some((c) => c.kind === 'snapshot'); i++) await new Promise((r) => setTimeout(r, 200));
    const reset = await runCli(['snapshot', 'restore', 'pristine', '--to', to], { env: spareEnv });
    expect(reset.exitCode).toBe(0);
    expect(await scalar(to, 'SELECT count(*) AS n FROM events')).toBe(20000);
    const list = JSON.parse((await runCli(['snapshot', 'list', '--to', to, '--json'], { env })).stdout) as Array<{ name: string; source: string }>;
    expect(list).toEqual([expect.objectContaining({ name: 'pristine', source: 'a database URL' })]);
  });

  it('takes the snapshot itself, and says so, when the background process does not start the copy in time', async () => {
    const to = target('pull_handoff_late');
    const lateEnv = { ...env, DRYDOCK_SNAPSHOT_SPARE: '1', DRYDOCK_TEST_PAUSE_AT: 'before-snapshot-take', DRYDOCK_SNAPSHOT_HANDOFF_TIMEOUT: '1s' };
    const res = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to, '--json'], { env: lateEnv });
    expect(res.exitCode).toBe(0);
    expect(res.stderr).toContain('taking the pristine snapshot here instead of in the background');
    const result = JSON.parse(res.stdout) as { snapshot?: string; snapshotPending?: boolean };
    expect(result.snapshotPending).toBeUndefined();
    expect(result.snapshot).toMatch(/^drydock_snap_/);
    // The paused taker was stopped; the working copy is open, and its snapshot is the pull's.
    expect((await adminQuery(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [`drydock snapshot take ${to}`.slice(0, 63)])).rows).toHaveLength(0);
    await execIn(to, 'DELETE FROM events');
    expect((await runCli(['snapshot', 'restore', 'pristine', '--to', to], { env })).exitCode).toBe(0);
    expect(await scalar(to, 'SELECT count(*) AS n FROM events')).toBe(20000);
  });

  it('resets by renaming a copy prepared in the background, then prepares the next one', async () => {
    const to = target('pull_spare');
    const spareEnv = { ...env, DRYDOCK_SNAPSHOT_SPARE: '1' };
    const readySpare = async (exclude?: string): Promise<string> => {
      for (let i = 0; i < 150; i++) {
        const copies = await drydockCopiesOf(to);
        const spare = copies.find((c) => c.kind === 'spare' && !c.pid && c.datname !== exclude);
        if (spare && !copies.some((c) => c.kind === 'previous')) return spare.datname;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`no spare for ${to}: ${JSON.stringify(await drydockCopiesOf(to))}`);
    };
    expect((await runCli(['pull', '--from-url', source.localhostUrl, '--to', to], { env: spareEnv })).exitCode).toBe(0);
    const first = await readySpare();
    await execIn(to, 'DELETE FROM events');
    const reset = await runCli(['snapshot', 'restore', 'pristine', '--to', to], { env: spareEnv });
    expect(reset.exitCode).toBe(0);
    expect(reset.stdout).toContain('(from the copy prepared in the background)');
    expect(await scalar(to, 'SELECT count(*) AS n FROM events')).toBe(20000);
    const second = await readySpare(first);
    expect(second).not.toBe(first);
    // A second pull returns without dropping gigabytes: the previous working copy and the previous
    // pristine snapshot are tagged for the background preparation, which drops them.
    const oldSnapshot = (await drydockCopiesOf(to)).find((c) => c.kind === 'snapshot')!.datname;
    const again = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to, '--json'], { env: spareEnv });
    expect(again.exitCode).toBe(0);
    const result = JSON.parse(again.stdout) as { previousDropped: boolean; droppingInBackground: string[]; snapshot?: string; snapshotPending?: boolean };
    expect(result.previousDropped).toBe(true);
    expect(result.droppingInBackground).toHaveLength(2);
    expect(result.droppingInBackground).toContain(oldSnapshot);
    // The new pristine snapshot is taken by the background process the pull handed it to.
    expect(result.snapshotPending).toBe(true);
    expect(result.snapshot).toBeUndefined();
    await readySpare(second);
    const snapshots = (await drydockCopiesOf(to)).filter((c) => c.kind === 'snapshot').map((c) => c.datname);
    expect(snapshots).toHaveLength(1);
    expect(snapshots).not.toContain(oldSnapshot);
    const left = (await drydockCopiesOf(to)).map((c) => c.datname);
    for (const replaced of result.droppingInBackground) expect(left).not.toContain(replaced);
    expect(await scalar(to, 'SELECT count(*) AS n FROM events')).toBe(20000);
    const rm = await runCli(['snapshot', 'rm', 'pristine', '--to', to], { env: spareEnv });
    expect(rm.exitCode).toBe(0);
    expect(await drydockCopiesOf(to)).toEqual([]);
  });

  it('leaves out the data of excluded tables but keeps their schema', async () => {
    const to = target('pull_exclude');
    const res = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to, '--exclude-table-data', 'events', '--no-snapshot'], { env });
    expect(res.exitCode).toBe(0);
    expect(await scalar(to, 'SELECT count(*) AS n FROM events')).toBe(0);
    expect(await scalar(to, 'SELECT count(*) AS n FROM users')).toBe(5000);
    expect(await drydockCopiesOf(to)).toEqual([]);
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const to = target('pull_dry');
    const res = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to, '--dry-run'], { env });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('Plan (dry run, nothing changed):');
    expect(res.stdout).toContain(`target: ${to}`);
    expect((await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [to])).rows).toEqual([]);
    expect(await drydockCopiesOf(to)).toEqual([]);
  });

  it('saves, lists and removes named snapshots', async () => {
    const to = target('pull_snap');
    expect((await runCli(['pull', '--from-url', source.localhostUrl, '--to', to, '--no-snapshot'], { env })).exitCode).toBe(0);
    expect((await runCli(['snapshot', 'save', 'before-migration', '--to', to], { env })).exitCode).toBe(0);
    const again = await runCli(['snapshot', 'save', 'before-migration', '--to', to], { env });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
    expect((await runCli(['snapshot', 'rm', 'before-migration', '--to', to], { env })).exitCode).toBe(0);
    const missing = await runCli(['snapshot', 'restore', 'before-migration', '--to', to], { env });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^error: no snapshot "before-migration"/m);
  });

  it('refuses an --exclude-table-data pattern that names no table, before anything changes (in the dry run too)', async () => {
    const to = target('pull_excl_typo');
    await adminQuery(`CREATE DATABASE "${to}"`);
    await execIn(to, `CREATE TABLE previous_marker (note text)`);
    const cases: Array<[string, RegExp]> = [
      ['evnts', /^error: --exclude-table-data "evnts" \(did you mean "events"\?\): it names no table of the source database$/m],
      ['public.usrs,events', /^error: --exclude-table-data "public\.usrs" \(did you mean "public\.users"\?\): it names no table of the source database$/m],
      ['event_*', /^error: --exclude-table-data "event_\*": it names no table of the source database$/m],
    ];
    for (const [i, [patterns, message]] of cases.entries()) {
      for (const dry of i === 0 ? [[], ['--dry-run']] : [['--dry-run']]) {
        const res = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to, '--exclude-table-data', patterns, ...dry], { env });
        expect(res.exitCode, `${patterns} ${dry.join(' ')}`).toBe(2);
        expect(res.stderr).toMatch(message);
        expect(res.stderr).toMatch(/^hint: .*nothing was changed$/m);
        expect(res.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
      }
    }
    expect(await scalar(to, 'SELECT count(*) AS n FROM pg_tables WHERE tablename = $$previous_marker$$')).toBe(1);
    expect(await drydockCopiesOf(to)).toEqual([]);
    // A pattern with * that names tables is accepted.
    const ok = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to, '--exclude-table-data', 'ev*', '--no-snapshot'], { env });
    expect(ok.exitCode).toBe(0);
    expect(await scalar(to, 'SELECT count(*) AS n FROM events')).toBe(0);
  });

  it('--exclude-table-data naming a partitioned table leaves out its partitions\' rows (nested ones too), and copies the rest', async () => {
    const partitioned = await createTestDb('pull_src_parts');
    try {
      await partitioned.query(`
        CREATE TABLE accounts (id int PRIMARY KEY);
        INSERT INTO accounts SELECT generate_series(1, 10);
        CREATE TABLE measurements (at date NOT NULL, city int NOT NULL, v int) PARTITION BY RANGE (at);
        CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        CREATE TABLE measurements_2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01') PARTITION BY LIST (city);
        CREATE TABLE measurements_2026_a PARTITION OF measurements_2026 FOR VALUES IN (1);
        CREATE TABLE measurements_2026_b PARTITION OF measurements_2026 DEFAULT;
        INSERT INTO measurements SELECT date '2025-06-01' + (g % 500), g % 3, g FROM generate_series(1, 3000) g;
      `);
      const to = target('pull_excl_parts');
      const res = await runCli(['pull', '--from-url', partitioned.localhostUrl, '--to', to, '--exclude-table-data', 'measurements', '--no-snapshot'], { env });
      expect(res.stderr).not.toMatch(/^error:/m);
      expect(res.exitCode).toBe(0);
      expect(await scalar(to, 'SELECT count(*) AS n FROM measurements')).toBe(0);
      expect(await scalar(to, 'SELECT count(*) AS n FROM accounts')).toBe(10);
      // The partitions are all there, empty: the schema is production's.
      expect(await scalar(to, `SELECT count(*) AS n FROM pg_class WHERE relname LIKE 'measurements_%' AND relkind IN ('r', 'p')`)).toBe(4);
      // A sub-partitioned table's name stands for its own partitions only.
      const to2 = target('pull_excl_subparts');
      expect((await runCli(['pull', '--from-url', partitioned.localhostUrl, '--to', to2, '--exclude-table-data', 'public.measurements_2026', '--no-snapshot'], { env })).exitCode).toBe(0);
      expect(await scalar(to2, 'SELECT count(*) AS n FROM measurements_2026')).toBe(0);
      expect(await scalar(to2, 'SELECT count(*) AS n FROM measurements_2025')).toBe(await partitioned.query(`SELECT count(*)::int AS n FROM measurements_2025`).then((r) => (r.rows[0] as { n: number }).n));
    } finally {
      await partitioned.drop();
    }
  });

  it('--json: the sessions the swap ends are in the result, and named on stderr before they end', async () => {
    const to = target('pull_sessions_json');
    await adminQuery(`CREATE DATABASE "${to}"`);
    const app = new pg.Client({ connectionString: urlFor(to), application_name: 'json-watcher' });
    await app.connect();
    app.on('error', () => undefined);
    try {
      const pid = (await app.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const dry = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to, '--dry-run', '--json'], { env });
      expect(dry.exitCode).toBe(0);
      const plan = JSON.parse(dry.stdout) as { sessions: Array<{ pid: number; applicationName: string }>; plan: string[] };
      expect(plan.sessions.map((x) => [x.pid, x.applicationName])).toEqual([[pid, 'json-watcher']]);
      const res = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to, '--no-snapshot', '--json'], { env });
      expect(res.exitCode).toBe(0);
      const result = JSON.parse(res.stdout) as { sessions: Array<{ pid: number; applicationName: string; user: string; state: string; since: string }> };
      expect(result.sessions).toEqual([expect.objectContaining({ pid, applicationName: 'json-watcher', state: 'idle' })]);
      expect(res.stderr).toMatch(new RegExp(`warning: ending 1 session\\(s\\) connected to ${to} to swap the new copy in:\\n.*warning:   pid ${pid} `));
    } finally {
      await app.end().catch(() => undefined);
    }
  });

  it('snapshot list without --to or -a lists every working database\'s snapshots, grouped by database', async () => {
    const [a, b] = [target('snap_all_a'), target('snap_all_b')];
    for (const db of [a, b]) {
      await adminQuery(`CREATE DATABASE "${db}"`);
      expect((await runCli(['snapshot', 'save', 'first', '--to', db], { env })).exitCode).toBe(0);
    }
    expect((await runCli(['snapshot', 'save', 'second', '--to', a], { env })).exitCode).toBe(0);
    const json = await runCli(['snapshot', 'list', '--json'], { env });
    expect(json.exitCode).toBe(0);
    const mine = (JSON.parse(json.stdout) as Array<{ name: string; target: string }>).filter((x) => x.target === a || x.target === b);
    expect(mine.map((x) => [x.target, x.name])).toEqual([[a, 'first'], [a, 'second'], [b, 'first']].sort((x, y) => (x[0]! < y[0]! ? -1 : x[0]! > y[0]! ? 1 : 0)));
    // People see each working database once, its snapshots under it.
    const human = await runCli(['snapshot', 'list'], { env });
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^${a}\\n  first +[\\d.]+ MB .*saved from ${a}\\n  second +[\\d.]+ MB .*saved from ${a}$`, 'm'));
    expect(human.stdout).toMatch(new RegExp(`^${b}\\n  first +[\\d.]+ MB .*saved from ${b}$`, 'm'));
    // --to still lists one working database's.
    const one = await runCli(['snapshot', 'list', '--to', b, '--json'], { env });
    expect((JSON.parse(one.stdout) as Array<{ target: string }>).map((x) => x.target)).toEqual([b]);
  });

  it('a missing target names the command that needs it', async () => {
    const cases: Array<[string[], string]> = [
      [['snapshot', 'restore', 'pristine'], 'snapshot restore'],
      [['snapshot', 'save', 'before'], 'snapshot save'],
      [['snapshot', 'rm', 'before'], 'snapshot rm'],
      [['pull', '--from-url', source.localhostUrl], 'pull'],
    ];
    for (const [args, command] of cases) {
      const res = await runCli(args, { env });
      expect(res.exitCode, command).toBe(2);
      expect(res.stderr).toMatch(new RegExp(`^error: ${command} needs a target database: --to NAME, or -a APP for the app's own`, 'm'));
      expect(res.stderr).toMatch(new RegExp(`^hint: for example drydock ${command} --to myapp_development$`, 'm'));
    }
  });

  it('rejects bad targets and sources with one-line errors', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['pull', '--from-url', 'postgres://u:secretpw@db.example.com:99999/x', '--to', 'ok_name'], /invalid port/],
      [['pull', '--from-url', source.localhostUrl, '--to', 'bad name; drop'], /not a usable database name/],
      [['pull', '--from-url', source.localhostUrl, '--to', 'drydock_snap_mine'], /reserved/],
      [['pull', '--from-url', source.localhostUrl, '--to', 'x_y', '--jobs', '0'], /--jobs must be/],
    ];
    for (const [args, message] of cases) {
      const res = await runCli(args, { env });
      expect(res.exitCode).toBe(2);
      expect(res.stderr).toMatch(message);
      expect(res.stderr).not.toContain('secretpw');
    }
  });
});

describe('a pull killed at any moment', () => {
  async function killAt(point: string, to: string): Promise<void> {
    await new Promise<void>((resolvePromise, reject) => {
      const child = spawn(process.execPath, [CLI_PATH, 'pull', '--from-url', source.localhostUrl, '--to', to], {
        env: { ...process.env, ...env, CI: 'true', DRYDOCK_TEST_PAUSE_AT: point },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes(`paused at ${point}`)) child.kill('SIGKILL');
      });
      child.on('exit', () => (stderr.includes(`paused at ${point}`) ? resolvePromise() : reject(new Error(`never paused at ${point}: ${stderr}`))));
    });
  }

  for (const point of ['during-restore', 'before-swap']) {
    it(`leaves the previous database intact when killed ${point.replace('-', ' ')}, and the next pull cleans up`, async () => {
      const to = target(`kill_${point.replace('-', '_')}`);
      await adminQuery(`CREATE DATABASE "${to}"`);
      await execIn(to, `CREATE TABLE precious (id int); INSERT INTO precious VALUES (1), (2), (3)`);

      await killAt(point, to);
      expect(await scalar(to, 'SELECT count(*) AS n FROM precious')).toBe(3);
      const leftovers = await drydockCopiesOf(to);
      expect(leftovers.some((l) => l.kind === 'scratch')).toBe(true);

      const next = await runCli(['pull', '--from-url', source.localhostUrl, '--to', to, '--no-snapshot'], { env });
      expect(next.exitCode).toBe(0);
      expect(next.stdout).toMatch(/Dropped \d leftover\(s\) of interrupted pulls/);
      expect(await scalar(to, 'SELECT count(*) AS n FROM events')).toBe(20000);
      expect((await drydockCopiesOf(to)).filter((l) => l.kind !== 'snapshot')).toEqual([]);
    });
  }
});
