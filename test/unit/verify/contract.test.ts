import { describe, expect, it } from 'vitest';

import { compareSchemas } from '../../../src/schema/compare.js';
import { contractFindings, planContract } from '../../../src/verify/contract.js';

describe('planContract', () => {
  const base = { schemaFile: 'db/schema.sql', fileVersions: ['1', '2'], dbVersions: ['1', '2'], migrationVersions: ['1', '2', '3'] };

  it('compares with the file when it records the database\'s versions', () => {
    expect(planContract(base)).toEqual({ kind: 'file', file: 'db/schema.sql' });
  });

  it('builds the file plus the newer migrations up to the database\'s newest when the file is behind', () => {
    expect(planContract({ ...base, dbVersions: ['1', '2', '3'] })).toEqual({ kind: 'build', schemaFile: 'db/schema.sql', to: '3', migrations: 1 });
  });

  it('builds from the migrations alone when the file is ahead of the database', () => {
    expect(planContract({ ...base, fileVersions: ['1', '2', '3'] })).toEqual({ kind: 'build', schemaFile: undefined, to: '2', migrations: 2 });
  });

  it('builds from the migrations when there is no file', () => {
    expect(planContract({ ...base, schemaFile: undefined, fileVersions: [] })).toEqual({ kind: 'build', schemaFile: undefined, to: '2', migrations: 2 });
  });

  it('skips, saying why, when versions are unknown or nothing records them', () => {
    const reason = (input: Parameters<typeof planContract>[0]): string => {
      const plan = planContract(input);
      return plan.kind === 'skip' ? plan.reason : `not skipped: ${plan.kind}`;
    };
    expect(reason({ ...base, dbVersions: ['1', '2', '9'] })).toContain('version(s) 9 that neither');
    expect(reason({ ...base, dbVersions: [] })).toContain('records no migration versions');
    expect(reason({ ...base, schemaFile: undefined, migrationVersions: undefined })).toContain('no schema file and no migrations folder');
    expect(reason({ ...base, dbVersions: ['1', '2', '3'], migrationVersions: undefined })).toContain('the database has 3 the file lacks');
  });
});

const header = (name: string, type: string) => `--\n-- Name: ${name}; Type: ${type}; Schema: public; Owner: -\n--\n\n`;
const FILE = `${header('users', 'TABLE')}CREATE TABLE public.users (\n    id bigint NOT NULL,\n    email text NOT NULL\n);\n\n${header('users_email_idx', 'INDEX')}CREATE INDEX users_email_idx ON public.users USING btree (email);\n`;

describe('contract findings', () => {
  it('reads a hand-added column, a missing index and a hand-made table both ways, the table with its constraints', () => {
    const db =
      `${header('users', 'TABLE')}CREATE TABLE public.users (\n    id bigint NOT NULL,\n    email text NOT NULL,\n    nickname text\n);\n\n` +
      `${header('notes', 'TABLE')}CREATE TABLE public.notes (\n    id integer NOT NULL\n);\n\n${header('notes notes_pkey', 'CONSTRAINT')}ALTER TABLE ONLY public.notes\n    ADD CONSTRAINT notes_pkey PRIMARY KEY (id);\n`;
    const { differences } = compareSchemas(db, FILE, { a: 'the database', b: 'db/schema.sql', aAt: 'in', bAt: 'in' });
    const found = contractFindings(differences, 'db/schema.sql');
    expect(found.map((f) => [f.check, f.object])).toEqual([
      ['differs-from-schema', 'table public.users'],
      ['not-in-schema', 'table public.notes'],
      ['missing-in-database', 'index public.users_email_idx'],
    ]);
    expect(found[0]?.message).toBe('table public.users differs between the database and db/schema.sql (in the database only: `nickname text`)');
    expect(found[1]?.message).toContain('table public.notes (with its constraint notes_pkey) is in the database but not in db/schema.sql');
  });

  it('notes Heroku\'s own extension instead of counting it', () => {
    const db = `${FILE}\n${header('pg_stat_statements', 'EXTENSION').replace('Schema: public', 'Schema: -')}CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA public;\n`;
    const { differences, notes } = compareSchemas(db, FILE, { a: 'the database', b: 'db/schema.sql', aAt: 'in', bAt: 'in' });
    expect(differences).toEqual([]);
    expect(notes).toEqual([expect.stringContaining('extension pg_stat_statements exists in the database but not in db/schema.sql: not counted (Heroku installs')]);
  });
});
