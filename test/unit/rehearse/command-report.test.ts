import { beforeAll, describe, expect, it } from 'vitest';

import type { RelationFact } from '../../../src/pg/queries/rehearse.js';
import { commandMigrations, splitByLedger, type CommandMeasurements } from '../../../src/rehearse/command-report.js';
import { isBookkeepingObject, ledgerMark, ledgerRemovals, parserSplitter, statementRole } from '../../../src/rehearse/framework.js';
import { migrationReport } from '../../../src/rehearse/report.js';
import type { RecordedStatement, RecordedTransaction, SqlSplitter } from '../../../src/rehearse/wire-session.js';

let split: SqlSplitter;
beforeAll(async () => {
  split = await parserSplitter();
});

type Extra = Partial<Omit<RecordedStatement, 'sql'>> & { ms?: number };

/** A recorded statement, parsed by drydock's parser. */
function stmt(sql: string, extra: Partial<Omit<RecordedStatement, 'sql'>> = {}): RecordedStatement {
  const parsed = split(sql)?.[0];
  return {
    connection: 1,
    backendPid: 100,
    sql,
    truncated: false,
    kind: parsed?.kind,
    node: parsed?.node,
    params: undefined,
    protocol: 'simple',
    startMs: 0,
    endMs: 1,
    tag: undefined,
    rowCount: null,
    error: undefined,
    inTransaction: extra.transaction !== undefined,
    transaction: undefined,
    ...extra,
  };
}

/** Statements one after the other, 10 ms apart, each taking `ms` (default 1). */
function timeline(items: Array<[string, Extra?]>): RecordedStatement[] {
  let t = 0;
  return items.map(([sql, extra]) => {
    const { ms = 1, ...fields } = extra ?? {};
    const s = stmt(sql, { startMs: t, endMs: t + ms, ...fields });
    t += ms + 10;
    return s;
  });
}

describe('statementRole', () => {
  it.each([
    ['select * from information_schema.tables where table_name = $1 and table_schema = current_schema()', 'bookkeeping'],
    ['create table "knex_migrations" ("id" serial primary key, "name" varchar(255), "batch" integer, "migration_time" timestamptz)', 'bookkeeping'],
    ['insert into "knex_migrations" ("batch", "migration_time", "name") values ($1, $2, $3)', 'bookkeeping'],
    ['update "knex_migrations_lock" set "is_locked" = $1 where "is_locked" = $2', 'bookkeeping'],
    ['SELECT "schema_migrations"."version" FROM "schema_migrations" ORDER BY "schema_migrations"."version" ASC', 'bookkeeping'],
    ['SELECT pg_try_advisory_lock(1564618389456701)', 'bookkeeping'],
    ['SELECT 1', 'bookkeeping'],
    ['SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace', 'bookkeeping'],
    ['WITH v AS (SELECT 1 AS x) SELECT x FROM v', 'bookkeeping'],
    ["SET lock_timeout = '5s'", 'session'],
    ['BEGIN', 'session'],
    ['COMMIT', 'session'],
    ['alter table "accounts" add column "nickname" text', 'migration'],
    ['SELECT id FROM accounts WHERE email IS NULL', 'migration'],
    ['WITH gone AS (DELETE FROM sessions RETURNING id) SELECT count(*) FROM gone', 'migration'],
    ['SELECT pg_sleep(1) INTO TEMP t', 'migration'],
    ['CREATE EXTENSION IF NOT EXISTS pgcrypto', 'migration'],
    ['this is not sql', 'migration'],
  ])('%s → %s', (sql, role) => {
    expect(statementRole(stmt(sql))).toBe(role);
  });
});

describe('ledgerMark and ledgerRemovals', () => {
  it('reads the migration names from ledger rows, whether bound or literal', () => {
    expect(ledgerMark(stmt('insert into "knex_migrations" ("batch", "migration_time", "name") values ($1, $2, $3)', { params: ['1', '2027-01-01', '001_add.js'] }))).toMatchObject({ ledger: { framework: 'Knex' }, names: ['001_add.js'] });
    expect(ledgerMark(stmt('INSERT INTO "schema_migrations" ("version") VALUES ($1) RETURNING "version"', { params: ['20270101000000'] }))).toMatchObject({ ledger: { framework: 'Rails' }, names: ['20270101000000'] });
    expect(ledgerMark(stmt(`INSERT INTO "django_migrations" ("app", "name", "applied") VALUES ('shop', '0002_price', '2027-01-01T00:00:00'::timestamptz) RETURNING "django_migrations"."id"`))!.names).toEqual(['shop.0002_price']);
    expect(ledgerMark(stmt(`UPDATE alembic_version SET version_num='ae1027a6acf' WHERE alembic_version.version_num = '1975ea83b712'`))!.names).toEqual(['ae1027a6acf']);
    expect(ledgerMark(stmt(`INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at") VALUES ($1, $2, $3, now())`, { params: ['x', 'y', '20270101_init', null] }))).toMatchObject({ ledger: { at: 'start' }, names: ['20270101_init'] });
    expect(ledgerMark(stmt(`INSERT INTO schema_migrations (version) VALUES ('1'), ('2')`))!.names).toEqual(['1', '2']);
    expect(ledgerMark(stmt('INSERT INTO accounts (id) VALUES (1)'))).toBeUndefined();
    expect(ledgerMark(stmt('UPDATE "_prisma_migrations" SET "finished_at" = now() WHERE id = $1'))).toBeUndefined();
  });

  it('counts the migrations a rollback takes out of the ledger', () => {
    expect(ledgerRemovals(stmt('delete from "knex_migrations" where "name" = $1', { rowCount: 1, tag: 'DELETE 1' }))).toBe(1);
    expect(ledgerRemovals(stmt('DELETE FROM "schema_migrations" WHERE "schema_migrations"."version" = $1', { rowCount: 0, tag: 'DELETE 0' }))).toBe(0);
    expect(ledgerRemovals(stmt('delete from "knex_migrations" where "name" = $1', { rowCount: 1, error: { severity: 'ERROR', code: '40P01', message: 'deadlock' } }))).toBe(0);
    expect(ledgerRemovals(stmt(`UPDATE alembic_version SET version_num='1975ea83b712' WHERE alembic_version.version_num = 'ae1027a6acf'`))).toBe(1);
    expect(ledgerRemovals(stmt('DELETE FROM accounts', { rowCount: 5 }))).toBe(0);
  });

  it('tells the frameworks’ objects in a schema dump from the app’s', () => {
    expect(isBookkeepingObject('table public.knex_migrations')).toBe(true);
    expect(isBookkeepingObject('sequence public.knex_migrations_lock_index_seq')).toBe(true);
    expect(isBookkeepingObject('constraint public.knex_migrations knex_migrations_pkey')).toBe(true);
    expect(isBookkeepingObject('table public.accounts')).toBe(false);
    expect(isBookkeepingObject('index public.migrations_idx')).toBe(false);
  });
});

const KNEX_INSERT = 'insert into "knex_migrations" ("batch", "migration_time", "name") values ($1, $2, $3)';

describe('splitByLedger', () => {
  it('ends a migration at its ledger row, with the COMMIT of the transaction it was written in (Rails)', () => {
    const s = timeline([
      ['SELECT pg_try_advisory_lock(1)'],
      ['BEGIN', { transaction: 0 }],
      ['ALTER TABLE accounts ADD COLUMN a int', { transaction: 0 }],
      ['INSERT INTO "schema_migrations" ("version") VALUES ($1)', { transaction: 0, params: ['1'] }],
      ['COMMIT', { transaction: 0 }],
      ['BEGIN', { transaction: 1 }],
      ['ALTER TABLE accounts ADD COLUMN b int', { transaction: 1 }],
      ['INSERT INTO "schema_migrations" ("version") VALUES ($1)', { transaction: 1, params: ['2'] }],
      ['COMMIT', { transaction: 1 }],
      ['SELECT pg_advisory_unlock(1)'],
    ]);
    const { segments, rest } = splitByLedger(s);
    expect(segments.map((g) => [g.names, g.statements.map((x) => x.sql.split(' ')[0])])).toEqual([
      [['1'], ['SELECT', 'BEGIN', 'ALTER', 'INSERT', 'COMMIT']],
      [['2'], ['BEGIN', 'ALTER', 'INSERT', 'COMMIT']],
    ]);
    expect(rest.map((x) => x.sql)).toEqual(['SELECT pg_advisory_unlock(1)']);
  });

  it('starts a migration at its ledger row when the framework writes it first (Prisma)', () => {
    const prisma = (name: string): [string, Extra] => [`INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name") VALUES ($1, $2, $3)`, { params: ['i', 'c', name] }];
    const s = timeline([['SELECT 1'], prisma('001_a'), ['CREATE TABLE a (id int)'], ['UPDATE "_prisma_migrations" SET "finished_at" = now() WHERE "id" = $1'], prisma('002_b'), ['CREATE TABLE b (id int)']]);
    const { segments } = splitByLedger(s);
    expect(segments.map((g) => [g.names, g.statements.length])).toEqual([
      [['001_a'], 4],
      [['002_b'], 2],
    ]);
  });
});

/** Relations that existed before the command. */
const EXISTING = new Map<number, RelationFact>(
  [
    [1, 'accounts', 'r'],
    [2, 'events', 'r'],
  ].map(([oid, relname, kind]) => [oid as number, { oid: oid as number, name: `public.${relname as string}`, schema: 'public', relname: relname as string, kind: kind as string, fileNode: oid as number }]),
);

function measurements(statements: RecordedStatement[], transactions: RecordedTransaction[], extra: Partial<CommandMeasurements> = {}): CommandMeasurements {
  return {
    command: 'npx knex migrate:latest',
    statements,
    transactions,
    watch: { locks: [], waits: [], probed: [] },
    existing: EXISTING,
    walBytes: new Map(),
    writes: [],
    findings: new Map(),
    leftBehind: { invalidIndexes: [], notValidConstraints: [] },
    failed: undefined,
    ...extra,
  };
}

describe('commandMigrations', () => {
  // Knex's default: the whole batch in one transaction, each ledger row written inside it.
  const batch = (): { statements: RecordedStatement[]; transactions: RecordedTransaction[] } => {
    const statements = timeline([
      ['BEGIN', { transaction: 0 }],
      ['alter table "accounts" add column "nickname" text', { transaction: 0 }],
      [KNEX_INSERT, { transaction: 0, params: ['1', 'now', '001_nickname.js'] }],
      ['create index "events_payload_idx" on "events" ("payload")', { transaction: 0, ms: 400 }],
      [KNEX_INSERT, { transaction: 0, params: ['1', 'now', '002_index.js'] }],
      ['COMMIT', { transaction: 0 }],
    ]);
    return { statements, transactions: [{ connection: 1, startMs: 0, endMs: statements.at(-1)!.endMs, outcome: 'commit' }] };
  };

  it("counts the waits on a migration's tables until its transaction ends, not only while its statements ran", () => {
    const { statements, transactions } = batch();
    const index = statements[3]!;
    const watch = {
      locks: [
        { relation: 'public.events', mode: 'ShareLock', firstMs: index.startMs + 5, lastMs: index.endMs },
        // The column add's lock, first seen by the poll only while the index builds: still the column add's.
        { relation: 'public.accounts', mode: 'AccessExclusiveLock', firstMs: index.startMs + 30, lastMs: index.endMs },
      ],
      waits: [
        { table: 'public.accounts', kind: 'read' as const, startMs: statements[1]!.endMs + 1, endMs: index.endMs + 5 },
        { table: 'public.accounts', kind: 'write' as const, startMs: statements[1]!.endMs + 1, endMs: index.endMs + 5 },
        { table: 'public.events', kind: 'write' as const, startMs: index.startMs + 2, endMs: index.endMs },
      ],
      probed: ['public.accounts', 'public.events'],
    };
    const [nickname, build] = commandMigrations(measurements(statements, transactions, { watch })).map((m) => migrationReport(m, 100));
    expect(nickname).toMatchObject({ file: '001_nickname.js', verdict: 'blocking', blockedTables: { reads: 'public.accounts' } });
    expect(nickname!.blockedMs.reads).toBeGreaterThan(400);
    // The index build's window holds only its own table's waits; the column add's lock is reported from its statement.
    expect(build).toMatchObject({ file: '002_index.js', verdict: 'blocking', blockedTables: { writes: 'public.events', reads: undefined } });
    expect(build!.statements.map((s) => [s.line, s.sql])).toEqual([[2, 'create index "events_payload_idx" on "events" ("payload")']]);
    expect(nickname!.locks).toEqual([{ relation: 'public.accounts', mode: 'AccessExclusiveLock', heldMs: index.endMs - statements[1]!.startMs }]);
    expect(build!.locks).toEqual([{ relation: 'public.events', mode: 'ShareLock', heldMs: 400 }]);
  });

  it('names a failing migration the framework never recorded after the last one it did, with the SQL error', () => {
    const statements = timeline([
      ['alter table "accounts" add column "nickname" text'],
      [KNEX_INSERT, { params: ['1', 'now', '001_nickname.js'] }],
      ['BEGIN', { transaction: 0 }],
      ['alter table "events" add constraint "events_code_key" unique ("code")', { transaction: 0, error: { severity: 'ERROR', code: '23505', message: 'could not create unique index "events_code_key"', detail: 'Key (code)=(c1) is duplicated.' } }],
      ['ROLLBACK', { transaction: 0 }],
      ['update "knex_migrations_lock" set "is_locked" = $1', { params: ['0'] }],
    ]);
    const transactions: RecordedTransaction[] = [{ connection: 1, startMs: statements[2]!.startMs, endMs: statements[4]!.endMs, outcome: 'rollback' }];
    const reports = commandMigrations(measurements(statements, transactions, { failed: { exitCode: 1, output: 'migration failed' } })).map((m) => migrationReport(m, 100));
    expect(reports.map((r) => [r.file, r.verdict])).toEqual([
      ['001_nickname.js', 'safe'],
      ['the migration after 001_nickname.js (not recorded by the framework)', 'fails'],
    ]);
    expect(reports[1]!.failure).toEqual({
      message: 'statement 2: could not create unique index "events_code_key" (SQLSTATE 23505)',
      details: ['detail: Key (code)=(c1) is duplicated.', 'statement: alter table "events" add constraint "events_code_key" unique ("code")', 'the command failed (exit 1)'],
    });
  });

  it('makes the whole command one migration when no ledger is recognised; a command that ran nothing reports nothing', () => {
    const statements = timeline([['SELECT 1'], ['ALTER TABLE accounts ADD COLUMN a int', { tag: 'ALTER TABLE' }], ['UPDATE accounts SET a = 1', { tag: 'UPDATE 1000', rowCount: 1000 }], ['SELECT id FROM accounts', { tag: 'SELECT 1000', rowCount: 1000 }]]);
    const [only] = commandMigrations(measurements(statements, [])).map((m) => migrationReport(m, 100));
    expect(only).toMatchObject({ name: 'npx knex migrate:latest', verdict: 'safe', rowsChanged: 1000 });
    expect(only!.statements.map((s) => s.rowCount)).toEqual([null, 1000, null]);
    expect(commandMigrations(measurements(timeline([['SELECT 1'], ['select * from "knex_migrations"']]), []))).toEqual([]);
  });

  it('attributes rewrites, index builds and what was left behind to the statements that name them', () => {
    const statements = timeline([
      ['ALTER TABLE accounts ALTER COLUMN id TYPE bigint'],
      [KNEX_INSERT, { params: ['1', 'now', '001_bigint.js'] }],
      ['CREATE INDEX CONCURRENTLY events_code_idx ON events (code)'],
      [KNEX_INSERT, { params: ['1', 'now', '002_index.js'] }],
    ]);
    const [bigint, index] = commandMigrations(
      measurements(statements, [], {
        writes: [
          { relation: 'public.accounts', relname: 'accounts', kind: 'table', bytes: 8192, rewritten: true },
          { relation: 'public.events_code_idx', relname: 'events_code_idx', kind: 'index', bytes: 16384, rewritten: false },
        ],
        leftBehind: { invalidIndexes: [{ label: 'public.events_code_idx on public.events', name: 'events_code_idx' }], notValidConstraints: [] },
      }),
    ).map((m) => migrationReport(m, 100));
    expect(bigint!.rewrites).toEqual([{ relation: 'public.accounts', kind: 'table', bytes: 8192 }]);
    expect(index!.indexBuilds).toEqual([{ relation: 'public.events_code_idx', kind: 'index', bytes: 16384 }]);
    expect(index!.leftBehind.invalidIndexes).toEqual(['public.events_code_idx on public.events']);
    expect(bigint!.leftBehind.invalidIndexes).toEqual([]);
  });
});
