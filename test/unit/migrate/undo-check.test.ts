import { beforeAll, describe, expect, it } from 'vitest';

import { concurrentIndexBuild, postgresDetails } from '../../../src/migrate/runner.js';
import { describeObject, upEffects, type UpEffects } from '../../../src/migrate/undo-check.js';
import { ensureParser, splitStatements } from '../../../src/sql/parse.js';

beforeAll(() => ensureParser());

function effects(sql: string): { creates: string[]; drops: string[]; other: string[] } {
  const e: UpEffects = upEffects([{ file: 'm.sql', startLine: 2, statements: splitStatements(sql) }]);
  return { creates: e.creates.map((c) => `${describeObject(c.object)}@${c.line}`), drops: e.drops.map((d) => `${describeObject(d.object)}@${d.line}`), other: e.otherSchemaStatements.map((o) => `${o.line}`) };
}

describe('upEffects', () => {
  it('names what up creates, with the line in the file', () => {
    expect(
      effects(
        [
          'CREATE TABLE IF NOT EXISTS app.audit (id int);',
          'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON app.users (lower(email));',
          'ALTER TABLE users ADD COLUMN IF NOT EXISTS nickname text, ADD CONSTRAINT nick CHECK (true);',
          "CREATE TYPE mood AS ENUM ('a');",
          'CREATE SEQUENCE s; CREATE VIEW v AS SELECT 1; CREATE MATERIALIZED VIEW mv AS SELECT 1;',
          'CREATE SCHEMA extra; CREATE EXTENSION citext;',
          'CREATE TRIGGER tg AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION f();',
        ].join('\n'),
      ).creates,
    ).toEqual([
      'table app.audit@2',
      'index app.users_email_key@3',
      'column nickname of users@4',
      'constraint nick of users@4',
      'type mood@5',
      'sequence s@6',
      'view v@6',
      'materialized view mv@6',
      'schema extra@7',
      'extension citext@7',
      'trigger tg of users@8',
    ]);
  });

  it('names what up drops without IF EXISTS, and renames as a drop and a create', () => {
    expect(effects('DROP INDEX users_email_idx;\nDROP TABLE IF EXISTS maybe;\nALTER TABLE users DROP COLUMN legacy;\nALTER TABLE a RENAME TO b;\nALTER TABLE users RENAME COLUMN x TO y;')).toEqual({
      creates: ['table b@5', 'column y of users@6'],
      drops: ['index users_email_idx@2', 'column legacy of users@4', 'table a@5', 'column x of users@6'],
      other: [],
    });
  });

  it('cancels objects created and dropped within up, ignores temporary tables, and lets a new table cover its columns', () => {
    expect(effects('CREATE TABLE staging (id int);\nINSERT INTO staging VALUES (1);\nDROP TABLE staging;\nCREATE TEMP TABLE scratch (id int);\nALTER TABLE scratch ADD COLUMN x int;\nCREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN y int;\nCREATE INDEX t_y ON t (y);')).toEqual({
      creates: ['table t@7', 'index t_y@9'],
      drops: [],
      other: [],
    });
  });

  it('keeps other schema changes, but not data, session, maintenance or privilege statements', () => {
    expect(effects("ALTER TABLE users ALTER COLUMN email SET DEFAULT '';\nCOMMENT ON TABLE users IS 'x';\nUPDATE users SET email = '';\nSET lock_timeout = 1;\nANALYZE users;\nGRANT SELECT ON users TO PUBLIC;\nDO $$ BEGIN END $$;\nCREATE INDEX ON users (email);").other).toEqual(['2', '3', '9']);
  });
});

describe('concurrentIndexBuild', () => {
  it('reads the name, the table and IF NOT EXISTS of a CREATE INDEX CONCURRENTLY, and nothing else', () => {
    const [a, b, c, d] = splitStatements('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS k ON s.t (x); CREATE INDEX CONCURRENTLY ON t (x); CREATE INDEX k ON t (x); DROP INDEX CONCURRENTLY k');
    expect(concurrentIndexBuild(a!)).toEqual({ name: 'k', table: { schema: 's', name: 't' }, ifNotExists: true });
    expect(concurrentIndexBuild(b!)).toEqual({ name: undefined, table: { schema: undefined, name: 't' }, ifNotExists: false });
    expect(concurrentIndexBuild(c!)).toBeUndefined();
    expect(concurrentIndexBuild(d!)).toBeUndefined();
  });
});

describe('postgresDetails', () => {
  it("shows DETAIL, Postgres's HINT, the objects and the context", () => {
    expect(
      postgresDetails({ detail: 'Key (lower(email))=(a@x) is duplicated.', hint: 'dedupe', schema: 'public', table: 'users', column: 'email', constraint: 'users_email_key', where: 'SQL statement "…"' }),
    ).toEqual(['detail: Key (lower(email))=(a@x) is duplicated.', 'postgres hint: dedupe', 'object: table public.users, column email, constraint users_email_key', 'context: SQL statement "…"']);
    expect(postgresDetails({ schema: 'public', dataType: 'mood' })).toEqual(['object: type public.mood']);
    expect(postgresDetails({})).toEqual([]);
  });
});
