/**
 * What a failed migration leaves and says (issue 13): a failed CREATE INDEX CONCURRENTLY leaves an
 * INVALID index that must be reported truthfully, reported by status and release, and dropped (that
 * one only) on the next run; and every migration error shows what Postgres said beyond its message.
 */
import { describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { type TestDb } from '../helpers/db.js';
import { type MigrationDir, type MigrationSpec } from '../helpers/migrations.js';
import { appliedVersions, testScope } from '../helpers/scope.js';

const { setup } = testScope();



/** Every index of the database with whether it is valid: { 'schema.name on schema.table': valid }. */
async function indexes(d: TestDb): Promise<Record<string, boolean>> {
  const { rows } = await d.query<{ name: string; valid: boolean }>(`
    SELECT n.nspname || '.' || c.relname || ' on ' || tn.nspname || '.' || t.relname AS name, i.indisvalid AS valid
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'pg_toast') AND c.relname NOT LIKE '%_pkey' ORDER BY 1`);
  return Object.fromEntries(rows.map((r) => [r.name, r.valid]));
}

/** Leave an INVALID index `name` on `table` the way production gets one: a concurrent unique build over duplicates. */
async function leaveInvalidIndex(d: TestDb, name: string, table: string, column: string): Promise<void> {
  await expect(d.query(`CREATE UNIQUE INDEX CONCURRENTLY ${name} ON ${table} (${column})`)).rejects.toThrow(/could not create unique index/);
}

const users: MigrationSpec = {
  version: '20260101000000',
  name: 'create_users',
  up: "CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);\nINSERT INTO users (email) VALUES ('a@example.com'), ('A@example.com');",
  down: 'DROP TABLE users;',
};

function emailKey(ifNotExists: boolean): MigrationSpec {
  return {
    version: '20260102000000',
    name: 'users_email_key',
    up: `-- one address per person, whatever its case\nCREATE UNIQUE INDEX CONCURRENTLY ${ifNotExists ? 'IF NOT EXISTS ' : ''}users_email_key ON users (lower(email));`,
    down: 'DROP INDEX CONCURRENTLY users_email_key;',
    upNoTransaction: true,
    downNoTransaction: true,
  };
}

describe('a failed CREATE INDEX CONCURRENTLY', () => {
  it.each([
    ['CREATE UNIQUE INDEX CONCURRENTLY', false],
    ['CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS', true],
  ])('%s: says it left an INVALID index, status reports it, and the next run drops exactly that index and builds it again', async (_label, ifNotExists) => {
    const { d, cli } = await setup(`mig_cic_${ifNotExists ? 'ine' : 'plain'}`, [users, emailKey(ifNotExists)]);
    const first = await cli('migrate');
    expect(first.exitCode).toBe(2);
    expect(first.stderr).toMatch(/^error: 20260102000000_users_email_key\.sql:3:1: migration failed: could not create unique index "users_email_key" \(SQLSTATE 23505\)$/m);
    // Postgres's DETAIL says which key is duplicated; the objects it names follow.
    expect(first.stderr).toMatch(/^detail: Key \(lower\(email\)\)=\(a@example\.com\) is duplicated\.$/m);
    expect(first.stderr).toMatch(/^object: table public\.users, constraint users_email_key$/m);
    // Truthful: the statement did leave something behind, and the hint says what and what happens next.
    expect(first.stderr).not.toMatch(/did not apply/);
    expect(first.stderr).toMatch(/^hint: the failing statement left the INVALID index public\.users_email_key on public\.users behind .*the next run drops public\.users_email_key before building it again/m);
    expect(await indexes(d)).toEqual({ 'public.users_email_key on public.users': false });
    expect(await appliedVersions(d)).toEqual(['20260101000000']);

    const status = await cli('migrate', 'status');
    expect(status.exitCode).toBe(0);
    expect(status.stderr).toMatch(/warning: INVALID index public\.users_email_key on public\.users: .*Fix: DROP INDEX CONCURRENTLY IF EXISTS "public"\."users_email_key"/);

    // The data is fixed; the deploy is retried.
    await d.query("DELETE FROM users WHERE email = 'A@example.com'");
    const retry = await cli('migrate');
    expect(retry.stderr).toMatch(/warning: dropped the INVALID index public\.users_email_key on public\.users that an earlier failed run of 20260102000000_users_email_key\.sql left behind; line 3 builds it again/);
    expect(retry.exitCode).toBe(0);
    expect(await appliedVersions(d)).toEqual(['20260101000000', '20260102000000']);
    expect(await indexes(d)).toEqual({ 'public.users_email_key on public.users': true });
    expect((await cli('migrate', 'status')).stderr).not.toMatch(/INVALID/);
  });

  it('drops nothing but the INVALID index its own statement names, on its table and in its schema', async () => {
    const { d, m, cli } = await setup('mig_cic_scope', [users]);
    expect((await cli('migrate')).exitCode).toBe(0);
    await d.query("CREATE SCHEMA app; CREATE TABLE app.users (email text); INSERT INTO app.users VALUES ('x'), ('x'); CREATE TABLE public.other (email text); INSERT INTO public.other VALUES ('y'), ('y')");
    // Same name in another schema, and INVALID indexes the pending migration does not name.
    await leaveInvalidIndex(d, 'users_email_key', 'app.users', 'email');
    await leaveInvalidIndex(d, 'other_email_key', 'public.other', 'email');
    await d.query("DELETE FROM users WHERE email = 'A@example.com'");
    const before = await indexes(d);
    expect(before).toEqual({ 'app.users_email_key on app.users': false, 'public.other_email_key on public.other': false });

    m.write(emailKey(false));
    const res = await cli('migrate');
    expect(res.exitCode).toBe(0);
    expect(res.stderr).not.toMatch(/dropped/);
    expect(await indexes(d)).toEqual({ ...before, 'public.users_email_key on public.users': true });
    // They are reported, with their tables, after the run.
    expect(res.stderr).toMatch(/warning: INVALID index app\.users_email_key on app\.users:/);
    expect(res.stderr).toMatch(/warning: INVALID index public\.other_email_key on public\.other:/);
  });

  it('IF NOT EXISTS over an index of that name on another table fails instead of recording a migration that built nothing', async () => {
    const other: MigrationSpec = { version: '20260101500000', name: 'create_other', up: "CREATE TABLE other (email text);\nINSERT INTO other VALUES ('y'), ('y');", down: 'DROP TABLE other;' };
    const { d, m, cli } = await setup('mig_cic_other', [users, other]);
    expect((await cli('migrate')).exitCode).toBe(0);
    await d.query("DELETE FROM users WHERE email = 'A@example.com'");
    await leaveInvalidIndex(d, 'users_email_key', 'other', 'email');
    m.write(emailKey(true));
    const res = await cli('migrate');
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: 20260102000000_users_email_key\.sql:3: CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_key did not leave a valid index on users: an index named public\.users_email_key already exists on another table, public\.other$/m);
    expect(await appliedVersions(d)).toEqual(['20260101000000', '20260101500000']);
    // Not drydock's to drop: it is on another table.
    expect(await indexes(d)).toEqual({ 'public.users_email_key on public.other': false });
  });

  it('release reports INVALID indexes with their table and the fix, and still releases', async () => {
    const { d, m } = await setup('mig_cic_release', [users]);
    expect((await runCli(['migrate', '--dir', m.dir, '--url', d.url], { cwd: m.root })).exitCode).toBe(0);
    await leaveInvalidIndex(d, 'users_email_key', 'users', 'lower(email)');
    const res = await runCli(['release', '--dir', m.dir], { cwd: m.root, env: { DATABASE_URL: d.url } });
    expect(res.exitCode).toBe(0);
    expect(res.stderr).toMatch(/warning: INVALID index public\.users_email_key on public\.users: a CREATE INDEX CONCURRENTLY failed .*Fix: DROP INDEX CONCURRENTLY IF EXISTS "public"\."users_email_key"; then build it again/);
  });
});

describe('migration errors show what Postgres said', () => {
  const raising = (where: string) =>
    `DO $$ BEGIN RAISE EXCEPTION 'refusing in ${where}' USING DETAIL = 'the row at postgres://app:s3cr3tpass@db.example.com/prod', HINT = 'look at the ${where} data', ERRCODE = 'check_violation', TABLE = 'users', COLUMN = 'email', CONSTRAINT = 'users_email_check'; END $$`;

  const cases: Array<{ what: string; args: (m: MigrationDir, d: TestDb) => string[]; env?: (d: TestDb) => Record<string, string>; section: 'up' | 'down'; verb: string }> = [
    { what: 'migrate up', args: (m, d) => ['migrate', '--dir', m.dir, '--url', d.url], section: 'up', verb: 'migration' },
    { what: 'release', args: (m) => ['release', '--dir', m.dir], env: (d) => ({ DATABASE_URL: d.url }), section: 'up', verb: 'migration' },
    { what: 'migrate down', args: (m, d) => ['migrate', 'down', '--dir', m.dir, '--url', d.url], section: 'down', verb: 'rollback' },
  ];

  it.each(cases)('$what: DETAIL, HINT, the objects and the context, with the statement line, masked', async ({ args, env, section, verb }) => {
    const { d, m, cli } = await setup(`mig_detail_${section}`, [users]);
    expect((await cli('migrate')).exitCode).toBe(0);
    const failing: MigrationSpec = {
      version: '20260102000000',
      name: 'failing',
      // The failing statement is the second of a transactional section, on line 3 (up) or 6 (down): no position from Postgres.
      up: section === 'up' ? `SELECT 1;\n${raising('up')};` : 'SELECT 1;',
      down: section === 'down' ? `SELECT 1;\n${raising('down')};` : 'SELECT 1;',
    };
    m.write(failing);
    if (section === 'down') expect((await cli('migrate')).exitCode).toBe(0);
    const res = await runCli(args(m, d), { cwd: m.root, env: env?.(d) });
    expect(res.exitCode).toBe(2);
    const line = section === 'up' ? 3 : 6;
    expect(res.stderr).toMatch(new RegExp(`^error: 20260102000000_failing\\.sql:${line}:1: ${verb} failed: refusing in ${section} \\(SQLSTATE 23514\\)$`, 'm'));
    expect(res.stderr).toMatch(/^detail: the row at postgres:\/\/app:\*+@db\.example\.com\/prod$/m);
    expect(res.stderr).not.toContain('s3cr3tpass');
    expect(res.stderr).toMatch(new RegExp(`^postgres hint: look at the ${section} data$`, 'm'));
    expect(res.stderr).toMatch(/^object: table users, column email, constraint users_email_check$/m);
    expect(res.stderr).toMatch(/^context: PL\/pgSQL function inline_code_block line 1 at RAISE$/m);
    expect(res.stderr).toMatch(/^hint: /m);
  });

  it('a constraint violated by existing rows names the key and the table (a unique index in a transactional migration)', async () => {
    const uniq: MigrationSpec = { version: '20260102000000', name: 'unique_email', up: '-- drydock:safe require-concurrent-index-creation test table\nCREATE UNIQUE INDEX users_lower_email ON users (lower(email));', down: 'DROP INDEX users_lower_email;' };
    const { cli } = await setup('mig_detail_uniq', [users, uniq]);
    const res = await cli('migrate', '--verbose');
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: 20260102000000_unique_email\.sql:3:1: migration failed: could not create unique index "users_lower_email" \(SQLSTATE 23505\)$/m);
    expect(res.stderr).toMatch(/^detail: Key \(lower\(email\)\)=\(a@example\.com\) is duplicated\.$/m);
    expect(res.stderr).toMatch(/^object: table public\.users, constraint users_lower_email$/m);
  });
});
