/**
 * Shared pieces of the in-process pull tests: a working database holding a "previous copy", and the
 * options of a live copy from a URL.
 */
import { parseDatabaseUrl } from '../../src/pg/url.js';
import type { PullOptions } from '../../src/pipelines/pull.js';
import { adminQuery, createTestDb, dropTargetAndCopies, execIn, testServerUrl, uniqueDbName, type TestDb } from './db.js';

/** A working database holding the previous copy (a marker table no source has); `cleanups` drops it and drydock's copies of it. */
export async function previousWorkingDb(label: string, cleanups: Array<() => void | Promise<void>>): Promise<string> {
  const target = uniqueDbName(label);
  cleanups.push(() => dropTargetAndCopies(target));
  await adminQuery(`CREATE DATABASE "${target}"`);
  await execIn(target, `CREATE TABLE previous_marker (note text); INSERT INTO previous_marker VALUES ('old copy')`);
  return target;
}

/** runPull's options for a live copy of `sourceUrl` into `target` on the test server. */
export function pullOptions(sourceUrl: string, target: string, extra: Partial<PullOptions> = {}): PullOptions {
  return {
    source: { kind: 'url', url: sourceUrl },
    local: parseDatabaseUrl(testServerUrl()),
    target,
    jobs: 2,
    excludeTableData: [],
    keepSnapshot: false,
    validateForeignKeys: false,
    dryRun: false,
    dropInBackground: false,
    ...extra,
  };
}

/**
 * A small app database to copy: schema_migrations at `version`, `users` rows (with an email each when
 * `emails`), and `posts` rows pointing at them. Dropped by `cleanups`.
 */
export async function createAppDb(
  label: string,
  cleanups: Array<() => void | Promise<void>>,
  app: { version: string; users: number; posts?: number; emails?: boolean },
): Promise<TestDb> {
  const db = await createTestDb(label);
  cleanups.push(() => db.drop());
  const email = app.emails ? ', email text' : '';
  const emailValue = app.emails ? ", 'u' || g || '@example.com'" : '';
  await db.query(`CREATE TABLE schema_migrations (version text PRIMARY KEY);
    INSERT INTO schema_migrations VALUES ('${app.version}');
    CREATE TABLE users (id int PRIMARY KEY${email});
    INSERT INTO users SELECT g${emailValue} FROM generate_series(1, ${app.users}) g;`);
  if (app.posts !== undefined) {
    await db.query(`CREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users);
      INSERT INTO posts SELECT g, 1 + g % ${app.users} FROM generate_series(1, ${app.posts}) g;`);
  }
  return db;
}
