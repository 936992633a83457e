import { beforeAll, describe, expect, it } from 'vitest';

import type { CatalogSchema, CatalogTable } from '../../../src/lint/schema-model.js';
import { parseMigrationText } from '../../../src/migrate/files.js';
import type { MigrationFile } from '../../../src/migrate/types.js';
import { planDataChecks, type DataCheckCatalog, type DataCheckPlan } from '../../../src/rehearse/data-check-plan.js';
import { ensureParser, splitStatements } from '../../../src/sql/parse.js';

beforeAll(async () => {
  await ensureParser();
});

const col = (name: string, type: string, typmod = -1, isArray = false): CatalogTable['columns'][number] => ({ name, type, typmod, isArray });
const table = (schema: string, name: string, columns: CatalogTable['columns']): CatalogTable => ({ schema, name, kind: 'table', rows: 1000, bytes: 81920, columns, indexes: [], constraints: [] });

/** The copy before the migration: users, orgs, and a table with awkward names in an awkward schema. */
const CATALOG: CatalogSchema = {
  schemas: ['public', 'Billing Data'],
  tables: [
    table('public', 'users', [col('id', 'int4'), col('email', 'text'), col('name', 'varchar', 259), col('short', 'varchar', 54), col('code', 'text'), col('age', 'int8'), col('born', 'text'), col('org_id', 'int4'), col('tags', 'varchar', 259, true), col('price', 'numeric', ((10 << 16) | 2) + 4), col('deleted_at', 'timestamptz')]),
    table('public', 'orgs', [col('id', 'int4'), col('region', 'text')]),
    table('public', 'nokey', [col('id', 'int4')]),
    table('Billing Data', 'Invoice Lines', [col('Line No', 'int4'), col('Invoice"Id', 'int4'), col('Amount', 'numeric')]),
  ],
};

const KEYS: DataCheckCatalog['keys'] = [
  { schema: 'public', table: 'orgs', index: 'orgs_pkey', primary: true, columns: ['id'] },
  { schema: 'public', table: 'users', index: 'users_email_code_idx', primary: false, columns: ['email', 'code'] },
];

function migration(up: string, header = '-- migrate:up'): MigrationFile {
  return { ...parseMigrationText('x.sql', `${header}\n${up}\n`), version: '20270101000000', name: 'x', fileName: '20270101000000_x.sql', path: '/m/20270101000000_x.sql', checksum: '' };
}

function plan(up: string, options: { pgVersion?: number; notValid?: DataCheckCatalog['notValid']; header?: string } = {}): DataCheckPlan[] {
  const plans = planDataChecks(migration(up, options.header), { catalog: CATALOG, keys: KEYS, notValid: options.notValid ?? [], pgVersion: options.pgVersion ?? 15 });
  // Every query the planner writes is one statement the Postgres parser accepts.
  for (const p of plans) if (p.sql !== undefined) expect(splitStatements(p.sql), p.sql).toHaveLength(1);
  return plans;
}

const summary = (plans: DataCheckPlan[]): Array<[number, string, string, string[]]> => plans.map((p) => [p.line, p.check, p.action, p.columns]);

describe('planDataChecks: unique', () => {
  it('counts duplicated keys of a partial unique index over expressions, as the index sees them', () => {
    const [p, ...rest] = plan('CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (lower(email) text_pattern_ops DESC, (code || \'-\') NULLS FIRST) WHERE deleted_at IS NULL AND code <> \')\';', { header: '-- migrate:up transaction:false' });
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ line: 2, check: 'unique', table: 'users', columns: ['lower(email)', "(code || '-')"], action: 'CREATE UNIQUE INDEX users_email_key', problem: "(lower(email), (code || '-')) where deleted_at IS NULL AND code <> ')'", mode: 'count' });
    expect(p!.sql).toBe(
      "WITH dup AS (SELECT (lower(email)) AS k1, ((code || '-')) AS k2, count(*) AS n FROM \"users\" WHERE (deleted_at IS NULL AND code <> ')') AND (lower(email)) IS NOT NULL AND ((code || '-')) IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) " +
        'SELECT coalesce(sum(n), 0)::int8 AS violations, count(*)::int8 AS groups, ' +
        "(SELECT coalesce(json_agg(json_build_array(left((d.k1)::text, 41), left((d.k2)::text, 41), d.n) ORDER BY d.n DESC), '[]') FROM (SELECT * FROM dup ORDER BY n DESC LIMIT 3) d) AS samples FROM dup",
    );
  });

  it('quotes odd identifiers, keeps a collation, and with NULLS NOT DISTINCT lets NULL keys collide', () => {
    const [p] = plan('CREATE UNIQUE INDEX "Lines Key" ON "Billing Data"."Invoice Lines" ("Line No", "Invoice""Id" COLLATE "C") NULLS NOT DISTINCT;');
    expect(p).toMatchObject({ table: '"Billing Data"."Invoice Lines"', columns: ['Line No', 'Invoice"Id'], action: 'CREATE UNIQUE INDEX "Lines Key"', problem: '("Line No", "Invoice""Id")' });
    expect(p!.sql).toContain('WITH dup AS (SELECT ("Line No") AS k1, ("Invoice""Id") COLLATE "C" AS k2, count(*) AS n FROM "Billing Data"."Invoice Lines" GROUP BY 1, 2 HAVING count(*) > 1)');
  });

  it('checks ADD UNIQUE and ADD PRIMARY KEY (which also needs its columns without NULLs), not UNIQUE USING INDEX', () => {
    const plans = plan('ALTER TABLE users ADD CONSTRAINT users_email_code_key UNIQUE (email, code), ADD PRIMARY KEY (id), ADD CONSTRAINT u2 UNIQUE USING INDEX users_email_code_idx;');
    expect(summary(plans)).toEqual([
      [2, 'unique', 'ADD CONSTRAINT users_email_code_key UNIQUE (email, code)', ['email', 'code']],
      [2, 'unique', 'ADD PRIMARY KEY (id)', ['id']],
      [2, 'not-null', 'ADD PRIMARY KEY (id)', ['id']],
    ]);
    expect(plans[2]!.sql).toBe(`SELECT count(*)::int8 AS violations, NULL::int8 AS groups, '[]'::json AS samples FROM "users" WHERE "id" IS NULL`);
  });

  it('checks the NULLs of a primary key attached with USING INDEX, from the catalog or from an index built earlier in the migration', () => {
    expect(summary(plan('ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_email_code_idx;'))).toEqual([[2, 'not-null', 'ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_email_code_idx', ['email', 'code']]]);
    expect(summary(plan('CREATE UNIQUE INDEX users_id_idx ON users (id);\nALTER TABLE users ADD PRIMARY KEY USING INDEX users_id_idx;'))).toEqual([
      [2, 'unique', 'CREATE UNIQUE INDEX users_id_idx', ['id']],
      [3, 'not-null', 'ADD PRIMARY KEY USING INDEX users_id_idx', ['id']],
    ]);
    expect(plan('ALTER TABLE users ADD PRIMARY KEY USING INDEX nowhere;')[0]).toMatchObject({ sql: undefined, note: 'not checked: the columns of index nowhere are not known' });
  });

  it('skips an index built ON ONLY a partitioned table, and IF NOT EXISTS over an index that exists', () => {
    expect(plan('CREATE UNIQUE INDEX x ON ONLY users (email);')).toEqual([]);
    const withIndex = { ...CATALOG, tables: CATALOG.tables.map((t) => (t.name === 'users' ? { ...t, indexes: ['users_email_key'] } : t)) };
    expect(planDataChecks(migration('CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users (email);'), { catalog: withIndex, keys: [], notValid: [], pgVersion: 15 })).toEqual([]);
  });
});

describe('planDataChecks: not-null', () => {
  it('counts NULLs for SET NOT NULL and ADD CONSTRAINT … NOT NULL, and every row for a column added NOT NULL without a value', () => {
    const plans = plan('ALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users ADD CONSTRAINT users_code_nn NOT NULL code;\nALTER TABLE users ADD COLUMN a int NOT NULL, ADD COLUMN b int NOT NULL DEFAULT 0, ADD COLUMN c int GENERATED ALWAYS AS IDENTITY, ADD COLUMN d bigserial, ADD COLUMN e int PRIMARY KEY;', { pgVersion: 18 });
    expect(summary(plans)).toEqual([
      [2, 'not-null', 'SET NOT NULL on users.email', ['email']],
      [3, 'not-null', 'ADD CONSTRAINT users_code_nn NOT NULL code', ['code']],
      [4, 'not-null', 'ADD COLUMN a … NOT NULL without a default', ['a']],
      [4, 'not-null', 'ADD COLUMN e … PRIMARY KEY without a default', ['e']],
    ]);
    expect(plans[0]!.problem).toBe('with email NULL');
    expect(plans[2]!.sql).toBe(`SELECT count(*)::int8 AS violations, NULL::int8 AS groups, '[]'::json AS samples FROM "users"`);
  });
});

describe('planDataChecks: type', () => {
  it('counts values longer than a shorter varchar (spaces past the limit are cut without an error), not a longer one', () => {
    const [p, ...rest] = plan('ALTER TABLE users ALTER COLUMN name TYPE varchar(50), ALTER COLUMN short TYPE varchar(80), ALTER COLUMN email TYPE text;');
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ check: 'type', action: 'ALTER COLUMN name TYPE varchar(50)', problem: 'longer than 50 characters', columns: ['name'] });
    expect(p!.sql).toBe(
      `SELECT count(*)::int8 AS violations, NULL::int8 AS groups, (SELECT coalesce(json_agg(json_build_array(x.s1)), '[]') FROM (SELECT left(("name")::text, 41) AS s1 FROM "users" WHERE char_length(rtrim(("name")::text, ' ')) > 50 LIMIT 3) x) AS samples FROM "users" WHERE char_length(rtrim(("name")::text, ' ')) > 50`,
    );
  });

  it('reads USING col::type as the column converted; an explicit cast to a shorter varchar cuts values, so nothing fails', () => {
    const [code] = plan('ALTER TABLE users ALTER COLUMN code TYPE integer USING code::integer;');
    expect(code).toMatchObject({ action: 'ALTER COLUMN code TYPE integer', problem: 'not valid as integer', mode: 'count' });
    expect(code!.sql).toContain(`WHERE CASE WHEN ("code")::text !~* '^[ \\t\\n\\r\\f\\v]*[+-]?[0-9]+[ \\t\\n\\r\\f\\v]*$' THEN true ELSE btrim(("code")::text)::numeric NOT BETWEEN -2147483648 AND 2147483647 END`);
    expect(plan('ALTER TABLE users ALTER COLUMN name TYPE varchar(50) USING name::varchar(50);')).toEqual([]);
  });

  it('uses pg_input_is_valid from PostgreSQL 16, with the type as written', () => {
    const [p] = plan('ALTER TABLE users ALTER COLUMN born TYPE timestamp (3) with time zone USING born::timestamp (3) with time zone;', { pgVersion: 16 });
    expect(p!.sql).toContain(`WHERE NOT pg_input_is_valid(("born")::text, 'timestamp (3) with time zone')`);
    expect(p!.problem).toBe('not valid as timestamptz(3)');
  });

  it('converts every value when it cannot count: text to date before 16, a USING expression of unknown type', () => {
    const [date] = plan('ALTER TABLE users ALTER COLUMN born TYPE date USING born::date;');
    expect(date).toMatchObject({ mode: 'conversion', problem: 'that do not convert to date' });
    expect(date!.sql).toBe(`SELECT (0 * count(("born")::date))::int8 AS violations, NULL::int8 AS groups, '[]'::json AS samples FROM "users"`);
    const [expr] = plan("ALTER TABLE users ALTER COLUMN code TYPE bigint USING nullif(trim(code), '')::bigint;");
    expect(expr!.sql).toBe(`SELECT (0 * count(((nullif(trim(code), '')::bigint))::bigint))::int8 AS violations, NULL::int8 AS groups, '[]'::json AS samples FROM "users"`);
  });

  it('checks ranges of narrowing numbers and skips conversions that cannot fail', () => {
    const plans = plan('ALTER TABLE users ALTER COLUMN age TYPE int, ALTER COLUMN id TYPE bigint, ALTER COLUMN price TYPE numeric(12,2), ALTER COLUMN price TYPE numeric(5,1), ALTER COLUMN deleted_at TYPE date;');
    expect(plans.map((p) => [p.action, p.problem])).toEqual([
      ['ALTER COLUMN age TYPE integer', 'outside the range of integer'],
      ['ALTER COLUMN price TYPE numeric(5,1)', 'too large for numeric(5,1)'],
    ]);
    expect(plans[0]!.sql).toContain(`WHERE ("age") NOT BETWEEN -2147483648 AND 2147483647`);
    expect(plans[1]!.sql).toContain(`WHERE ("price")::numeric <> 'NaN' AND abs(round(("price")::numeric, 1)) >= power(10::numeric, 4)`);
  });

  it('says what it does not check', () => {
    expect(plan('ALTER TABLE users ALTER COLUMN tags TYPE varchar(10)[];')[0]).toMatchObject({ sql: undefined, note: 'not checked: arrays of varchar(10) are not checked' });
  });
});

describe('planDataChecks: check', () => {
  it('counts rows where the expression is false (NULL passes), sampling the columns it reads; reads an expression that starts with a parenthesis', () => {
    const [p] = plan('ALTER TABLE "Billing Data"."Invoice Lines" ADD CONSTRAINT "Positive" CHECK (("Amount" + 0) > 0 /* ) */ AND "Line No" <> 0);');
    expect(p).toMatchObject({ check: 'check', table: '"Billing Data"."Invoice Lines"', columns: ['Amount', 'Line No'], action: 'ADD CONSTRAINT "Positive" CHECK' });
    expect(p!.sql).toBe(
      `SELECT count(*)::int8 AS violations, NULL::int8 AS groups, (SELECT coalesce(json_agg(json_build_array(x.s1, x.s2)), '[]') FROM (SELECT left(("Amount")::text, 41) AS s1, left(("Line No")::text, 41) AS s2 FROM "Billing Data"."Invoice Lines" WHERE NOT (("Amount" + 0) > 0 /* ) */ AND "Line No" <> 0) LIMIT 3) x) AS samples FROM "Billing Data"."Invoice Lines" WHERE NOT (("Amount" + 0) > 0 /* ) */ AND "Line No" <> 0)`,
    );
  });

  it('checks nothing when added NOT VALID, and checks at VALIDATE, from this migration or from the catalog; ONLY stays ONLY', () => {
    const plans = plan("ALTER TABLE ONLY users ADD CONSTRAINT name_set CHECK (name <> '') NOT VALID;\nSELECT 1;\nALTER TABLE ONLY users VALIDATE CONSTRAINT name_set;");
    expect(summary(plans)).toEqual([[4, 'check', 'VALIDATE CONSTRAINT name_set', ['name']]]);
    expect(plans[0]!.sql).toContain(`FROM ONLY "users" WHERE NOT (name <> '')`);
    const fromCatalog = plan('ALTER TABLE users VALIDATE CONSTRAINT age_positive;', { notValid: [{ schema: 'public', table: 'users', name: 'age_positive', definition: 'CHECK ((age > (0)::bigint)) NOT VALID' }] });
    expect(summary(fromCatalog)).toEqual([[2, 'check', 'VALIDATE CONSTRAINT age_positive', ['age']]]);
    expect(fromCatalog[0]!.sql).toContain('WHERE NOT ((age > (0)::bigint))');
  });

  it('skips NOT ENFORCED constraints and constraints on columns the migration adds', () => {
    expect(plan('ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0) NOT ENFORCED;', { pgVersion: 18 })).toEqual([]);
    expect(plan('ALTER TABLE users ADD COLUMN score int;\nALTER TABLE users ADD CONSTRAINT c CHECK (score > 0);\nALTER TABLE users ALTER COLUMN score SET NOT NULL;')).toEqual([]);
  });
});

describe('planDataChecks: foreign-key', () => {
  it('counts orphans (MATCH SIMPLE: a NULL key passes), the referenced key read from the catalog when not written', () => {
    const [p] = plan('ALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs;');
    expect(p).toMatchObject({ check: 'foreign-key', columns: ['org_id'], action: 'ADD CONSTRAINT users_org_fk FOREIGN KEY', problem: 'whose (org_id) has no match in orgs (id)' });
    expect(p!.sql).toBe(
      `SELECT count(*)::int8 AS violations, NULL::int8 AS groups, (SELECT coalesce(json_agg(json_build_array(x.s1)), '[]') FROM (SELECT DISTINCT left((c."org_id")::text, 41) AS s1 FROM "users" AS c WHERE c."org_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "orgs" AS p WHERE p."id" = c."org_id") LIMIT 3) x) AS samples FROM "users" AS c WHERE c."org_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "orgs" AS p WHERE p."id" = c."org_id")`,
    );
  });

  it('MATCH FULL: a row with only some NULL keys fails', () => {
    const [p] = plan('ALTER TABLE users ADD FOREIGN KEY (org_id, code) REFERENCES orgs (id, region) MATCH FULL;');
    expect(p!.sql).toContain(`WHERE NOT (c."org_id" IS NULL AND c."code" IS NULL) AND (c."org_id" IS NULL OR c."code" IS NULL OR NOT EXISTS (SELECT 1 FROM "orgs" AS p WHERE p."id" = c."org_id" AND p."region" = c."code"))`);
  });

  it('checks at VALIDATE of a foreign key added NOT VALID; names what it could not check; skips a referenced table the migration creates', () => {
    expect(summary(plan('ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT fk;'))).toEqual([[3, 'foreign-key', 'VALIDATE CONSTRAINT fk', ['org_id']]]);
    expect(plan('ALTER TABLE users ADD FOREIGN KEY (org_id) REFERENCES nokey;')[0]).toMatchObject({ sql: undefined, note: 'not checked: the primary key of nokey is not known' });
    expect(plan('CREATE TABLE teams (id int PRIMARY KEY);\nALTER TABLE users ADD FOREIGN KEY (org_id) REFERENCES teams (id);')).toEqual([]);
  });

  it('ADD COLUMN … DEFAULT … REFERENCES: every existing row gets the default, which must exist', () => {
    const plans = plan('ALTER TABLE users ADD COLUMN team int DEFAULT 7 NOT NULL REFERENCES orgs (id), ADD COLUMN other int REFERENCES orgs;');
    expect(summary(plans)).toEqual([[2, 'foreign-key', 'ADD COLUMN team … REFERENCES orgs', ['team']]]);
    expect(plans[0]!.sql).toContain(`FROM "users" AS c WHERE NOT EXISTS (SELECT 1 FROM "orgs" AS p WHERE p."id" = (7))`);
  });
});

describe('planDataChecks: what is not checked', () => {
  it('a table the migration creates holds no data: nothing is checked on it', () => {
    expect(plan('CREATE TABLE audit (id int, note text);\nCREATE UNIQUE INDEX ON audit (id);\nALTER TABLE audit ALTER COLUMN note SET NOT NULL, ADD CHECK (id > 0), ALTER COLUMN note TYPE varchar(5);')).toEqual([]);
  });

  it('a table that does not exist before the migration (a typo, a rename earlier in it) is not checked', () => {
    expect(plan('ALTER TABLE nosuch ALTER COLUMN x SET NOT NULL;')).toEqual([]);
    expect(plan('ALTER TABLE orgs RENAME TO teams;\nALTER TABLE teams ALTER COLUMN region SET NOT NULL;')).toEqual([]);
  });

  it('a statement inside a DO block is checked at the DO statement’s line (where the runner reports its failure)', () => {
    expect(summary(plan('SELECT 1;\nDO $$\nBEGIN\n  ALTER TABLE users ALTER COLUMN email SET NOT NULL;\nEND $$;'))).toEqual([[3, 'not-null', 'SET NOT NULL on users.email', ['email']]]);
  });
});
