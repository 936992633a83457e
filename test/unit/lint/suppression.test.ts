import { beforeAll, describe, expect, it } from 'vitest';

import { ensureParser } from '../../../src/sql/parse.js';
import { lintCase, rulesOf } from './helpers.js';

beforeAll(async () => {
  await ensureParser();
});

describe('-- drydock:safe suppressions', () => {
  it('silences one rule on the statement directly below, and only there', () => {
    const sql = [
      '-- drydock:safe ban-drop-column the app ignores it since release 142',
      'ALTER TABLE users DROP COLUMN legacy;',
      'ALTER TABLE users DROP COLUMN other;',
    ].join('\n');
    const findings = lintCase({ sql, kind: 'drydock' });
    expect(findings.map((f) => [f.rule, f.line])).toEqual([['ban-drop-column', 4]]);
  });

  it('silences only the named rule: other findings on the statement stay', () => {
    const findings = lintCase('-- drydock:safe require-concurrent-index-creation built while the table is empty\nCREATE INDEX i ON users (email);');
    expect(rulesOf(findings)).toEqual(['require-lock-timeout']);
  });

  it('takes several suppression lines above one statement, with blank lines and other comments between', () => {
    const sql = [
      '-- drydock:safe require-concurrent-index-creation users holds 40 rows',
      '-- why: a lookup table',
      '',
      '-- drydock:safe require-lock-timeout nothing else touches it',
      'CREATE INDEX i ON users (email);',
    ].join('\n');
    expect(lintCase(sql)).toEqual([]);
  });

  it('applies a comment at the end of a statement line to that statement, not the next', () => {
    const sql = [
      "SET lock_timeout = '5s';",
      'ALTER TABLE users DROP COLUMN a; -- drydock:safe ban-drop-column unused since v2',
      'ALTER TABLE users DROP COLUMN b;',
    ].join('\n');
    expect(lintCase(sql).map((f) => [f.rule, f.line])).toEqual([['ban-drop-column', 3]]);
  });

  it('applies to findings inside a DO block through the comment above the DO', () => {
    const sql = [
      "SET lock_timeout = '5s';",
      '-- drydock:safe adding-foreign-key-constraint comments is empty on every install',
      'DO $$ BEGIN',
      '  ALTER TABLE comments ADD CONSTRAINT fk FOREIGN KEY (post_id) REFERENCES posts (id);',
      'EXCEPTION WHEN duplicate_object THEN null;',
      'END $$;',
    ].join('\n');
    expect(lintCase(sql)).toEqual([]);
  });

  it('accepts the drydock-ignore spelling with a colon', () => {
    expect(lintCase({ sql: '-- drydock-ignore renaming-table: the old name is behind a view\nALTER TABLE a RENAME TO b;', kind: 'drydock' })).toEqual([]);
  });

  it('reports a suppression without a reason, and keeps the finding', () => {
    const findings = lintCase({ sql: '-- drydock:safe ban-drop-table\nDROP TABLE legacy;', kind: 'drydock' });
    expect(findings.map((f) => [f.rule, f.severity, f.line, f.message])).toEqual([
      ['invalid-suppression', 'error', 2, '`-- drydock:safe ban-drop-table` gives no reason'],
      ['ban-drop-table', 'error', 3, expect.stringContaining('deletes its data') as unknown as string],
    ]);
  });

  it('reports an unknown rule and suggests the closest one', () => {
    const [finding] = lintCase({ sql: '-- drydock:safe ban-drop-tabel oops\nSELECT 1;', kind: 'drydock' });
    expect(finding).toMatchObject({ rule: 'invalid-suppression', message: '`-- drydock:safe` names an unknown rule `ban-drop-tabel`' });
    expect(finding!.help).toContain('did you mean `ban-drop-table`?');
  });

  it('reports a suppression with no rule at all, and one of a check that cannot be suppressed', () => {
    const findings = lintCase({ sql: '-- drydock:safe\n-- drydock:safe syntax-error trust me\nSELECT 1;', kind: 'drydock' });
    expect(findings.map((f) => [f.rule, f.message])).toEqual([
      ['invalid-suppression', 'this `-- drydock:safe` comment names no rule'],
      ['invalid-suppression', '`syntax-error` cannot be suppressed'],
    ]);
  });

  it('warns about a suppression that silences nothing', () => {
    const findings = lintCase({ sql: '-- drydock:safe ban-drop-table no longer needed\nALTER TABLE users ADD COLUMN a text;\n-- drydock:safe ban-truncate trailing', kind: 'drydock' });
    expect(findings.map((f) => [f.rule, f.severity, f.line])).toEqual([
      ['unused-suppression', 'warning', 2],
      ['unused-suppression', 'warning', 4],
    ]);
    expect(findings[1]!.message).toContain('no statement follows it');
  });

  it('ignores the marker inside strings and statements', () => {
    const sql = "SET lock_timeout = '5s';\nINSERT INTO notes VALUES ('-- drydock:safe ban-drop-table x');\nDROP TABLE legacy;";
    expect(rulesOf(lintCase(sql))).toEqual(['ban-drop-table']);
  });
});
