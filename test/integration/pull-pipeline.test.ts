/**
 * runPull in-process: a live copy from a URL or from FakeHeroku's DATABASE_URL into a working database
 * on the test server. The working database is replaced only by a complete copy; a failure before the
 * swap leaves it untouched and drops the scratch copy; dropInBackground tags what was replaced.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { DrydockError, HerokuError } from '../../src/errors.js';
import { LocalServer } from '../../src/local/server.js';
import { runPull, type PullOptions } from '../../src/pipelines/pull.js';
import { listSnapshots, restoreSnapshot, saveSnapshot } from '../../src/pipelines/snapshot.js';
import { adminQuery, drydockCopiesOf, dropTargetAndCopies, execIn, scalar, testServerUrl, uniqueDbName, urlFor, type TestDb } from '../helpers/db.js';
import { createAppDb, previousWorkingDb, pullOptions } from '../helpers/pull.js';
import { FakeHeroku, makeDeps, type TestDeps } from '../helpers/fakes.js';

const APP = 'fake-prod';
let source: TestDb;
const cleanups: Array<() => void | Promise<void>> = [];

beforeAll(async () => {
  source = await createAppDb('pull_src', cleanups, { version: '20260201000000', users: 30, posts: 50, emails: true });
});

afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});


async function listTables(name: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: urlFor(name) });
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
    return rows.map((r) => r.t);
  } finally {
    await client.end();
  }
}

function setup(): { deps: TestDeps; heroku: FakeHeroku } {
  const heroku = new FakeHeroku();
  heroku.addApp(APP, { databaseUrl: source.url });
  const deps = makeDeps({ heroku });
  cleanups.push(() => deps.cleanup());
  return { deps, heroku };
}

function options(target: string, extra: Partial<PullOptions> = {}): PullOptions {
  return pullOptions(source.url, target, { keepSnapshot: false, ...extra });
}

describe('runPull (live copies)', () => {
  it('--from-url: replaces the previous working database with a complete copy and drops the previous one', async () => {
    const { deps, heroku } = setup();
    const target = await previousWorkingDb('pull_url', cleanups);
    const result = await runPull(deps, options(target));
    expect(result.previousDropped).toBe(true);
    expect(result.droppingInBackground).toEqual([]);
    expect(result.rows).toBe(81);
    expect(result.schemaVersion).toBe('20260201000000');
    expect(await listTables(target)).toEqual(['posts', 'schema_migrations', 'users']);
    expect(await scalar(target, 'SELECT count(*) FROM posts')).toBe(50);
    // Nothing left behind: no scratch copy, no previous copy.
    expect(await drydockCopiesOf(target)).toEqual([]);
    expect(heroku.calls).toEqual([]);
  });

  it('live from the app: copies what FakeHeroku\'s DATABASE_URL points at', async () => {
    const { deps, heroku } = setup();
    const target = uniqueDbName('pull_live');
    cleanups.push(() => dropTargetAndCopies(target));
    const result = await runPull(deps, options(target, { source: { kind: 'live', app: APP } }));
    expect(result.source).toBe(`live database of ${APP}`);
    expect(result.previousDropped).toBe(false);
    expect(await scalar(target, 'SELECT count(*) FROM users')).toBe(30);
    expect(heroku.callsOf('databaseUrl').map((c) => c.app)).toEqual([APP]);
    expect(heroku.mutatingCalls()).toEqual([]);
  });

  it('dropInBackground: the replaced working database is kept, tagged "previous", and named in the result', async () => {
    const { deps } = setup();
    const target = await previousWorkingDb('pull_bg', cleanups);
    const result = await runPull(deps, options(target, { dropInBackground: true }));
    expect(result.previousDropped).toBe(true);
    expect(result.droppingInBackground).toHaveLength(1);
    const [previous] = result.droppingInBackground;
    const copies = await drydockCopiesOf(target);
    expect(copies).toEqual([{ datname: previous, kind: 'previous', pid: process.pid }]);
    // It really is the old copy.
    expect(await listTables(previous!)).toEqual(['previous_marker']);
    expect(await listTables(target)).not.toContain('previous_marker');
  });

  it('a Heroku failure (no DATABASE_URL) stops the pull: the working database is untouched, no copy is left', async () => {
    const { deps, heroku } = setup();
    heroku.fail('databaseUrl', new HerokuError('no-database', `app ${APP} has no DATABASE_URL config var`));
    const target = await previousWorkingDb('pull_herr', cleanups);
    await expect(runPull(deps, options(target, { source: { kind: 'live', app: APP } }))).rejects.toThrow(/has no DATABASE_URL config var/);
    expect(await listTables(target)).toEqual(['previous_marker']);
    expect(await drydockCopiesOf(target)).toEqual([]);
  });

  it('a failure during the copy (after the scratch database exists) leaves the working database untouched and drops the scratch copy', async () => {
    const { deps } = setup();
    let scratchSeen: string[] = [];
    const target = await previousWorkingDb('pull_mid', cleanups);
    // pg_restore --list of the schema archive runs after the scratch database is created.
    deps.pgTools.listArchive = async () => {
      scratchSeen = (await drydockCopiesOf(target)).filter((c) => c.kind === 'scratch').map((c) => c.datname);
      throw new Error('injected: pg_restore --list failed');
    };
    await expect(runPull(deps, options(target))).rejects.toThrow(/injected: pg_restore --list failed/);
    expect(scratchSeen).toHaveLength(1);
    expect(await listTables(target)).toEqual(['previous_marker']);
    expect(await scalar(target, 'SELECT count(*) FROM previous_marker')).toBe(1);
    expect(await drydockCopiesOf(target)).toEqual([]);
    const { rows } = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [scratchSeen[0]]);
    expect(rows).toEqual([]);
  });

  it('a dry run copies nothing and keeps the working database', async () => {
    const { deps } = setup();
    const target = await previousWorkingDb('pull_dry', cleanups);
    const result = await runPull(deps, options(target, { dryRun: true }));
    expect(result.dryRun).toBe(true);
    expect(result.plan?.join('\n')).toMatch(/replaced only after the copy is complete and verified/);
    expect(await listTables(target)).toEqual(['previous_marker']);
    expect(await drydockCopiesOf(target)).toEqual([]);
  });

  // Issue 12: the "Keep a pristine snapshot" step retired the previous snapshot before the swap, so a
  // failed swap lost it. Nothing of the previous state may go before the new state is in place.
  it('a swap that fails keeps the previous pristine snapshot; only the new snapshot and the scratch copy are dropped', async () => {
    const { deps } = setup();
    const target = await previousWorkingDb('pull_swapfail', cleanups);
    const first = await runPull(deps, options(target, { keepSnapshot: true }));
    const kept = first.snapshot!;
    expect(await drydockCopiesOf(target)).toEqual([{ datname: kept, kind: 'snapshot' }]);
    // What swapIn throws when the target cannot be renamed (e.g. a prepared transaction holds it).
    const swap = vi.spyOn(LocalServer.prototype, 'swapIn').mockRejectedValueOnce(
      new DrydockError(`could not swap the new copy into ${target}: injected: database "${target}" is being accessed by other users`, { hint: 'close applications' }),
    );
    try {
      await expect(runPull(deps, options(target, { keepSnapshot: true }))).rejects.toThrow(/injected/);
    } finally {
      swap.mockRestore();
    }
    // The previous snapshot is still the pristine one, whole; the working database is the first pull's.
    expect(await drydockCopiesOf(target)).toEqual([{ datname: kept, kind: 'snapshot' }]);
    const { rows } = await adminQuery<{ comment: string; datistemplate: boolean }>(`SELECT shobj_description(oid, 'pg_database') AS comment, datistemplate FROM pg_database WHERE datname = $1`, [kept]);
    expect(JSON.parse(rows[0]!.comment)).toMatchObject({ drydock: 'snapshot', name: 'pristine', target });
    expect(rows[0]!.datistemplate).toBe(true);
    expect(await scalar(target, 'SELECT count(*) FROM users')).toBe(30);
  });

  it('a swap whose transaction fails after the snapshot was promoted rolls the promotion back with it', async () => {
    const { deps } = setup();
    const target = await previousWorkingDb('pull_swaptx', cleanups);
    const first = await runPull(deps, options(target, { keepSnapshot: true }));
    const kept = first.snapshot!;
    // The real swap (the once-implementation is used up, so the inner call is the real one), failing at
    // the end of its transaction: after the renames and the snapshot's new tags.
    const swap = vi.spyOn(LocalServer.prototype, 'swapIn').mockImplementationOnce(function (this: LocalServer, t, replacement, meta, alsoInTransaction) {
      return this.swapIn(t, replacement, meta, async () => {
        await alsoInTransaction?.();
        throw new Error('injected: failure at the end of the swap transaction');
      });
    });
    try {
      await expect(runPull(deps, options(target, { keepSnapshot: true }))).rejects.toThrow(/injected: failure at the end of the swap transaction/);
    } finally {
      swap.mockRestore();
    }
    expect(await drydockCopiesOf(target)).toEqual([{ datname: kept, kind: 'snapshot' }]);
    expect(await listTables(target)).toEqual(['posts', 'schema_migrations', 'users']);
    // And the next pull works, replacing the snapshot then.
    const next = await runPull(deps, options(target, { keepSnapshot: true }));
    expect(await drydockCopiesOf(target)).toEqual([{ datname: next.snapshot, kind: 'snapshot' }]);
  });
});

describe('runPull --scrub', () => {
  /** A scrub file in a temporary folder (removed by cleanups). */
  function scrubFile(sql: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-scrub-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'scrub.sql');
    writeFileSync(file, sql);
    return file;
  }
  const realEmails = (db: string) => scalar(db, `SELECT count(*) FROM users WHERE email LIKE '%@example.com'`);

  it('a failing scrub changes nothing: the working database and its pristine snapshot stay as they were, no copy is left', async () => {
    const { deps } = setup();
    const target = await previousWorkingDb('pull_scrubfail', cleanups);
    const first = await runPull(deps, options(target, { keepSnapshot: true, scrubFile: scrubFile(`UPDATE users SET email = 'user' || id || '@scrubbed.invalid';`) }));
    expect(await realEmails(target)).toBe(0);
    await execIn(target, `CREATE TABLE after_first_pull (x int)`);
    // The scrub's first statement would hide the emails; its second fails: nothing of it may remain.
    const failing = scrubFile(`UPDATE users SET email = NULL;\nSELECT * FROM no_such_table;`);
    const error = await runPull(deps, options(target, { keepSnapshot: true, scrubFile: failing })).then(
      () => undefined,
      (e: unknown) => e as DrydockError,
    );
    // The working database is the first pull's (with the table made since), never the unscrubbed copy.
    expect(await listTables(target)).toEqual(['after_first_pull', 'posts', 'schema_migrations', 'users']);
    expect(await realEmails(target)).toBe(0);
    // The previous pristine snapshot is kept; the scratch copy and the new snapshot are gone.
    expect(await drydockCopiesOf(target)).toEqual([{ datname: first.snapshot, kind: 'snapshot' }]);
    expect(error).toBeInstanceOf(DrydockError);
    expect(error!.message).toMatch(/^scrub failed on the new copy, before the swap: .*no_such_table/);
    expect(error!.hint).toContain(`${target} and its snapshots were not changed`);
  });

  it('the pristine snapshot of a scrubbed pull is the scrubbed copy, labelled so; verification counts production\'s rows before the scrub', async () => {
    const { deps } = setup();
    const target = await previousWorkingDb('pull_scrubsnap', cleanups);
    // A scrub may also delete rows: verification (rows against production) runs before it.
    const file = scrubFile(`UPDATE users SET email = 'user' || id || '@scrubbed.invalid';\nDELETE FROM posts WHERE id > 10;`);
    const result = await runPull(deps, options(target, { keepSnapshot: true, scrubFile: file }));
    expect(result.scrubbed).toBe(true);
    expect(result.rows).toBe(81);
    expect(await realEmails(target)).toBe(0);
    expect(await scalar(target, 'SELECT count(*) FROM posts')).toBe(10);
    // Work on the copy, then reset it from the snapshot: the real emails must not come back.
    await execIn(target, `UPDATE users SET email = 'changed@rehearsal.test'`);
    const flags = { to: target, local: testServerUrl() };
    await restoreSnapshot(deps, 'pristine', flags);
    expect(await realEmails(target)).toBe(0);
    expect(await scalar(target, `SELECT count(*) FROM users WHERE email LIKE '%@scrubbed.invalid'`)).toBe(30);
    expect(await scalar(target, 'SELECT count(*) FROM posts')).toBe(10);
    // No unscrubbed snapshot is kept, and `snapshot list` says the one there is was scrubbed.
    const snapshots = await listSnapshots(deps, flags);
    expect(snapshots.map((s) => [s.name, s.source])).toEqual([['pristine', 'a database URL, scrubbed with scrub.sql']]);
    expect((await drydockCopiesOf(target)).map((c) => c.kind)).toEqual(['snapshot']);
  });
});


describe('sessions on the working database', () => {
  /** A client connected to `database` as an application would be; `ended` resolves with what the pull had written to stderr when the server ended it. */
  async function connectApp(database: string, deps: TestDeps, applicationName: string): Promise<{ pid: number; client: pg.Client; ended: Promise<string> }> {
    const client = new pg.Client({ connectionString: urlFor(database), application_name: applicationName });
    await client.connect();
    const ended = new Promise<string>((resolve) => {
      client.on('error', () => resolve(deps.stderr.text));
      client.on('end', () => resolve(deps.stderr.text));
    });
    cleanups.push(() => client.end().catch(() => undefined));
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    return { pid, client, ended };
  }

  it('a pull names each session it is about to end (pid, user, application, client, state, since) before ending it', async () => {
    const { deps } = setup();
    const target = await previousWorkingDb('pull_sessions', cleanups);
    const first = await connectApp(target, deps, 'rails console');
    const second = await connectApp(target, deps, 'psql');
    await second.client.query('BEGIN');
    const result = await runPull(deps, options(target));
    // Both were ended, and the warning naming them was out before each ended.
    for (const app of [first, second]) {
      const written = await app.ended;
      expect(written).toContain(`ending 2 session(s) connected to ${target} to swap the new copy in:`);
      expect(written).toContain(`pid ${app.pid} `);
    }
    expect(deps.stderr.text).toMatch(new RegExp(`warning:   pid ${first.pid} \\S+ \\(rails console\\) from 127\\.0\\.0\\.1, idle, connected \\d+ s ago \\(since \\d{4}-\\d\\d-\\d\\dT[^)]+Z\\)$`, 'm'));
    expect(deps.stderr.text).toMatch(new RegExp(`warning:   pid ${second.pid} \\S+ \\(psql\\) from 127\\.0\\.0\\.1, idle in transaction, `, 'm'));
    expect(result.sessions.map((x) => [x.pid, x.applicationName, x.state])).toEqual([
      [first.pid, 'rails console', 'idle'],
      [second.pid, 'psql', 'idle in transaction'],
    ]);
    expect(await listTables(target)).toEqual(['posts', 'schema_migrations', 'users']);
  });

  it('a dry run names the sessions the swap would end, and ends none', async () => {
    const { deps } = setup();
    const target = await previousWorkingDb('pull_sessions_dry', cleanups);
    const app = await connectApp(target, deps, 'rehearsal worker');
    const result = await runPull(deps, options(target, { dryRun: true }));
    expect(result.plan).toContain(`sessions: the swap ends the 1 session(s) connected to ${target} (as of now):`);
    expect(result.plan?.some((line) => line.startsWith(`  pid ${app.pid} `) && line.includes('(rehearsal worker)'))).toBe(true);
    expect(result.sessions.map((x) => x.pid)).toEqual([app.pid]);
    expect((await app.client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    // With no session connected, the plan says so.
    await app.client.end();
    const none = await runPull(deps, options(target, { dryRun: true }));
    expect(none.plan).toContain(`sessions: none connected to ${target} now (the swap ends any that are then, naming each first)`);
    expect(none.sessions).toEqual([]);
  });

  it('snapshot save and snapshot restore name the sessions they end, before ending them', async () => {
    const { deps } = setup();
    const target = await previousWorkingDb('snap_sessions', cleanups);
    const flags = { to: target, local: testServerUrl() };
    const saving = await connectApp(target, deps, 'saver');
    await saveSnapshot(deps, 'before', flags);
    const atSave = await saving.ended;
    expect(atSave).toContain(`ending 1 session(s) connected to ${target} to copy it:`);
    expect(atSave).toMatch(new RegExp(`pid ${saving.pid} \\S+ \\(saver\\)`));
    const restoring = await connectApp(target, deps, 'restorer');
    await restoreSnapshot(deps, 'before', flags);
    const atRestore = await restoring.ended;
    expect(atRestore).toContain(`ending 1 session(s) connected to ${target} to put snapshot "before" in its place:`);
    expect(atRestore).toMatch(new RegExp(`pid ${restoring.pid} \\S+ \\(restorer\\)`));
  });
});
