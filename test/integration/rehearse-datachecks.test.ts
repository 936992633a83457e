/**
 * `drydock rehearse`'s data checks on a pulled copy with real data: each prediction (duplicates,
 * NULLs, values that do not fit a new type, CHECK and foreign-key violations) is counted before the
 * migration runs, then reconciled with what running it did. Real PostgreSQL, real pg_dump, the built CLI.
 * The checks' own read-only guarantees and timeouts are tested in-process, on a scratch database.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseMigrationText } from '../../src/migrate/files.js';
import type { MigrationFile } from '../../src/migrate/types.js';
import { parseDatabaseUrl } from '../../src/pg/url.js';
import type { TypeInfo } from '../../src/lint/ast.js';
import type { DataCheck } from '../../src/rehearse/data-check-report.js';
import { typeFit } from '../../src/rehearse/data-check-sql.js';
import { runDataChecks } from '../../src/rehearse/data-checks.js';
import type { MigrationReport, RehearsalReport } from '../../src/rehearse/report.js';
import { runCli } from '../helpers/cli.js';
import { rehearseScope } from '../helpers/rehearse.js';
import { createTestDb, scalar, type TestDb } from '../helpers/db.js';

let source: TestDb;
const { env, migrationsDir, pulled: pulledFrom } = rehearseScope('drydock-datachecks-');

/** A working copy of the source, pulled with its pristine snapshot. */
function pulled(label: string): Promise<string> {
  return pulledFrom(source.localhostUrl, label);
}

async function rehearse(to: string, dir: string, extra: string[] = []): Promise<{ exitCode: number; doc: RehearsalReport; stderr: string }> {
  // The source's tables are made by hand, not by migrations: no fresh-database comparison (rehearse-fresh.test.ts has it).
  const res = await runCli(['rehearse', '--no-fresh', '--to', to, '--dir', dir, '--block-threshold', '10s', '--json', ...extra], { env, timeoutMs: 180_000 });
  expect(res.stdout, res.stderr).toMatch(/^\{/);
  return { exitCode: res.exitCode, doc: JSON.parse(res.stdout) as RehearsalReport, stderr: res.stderr };
}

function checkAt(m: MigrationReport, line: number, kind: DataCheck['check']): DataCheck {
  const found = (m.dataChecks ?? []).find((c) => c.line === line && c.check === kind);
  if (!found) throw new Error(`no ${kind} check at line ${line}: ${JSON.stringify(m.dataChecks)}`);
  return found;
}

beforeAll(async () => {
  source = await createTestDb('dchk_src');
  // 1,000 users; each scenario's bad rows have their own ids.
  await source.query(`
    CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
    INSERT INTO schema_migrations VALUES ('20260101000000');
    CREATE TABLE orgs (id int PRIMARY KEY);
    INSERT INTO orgs SELECT generate_series(1, 10);
    CREATE TABLE users (id int PRIMARY KEY, email text, login text, phone text, nick varchar(255), code text, born text, "Score" int, org_id int);
    INSERT INTO users SELECT g, 'u' || g || '@x.com', 'l' || g, '555-' || g, 'n' || g, g::text, '2020-01-01', g, g % 10 + 1 FROM generate_series(1, 1000) g;
    -- emails: 'a@x.com' x4 and 'b@x.com' x2 (de-duplicated by a migration before its unique index)
    UPDATE users SET email = 'a@x.com' WHERE id BETWEEN 1 AND 4;
    UPDATE users SET email = 'b@x.com' WHERE id BETWEEN 5 AND 6;
    -- logins: 'dup1' x4, 'dup2' x3; NULL logins never collide
    UPDATE users SET login = 'dup1' WHERE id BETWEEN 10 AND 13;
    UPDATE users SET login = 'dup2' WHERE id BETWEEN 20 AND 22;
    UPDATE users SET login = NULL WHERE id BETWEEN 30 AND 35;
    UPDATE users SET phone = NULL WHERE id BETWEEN 40 AND 44;
    -- nicks longer than 50 characters (trailing spaces beyond 50 are cut without an error)
    UPDATE users SET nick = repeat('x', 60) WHERE id = 50;
    UPDATE users SET nick = repeat('y', 100) WHERE id = 51;
    UPDATE users SET nick = repeat('z', 51) WHERE id = 52;
    UPDATE users SET nick = repeat('w', 48) || '    ' WHERE id = 53;
    -- codes that are not integers (' 42 ' is one; NULL converts)
    UPDATE users SET code = 'abc' WHERE id = 60;
    UPDATE users SET code = 'x1' WHERE id = 61;
    UPDATE users SET code = '99999999999' WHERE id = 62;
    UPDATE users SET code = ' 42 ' WHERE id = 63;
    UPDATE users SET code = NULL WHERE id = 64;
    UPDATE users SET born = 'soon' WHERE id = 90;
    UPDATE users SET "Score" = -id WHERE id BETWEEN 70 AND 73;
    UPDATE users SET "Score" = NULL WHERE id = 74;
    -- orphans of a foreign key to orgs (a NULL key passes)
    UPDATE users SET org_id = 999 WHERE id = 80;
    UPDATE users SET org_id = 998 WHERE id = 81;
    UPDATE users SET org_id = NULL WHERE id = 82;
  `);
}, 120_000);

afterAll(async () => {
  await source?.drop();
});

describe('drydock rehearse data checks', () => {
  it('counts what would fail before each migration, cites the check when the migration fails, and keeps predictions an earlier statement made wrong as notes', async () => {
    const to = await pulled('dchk_main');
    const dir = await migrationsDir({
      '20270101000000_audit.sql': [
        '-- migrate:up',
        'CREATE TABLE audit (id int, note text);',
        'CREATE UNIQUE INDEX audit_id_key ON audit (id);',
        'ALTER TABLE audit ALTER COLUMN note SET NOT NULL;',
        'ALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID;',
        '',
        '-- migrate:down',
        'ALTER TABLE users DROP CONSTRAINT users_org_fk;',
        'DROP TABLE audit;',
        '',
      ].join('\n'),
      '20270102000000_dedup_email.sql': [
        '-- migrate:up',
        'DELETE FROM users a USING users b WHERE a.email = b.email AND a.id > b.id;',
        'CREATE UNIQUE INDEX users_email_key ON users (email);',
        '',
        '-- migrate:down irreversible',
        '',
      ].join('\n'),
      '20270103000000_tighten.sql': [
        '-- migrate:up',
        'CREATE UNIQUE INDEX users_login_key ON users (login);',
        'ALTER TABLE users ALTER COLUMN phone SET NOT NULL;',
        'ALTER TABLE users ALTER COLUMN nick TYPE varchar(50);',
        'ALTER TABLE users ALTER COLUMN code TYPE integer USING code::integer;',
        'ALTER TABLE users ALTER COLUMN born TYPE date USING born::date;',
        'ALTER TABLE users ADD CONSTRAINT users_score_check CHECK ("Score" >= 0);',
        'ALTER TABLE users VALIDATE CONSTRAINT users_org_fk;',
        '',
        '-- migrate:down',
        'SELECT 1;',
        '',
      ].join('\n'),
    });
    const report = join(dir, 'report.md');
    const { exitCode, doc } = await rehearse(to, dir, ['--report', report]);
    expect(exitCode).toBe(1);
    const [audit, dedup, tighten] = doc.migrations;
    expect(doc.migrations.map((m) => m.verdict)).toEqual(['safe', 'irreversible', 'fails']);

    // Statements on a table the migration creates, and a foreign key added NOT VALID, check nothing.
    expect(audit!.dataChecks).toEqual([]);

    // The de-duplicating DELETE ran first: the predicted duplicates are a note, not a failure.
    const email = checkAt(dedup!, 3, 'unique');
    expect(email).toMatchObject({ table: 'users', columns: ['email'], violations: 6, groups: 2, prediction: 'fails', samples: [{ values: ['a@x.com'], count: 4 }, { values: ['b@x.com'], count: 2 }] });
    expect(email.note).toContain('but the statement succeeded on the copy: an earlier statement of the migration must have changed the data');
    expect(dedup!.failure).toBeUndefined();

    // The unique index over duplicated logins fails, and the verdict cites the check's count and samples.
    expect(tighten!.reason).toBe("it fails on the copy's data: CREATE UNIQUE INDEX users_login_key would fail: 7 rows share 2 duplicated values of (login), e.g. 'dup1' ×4, 'dup2' ×3");
    expect(checkAt(tighten!, 2, 'unique')).toMatchObject({ violations: 7, groups: 2, note: 'the statement failed on the copy, as predicted' });
    expect(tighten!.failure!.details.join('\n')).toMatch(/Key \(login\)=\(dup[12]\) is duplicated/);

    // The later statements were not reached; what they would have met is still counted.
    const notReached = 'would also fail (not reached: the migration failed at line 2)';
    expect(checkAt(tighten!, 3, 'not-null')).toMatchObject({ columns: ['phone'], violations: 5, prediction: 'fails', note: notReached });
    const nick = checkAt(tighten!, 4, 'type');
    expect(nick).toMatchObject({ columns: ['nick'], violations: 3, prediction: 'fails', note: notReached });
    expect(nick.samples.map((s) => s.values[0])).toEqual(expect.arrayContaining([`${'y'.repeat(40)}…`, `${'x'.repeat(40)}…`]));
    const code = checkAt(tighten!, 5, 'type');
    expect(code).toMatchObject({ violations: 3, prediction: 'fails' });
    expect(code.samples.map((s) => s.values[0]).sort()).toEqual(['99999999999', 'abc', 'x1']);
    // text → date: counted only from PostgreSQL 16 (pg_input_is_valid); before, every value is converted and the first bad one named.
    const born = checkAt(tighten!, 6, 'type');
    expect(born.prediction).toBe('fails');
    if (born.violations === null) expect(born.error).toContain('invalid input syntax for type date: "soon"');
    else expect(born.violations).toBe(1);
    const score = checkAt(tighten!, 7, 'check');
    expect(score).toMatchObject({ action: 'ADD CONSTRAINT users_score_check CHECK', columns: ['Score'], violations: 4, prediction: 'fails' });
    // At most three samples.
    expect(score.samples).toHaveLength(3);
    for (const s of score.samples) expect(s.values[0]).toMatch(/^-7[0-3]$/);
    const fk = checkAt(tighten!, 8, 'foreign-key');
    expect(fk).toMatchObject({ action: 'VALIDATE CONSTRAINT users_org_fk', columns: ['org_id'], violations: 2, prediction: 'fails' });
    expect(fk.samples.map((s) => s.values[0]).sort()).toEqual(['998', '999']);

    // The checks' own time is reported apart from the migration's.
    expect(tighten!.dataChecksMs).toBeGreaterThanOrEqual(0);
    expect(tighten!.dataChecks!.every((c) => typeof c.ms === 'number' && c.query !== undefined)).toBe(true);

    // The Markdown report lists them.
    const markdown = await readFile(report, 'utf8');
    expect(markdown).toContain("data check, line 2 (unique, ");
    expect(markdown).toContain('ALTER COLUMN nick TYPE varchar(50) would fail: 3 values longer than 50 characters');
    expect(markdown).toMatch(/data checks took .+ before the migration ran \(not counted in its time\)/);

    // Nothing the checks did is left: the copy is pristine again.
    expect(await scalar(to, 'SELECT count(*) AS n FROM users')).toBe(1000);
  }, 240_000);

  it('cites the check of the statement that failed: a foreign key validated in its own migration, a type change', async () => {
    const to = await pulled('dchk_cause');
    const fkDir = await migrationsDir({
      '20270101000000_fk.sql': '-- migrate:up\nALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT users_org_fk;\n\n-- migrate:down\nALTER TABLE users DROP CONSTRAINT users_org_fk;\n',
    });
    const fk = await rehearse(to, fkDir);
    expect(fk.exitCode).toBe(1);
    expect(fk.doc.migrations[0]).toMatchObject({ verdict: 'fails', reason: expect.stringMatching(/^it fails on the copy's data: VALIDATE CONSTRAINT users_org_fk would fail: 2 rows whose \(org_id\) has no match in orgs \(id\), e.g. '99[89]', '99[89]'$/) as string });
    expect(fk.doc.migrations[0]!.dataChecks).toHaveLength(1);

    const typeDir = await migrationsDir({
      '20270101000000_code.sql': '-- migrate:up\n-- codes become numbers\nALTER TABLE users\n  ALTER COLUMN code TYPE integer USING code::integer;\n\n-- migrate:down\nALTER TABLE users ALTER COLUMN code TYPE text;\n',
    });
    const type = await rehearse(to, typeDir);
    expect(type.exitCode).toBe(1);
    const m = type.doc.migrations[0]!;
    expect(m.reason).toMatch(/^it fails on the copy's data: ALTER COLUMN code TYPE integer would fail: 3 values not valid as integer, e.g. /);
    expect(checkAt(m, 3, 'type').note).toBe('the statement failed on the copy, as predicted');

  }, 240_000);
});

describe('runDataChecks (in-process, on a scratch database)', () => {
  let db: TestDb;
  const migration = (up: string): MigrationFile => ({ ...parseMigrationText('x.sql', `-- migrate:up\n${up}\n`), version: '20270101000000', name: 'x', fileName: '20270101000000_x.sql', path: '/x.sql', checksum: '' });

  beforeAll(async () => {
    db = await createTestDb('dchk_run');
    await db.query(`
      CREATE TABLE log (n int);
      CREATE TABLE t (id int, v text);
      INSERT INTO t SELECT g, g::text FROM generate_series(1, 20) g;
      CREATE TABLE u (id int, v text);
      INSERT INTO u VALUES (1, 'a');
      CREATE FUNCTION slow_ok(x int) RETURNS boolean LANGUAGE sql AS 'SELECT pg_sleep(0.05) IS NOT NULL';
      CREATE FUNCTION sneaky(x int) RETURNS boolean LANGUAGE sql AS 'INSERT INTO log VALUES (1) RETURNING true';
    `);
  });
  afterAll(async () => db?.drop());

  it('runs every check read-only: a CHECK whose function writes is not checked, and nothing is written', async () => {
    const run = await runDataChecks(parseDatabaseUrl(db.url), migration('ALTER TABLE t ADD CONSTRAINT c CHECK (sneaky(id));'));
    expect(run.checks).toHaveLength(1);
    expect(run.checks[0]).toMatchObject({ prediction: 'unknown', violations: null });
    expect(run.checks[0]!.note).toMatch(/^not checked: the check's query failed: .*read-only transaction/);
    expect(await scalar(db.name, 'SELECT count(*) AS n FROM log')).toBe(0);
  });

  it('gives up on a check after its statement_timeout and says so', async () => {
    const run = await runDataChecks(parseDatabaseUrl(db.url), migration('ALTER TABLE t ADD CONSTRAINT c CHECK (slow_ok(id));\nALTER TABLE t ALTER COLUMN v SET NOT NULL;'), { statementTimeoutMs: 200 });
    expect(run.checks.map((c) => [c.check, c.prediction, c.note])).toEqual([
      ['check', 'unknown', 'not checked: timed out after 200 ms'],
      ['not-null', 'passes', undefined],
    ]);
    expect(run.ms).toBeGreaterThanOrEqual(200);
  });

  it('does not wait behind a lock another session holds', async () => {
    const pg = (await import('pg')).default;
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      // The first check is slow; while it runs, another session locks the table of the second.
      const running = runDataChecks(parseDatabaseUrl(db.url), migration('ALTER TABLE t ADD CONSTRAINT c CHECK (slow_ok(id));\nALTER TABLE u ALTER COLUMN v SET NOT NULL;'), { lockTimeoutMs: 100 });
      for (let i = 0; ; i++) {
        const { rows } = await holder.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'drydock rehearse data checks' AND query LIKE '%slow_ok%' AND state = 'active'`);
        if (Number(rows[0]!.n) > 0) break;
        if (i > 200) throw new Error('the slow check never started');
        await new Promise((r) => setTimeout(r, 10));
      }
      await holder.query('BEGIN; LOCK TABLE u IN ACCESS EXCLUSIVE MODE');
      const run = await running;
      expect(run.checks.map((c) => [c.check, c.prediction, c.note])).toEqual([
        ['check', 'passes', undefined],
        ['not-null', 'unknown', 'not checked: another session holds a lock on u'],
      ]);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
  });

  it('refuses to run, saying why, when it cannot read the catalog for a lock', async () => {
    const pg = (await import('pg')).default;
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE u IN ACCESS EXCLUSIVE MODE');
      await expect(runDataChecks(parseDatabaseUrl(db.url), migration('ALTER TABLE t ALTER COLUMN v SET NOT NULL;'), { lockTimeoutMs: 100 })).rejects.toThrow(/could not read the catalog of .* for the data checks: canceling statement due to lock timeout/);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
  });

  it('counts exactly the text values PostgreSQL refuses to convert to integers, numerics, booleans, uuids and short strings', async () => {
    const inputs = [
      '42', ' 42 ', '+7', '-0', '0012', '\t12\n', '1.5', '1e3', ' 1.5e-2 ', '', ' ', 'abc', '12_000', '0x1F', '32767', '32768', '-32768', '-32769',
      '2147483647', '2147483648', '-2147483648', '9223372036854775807', '9223372036854775808', 'NaN', 'nan', ' Infinity ', '-inf', '+infinity', 'infinit',
      '9999.99', '9999.994', '9999.995', '10000', '-9999.994', '.5', '5.', 'e5', '1e', '1e-5', '--1', '1 2',
      't', 'TRUE', ' yes ', 'of', 'o', 'on', 'On', '1', '0', '2', 'y', 'no', 'nope', 'tr ue', 'fals',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', 'a0eebc999c0b4ef8bb6d6bb9bd380a11',
      'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1', ' a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a0eebc99-9c0b4ef8-bb6d-6bb9bd380a11-',
      'abcde', 'abcdef', 'abc   ', 'abcde  ', 'abcdef ', 'ab\tcdef', 'éèêëà', 'éèêëàx',
    ];
    await db.query('CREATE TABLE inputs (v text)');
    await db.query(`INSERT INTO inputs SELECT unnest($1::text[]) UNION ALL SELECT NULL`, [inputs]);
    // The truth, from PostgreSQL itself: a cast (USING v::type), and a plpgsql assignment for the length (ALTER … TYPE varchar(5) assigns).
    await db.query(`CREATE FUNCTION converts(v text, target text) RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN EXECUTE format('SELECT %L::%s', v, target); RETURN true; EXCEPTION WHEN data_exception THEN RETURN false; END $$`);
    await db.query(`CREATE FUNCTION fits5(v text) RETURNS boolean LANGUAGE plpgsql AS $$
      DECLARE x varchar(5); BEGIN x := v; RETURN true; EXCEPTION WHEN data_exception THEN RETURN false; END $$`);
    const major = Number((await db.query<{ v: string }>('SELECT current_setting(\'server_version_num\') AS v')).rows[0]!.v.slice(0, -4));
    const text: TypeInfo = { name: 'text', schema: undefined, typmods: [], isArray: false };
    const targets: Array<[TypeInfo, string]> = [
      [{ ...text, name: 'int2' }, 'int2'],
      [{ ...text, name: 'int4' }, 'int4'],
      [{ ...text, name: 'int8' }, 'int8'],
      [{ ...text, name: 'numeric', typmods: [6, 2] }, 'numeric(6,2)'],
      [{ ...text, name: 'numeric' }, 'numeric'],
      [{ ...text, name: 'bool' }, 'boolean'],
      [{ ...text, name: 'uuid' }, 'uuid'],
      [{ ...text, name: 'varchar', typmods: [5] }, 'varchar(5)'],
    ];
    for (const [to, sql] of targets) {
      const fit = typeFit(text, to, sql, 'v', major);
      if (fit.kind !== 'count') throw new Error(`${sql}: ${fit.kind}`);
      const bad = (await db.query<{ v: string }>(`SELECT v FROM inputs WHERE ${fit.bad} ORDER BY v`)).rows.map((r) => r.v);
      const truth = sql === 'varchar(5)' ? 'NOT fits5(v)' : `NOT converts(v, '${sql}')`;
      const refused = (await db.query<{ v: string }>(`SELECT v FROM inputs WHERE ${truth} ORDER BY v`)).rows.map((r) => r.v);
      expect({ target: sql, bad }).toEqual({ target: sql, bad: refused });
    }
  });
});
