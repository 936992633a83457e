import { beforeAll, describe, expect, it } from 'vitest';

import { lintFile, summarizeLint } from '../../../src/lint/lint.js';
import { lintJson, lintSummary, renderLint } from '../../../src/lint/report.js';
import { ensureParser } from '../../../src/sql/parse.js';

beforeAll(async () => {
  await ensureParser();
});

function run() {
  const unsafe = lintFile('migrations/20260101000000_add_index.sql', '-- migrate:up\nCREATE INDEX i ON users (email);\nALTER TABLE users ADD COLUMN meta json;\n', { pgVersion: 15 });
  const safe = lintFile('migrations/20260102000000_ok.sql', '-- migrate:up\nALTER TABLE users ADD COLUMN nickname text;\n', { pgVersion: 15 });
  return summarizeLint([unsafe, safe], 15);
}

describe('lint reports', () => {
  it('counts errors and warnings, and says which version the verdicts are for', () => {
    expect(lintSummary(run())).toBe('1 error and 1 warning in 1 of 2 files (checked for Postgres 15).');
    expect(lintSummary(summarizeLint([], 9.6))).toBe('No unsafe operations found in 0 files (checked for Postgres 9.6).');
  });

  it('renders text: every finding with file:line:col, then the summary', () => {
    const text = renderLint(run(), 'text');
    expect(text.split('\n').filter((l) => /^\S/.test(l))).toEqual([
      'migrations/20260101000000_add_index.sql:2:1: error: CREATE INDEX blocks writes to `users` while the index builds (it holds a SHARE lock on the table until the build ends) [require-concurrent-index-creation]',
      'migrations/20260101000000_add_index.sql:3:35: warning: `meta` is json: Postgres keeps the raw text and reparses it on every use, and json has no equality operator (DISTINCT, GROUP BY and UNION fail) nor GIN index support [prefer-jsonb]',
      '1 error and 1 warning in 1 of 2 files (checked for Postgres 15).',
    ]);
  });

  it('renders JSON with totals, files and findings (each with where its docs are)', () => {
    const json = JSON.parse(renderLint(run(), 'json')) as ReturnType<typeof lintJson>;
    expect(json).toMatchObject({ ok: false, pgVersion: 15, errors: 1, warnings: 1 });
    expect(json.files).toEqual([
      { file: 'migrations/20260101000000_add_index.sql', kind: 'drydock', statements: 2, errors: 1, warnings: 1 },
      { file: 'migrations/20260102000000_ok.sql', kind: 'drydock', statements: 1, errors: 0, warnings: 0 },
    ]);
    expect(json.findings[0]).toEqual({
      rule: 'require-concurrent-index-creation',
      severity: 'error',
      file: 'migrations/20260101000000_add_index.sql',
      line: 2,
      column: 1,
      message: expect.stringContaining('CREATE INDEX blocks writes') as string,
      help: expect.stringContaining('CREATE INDEX CONCURRENTLY i ON users (email);') as string,
      statement: 'CREATE INDEX i ON users (email)',
      section: 'up',
      docs: 'drydock lint --explain require-concurrent-index-creation',
    });
  });

  it('renders GitHub Actions annotations, escaping newlines, % and the property separators', () => {
    const lines = renderLint(run(), 'github').split('\n');
    expect(lines[0]).toMatch(/^::error file=migrations\/20260101000000_add_index\.sql,line=2,col=1,title=drydock lint%3A require-concurrent-index-creation::CREATE INDEX blocks writes to `users`.*%0A%0A-- build it CONCURRENTLY/);
    expect(lines[0]).not.toContain('\n');
    expect(lines[1]).toMatch(/^::warning file=.*,line=3,col=35,title=drydock lint%3A prefer-jsonb::/);
    expect(lines[2]).toBe('1 error and 1 warning in 1 of 2 files (checked for Postgres 15).');
    const odd = summarizeLint([lintFile('a,b:100%.sql', 'DROP TABLE "x%y";', { pgVersion: 15 })], 15);
    expect(renderLint(odd, 'github').split('\n')[0]).toMatch(/^::error file=a%2Cb%3A100%25\.sql,line=1,col=1,title=drydock lint%3A ban-drop-table::dropping `"x%25y"`/);
  });
});
