/**
 * A copy that is not faithful fails the pull before the swap, naming the object, and leaves the previous
 * working database untouched: the copy is damaged on purpose right after pg_restore's last step (as a bug
 * in drydock would damage it), for a live copy and for a backup.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cachePaths } from '../../src/backups/cache.js';
import type { PgTools } from '../../src/pg/pg-tools.js';
import { runPull, type PullOptions } from '../../src/pipelines/pull.js';
import { adminQuery, createTestDb, drydockCopiesOf, dropTargetAndCopies, execIn, scalar, uniqueDbName, type TestDb } from '../helpers/db.js';
import { previousWorkingDb, pullOptions } from '../helpers/pull.js';
import { backup, FakeHeroku, makeDeps, type TestDeps } from '../helpers/fakes.js';

const APP = 'fid-guard';
const CREATED = '2026-03-01T10:00:00Z';
let source: TestDb;
const cleanups: Array<() => void | Promise<void>> = [];

beforeAll(async () => {
  source = await createTestDb('guard_src');
  cleanups.push(() => source.drop());
  await source.query(`CREATE TABLE users (id int PRIMARY KEY, email text);
    CREATE INDEX users_email_idx ON users (email);
    INSERT INTO users SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 40) g;
    CREATE SEQUENCE tickets; SELECT setval('tickets', 50, false);`);
});

afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});


/** After pg_restore's post-data step into the scratch copy, run `damage` there. */
function damageAfterPostData(pgTools: PgTools, damage: string): void {
  const restore = pgTools.restoreArchive.bind(pgTools);
  pgTools.restoreArchive = async (url, archive, options) => {
    const result = await restore(url, archive, options);
    if ([options.section ?? []].flat().includes('post-data')) {
      const client = new pg.Client({ connectionString: url.href });
      await client.connect();
      await client.query(damage).finally(() => client.end());
    }
    return result;
  };
}

function options(target: string, extra: Partial<PullOptions> = {}): PullOptions {
  return pullOptions(source.url, target, { keepSnapshot: true, ...extra });
}

async function expectUntouched(target: string): Promise<void> {
  expect(await scalar(target, 'SELECT count(*) FROM previous_marker')).toBe(1);
  expect(await drydockCopiesOf(target)).toEqual([]);
}

describe('a copy that differs from its source is never swapped in', () => {
  it('live: a missing index and a changed sequence fail the pull, naming them', async () => {
    const deps: TestDeps = makeDeps({ heroku: new FakeHeroku() });
    cleanups.push(() => deps.cleanup());
    const target = await previousWorkingDb('guard_live', cleanups);
    damageAfterPostData(deps.pgTools, `DROP INDEX public.users_email_idx; SELECT setval('public.tickets', 1, false)`);
    await expect(runPull(deps, options(target))).rejects.toThrow(
      /the copy differs from production in 2 way\(s\): index public\.users_email_idx on users is missing; sequence public\.tickets: last_value\/is_called 50 false in the source, 1 false in the copy/,
    );
    await expectUntouched(target);
  });

  it('backup: a copy whose sequence differs from the archive fails the pull', async () => {
    const heroku = new FakeHeroku();
    heroku.addApp(APP, { databaseUrl: source.url, backups: [backup('b001', CREATED)] });
    const deps: TestDeps = makeDeps({ heroku });
    cleanups.push(() => deps.cleanup());
    // The backup, already in the cache: a real pg_dump -Fc of the source.
    const tool = await deps.pgTools.tool('pg_dump', 15);
    const paths = cachePaths(deps.settings.cacheDir, APP, 'b001');
    mkdirSync(paths.dir, { recursive: true });
    execFileSync(tool.path, ['-Fc', '--no-owner', '-f', paths.file, source.url]);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(paths.meta, JSON.stringify({ app: APP, id: 'b001', file: paths.file, bytes: statSync(paths.file).size, md5: 'x', sha256: 'x', downloadedAt: CREATED, createdAt: CREATED }));
    const target = await previousWorkingDb('guard_backup', cleanups);
    damageAfterPostData(deps.pgTools, `SELECT setval('public.tickets', 7, true)`);
    const backupSource = { kind: 'backup' as const, app: APP, id: 'latest', capture: false, maxAgeMs: 48 * 3_600_000, transferTimeoutMs: 60_000 };
    await expect(runPull(deps, options(target, { source: backupSource }))).rejects.toThrow(
      /the copy differs from the backup in 1 way\(s\): sequence public\.tickets: last_value\/is_called 50 false in the backup, 7 true in the copy/,
    );
    await expectUntouched(target);
  });
});

describe("beyond the reference: production's locale", () => {
  it('creates the copy with the source database encoding and collation', async () => {
    const name = uniqueDbName('guard_locale');
    await adminQuery(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
    cleanups.push(() => dropTargetAndCopies(name));
    await execIn(name, `CREATE TABLE words (w text PRIMARY KEY); INSERT INTO words VALUES ('b'), ('B'), ('a')`);
    const deps: TestDeps = makeDeps({ heroku: new FakeHeroku() });
    cleanups.push(() => deps.cleanup());
    const target = await previousWorkingDb('guard_locale_copy', cleanups);
    const { urlFor } = await import('../helpers/db.js');
    const result = await runPull(deps, options(target, { source: { kind: 'url', url: urlFor(name) }, keepSnapshot: false }));
    expect(result.locale).toMatchObject({ encoding: 'UTF8', collate: 'C', ctype: 'C', matched: true });
    const { rows } = await adminQuery<{ datcollate: string; datctype: string }>('SELECT datcollate, datctype FROM pg_database WHERE datname = $1', [target]);
    expect(rows[0]).toEqual({ datcollate: 'C', datctype: 'C' });
  });
});
