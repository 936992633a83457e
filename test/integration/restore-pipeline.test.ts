/**
 * The restore pipeline in-process, against FakeHeroku and a real test database as the app's database:
 * which backup is chosen, refusals before anything changes, dry runs, and putting maintenance and
 * process counts back after a failed step. The backup archive is a real `pg_dump -Fc` of the app's
 * database, placed in the cache so nothing is downloaded.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cachePaths } from '../../src/backups/cache.js';
import { planRestore, restore, runRestore, type RestoreOptions } from '../../src/pipelines/restore.js';
import { type TestDb } from '../helpers/db.js';
import { createAppDb } from '../helpers/pull.js';
import { backup, FakeHeroku, makeDeps, type TestDeps } from '../helpers/fakes.js';

const APP = 'fake-prod';

const BACKUPS = [
  // Newest first, as Heroku lists them: a restore and a failed backup newer than the newest completed one.
  backup('r005', '2026-03-01T10:00:00Z'),
  backup('b004', '2026-03-01T09:00:00Z', { status: 'failed' }),
  backup('b003', '2026-03-01T08:00:00Z'),
  backup('a002', '2026-02-28T08:00:00Z'),
  backup('b001', '2026-02-27T08:00:00Z'),
];

let appDb: TestDb;
let archive: { file: string; bytes: number } | undefined;
let serverVersion: string;
const cleanups: Array<() => void | Promise<void>> = [];

beforeAll(async () => {
  appDb = await createAppDb('restore_app', cleanups, { version: '20260101000000', users: 25, posts: 40, emails: true });
  serverVersion = (await appDb.query<{ v: string }>('SELECT current_setting(\'server_version\') AS v')).rows[0]!.v.split(' ')[0]!;
});

afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

interface Setup {
  deps: TestDeps;
  heroku: FakeHeroku;
  options: RestoreOptions;
}

/** FakeHeroku with APP pointing at the app database, deps, and restore options (overridable). */
function setup(overrides: Partial<RestoreOptions> = {}): Setup {
  const heroku = new FakeHeroku();
  heroku.addApp(APP, { databaseUrl: appDb.url, backups: BACKUPS.map((b) => ({ ...b })), formation: { web: 2, worker: 1 }, pgVersion: serverVersion });
  const deps = makeDeps({ heroku, flags: { app: APP } });
  cleanups.push(() => deps.cleanup());
  const options: RestoreOptions = {
    app: APP,
    backup: 'latest',
    database: 'DATABASE_URL',
    maintenance: true,
    scaleDown: ['worker'],
    safetyBackup: true,
    dryRun: false,
    transferTimeoutMs: 60_000,
    confirm: async () => true,
    ...overrides,
  };
  return { deps, heroku, options };
}

/** A real archive of the app database, placed in `deps`'s cache as backup `id` (so the read step downloads nothing). */
async function seedCache(deps: TestDeps, id: string): Promise<void> {
  if (!archive) {
    const tool = await deps.pgTools.tool('pg_dump', Number(serverVersion.split('.')[0]));
    const file = `${deps.settings.cacheDir}-archive.dump`;
    execFileSync(tool.path, ['-Fc', '--no-owner', '-f', file, appDb.url]);
    archive = { file, bytes: statSync(file).size };
    cleanups.push(() => rmSync(file, { force: true }));
  }
  const paths = cachePaths(deps.settings.cacheDir, APP, id);
  mkdirSync(paths.dir, { recursive: true });
  execFileSync('cp', [archive.file, paths.file]);
  const createdAt = BACKUPS.find((b) => b.id === id)?.createdAt;
  writeFileSync(paths.meta, JSON.stringify({ app: APP, id, file: paths.file, bytes: archive.bytes, md5: 'x', sha256: 'x', downloadedAt: new Date().toISOString(), createdAt }));
}

describe('restore: which backup', () => {
  it("'latest' is the newest completed backup (not a newer failed one, not a restore)", async () => {
    const { deps, options } = setup();
    const { backup: chosen, plan } = await planRestore(deps, options);
    expect(chosen.id).toBe('b003');
    expect(plan.backup.id).toBe('b003');
    // The fixed clock is 2026-03-01T12:00:00Z: b003 is 4 hours old.
    expect(plan.backup.ageHours).toBe(4);
    expect(plan.steps.join('\n')).toMatch(/capture a safety backup/);
    expect(plan.steps.join('\n')).toMatch(/turn maintenance mode on/);
    expect(plan.steps.join('\n')).toMatch(/scale worker to 0/);
  });

  it('a given id is used as given (case-insensitive), even when older', async () => {
    const { deps, options } = setup({ backup: 'A002' });
    expect((await planRestore(deps, options)).backup.id).toBe('a002');
  });

  it('a failed backup is refused before anything changes', async () => {
    const { deps, heroku, options } = setup({ backup: 'b004' });
    await expect(runRestore(deps, options)).rejects.toThrow(/backup b004 of fake-prod is failed, not completed/);
    // Only reads (the backups, and the database they must be of) ran, all at once.
    expect(heroku.mutatingCalls()).toEqual([]);
    expect(new Set(heroku.calls.map((c) => c.method))).toEqual(new Set(['listBackups', 'pgInfo', 'databaseUrl', 'formation']));
  });

  it('a missing id is refused before anything changes', async () => {
    const { deps, heroku, options } = setup({ backup: 'b999' });
    await expect(runRestore(deps, options)).rejects.toThrow(/backup b999 not found for fake-prod/);
    // Only reads (the backups, and the database they must be of) ran, all at once.
    expect(heroku.mutatingCalls()).toEqual([]);
    expect(new Set(heroku.calls.map((c) => c.method))).toEqual(new Set(['listBackups', 'pgInfo', 'databaseUrl', 'formation']));
  });

  it('an app without a completed backup is refused', async () => {
    const { deps, heroku, options } = setup();
    heroku.apps.get(APP)!.backups = [backup('b001', '2026-02-27T08:00:00Z', { status: 'failed' })];
    await expect(runRestore(deps, options)).rejects.toThrow(/fake-prod has no completed backup/);
    expect(heroku.mutatingCalls()).toEqual([]);
  });
});

describe('restore: refusals and dry runs', () => {
  it('a dry run returns the plan and calls no mutating Heroku method', async () => {
    let asked = false;
    const { deps, heroku, options } = setup({
      dryRun: true,
      confirm: async () => {
        asked = true;
        return true;
      },
    });
    const result = await runRestore(deps, options);
    expect(result.dryRun).toBe(true);
    expect(result.plan.backup.id).toBe('b003');
    expect(result.verified).toBeUndefined();
    expect(asked).toBe(false);
    expect(heroku.mutatingCalls()).toEqual([]);
    expect(heroku.callsOf('backupUrl', 'maintenance')).toEqual([]);
    // It checked what the run will need, read-only: the process types to scale down, the database, a pg_restore.
    expect(heroku.callsOf('formation')).toHaveLength(1);
    expect(result.plan.checks.join('\n')).toMatch(/process type\(s\) worker exist \(web=2 worker=1\)\n.*DATABASE_URL exists and drydock can connect to it.*\npg_restore \S+ reads PostgreSQL \d+ backups/);
  });

  it('an unconfirmed restore changes nothing', async () => {
    const { deps, heroku, options } = setup({ confirm: async () => false });
    await expect(runRestore(deps, options)).rejects.toThrow(/restore of fake-prod not confirmed/);
    expect(heroku.mutatingCalls()).toEqual([]);
  });

  it('restore(): a malformed id or a wrong --confirm is refused before Heroku is asked anything', async () => {
    const { deps, heroku } = setup();
    await expect(restore(deps, { backup: 'latest; drop' }, () => undefined)).rejects.toThrow(/is not a backup id/);
    await expect(restore(deps, { backup: 'b003', confirm: 'other-app' }, () => undefined)).rejects.toThrow(/--confirm other-app does not match the app fake-prod/);
    expect(heroku.calls).toEqual([]);
  });

  it('restore(): without --confirm and without a terminal (CI) it refuses after showing the plan', async () => {
    const { deps, heroku } = setup();
    const shown: string[] = [];
    await expect(restore(deps, { backup: 'b003' }, (plan) => shown.push(plan.backup.id))).rejects.toThrow(/restore of fake-prod needs --confirm fake-prod/);
    expect(shown).toEqual(['b003']);
    expect(heroku.mutatingCalls()).toEqual([]);
  });
});

describe('restore: running it', () => {
  it('succeeds: safety backup, maintenance on and worker at 0 during the restore, verified row counts, state put back', async () => {
    const { deps, heroku, options } = setup();
    await seedCache(deps, 'b003');
    const during: Array<{ maintenance: boolean; formation: Record<string, number> }> = [];
    heroku.fail('restoreBackup', () => {
      const app = heroku.apps.get(APP)!;
      during.push({ maintenance: app.maintenance, formation: { ...app.formation } });
      return undefined;
    });
    const result = await runRestore(deps, options);
    expect(heroku.callsOf('backupUrl')).toEqual([]); // read from the cache
    expect(during).toEqual([{ maintenance: true, formation: { web: 2, worker: 0 } }]);
    expect(heroku.callsOf('restoreBackup').map((c) => c.args)).toEqual([['b003', 'DATABASE_URL', APP]]);
    expect(result.verified).toEqual({ schemaVersion: '20260101000000', tables: 3, rowsChecked: 66 });
    expect(result.safetyBackup).toBe('b100');
    expect(result.undo).toBe(`drydock restore b100 -a ${APP} --confirm ${APP}`);
    expect(result.stateRestored).toEqual({ maintenance: false, formation: { web: 2, worker: 1 } });
    const app = heroku.apps.get(APP)!;
    expect(app.maintenance).toBe(false);
    expect(app.formation).toEqual({ web: 2, worker: 1 });
  });

  it("a failing Heroku restore puts maintenance and formation back, and the error says what changed (with the way back to the data from before)", async () => {
    const { deps, heroku, options } = setup();
    await seedCache(deps, 'b003');
    heroku.fail('restoreBackup', new Error('An error occurred and the backup did not finish'));
    const error = (await runRestore(deps, options).catch((e: unknown) => e)) as Error & { hint?: string };
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe(
      "An error occurred and the backup did not finish; the restore of b003 into fake-prod's DATABASE_URL was started and did not finish: the database may be partly restored; maintenance and process counts were put back as they were; safety backup b100 was captured: it holds the data as it was BEFORE this restore",
    );
    expect(error.hint).toMatch(/to go back to the data from before this restore: drydock restore b100 -a fake-prod --confirm fake-prod; to try again: drydock restore b003 -a fake-prod --confirm fake-prod/);
    const app = heroku.apps.get(APP)!;
    expect(app.maintenance).toBe(false);
    expect(app.formation).toEqual({ web: 2, worker: 1 });
    expect(heroku.callsOf('setMaintenance').map((c) => c.args)).toEqual([[true], [false]]);
  });

  it('a verify mismatch (the database does not hold the backup) fails and still puts the state back', async () => {
    const { deps, heroku, options } = setup({ scaleDown: [] });
    await seedCache(deps, 'b003');
    // The "restored" database has one user more than the archive (which was dumped before this insert).
    await appDb.query(`INSERT INTO users VALUES (1000, 'extra@example.com')`);
    try {
      const error = (await runRestore(deps, options).catch((e: unknown) => e)) as Error;
      expect(error.message).toMatch(/the restore did not produce the backup's data: public\.users: 26 \(backup: 25\)/);
      expect(error.message).toMatch(/maintenance and process counts were put back as they were/);
      expect(heroku.apps.get(APP)!.maintenance).toBe(false);
    } finally {
      await appDb.query('DELETE FROM users WHERE id = 1000');
    }
  });

  it('when putting the state back fails too, the error says what to do by hand', async () => {
    const { deps, heroku, options } = setup({ safetyBackup: false });
    await seedCache(deps, 'b003');
    heroku.fail('restoreBackup', new Error('restore exploded'));
    heroku.fail('setMaintenance', (call) => (call.args[0] === false ? new Error('API rate limit') : undefined));
    const error = (await runRestore(deps, options).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/^restore exploded; the restore of b003 .* did not finish: the database may be partly restored; ALSO could not put maintenance\/processes back \(API rate limit\): run `heroku maintenance:off -a fake-prod`/);
    expect(error.message).not.toMatch(/safety backup/);
    expect(heroku.apps.get(APP)!.maintenance).toBe(true);
    expect(heroku.callsOf('captureBackup')).toEqual([]);
  });

  it('an unknown --scale-down process type is refused before any change, in a dry run too', async () => {
    for (const dryRun of [true, false]) {
      const { deps, heroku, options } = setup({ scaleDown: ['worker', 'clock'], dryRun });
      await seedCache(deps, 'b003');
      const error = (await runRestore(deps, options).catch((e: unknown) => e)) as Error & { hint?: string };
      expect(error.message).toBe('fake-prod has no process type(s) clock to scale down');
      expect(error.hint).toBe('its process types: web, worker; fix --scale-down; nothing was changed');
      // No safety backup either: checks come before the first change.
      expect(heroku.mutatingCalls()).toEqual([]);
    }
  });

  it('a missing attachment or an unreachable database is refused before any change, in a dry run too', async () => {
    for (const dryRun of [true, false]) {
      const missing = setup({ database: 'HEROKU_POSTGRESQL_RED', dryRun });
      const error = (await runRestore(missing.deps, missing.options).catch((e: unknown) => e)) as Error & { hint?: string };
      expect(error.message).toBe("cannot restore into fake-prod's HEROKU_POSTGRESQL_RED: app fake-prod has no HEROKU_POSTGRESQL_RED_URL config var");
      expect(error.hint).toMatch(/nothing was changed$/);
      expect(missing.heroku.mutatingCalls()).toEqual([]);

      const down = setup({ dryRun });
      down.heroku.apps.get(APP)!.configVars.DATABASE_URL = 'postgres://postgres@127.0.0.1:1/nowhere';
      const refused = (await runRestore(down.deps, down.options).catch((e: unknown) => e)) as Error & { hint?: string };
      expect(refused.message).toMatch(/^cannot connect to fake-prod's DATABASE_URL, so a restore could not be verified: /);
      expect(refused.hint).toMatch(/nothing was changed$/);
      expect(down.heroku.mutatingCalls()).toEqual([]);
    }
  });

  it('a failure after the safety backup says the database was not changed and that the safety backup is no undo', async () => {
    const { deps, heroku, options } = setup();
    await seedCache(deps, 'b003');
    heroku.fail('setMaintenance', (call) => (call.args[0] === true ? new Error('API rate limit') : undefined));
    const error = (await runRestore(deps, options).catch((e: unknown) => e)) as Error & { hint?: string };
    expect(error.message).toBe(
      "API rate limit; fake-prod's DATABASE_URL was not changed (the restore of b003 never started); maintenance and process counts were put back as they were; safety backup b100 was captured: it holds the data as it was BEFORE this restore",
    );
    expect(error.hint).toBe('fix the problem and run `drydock restore b003 -a fake-prod --confirm fake-prod` again (b100 is no undo: nothing needs undoing)');
    expect(heroku.callsOf('restoreBackup')).toEqual([]);
    expect(heroku.apps.get(APP)!.formation).toEqual({ web: 2, worker: 1 });
  });

  it("the safety backup is recorded: 'latest' then passes over it and the plan says so; named, it is marked", async () => {
    const { deps, heroku, options } = setup({ maintenance: false, scaleDown: [] });
    await seedCache(deps, 'b003');
    const first = await runRestore(deps, options);
    expect(first.safetyBackup).toBe('b100');
    // The fake's capture is newer than every other backup and no restore follows it in the fake's list:
    // only the record on this machine says what it is.
    expect(heroku.apps.get(APP)!.backups[0]!.id).toBe('b100');
    const { plan, backup: chosen } = await planRestore(deps, { ...options, dryRun: true });
    expect(chosen.id).toBe('b003');
    expect(plan.skipped.map((x) => x.id)).toEqual(['b100']);
    expect(plan.skipped[0]!.why).toMatch(/^safety backup before restore of b003 at /);
    const named = await planRestore(deps, { ...options, backup: 'b100', dryRun: true });
    expect(named.plan.backup.safety).toMatch(/^safety backup before restore of b003 at /);
  });

  it('a backup that cannot be read (no URL, not cached) stops before the safety backup and before any state change', async () => {
    const { deps, heroku, options } = setup();
    await expect(runRestore(deps, options)).rejects.toThrow(/no URL for backup b003/);
    expect(heroku.mutatingCalls()).toEqual([]);
  });
});
