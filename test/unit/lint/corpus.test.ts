/**
 * The corpus under test/fixtures/lint: realistic migrations from Rails, Django, Prisma, Knex,
 * Drizzle, Flyway, golang-migrate and drydock itself, with every expected finding (expected.json).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { lintFiles } from '../../../src/lint/lint.js';
import { RULES } from '../../../src/lint/rules/index.js';

const CORPUS = resolve('test/fixtures/lint');
const expected = JSON.parse(readFileSync(resolve(CORPUS, 'expected.json'), 'utf8')) as Record<string, string[]>;

describe('the lint corpus', () => {
  it('finds exactly the expected findings in every file', async () => {
    const run = await lintFiles(['.'], { pgVersion: 15, cwd: CORPUS });
    const actual: Record<string, string[]> = {};
    for (const file of run.files) actual[file.file] = file.findings.map((f) => `${f.rule}@${f.line}`);
    expect(actual).toEqual(expected);
  });

  it('exercises every rule at least once', () => {
    const seen = new Set(Object.values(expected).flatMap((list) => list.map((item) => item.split('@')[0])));
    expect(RULES.map((r) => r.id).filter((id) => !seen.has(id))).toEqual([]);
  });

  it('reads Postgres 18 migrations, and on Postgres 18 flags only the forms that scan under ACCESS EXCLUSIVE', async () => {
    const run = await lintFiles(['pg18'], { pgVersion: 18, cwd: CORPUS });
    expect(Object.fromEntries(run.files.map((f) => [f.file, f.findings.map((x) => `${x.rule}@${x.line}`)]))).toEqual({
      'pg18/20260301000000_accounts_email_not_null.sql': [],
      'pg18/20260302000000_validate_accounts_email.sql': [],
      'pg18/20260303000000_orders_total.sql': [],
      'pg18/20260304000000_unsafe_not_null.sql': ['ban-set-not-null@3', 'ban-set-not-null@5'],
    });
  });

  it('skips separate down files unless asked, and lints them with down', async () => {
    const up = await lintFiles(['golang-migrate'], { pgVersion: 15, cwd: CORPUS });
    expect(up.files.map((f) => f.file)).not.toContain('golang-migrate/000001_create_items.down.sql');
    const down = await lintFiles(['golang-migrate'], { pgVersion: 15, cwd: CORPUS, down: true });
    const file = down.files.find((f) => f.file === 'golang-migrate/000001_create_items.down.sql');
    expect(file?.findings.map((f) => f.rule)).toEqual(['ban-drop-table', 'require-lock-timeout']);
  });

  it('lints down sections of drydock migrations with down', async () => {
    const run = await lintFiles(['drydock/20260110000000_concurrent_in_transaction.sql'], { pgVersion: 15, cwd: CORPUS, down: true });
    expect(run.findings.map((f) => [f.rule, f.line, f.section])).toEqual([
      ['ban-concurrent-index-in-transaction', 2, 'up'],
      ['require-concurrent-index-deletion', 5, 'down'],
    ]);
  });

  it('skips migrations at or before --start-after', async () => {
    const run = await lintFiles(['drydock'], { pgVersion: 15, cwd: CORPUS, startAfter: '20260106000000' });
    expect(run.files.map((f) => f.file)).toEqual([
      'drydock/20260107000000_not_null_step_one.sql',
      'drydock/20260108000000_not_null_step_two.sql',
      'drydock/20260109000000_drop_legacy_reviewed.sql',
      'drydock/20260110000000_concurrent_in_transaction.sql',
    ]);
  });
});
