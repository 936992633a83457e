/**
 * Verdicts that depend on production's Postgres version.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { ensureParser } from '../../../src/sql/parse.js';
import { lintCase, rulesOf } from './helpers.js';

beforeAll(async () => {
  await ensureParser();
});

const rules = (sql: string, pgVersion: number) => rulesOf(lintCase({ sql, pgVersion, kind: 'drydock' }));

describe('version awareness', () => {
  it('flags ADD COLUMN … DEFAULT 0 before Postgres 11, not from 11 on', () => {
    const sql = 'ALTER TABLE users ADD COLUMN n integer NOT NULL DEFAULT 0;';
    expect(rules(sql, 9.6)).toEqual(['adding-field-with-volatile-default']);
    expect(rules(sql, 10)).toEqual(['adding-field-with-volatile-default']);
    expect(rules(sql, 11)).toEqual([]);
    expect(rules(sql, 17)).toEqual([]);
  });

  it('says why in the message for old versions', () => {
    const [finding] = lintCase({ sql: 'ALTER TABLE users ADD COLUMN n integer DEFAULT 0;', pgVersion: 10, kind: 'drydock' });
    expect(finding!.message).toMatch(/^before Postgres 11, ADD COLUMN with a DEFAULT writes the default into every row/);
  });

  it('flags a volatile default on every version', () => {
    const sql = 'ALTER TABLE users ADD COLUMN t uuid DEFAULT gen_random_uuid();';
    expect(rules(sql, 10)).toEqual(['adding-field-with-volatile-default']);
    expect(rules(sql, 16)).toEqual(['adding-field-with-volatile-default']);
  });

  it('trusts a validated NOT NULL check for SET NOT NULL from Postgres 12 only', () => {
    const sql = 'ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;';
    expect(rules(sql, 11)).toEqual(['ban-set-not-null']);
    expect(rules(sql, 12)).toEqual([]);
  });

  it('suggests REINDEX CONCURRENTLY from Postgres 12, the manual swap before', () => {
    const help = (pgVersion: number) => lintCase({ sql: 'REINDEX INDEX i;', pgVersion, kind: 'drydock' })[0]!.help;
    expect(help(12)).toContain('REINDEX INDEX CONCURRENTLY i;');
    expect(help(11)).toContain('before Postgres 12: build a new index CONCURRENTLY');
  });

  it('suggests a constant default for a required column from Postgres 11, a nullable column before', () => {
    const help = (pgVersion: number) => lintCase({ sql: 'ALTER TABLE users ADD COLUMN plan text NOT NULL;', pgVersion, kind: 'drydock' })[0]!.help;
    expect(help(11)).toContain('NOT NULL DEFAULT …');
    expect(help(10)).toContain('CHECK (… IS NOT NULL) NOT VALID');
  });
});
