/**
 * Issue 14: lint judges migrations against the database's real schema. `migrate up` and `release`
 * (which lint only pending migrations) refuse a rewriting type change on a large table an earlier,
 * applied migration created, naming its size, and pass the same change on a tiny table with a note;
 * `lint --url` reads real column types; the catalog query decodes types and sizes as the rules need.
 * The built CLI and real PostgreSQL.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { SchemaModel } from '../../src/lint/schema-model.js';
import { readLintSchema } from '../../src/pg/queries/lint-schema.js';
import { runCli } from '../helpers/cli.js';
import { type TestDb } from '../helpers/db.js';
import { makeMigrationDir, type MigrationDir, type MigrationSpec } from '../helpers/migrations.js';
import { testScope } from '../helpers/scope.js';

const { cleanups, db } = testScope();


function dir(specs: MigrationSpec[]): MigrationDir {
  const m = makeMigrationDir(specs);
  cleanups.push(() => m.cleanup());
  return m;
}

const createUsers = (rows: number): MigrationSpec => ({
  version: '20260101000000',
  name: 'create_users',
  up: `CREATE TABLE users (id bigserial PRIMARY KEY, email varchar(255) NOT NULL);\nINSERT INTO users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, ${rows}) g;\nANALYZE users;`,
});
const shorten: MigrationSpec = { version: '20260102000000', name: 'shorten_email', up: 'ALTER TABLE users ALTER COLUMN email TYPE varchar(50);' };

async function appliedVersions(d: TestDb): Promise<string[]> {
  const { rows } = await d.query<{ version: string }>('SELECT version::text AS version FROM schema_migrations ORDER BY 1');
  return rows.map((r) => r.version);
}

/** Apply migration 1 alone, then add migration 2 as the pending one. */
async function withFirstApplied(label: string, rows: number): Promise<{ d: TestDb; m: MigrationDir }> {
  const d = await db(label);
  const m = dir([createUsers(rows)]);
  const first = await runCli(['migrate', 'up', '--url', d.url, '--dir', m.dir], { cwd: m.root });
  expect(first.exitCode, first.stderr).toBe(0);
  m.write(shorten);
  return { d, m };
}

describe('lint against the database (issue 14)', () => {
  it('migrate up and release refuse varchar(255) → varchar(50) on a large table an applied migration created, naming its size', async () => {
    const { d, m } = await withFirstApplied('lintmodel_large', 200_000);
    const up = await runCli(['migrate', 'up', '--url', d.url, '--dir', m.dir], { cwd: m.root });
    expect(up.exitCode, up.stdout + up.stderr).toBe(1);
    const out = up.stdout + up.stderr;
    expect(out).toContain('changing `email` to varchar(50) from varchar(255) rewrites `users`');
    expect(out).toMatch(/`users` holds about 200,000 rows, \d+ MB/);
    expect(out).toMatch(/refusing to apply 1 unsafe operation/);
    expect(await appliedVersions(d)).toEqual(['20260101000000']);

    const rel = await runCli(['release', '--dir', m.dir], { cwd: m.root, env: { DATABASE_URL: d.url } });
    expect(rel.exitCode, rel.stdout + rel.stderr).toBe(1);
    expect(rel.stdout + rel.stderr).toMatch(/`users` holds about 200,000 rows/);
    expect(await appliedVersions(d)).toEqual(['20260101000000']);
  });

  it('the same change on a tiny table passes with an informational note naming its size', async () => {
    const { d, m } = await withFirstApplied('lintmodel_tiny', 3);
    const up = await runCli(['migrate', 'up', '--url', d.url, '--dir', m.dir], { cwd: m.root });
    const out = up.stdout + up.stderr;
    expect(up.exitCode, out).toBe(0);
    expect(out).toMatch(/info: changing `email` to varchar\(50\) from varchar\(255\) .*`users` holds only 3 rows, \d+ kB, so this takes milliseconds: noted, not blocking/);
    expect(await appliedVersions(d)).toEqual(['20260101000000', '20260102000000']);
  });

  it('drydock.json lintSmallTable sets where small ends', async () => {
    const { d, m } = await withFirstApplied('lintmodel_limit', 3);
    writeFileSync(join(m.root, 'drydock.json'), JSON.stringify({ lintSmallTable: { rows: 2, bytes: 1_000_000 } }));
    const up = await runCli(['migrate', 'up', '--url', d.url, '--dir', m.dir], { cwd: m.root });
    expect(up.exitCode, up.stdout + up.stderr).toBe(1);
    expect(up.stdout + up.stderr).toMatch(/`users` holds 3 rows/);
  });

  it('drydock.json lintRules turns a rule off for migrate up', async () => {
    const { d, m } = await withFirstApplied('lintmodel_rules', 200_000);
    writeFileSync(join(m.root, 'drydock.json'), JSON.stringify({ lintOverrides: [{ paths: ['migrations/20260102000000_*'], rules: { 'changing-column-type': 'off' } }] }));
    const up = await runCli(['migrate', 'up', '--url', d.url, '--dir', m.dir], { cwd: m.root, timeoutMs: 120_000 });
    expect(up.exitCode, up.stdout + up.stderr).toBe(0);
    expect(await appliedVersions(d)).toEqual(['20260101000000', '20260102000000']);
  });

  it('lint --url judges a lone file by the real column types', async () => {
    const d = await db('lintmodel_url');
    await d.query('CREATE TABLE accounts (id int PRIMARY KEY, email text, nick varchar(20), avatar bytea)');
    const m = dir([]);
    const file = m.writeRaw('20260301000000_change.sql', "SET lock_timeout = '5s';\nALTER TABLE accounts ALTER COLUMN email TYPE varchar(100);\nALTER TABLE accounts ALTER COLUMN nick TYPE text;\nALTER TABLE accounts ALTER COLUMN avatar TYPE text;\n");
    const run = await runCli(['lint', file, '--url', d.url, '--json'], { cwd: m.root });
    const json = JSON.parse(run.stdout) as { findings: Array<{ rule: string; line: number; message: string; severity: string }> };
    expect(json.findings.map((f) => [f.rule, f.line, f.severity])).toEqual([
      ['changing-column-type', 2, 'info'],
      ['changing-column-type', 4, 'info'],
    ]);
    expect(json.findings[0]!.message).toContain('from text');
    expect(json.findings[1]!.message).toContain('from bytea');
    // Without the database, the old types are unknown: every change is reported, saying so.
    const blind = JSON.parse((await runCli(['lint', file, '--json'], { cwd: m.root })).stdout) as typeof json;
    expect(blind.findings.map((f) => f.line)).toEqual([2, 3, 4]);
    expect(blind.findings.every((f) => f.message.includes('does not know its old type'))).toBe(true);
  });

  it('reads types, constraints, indexes and sizes from the catalog', async () => {
    const d = await db('lintmodel_catalog');
    await d.query(`
      CREATE SCHEMA billing;
      CREATE TABLE billing.invoices (id int PRIMARY KEY, total numeric(10,2), code varchar(12), tags text[], at timestamptz(3));
      ALTER TABLE billing.invoices ADD CONSTRAINT total_positive CHECK (total > 0) NOT VALID;
      CREATE INDEX invoices_code ON billing.invoices (code);
      INSERT INTO billing.invoices SELECT g, g, 'c' || g FROM generate_series(1, 500) g;
      ANALYZE billing.invoices;
      CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
      CREATE VIEW v AS SELECT 1 AS one;`);
    const client = new pg.Client({ connectionString: d.url });
    await client.connect();
    try {
      const catalog = await readLintSchema(client);
      const invoices = catalog.tables.find((t) => t.name === 'invoices')!;
      expect(invoices.rows).toBe(500);
      expect(invoices.bytes).toBeGreaterThan(8192);
      expect(invoices.indexes).toEqual(['invoices_code', 'invoices_pkey']);
      expect(invoices.constraints).toContainEqual({ name: 'total_positive', type: 'check', validated: false });
      const model = new SchemaModel(catalog);
      const rel = { schemaname: 'billing', relname: 'invoices' };
      expect(model.columnType(rel, 'total')).toMatchObject({ name: 'numeric', typmods: [10, 2], isArray: false });
      expect(model.columnType(rel, 'code')).toMatchObject({ name: 'varchar', typmods: [12] });
      expect(model.columnType(rel, 'tags')).toMatchObject({ name: 'text', isArray: true });
      expect(model.columnType(rel, 'at')).toMatchObject({ name: 'timestamptz', typmods: [3] });
      expect(model.size(rel)?.rows).toBe(500);
      // A partitioned table's own size says nothing about its partitions: unknown, never "small".
      expect(model.size({ relname: 'events' })).toBeUndefined();
      expect(model.exists({ relname: 'v' })).toBe('yes');
      expect(model.exists({ relname: 'nope' })).toBe('no');
      expect(model.schemaContents('billing').relations.map((t) => t.name)).toEqual(['invoices']);
    } finally {
      await client.end();
    }
  });
});
