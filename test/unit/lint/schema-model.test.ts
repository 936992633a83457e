/**
 * Issue 14: the schema model behind the rules. Earlier migrations of the folder are replayed (DDL only)
 * so a file linted alone, after --start-after, knows the old type of a column; a database's catalog
 * (plain data here; read from a real server in test/integration/lint-model.test.ts) gives types and
 * sizes; findings on small measured tables are notes; drydock.json turns rules off or changes their
 * severity per path.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { lintFile, lintFiles, planLintFiles } from '../../../src/lint/lint.js';
import { catalogTypeInfo, SchemaModel, type CatalogSchema, type CatalogTable } from '../../../src/lint/schema-model.js';
import { compareVersions, globToRegExp, migrationVersion, ruleLevelsFor } from '../../../src/lint/settings.js';
import { ensureParser } from '../../../src/sql/parse.js';

beforeAll(async () => {
  await ensureParser();
});

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** A folder of migration files: { relative path: SQL }. */
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-model-'));
  dirs.push(dir);
  for (const [path, sql] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), sql);
  }
  return dir;
}

const findingsOf = (run: Awaited<ReturnType<typeof lintFiles>>) => run.findings.map((f) => `${f.file}:${f.rule}`);

/** The type changes that rewrote or scanned the table on PG15 in the judged corpora, with the earlier migration that declared the column. */
const REWRITES: Array<{ create: string; change: string }> = [
  { create: 'CREATE TABLE "Attachment" ("id" SERIAL PRIMARY KEY, "data" BYTEA NOT NULL);', change: 'ALTER TABLE "Attachment" ALTER COLUMN "data" SET DATA TYPE TEXT;' },
  { create: 'CREATE TABLE "User" ("id" SERIAL PRIMARY KEY, "name" TEXT);', change: 'ALTER TABLE "User" ALTER COLUMN "name" SET DATA TYPE VARCHAR(150);' },
  { create: 'CREATE TABLE users (id serial PRIMARY KEY, email varchar(255) NOT NULL);', change: 'ALTER TABLE users ALTER COLUMN email TYPE varchar(50);' },
  { create: 'CREATE TABLE items (id int PRIMARY KEY, code int);', change: 'ALTER TABLE items ALTER COLUMN code TYPE text;' },
  { create: 'CREATE TABLE tokens (id uuid PRIMARY KEY, owner uuid);', change: 'ALTER TABLE tokens ALTER COLUMN owner TYPE text;' },
  { create: 'CREATE TABLE posts (id int PRIMARY KEY, body text);', change: 'ALTER TABLE posts ALTER COLUMN body TYPE varchar(512);' },
];

describe('replaying earlier migrations (no database)', () => {
  it.each(REWRITES)('knows the old type of $change from the earlier file, linted alone, after --start-after, and in the whole folder', async ({ create, change }) => {
    const dir = folder({ '20260101000000_create.sql': `-- migrate:up\n${create}\n`, '20260102000000_change.sql': `-- migrate:up\n${change}\n` });
    for (const run of [
      await lintFiles([join(dir, '20260102000000_change.sql')], { pgVersion: 15, cwd: dir }),
      await lintFiles([dir], { pgVersion: 15, cwd: dir, startAfter: '20260101000000' }),
      await lintFiles([dir], { pgVersion: 15, cwd: dir }),
    ]) {
      const finding = run.findings.find((f) => f.rule === 'changing-column-type');
      expect(finding?.file).toBe('20260102000000_change.sql');
      // The message names the old type: the model knew it.
      expect(finding?.message).toMatch(/ from (bytea|text|varchar\(255\)|integer|uuid)/);
    }
  });

  it('follows RENAME COLUMN across migrations (the old name\'s type moves to the new name)', async () => {
    const dir = folder({
      '20260101000000_create.sql': '-- migrate:up\nCREATE TABLE docs (id int, body bytea);\n',
      '20260102000000_rename.sql': '-- migrate:up\nALTER TABLE docs RENAME COLUMN body TO content;\n',
      '20260103000000_change.sql': '-- migrate:up\nALTER TABLE docs ALTER COLUMN content TYPE text;\n',
    });
    const run = await lintFiles([dir], { pgVersion: 15, cwd: dir, startAfter: '20260102000000' });
    expect(run.findings.map((f) => [f.rule, f.message.includes('from bytea')])).toEqual([['changing-column-type', true]]);
  });

  it('stays quiet for a widening it can prove from the earlier file', async () => {
    const dir = folder({
      '20260101000000_create.sql': '-- migrate:up\nCREATE TABLE users (id int, email varchar(100), bio varchar(20));\n',
      '20260102000000_widen.sql': '-- migrate:up\nALTER TABLE users ALTER COLUMN email TYPE varchar(255);\nALTER TABLE users ALTER COLUMN bio TYPE text;\n',
    });
    expect(findingsOf(await lintFiles([join(dir, '20260102000000_widen.sql')], { pgVersion: 15, cwd: dir }))).toEqual([]);
  });

  it('says the old type is unknown, and how to let drydock know, when nothing declared it', () => {
    const run = lintFile('alone.sql', "SET lock_timeout = '5s';\nALTER TABLE users ALTER COLUMN email TYPE varchar(100);", { pgVersion: 15 });
    expect(run.findings.map((f) => f.rule)).toEqual(['changing-column-type']);
    expect(run.findings[0]!.message).toContain('does not know its old type');
    expect(run.findings[0]!.help).toContain('--url');
  });

  it('knows a schema an earlier migration created holds only functions and triggers: DROP SCHEMA … CASCADE drops no table', async () => {
    const dir = folder({
      '20260101000000_audit.sql': [
        '-- migrate:up',
        'CREATE SCHEMA audit;',
        'CREATE FUNCTION audit.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$;',
        'CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION audit.touch();',
        '',
      ].join('\n'),
      '20260102000000_drop_audit.sql': 'DROP SCHEMA audit CASCADE;\n',
    });
    const run = await lintFiles([join(dir, '20260102000000_drop_audit.sql')], { pgVersion: 15, cwd: dir });
    // Not a dropped table; but the triggers it drops take ACCESS EXCLUSIVE on their tables.
    expect(run.findings.map((f) => f.rule)).toEqual(['require-lock-timeout']);
    const withTable = folder({ '1_a.up.sql': 'CREATE SCHEMA audit;\nCREATE TABLE audit.log (id int);\n', '2_b.up.sql': "SET lock_timeout = '1s';\nDROP SCHEMA audit CASCADE;\n" });
    const dropped = await lintFiles([withTable], { pgVersion: 15, cwd: withTable, startAfter: '1' });
    expect(dropped.findings.map((f) => [f.rule, f.message.includes('`log`')])).toEqual([['ban-drop-table', true]]);
  });

  it('forgets what a down section does (later migrations see the up section)', async () => {
    const dir = folder({
      '20260101000000_create.sql': '-- migrate:up\nCREATE TABLE t (id int, a varchar(10));\n-- migrate:down\nALTER TABLE t ALTER COLUMN a TYPE bytea USING a::bytea;\n',
      '20260102000000_widen.sql': '-- migrate:up\nALTER TABLE t ALTER COLUMN a TYPE text;\n',
    });
    const run = await lintFiles([dir], { pgVersion: 15, cwd: dir, down: true });
    expect(findingsOf(run).filter((f) => f.startsWith('20260102000000'))).toEqual([]);
  });
});

describe('--start-after with the names migration tools use', () => {
  const cases: Array<{ tool: string; files: string[]; startAfter: string; linted: string[] }> = [
    {
      tool: 'Prisma',
      files: ['20210101120000_init/migration.sql', '20210315093000_add_posts/migration.sql', '20220101000000_add_index/migration.sql'],
      startAfter: '20210315093000',
      linted: ['20220101000000_add_index/migration.sql'],
    },
    {
      tool: 'diesel',
      files: ['2021-01-01-120000_create_users/up.sql', '2021-01-01-120000_create_users/down.sql', '2021-06-30-080000_add_email/up.sql', '2022-02-02-020202_index/up.sql'],
      startAfter: '2021-06-30-080000',
      linted: ['2022-02-02-020202_index/up.sql'],
    },
    {
      tool: 'golang-migrate (unpadded versions, ordered by number)',
      files: ['1_init.up.sql', '1_init.down.sql', '2_users.up.sql', '10_posts.up.sql', '11_index.up.sql'],
      startAfter: '10',
      linted: ['11_index.up.sql'],
    },
    {
      tool: 'Flyway',
      files: ['V1__init.sql', 'V1.1__users.sql', 'V2__posts.sql', 'V10__index.sql'],
      startAfter: 'V2',
      linted: ['V10__index.sql'],
    },
    {
      tool: 'drydock, by file name',
      files: ['20260101000000_a.sql', '20260102000000_b.sql', '20260103000000_c.sql'],
      startAfter: '20260102000000_b.sql',
      linted: ['20260103000000_c.sql'],
    },
  ];

  it.each(cases)('$tool: lints only what comes after $startAfter, replays the rest in order', async ({ files, startAfter, linted }) => {
    const dir = folder(Object.fromEntries(files.map((f) => [f, 'SELECT 1;\n'])));
    const plan = await planLintFiles([dir], { cwd: dir, startAfter });
    expect(plan.filter((p) => !p.replayOnly).map((p) => p.display)).toEqual(linted);
    const replayed = plan.filter((p) => p.replayOnly).map((p) => p.display);
    expect(replayed).toEqual(files.filter((f) => !linted.includes(f) && !/down\.sql$/.test(f)));
  });

  it('orders and compares versions part by part', () => {
    expect(compareVersions(migrationVersion('V1.10__x.sql')!, migrationVersion('V1.9__x.sql')!)).toBe(1);
    expect(compareVersions(migrationVersion('V1_2__x.sql')!, migrationVersion('V1.2')!)).toBe(0);
    expect(migrationVersion('2021-06-30-080000_add_email')).toEqual([20210630080000n]);
    expect(migrationVersion('migration.sql')).toBeUndefined();
  });

  it('a diesel project: with --start-after the pending file still knows the type an earlier up.sql declared', async () => {
    const dir = folder({
      '2021-01-01-120000_create_users/up.sql': 'CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT NOT NULL);\n',
      '2021-01-01-120000_create_users/down.sql': 'DROP TABLE users;\n',
      '2022-02-02-020202_limit_name/up.sql': "SET lock_timeout = '5s';\nALTER TABLE users ALTER COLUMN name TYPE VARCHAR(150);\n",
    });
    const run = await lintFiles([dir], { pgVersion: 15, cwd: dir, startAfter: '2021-01-01-120000' });
    expect(run.files.map((f) => f.file)).toEqual(['2022-02-02-020202_limit_name/up.sql']);
    expect(run.findings.map((f) => [f.rule, f.message.includes('from text')])).toEqual([['changing-column-type', true]]);
  });
});

function table(name: string, columns: CatalogTable['columns'], size: { rows: number; bytes: number }): CatalogTable {
  return { schema: 'public', name, kind: 'table', rows: size.rows, bytes: size.bytes, columns, indexes: [], constraints: [] };
}

describe('a database catalog: real types and size-aware severity', () => {
  const catalog: CatalogSchema = {
    schemas: ['public'],
    tables: [
      table('aggregates', [{ name: 'total', type: 'int4', typmod: -1, isArray: false }], { rows: 1, bytes: 16384 }),
      table('users', [{ name: 'email', type: 'text', typmod: -1, isArray: false }], { rows: 120, bytes: 49152 }),
      table('events', [{ name: 'kind', type: 'varchar', typmod: 255 + 4, isArray: false }], { rows: 2_500_000, bytes: 900 * 1024 * 1024 }),
    ],
  };

  it('decodes typmods: varchar(255), numeric(10,2), int[]', () => {
    expect(catalogTypeInfo({ name: 'a', type: 'varchar', typmod: 259, isArray: false })).toEqual({ name: 'varchar', schema: undefined, typmods: [255], isArray: false });
    expect(catalogTypeInfo({ name: 'a', type: 'numeric', typmod: ((10 << 16) | 2) + 4, isArray: false }).typmods).toEqual([10, 2]);
    expect(catalogTypeInfo({ name: 'a', type: 'int4', typmod: -1, isArray: true })).toMatchObject({ name: 'int4', isArray: true, typmods: [] });
  });

  it('a newcomer\'s `ALTER COLUMN email TYPE varchar(100)` on a text column is reported (it rewrote the table)', () => {
    const run = lintFile('20260101000000_x.sql', '-- migrate:up\nALTER TABLE users ALTER COLUMN email TYPE varchar(100);\n', { pgVersion: 15, model: new SchemaModel(catalog), smallTable: { rows: 10, bytes: 1024 } });
    expect(run.findings.map((f) => [f.rule, f.severity])).toEqual([['changing-column-type', 'error']]);
    expect(run.findings[0]!.message).toContain('from text');
    expect(run.findings[0]!.message).toContain('`users` holds 120 rows, 48 kB');
  });

  it('a finding on a small table is a note naming its size; on a large one it says how large', () => {
    const sql = '-- migrate:up\nALTER TABLE aggregates ALTER COLUMN total TYPE bigint;\nALTER TABLE events ALTER COLUMN kind TYPE varchar(50);\n';
    const run = lintFile('20260101000000_x.sql', sql, { pgVersion: 15, model: new SchemaModel(catalog) });
    expect(run.findings.map((f) => [f.line, f.severity])).toEqual([
      [2, 'info'],
      [3, 'error'],
    ]);
    expect(run.findings[0]!.message).toMatch(/`aggregates` holds only 1 row, 16 kB, so this takes milliseconds: noted, not blocking/);
    expect(run.findings[1]!.message).toContain('`events` holds about 2,500,000 rows, 900 MB');
  });

  it('rules whose harm does not grow with the table stay errors on a small table', () => {
    const run = lintFile('20260101000000_x.sql', '-- migrate:up\nALTER TABLE users DROP COLUMN email;\n', { pgVersion: 15, model: new SchemaModel(catalog) });
    expect(run.findings.map((f) => [f.rule, f.severity])).toEqual([['ban-drop-column', 'error']]);
  });

  it('without a database, behaves as before (no size, no notes)', () => {
    const run = lintFile('20260101000000_x.sql', '-- migrate:up\nALTER TABLE aggregates ADD COLUMN x int;\nALTER TABLE aggregates ALTER COLUMN x TYPE bigint;\n', { pgVersion: 15 });
    expect(run.findings.map((f) => [f.rule, f.severity, f.message.includes('holds')])).toEqual([['changing-column-type', 'error', false]]);
  });

  it('CREATE OR REPLACE VIEW of a view the database does not have takes no lock on anything existing', () => {
    const sql = 'CREATE OR REPLACE VIEW recent_users AS SELECT * FROM users;\n';
    expect(lintFile('x.sql', sql, { pgVersion: 15, model: new SchemaModel(catalog) }).findings).toEqual([]);
    const withView: CatalogSchema = { ...catalog, tables: [...catalog.tables, { ...table('recent_users', [], { rows: 0, bytes: 0 }), kind: 'view' }] };
    expect(lintFile('x.sql', sql, { pgVersion: 15, model: new SchemaModel(withView) }).findings.map((f) => f.rule)).toEqual(['require-lock-timeout']);
  });
});

describe('drydock.json rule levels', () => {
  it('globs match folders and file names', () => {
    expect(globToRegExp('migrations/legacy/**').test('migrations/legacy/2019/001.sql')).toBe(true);
    expect(globToRegExp('migrations/*.sql').test('migrations/a/b.sql')).toBe(false);
    expect(globToRegExp('*_seed.sql').test('db/x/20260101_seed.sql')).toBe(true);
    expect(globToRegExp('migrations/legacy').test('migrations/legacy/x.sql')).toBe(true);
  });

  it('turns a rule off or changes its severity project-wide, and per path (later overrides win)', async () => {
    const dir = folder({
      'migrations/legacy/001.sql': 'DROP TABLE old_sessions;\nALTER TABLE users ADD COLUMN payload json;\n',
      'migrations/002.sql': 'DROP TABLE old_carts;\nALTER TABLE users ADD COLUMN data json;\n',
    });
    const ruleConfig = {
      rules: { 'prefer-jsonb': 'off' as const, 'require-lock-timeout': 'warning' as const },
      overrides: [{ paths: ['migrations/legacy/**'], rules: { 'ban-drop-table': 'off' as const, 'require-lock-timeout': 'off' as const } }],
    };
    const run = await lintFiles(['migrations'], { pgVersion: 15, cwd: dir, ruleConfig });
    expect(run.findings.map((f) => `${f.file}:${f.rule}:${f.severity}`)).toEqual(['migrations/002.sql:ban-drop-table:error', 'migrations/002.sql:require-lock-timeout:warning']);
    expect(ruleLevelsFor(ruleConfig, 'migrations/legacy/001.sql')).toEqual({ 'prefer-jsonb': 'off', 'require-lock-timeout': 'off', 'ban-drop-table': 'off' });
  });

  it('an unknown rule id is a configuration error', async () => {
    const dir = folder({ 'a.sql': 'SELECT 1;\n' });
    await expect(lintFiles([dir], { pgVersion: 15, cwd: dir, ruleConfig: { rules: { 'no-such-rule': 'off' }, overrides: [] } })).rejects.toThrow(/unknown lint rule: no-such-rule/);
  });
});
