/**
 * Postgres 18: the parser reads its new syntax, and the advice follows production's version.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { ensureParser, splitStatements } from '../../../src/sql/parse.js';
import { lintCase } from './helpers.js';

beforeAll(async () => {
  await ensureParser();
});

const SET_NOT_NULL = 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;';

describe('Postgres 18', () => {
  it('parses the statements real Postgres 18 histories contain', () => {
    const sql = [
      'ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email;',
      'ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email NOT VALID;',
      'ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;',
      'CREATE TABLE accounts (id bigint, email text, CONSTRAINT accounts_email_not_null NOT NULL email);',
      'ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) VIRTUAL;',
      'ALTER TABLE orders ADD COLUMN total2 numeric GENERATED ALWAYS AS (price * qty);',
      'ALTER TABLE orders ADD CONSTRAINT orders_qty_check CHECK (qty > 0) NOT ENFORCED;',
      'ALTER TABLE orders ALTER CONSTRAINT orders_user_fk NOT ENFORCED;',
    ].join('\n');
    expect(splitStatements(sql).map((s) => s.kind)).toEqual(['AlterTableStmt', 'AlterTableStmt', 'AlterTableStmt', 'CreateStmt', 'AlterTableStmt', 'AlterTableStmt', 'AlterTableStmt', 'AlterTableStmt']);
  });

  it('recommends a NOT NULL … NOT VALID constraint and VALIDATE for SET NOT NULL on Postgres 18', () => {
    const [finding] = lintCase({ sql: SET_NOT_NULL, pgVersion: 18 }).filter((f) => f.rule === 'ban-set-not-null');
    expect(finding?.help).toContain('ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email NOT VALID;');
    expect(finding?.help).toContain('ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;');
    expect(finding?.help).not.toContain('CHECK (');
  });

  it('keeps the CHECK … NOT VALID, VALIDATE, SET NOT NULL advice before Postgres 18', () => {
    for (const pgVersion of [12, 15, 17]) {
      const [finding] = lintCase({ sql: SET_NOT_NULL, pgVersion }).filter((f) => f.rule === 'ban-set-not-null');
      expect(finding?.help, `pg ${pgVersion}`).toContain('CHECK (email IS NOT NULL) NOT VALID;');
      expect(finding?.help, `pg ${pgVersion}`).toContain('ALTER COLUMN email SET NOT NULL;');
      expect(finding?.help, `pg ${pgVersion}`).not.toMatch(/NOT NULL email NOT VALID/);
    }
  });

  it('names the constraint the statement named when it suggests the NOT VALID form', () => {
    const [finding] = lintCase({ sql: 'ALTER TABLE "User" ADD CONSTRAINT "User_email_nn" NOT NULL "email";', pgVersion: 18, kind: 'drydock' });
    expect(finding).toMatchObject({ rule: 'ban-set-not-null', line: 2, column: 24 });
    expect(finding?.help).toContain('ALTER TABLE "User" ADD CONSTRAINT "User_email_nn" NOT NULL email NOT VALID;');
  });

  it('says which syntax production lacks, and how to say production runs 18', () => {
    const findings = lintCase({ sql: 'ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email NOT VALID;', pgVersion: 16, kind: 'drydock' });
    expect(findings.map((f) => f.rule)).toEqual(['ban-newer-postgres-syntax']);
    expect(findings[0]?.message).toContain('production runs Postgres 16');
    expect(findings[0]?.help).toContain('--pg-version 18');
    expect(lintCase({ sql: 'ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email NOT VALID;', pgVersion: 18, kind: 'drydock' })).toEqual([]);
  });
});
