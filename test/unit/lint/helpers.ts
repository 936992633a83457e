/**
 * Lint SQL in unit tests: wraps it as a plain file or a drydock migration, and checks it parses first.
 */
import { expect } from 'vitest';

import { lintFile, type LintOptions } from '../../../src/lint/lint.js';
import type { Finding } from '../../../src/lint/types.js';
import { splitStatements } from '../../../src/sql/parse.js';

/** One SQL example and how to lint it. */
export interface LintCase {
  sql: string;
  /** Production's major (default 15). */
  pgVersion?: number;
  /** 'plain' (default): a .sql file run as written; 'drydock': an up section drydock runs. */
  kind?: 'plain' | 'drydock';
  /** drydock migrations: false writes `-- migrate:up transaction:false`. */
  transaction?: boolean;
  assumeInTransaction?: boolean;
}

/** A case given as bare SQL or with options. */
export type CaseInput = string | LintCase;

/** The options form of a case. */
export function toCase(input: CaseInput): LintCase {
  return typeof input === 'string' ? { sql: input } : input;
}

/** The file text of a case. */
export function caseText(c: LintCase): string {
  if (c.kind !== 'drydock') return c.sql;
  return `-- migrate:up${c.transaction === false ? ' transaction:false' : ''}\n${c.sql}\n`;
}

/** Assert the SQL parses with the Postgres parser (a broken fixture would prove nothing). */
export function expectParses(sql: string): void {
  expect(() => splitStatements(sql)).not.toThrow();
}

/** Lint one case (the parser must be loaded). */
export function lintCase(input: CaseInput, extra: Partial<LintOptions> = {}): Finding[] {
  const c = toCase(input);
  expectParses(c.sql);
  const file = c.kind === 'drydock' ? '20260101000000_test.sql' : 'test.sql';
  return lintFile(file, caseText(c), { pgVersion: c.pgVersion ?? 15, assumeInTransaction: c.assumeInTransaction, ...extra }).findings;
}

/** The rule ids of findings, in order. */
export function rulesOf(findings: Finding[]): string[] {
  return findings.map((f) => f.rule);
}

/** A label for a case in test names: its first line, shortened. */
export function label(input: CaseInput): string {
  const c = toCase(input);
  const first = c.sql.replace(/\s+/g, ' ').trim();
  const opts = [c.kind === 'drydock' ? `drydock${c.transaction === false ? ' no-tx' : ''}` : '', c.pgVersion ? `pg ${c.pgVersion}` : '', c.assumeInTransaction ? 'assume-tx' : '']
    .filter(Boolean)
    .join(', ');
  return `${first.length > 90 ? `${first.slice(0, 87)}…` : first}${opts ? ` [${opts}]` : ''}`;
}
