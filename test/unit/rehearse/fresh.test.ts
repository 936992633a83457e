import { describe, expect, it } from 'vitest';

import {
  compareWithFresh,
  describeHow,
  freshBuildTarget,
  isLeftoverScratch,
  isScratchName,
  parseScratchComment,
  reliedOn,
  SCRATCH_MAX_AGE_MS,
  scratchComment,
  scratchName,
} from '../../../src/rehearse/fresh.js';

/** A normalised dump holding `objects` ([name, type, schema, sql]), as pg_dump heads them. */
function dump(...objects: Array<[string, string, string, string]>): string {
  return objects.map(([name, type, schema, sql]) => `--\n-- Name: ${name}; Type: ${type}; Schema: ${schema}; Owner: -\n--\n\n${sql}\n`).join('\n');
}

const users = ['users', 'TABLE', 'public', 'CREATE TABLE public.users (\n    id bigint NOT NULL,\n    email text NOT NULL\n);'] as [string, string, string, string];
const usersWithFlag = ['users', 'TABLE', 'public', 'CREATE TABLE public.users (\n    id bigint NOT NULL,\n    email text NOT NULL,\n    legacy_flag boolean\n);'] as [string, string, string, string];
const audit = ['audit_log', 'TABLE', 'public', 'CREATE TABLE public.audit_log (\n    id integer\n);'] as [string, string, string, string];
const ledger = ['schema_migrations', 'TABLE', 'public', 'CREATE TABLE public.schema_migrations (\n    version character varying NOT NULL\n);'] as [string, string, string, string];
const ledgerKey = ['schema_migrations schema_migrations_pkey', 'CONSTRAINT', 'public', 'ALTER TABLE ONLY public.schema_migrations\n    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);'] as [string, string, string, string];

describe('compareWithFresh', () => {
  it('finds no difference between identical schemas, whatever the ledger and data-only entries say', () => {
    const copy = dump(users, ledger, ledgerKey, ['users_id_seq', 'SEQUENCE SET', 'public', "SELECT pg_catalog.setval('public.users_id_seq', 42, true);"]);
    expect(compareWithFresh(copy, dump(users))).toEqual({ differences: [], notes: [] });
  });

  it('names an object only the copy has, one only a fresh database has, and one that differs with its lines', () => {
    const { differences } = compareWithFresh(dump(usersWithFlag, audit), dump(users, ['v', 'VIEW', 'public', 'CREATE VIEW public.v AS SELECT 1;']));
    expect(differences).toEqual([
      { object: 'table public.users', problem: 'table public.users differs between the copy and a fresh database (on the copy only: `legacy_flag boolean`)' },
      { object: 'table public.audit_log', problem: 'table public.audit_log exists on the copy but not on a fresh database' },
      { object: 'view public.v', problem: 'view public.v exists only on a fresh database' },
    ]);
  });

  it('says an extension only the copy has is assumed by the migrations, and only notes what Heroku provides', () => {
    const copy = dump(['hstore', 'EXTENSION', '-', 'CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA public;'], ['pg_stat_statements', 'EXTENSION', '-', 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA public;'], ['heroku_ext', 'SCHEMA', '-', 'CREATE SCHEMA heroku_ext;']);
    const { differences, notes } = compareWithFresh(copy, dump());
    expect(differences).toEqual([{ object: 'extension hstore', problem: expect.stringContaining('no migration creates it; production has it installed') as string }]);
    expect(differences[0]!.problem).toContain('CREATE EXTENSION IF NOT EXISTS hstore');
    expect(notes).toEqual([expect.stringContaining('extension pg_stat_statements exists on the copy but not on a fresh database: not counted'), expect.stringContaining('schema heroku_ext')]);
  });

  it('notes an extension Heroku put in heroku_ext rather than counting it', () => {
    const { differences, notes } = compareWithFresh(dump(['citext', 'EXTENSION', '-', 'CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA heroku_ext;']), dump(['citext', 'EXTENSION', '-', 'CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;']));
    expect(differences).toEqual([]);
    expect(notes[0]).toMatch(/^extension citext differs .*not counted/);
  });

  it('counts a difference in the SQL of a dependent object (a constraint)', () => {
    const a = ['users users_email_key', 'CONSTRAINT', 'public', 'ALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_email_key UNIQUE (email);'] as [string, string, string, string];
    const b = ['users users_email_key', 'CONSTRAINT', 'public', 'ALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_email_key UNIQUE (email, id);'] as [string, string, string, string];
    expect(compareWithFresh(dump(users, a), dump(users, b)).differences.map((d) => d.object)).toEqual(['constraint public.users users_email_key']);
  });
});

describe('reliedOn', () => {
  const { differences } = compareWithFresh(dump(usersWithFlag, audit, ['legacy_things', 'TABLE', 'public', 'CREATE TABLE public.legacy_things (\n    id integer\n);']), dump(users));

  it('picks the object Postgres names in its message', () => {
    expect(reliedOn(differences, 'relation "legacy_things" does not exist (SQLSTATE 42P01, line 2)', 'ALTER TABLE legacy_things ADD COLUMN note text;').map((d) => d.object)).toEqual(['table public.legacy_things']);
    expect(reliedOn(differences, 'column "legacy_flag" does not exist', 'UPDATE users SET legacy_flag = true;').map((d) => d.object)).toEqual(['table public.users']);
  });

  it("falls back to what only the copy has that the migration's SQL names, and to nothing", () => {
    expect(reliedOn(differences, 'permission denied', 'INSERT INTO audit_log SELECT 1;').map((d) => d.object)).toEqual(['table public.audit_log']);
    expect(reliedOn(differences, 'syntax error', 'SELECT 1;')).toEqual([]);
  });
});

describe('scratch databases', () => {
  it('names a scratch database after the working database within 63 bytes, cutting on a character boundary', () => {
    expect(scratchName('my_app', '0123abcd')).toBe('my_app_drydock_fresh_0123abcd');
    const long = scratchName('é'.repeat(40), '0123abcd');
    expect(Buffer.byteLength(long, 'utf8')).toBeLessThanOrEqual(63);
    expect(long).toBe(`${'é'.repeat(20)}_drydock_fresh_0123abcd`);
    expect(isScratchName(long)).toBe(true);
    expect(isScratchName('my_app')).toBe(false);
  });

  it('reads back its own marker and nothing else', () => {
    const meta = { target: 'my_app', pid: 123, host: 'laptop', createdAt: '2026-11-26T10:00:00.000Z' };
    expect(scratchComment(meta)).toMatch(/^drydock rehearse scratch \{/);
    expect(parseScratchComment(scratchComment(meta))).toEqual(meta);
    expect(parseScratchComment('{"drydock":"scratch","target":"x"}')).toBeUndefined();
    expect(parseScratchComment('drydock rehearse scratch {not json')).toBeUndefined();
    expect(parseScratchComment('drydock rehearse scratch {"target":"x"}')).toBeUndefined();
    expect(parseScratchComment(null)).toBeUndefined();
  });

  it('drops a marked scratch database only when its process is gone from this host, or it is older than a day', () => {
    const now = Date.parse('2026-11-26T12:00:00Z');
    const alive = new Set([111]);
    const here = { host: 'laptop', nowMs: now, isAlive: (pid: number) => alive.has(pid) };
    const marked = (pid: number, host: string, ageMs: number) => scratchComment({ target: 't', pid, host, createdAt: new Date(now - ageMs).toISOString() });
    const name = 't_drydock_fresh_0123abcd';
    expect(isLeftoverScratch(name, marked(222, 'laptop', 60_000), here)).toBe(true);
    expect(isLeftoverScratch(name, marked(111, 'laptop', 60_000), here)).toBe(false);
    expect(isLeftoverScratch(name, marked(222, 'other-host', 60_000), here)).toBe(false);
    expect(isLeftoverScratch(name, marked(222, 'other-host', SCRATCH_MAX_AGE_MS + 1), here)).toBe(true);
    expect(isLeftoverScratch(name, marked(111, 'laptop', SCRATCH_MAX_AGE_MS + 1), here)).toBe(true);
    // No marker, or not a scratch name: never.
    expect(isLeftoverScratch(name, null, here)).toBe(false);
    expect(isLeftoverScratch(name, 'my notes', here)).toBe(false);
    expect(isLeftoverScratch('production_copy', marked(222, 'laptop', 60_000), here)).toBe(false);
  });
});

describe('freshBuildTarget and describeHow', () => {
  const files = [{ version: '20260101000000' }, { version: '20260102000000' }, { version: '20260103000000' }];
  it('builds every migration when all pending ones applied, else up to the newest the copy applied', () => {
    expect(freshBuildTarget(files, [])).toEqual({ to: undefined });
    expect(freshBuildTarget(files, [{ version: '20260103000000' }])).toEqual({ to: '20260102000000' });
    expect(freshBuildTarget(files, [{ version: '20260102000000' }, { version: '20260103000000' }])).toEqual({ to: '20260101000000' });
    expect(freshBuildTarget(files, files)).toEqual({ skip: expect.stringContaining('no earlier migration file') as string });
  });
  it('says how the fresh database was built', () => {
    expect(describeHow(true, 2)).toBe('schema file + 2 migrations');
    expect(describeHow(false, 1)).toBe('1 migration from zero');
  });
});
