/**
 * What the linter tracks between statements: transactions (drydock's, explicit, DO blocks,
 * assumed), lock_timeout, and tables created earlier in the migration.
 */
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { ensureParser } from '../../../src/sql/parse.js';
import { lintCase, rulesOf } from './helpers.js';

beforeAll(async () => {
  await ensureParser();
});

const CONCURRENT = 'CREATE INDEX CONCURRENTLY i ON users (email);';

describe('transaction tracking', () => {
  it('treats a drydock section as one transaction unless transaction:false', () => {
    expect(rulesOf(lintCase({ sql: CONCURRENT, kind: 'drydock' }))).toEqual(['ban-concurrent-index-in-transaction']);
    expect(rulesOf(lintCase({ sql: CONCURRENT, kind: 'drydock', transaction: false }))).toEqual([]);
  });

  it('follows BEGIN, START TRANSACTION, COMMIT, END and ROLLBACK in plain files', () => {
    const inside = (sql: string) => rulesOf(lintCase(`SET lock_timeout = '1s';\n${sql}`)).includes('ban-concurrent-index-in-transaction');
    expect(inside(`BEGIN;\n${CONCURRENT}`)).toBe(true);
    expect(inside(`START TRANSACTION;\n${CONCURRENT}`)).toBe(true);
    expect(inside(`BEGIN;\nCOMMIT;\n${CONCURRENT}`)).toBe(false);
    expect(inside(`BEGIN;\nEND;\n${CONCURRENT}`)).toBe(false);
    expect(inside(`BEGIN;\nROLLBACK;\n${CONCURRENT}`)).toBe(false);
    expect(inside(`BEGIN;\nCOMMIT AND CHAIN;\n${CONCURRENT}`)).toBe(true);
    expect(inside(`BEGIN;\nSAVEPOINT s;\nRELEASE SAVEPOINT s;\n${CONCURRENT}`)).toBe(true);
    expect(inside(CONCURRENT)).toBe(false);
  });

  it('assumes a wrapping transaction for plain files with assumeInTransaction, until a COMMIT', () => {
    expect(rulesOf(lintCase({ sql: CONCURRENT, assumeInTransaction: true }))).toContain('ban-concurrent-index-in-transaction');
    expect(rulesOf(lintCase({ sql: `COMMIT;\n${CONCURRENT}`, assumeInTransaction: true }))).not.toContain('ban-concurrent-index-in-transaction');
  });

  it('treats statements in a DO block as one transaction', () => {
    expect(rulesOf(lintCase(`DO $$ BEGIN ${CONCURRENT} END $$;`))).toContain('ban-concurrent-index-in-transaction');
  });

  it('ignores BEGIN/COMMIT for assumptions inside drydock’s transaction (the runner refuses them)', () => {
    expect(rulesOf(lintCase({ sql: `COMMIT;\n${CONCURRENT}`, kind: 'drydock' }))).toContain('ban-concurrent-index-in-transaction');
  });
});

describe('lock_timeout tracking', () => {
  const needsTimeout = (sql: string) => rulesOf(lintCase(`${sql}\nALTER TABLE users ADD COLUMN x int;`)).includes('require-lock-timeout');

  it('counts SET, SET SESSION, SET … TO and set_config', () => {
    expect(needsTimeout("SET lock_timeout = '5s';")).toBe(false);
    expect(needsTimeout("SET SESSION lock_timeout = '5s';")).toBe(false);
    expect(needsTimeout('SET lock_timeout TO 5000;')).toBe(false);
    expect(needsTimeout("SELECT set_config('lock_timeout', '5s', false);")).toBe(false);
  });

  it('forgets it on RESET, SET … DEFAULT, RESET ALL and when set to 0', () => {
    expect(needsTimeout("SET lock_timeout = '5s';\nRESET lock_timeout;")).toBe(true);
    expect(needsTimeout("SET lock_timeout = '5s';\nSET lock_timeout TO DEFAULT;")).toBe(true);
    expect(needsTimeout("SET lock_timeout = '5s';\nRESET ALL;")).toBe(true);
    expect(needsTimeout("SET lock_timeout = '0';")).toBe(true);
    expect(needsTimeout('SET lock_timeout = 0;')).toBe(true);
  });

  it('scopes SET LOCAL to its transaction', () => {
    expect(needsTimeout("BEGIN;\nSET LOCAL lock_timeout = '5s';")).toBe(false);
    expect(needsTimeout("BEGIN;\nSET LOCAL lock_timeout = '5s';\nCOMMIT;")).toBe(true);
    expect(needsTimeout("SET LOCAL lock_timeout = '5s';")).toBe(true);
    expect(needsTimeout("BEGIN;\nSELECT set_config('lock_timeout', '5s', true);")).toBe(false);
  });

  it('reports once per file', () => {
    const findings = lintCase('ALTER TABLE a ADD COLUMN x int;\nALTER TABLE b ADD COLUMN y int;');
    expect(rulesOf(findings)).toEqual(['require-lock-timeout']);
  });

  it('never fires for drydock migrations: the runner sets lock_timeout', () => {
    expect(rulesOf(lintCase({ sql: 'ALTER TABLE users ADD COLUMN x int;\nDROP TABLE legacy;', kind: 'drydock' }))).toEqual(['ban-drop-table']);
  });
});

describe('tables created in the same migration', () => {
  it('treats a new table as safe, whatever schema qualification later statements use', () => {
    const sql = 'CREATE TABLE IF NOT EXISTS public.posts (id int);\nCREATE INDEX posts_id ON posts (id);\nALTER TABLE "public"."posts" ADD CONSTRAINT c CHECK (id > 0);';
    expect(lintCase({ sql, kind: 'drydock' })).toEqual([]);
  });

  it('does not mix up schemas or quoted names', () => {
    expect(rulesOf(lintCase({ sql: 'CREATE TABLE app.posts (id int);\nCREATE INDEX i ON billing.posts (id);', kind: 'drydock' }))).toEqual(['require-concurrent-index-creation']);
    expect(rulesOf(lintCase({ sql: 'CREATE TABLE "Posts" (id int);\nCREATE INDEX i ON posts (id);', kind: 'drydock' }))).toEqual(['require-concurrent-index-creation']);
  });

  it('counts CREATE TABLE AS, SELECT INTO and tables renamed after creation', () => {
    expect(lintCase({ sql: 'CREATE TABLE copy AS SELECT * FROM users;\nCREATE INDEX i ON copy (id);', kind: 'drydock' })).toEqual([]);
    expect(lintCase({ sql: 'SELECT * INTO copy FROM users;\nCREATE INDEX i ON copy (id);', kind: 'drydock' })).toEqual([]);
    expect(lintCase({ sql: 'CREATE TABLE users_new (id int);\nALTER TABLE users_new RENAME TO users2;\nCREATE INDEX i ON users2 (id);', kind: 'drydock' })).toEqual([]);
  });

  it('counts tables created inside a DO block', () => {
    expect(lintCase({ sql: 'DO $$ BEGIN CREATE TABLE t (id int); END $$;\nCREATE INDEX i ON t (id);', kind: 'drydock' })).toEqual([]);
  });

  it('does not carry a table created in an earlier migration into the next one', async () => {
    const { lintFiles } = await import('../../../src/lint/lint.js');
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'drydock-lint-'));
    try {
      await writeFile(join(dir, '20260101000000_a.sql'), '-- migrate:up\nCREATE TABLE t (id int, name varchar(100));\n');
      await writeFile(join(dir, '20260102000000_b.sql'), '-- migrate:up\nCREATE INDEX i ON t (id);\nALTER TABLE t ALTER COLUMN name TYPE varchar(50);\n');
      const run = await lintFiles([dir], { pgVersion: 15 });
      // The index is on an existing table now; the narrowing is known from the earlier file's declaration.
      expect(run.findings.map((f) => f.rule)).toEqual(['require-concurrent-index-creation', 'changing-column-type']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
