/**
 * `drydock migrate redo` proves that down undoes up (issue 13): after down, what up creates is gone
 * and what up drops is back, and after up again the schema is the first up's. Each problem names the
 * object and the section to fix.
 */
import { afterAll, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { makeMigrationDir, type MigrationSpec } from '../helpers/migrations.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function setup(label: string, specs: MigrationSpec[]): Promise<{ d: TestDb; cli: (...args: string[]) => ReturnType<typeof runCli> }> {
  const d = await createTestDb(label);
  const m = makeMigrationDir(specs);
  cleanups.push(() => d.drop(), () => m.cleanup());
  const cli = (...args: string[]) => runCli([...args, '--dir', m.dir, '--url', d.url], { cwd: m.root });
  return { d, cli };
}

async function versions(d: TestDb): Promise<string[]> {
  const { rows } = await d.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
  return rows.map((r) => r.version);
}

const users: MigrationSpec = { version: '20260101000000', name: 'create_users', up: 'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);', down: 'DROP TABLE users;' };
const V = '20260102000000';

/** A migration whose down section misses what its up section did. */
function faulty(name: string, up: string, down: string, options: Partial<MigrationSpec> = {}): MigrationSpec {
  return { version: V, name, up: `-- drydock:safe require-concurrent-index-creation the test table is empty\n${up}`, down, ...options };
}

describe('drydock migrate redo: down must undo up', () => {
  it.each([
    {
      what: 'CREATE INDEX IF NOT EXISTS, down drops a misspelled index IF EXISTS',
      spec: faulty('email_idx', 'CREATE INDEX IF NOT EXISTS users_email_idx ON users (email);', 'DROP INDEX IF EXISTS user_email_idx;'),
      object: 'index users_email_idx',
    },
    {
      what: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS (transaction:false), down drops a misspelled index',
      spec: faulty('email_idx', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);', 'DROP INDEX CONCURRENTLY IF EXISTS users_emial_idx;', { upNoTransaction: true, downNoTransaction: true }),
      object: 'index users_email_idx',
    },
    {
      what: 'CREATE TABLE IF NOT EXISTS, down drops a misspelled table',
      spec: faulty('audit', 'CREATE TABLE IF NOT EXISTS public.audit (id int);', 'DROP TABLE IF EXISTS public.audits;'),
      object: 'table public.audit',
    },
    {
      what: 'ADD COLUMN IF NOT EXISTS, down drops a misspelled column',
      spec: faulty('nickname', 'ALTER TABLE users ADD COLUMN IF NOT EXISTS nickname text;', 'ALTER TABLE users DROP COLUMN IF EXISTS nick_name;'),
      object: 'column nickname of users',
    },
  ])('$what: names the object still there after down and the down section', async ({ spec, object }) => {
    const { d, cli } = await setup('redo_left', [users, spec]);
    expect((await cli('migrate')).exitCode).toBe(0);
    const res = await cli('migrate', 'redo');
    expect(res.exitCode).toBe(1);
    const file = `${V}_${spec.name}.sql`;
    const problem = `${object} (created by the up section at ${file}:3) still exists after the down section ran (fix the down section of ${file})`;
    expect(res.stdout).toContain(`Redo of ${file}: the down section does not undo the up section:\n  - ${problem}`);
    expect(res.stdout).not.toContain('identical');
    expect(res.stderr).toMatch(new RegExp(`^error: redo: the down section of ${file.replace(/\./g, '\\.')} does not undo its up section: ${object} \\(created by the up section`, 'm'));
    // Up ran again, so the database is where it was.
    expect(await versions(d)).toEqual(['20260101000000', V]);
  });

  it('a down section that changes nothing while up alters a column is caught, with the statement', async () => {
    const spec = faulty('email_default', "ALTER TABLE users ALTER COLUMN email SET DEFAULT '';", 'SELECT 1; -- forgot: ALTER TABLE users ALTER COLUMN email DROP DEFAULT');
    const { cli } = await setup('redo_nothing', [users, spec]);
    expect((await cli('migrate')).exitCode).toBe(0);
    const res = await cli('migrate', 'redo');
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toContain(`the down section changed nothing in the schema, but the up section does (${V}_email_default.sql:3: ALTER TABLE users ALTER COLUMN email SET DEFAULT '') (fix the down section of ${V}_email_default.sql)`);
  });

  it('a down section that does not restore what up dropped names the object, even when up then fails again', async () => {
    const idx: MigrationSpec = { version: '20260101500000', name: 'email_idx', up: '-- drydock:safe require-concurrent-index-creation empty\nCREATE INDEX users_email_idx ON users (email);', down: 'DROP INDEX users_email_idx;' };
    const spec: MigrationSpec = { version: V, name: 'drop_email_idx', up: 'DROP INDEX users_email_idx;', down: 'SELECT 1; -- forgot to build it again' };
    const { d, cli } = await setup('redo_dropped', [users, idx, spec]);
    expect((await cli('migrate', '--lint', 'off')).exitCode).toBe(0);
    const res = await cli('migrate', 'redo');
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: redo: re-applying after the rollback failed: .*index "users_email_idx" does not exist/m);
    expect(res.stderr).toMatch(new RegExp(`^down does not undo up: index users_email_idx \\(dropped by the up section at ${V}_drop_email_idx\\.sql:2\\) is missing after the down section ran \\(fix the down section of ${V}_drop_email_idx\\.sql\\)$`, 'm'));
    expect(await versions(d)).toEqual(['20260101000000', '20260101500000']);
  });

  it('a down section that drops more than up created names the object missing after down + up', async () => {
    const idx: MigrationSpec = { version: '20260101500000', name: 'email_idx', up: '-- drydock:safe require-concurrent-index-creation empty\nCREATE INDEX users_email_idx ON users (email);', down: 'DROP INDEX users_email_idx;' };
    const spec: MigrationSpec = { version: V, name: 'add_nickname', up: 'ALTER TABLE users ADD COLUMN nickname text;', down: 'ALTER TABLE users DROP COLUMN nickname;\nDROP INDEX users_email_idx;' };
    const { cli } = await setup('redo_over', [users, idx, spec]);
    expect((await cli('migrate')).exitCode).toBe(0);
    const res = await cli('migrate', 'redo');
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toContain(`  - index public.users_email_idx existed after up but is missing after down + up: the down section drops it and the up section does not create it (fix the down section of ${V}_add_nickname.sql)`);
  });

  it('passes a down section that undoes tables, types, columns, constraints, renames and indexes (no false alarms, temporary tables ignored)', async () => {
    const spec: MigrationSpec = {
      version: V,
      name: 'many',
      up: [
        "CREATE TYPE mood AS ENUM ('ok', 'meh');",
        'CREATE TABLE moods (id int PRIMARY KEY, m mood);',
        'ALTER TABLE users ADD COLUMN nickname text, ADD CONSTRAINT nickname_len CHECK (length(nickname) < 40);',
        'ALTER TABLE users RENAME COLUMN email TO email_address;',
        '-- drydock:safe require-concurrent-index-creation empty',
        'CREATE INDEX users_nickname_idx ON users (nickname);',
        'CREATE TEMP TABLE scratch (id int);',
        'INSERT INTO scratch VALUES (1);',
        'CREATE TABLE staging (id int);',
        'DROP TABLE staging;',
      ].join('\n'),
      down: [
        'DROP INDEX users_nickname_idx;',
        'ALTER TABLE users RENAME COLUMN email_address TO email;',
        'ALTER TABLE users DROP CONSTRAINT nickname_len, DROP COLUMN nickname;',
        'DROP TABLE moods;',
        'DROP TYPE mood;',
      ].join('\n'),
    };
    const { cli } = await setup('redo_ok_many', [users, spec]);
    // Unsafe on a busy table (the renames, the plain index), but this is about redo.
    expect((await cli('migrate', '--lint', 'off')).exitCode).toBe(0);
    const res = await cli('migrate', 'redo', '--steps', '2');
    expect(res.stderr).not.toMatch(/^error/m);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain(`Redo of ${V}_many.sql, 20260101000000_create_users.sql: the down section undoes the up section, and the schema after down + up is identical to the schema after up.`);
  });
});
