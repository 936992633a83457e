import { describe, expect, it } from 'vitest';

import { decideVerdict, exitCodeOf, migrationReport, renderRehearsal, renderRehearsalMarkdown, withFreshFailure, type MigrationMeasurements, type RehearsalReport } from '../../../src/rehearse/report.js';

function measured(extra: Partial<MigrationMeasurements> = {}): MigrationMeasurements {
  return {
    version: '20270101000000',
    name: 'x',
    file: '20270101000000_x.sql',
    irreversible: false,
    durationMs: 100,
    statements: [{ line: 2, sql: 'ALTER TABLE legacy ADD COLUMN note text;', startMs: 0, durationMs: 10, rowCount: null, walBytes: 10, rewrites: [], indexBuilds: [], failed: false }],
    watch: { locks: [], waits: [{ table: 'public.legacy', kind: 'write', startMs: 0, endMs: 2_000 }], probed: ['public.legacy'] },
    leftBehind: { invalidIndexes: [], notValidConstraints: [] },
    findings: [],
    ...extra,
  };
}

const freshFailure = { message: 'relation "legacy" does not exist (SQLSTATE 42P01, line 2)', details: ['hint: x'], reliesOn: ['table public.legacy exists on the copy but not on a fresh database'] };

describe('a migration that fails on a fresh database', () => {
  it('fails, saying why and on what, ahead of blocking and irreversible; a failure on the copy still comes first', () => {
    expect(decideVerdict({ irreversible: true, freshFailure }, { reads: 0, writes: 5_000, writeTable: 'public.t' }, 1_000)).toEqual({
      verdict: 'fails',
      reason: 'it fails on a fresh database: relation "legacy" does not exist (SQLSTATE 42P01, line 2) (table public.legacy exists on the copy but not on a fresh database)',
    });
    expect(decideVerdict({ irreversible: false, freshFailure: { ...freshFailure, reliesOn: [] } }, { reads: 0, writes: 0 }, 1_000).reason).toBe('it fails on a fresh database: relation "legacy" does not exist (SQLSTATE 42P01, line 2)');
    expect(decideVerdict({ irreversible: false, failure: { message: 'duplicate key', details: [] }, freshFailure }, { reads: 0, writes: 0 }, 1_000).reason).toContain("on the copy's data");
  });

  it('keeps its measurements on the copy when its verdict is decided again', () => {
    const blocking = migrationReport(measured(), 1_000);
    expect(blocking.verdict).toBe('blocking');
    const failed = withFreshFailure(blocking, freshFailure, 1_000);
    expect(failed).toMatchObject({ verdict: 'fails', blockedMs: blocking.blockedMs, statements: blocking.statements, freshFailure });
    expect(failed.failure).toBeUndefined();
    expect(withFreshFailure(migrationReport(measured({ irreversible: true, watch: { locks: [], waits: [], probed: [] } }), 1_000), freshFailure, 1_000).verdict).toBe('fails');
  });
});

describe('exit code and reports with the fresh-database comparison', () => {
  const safe = migrationReport(measured({ watch: { locks: [], waits: [], probed: [] } }), 1_000);

  it('exits 1 when a fresh database differs, not when it was not checked', () => {
    expect(exitCodeOf([safe], true, true)).toBe(0);
    expect(exitCodeOf([safe], true, null)).toBe(0);
    expect(exitCodeOf([safe], true, false)).toBe(1);
  });

  const report = (freshDatabase: RehearsalReport['freshDatabase']): RehearsalReport => ({
    copy: { database: 'app', snapshot: 'pristine', createdAt: '2027-01-01T00:00:00Z', ageHours: 2, ageSeconds: 7_320, source: 'pulled', reset: 'snapshot', resetSeconds: 0.4 },
    thresholdMs: 1_000,
    migrations: [safe],
    notRun: [],
    reversible: { ok: true, checked: [], skipped: [], problems: [] },
    freshDatabase,
    resetAfterwards: true,
    exitCode: freshDatabase.ok === false ? 1 : 0,
  });

  it('names each difference in the text and Markdown reports, with the notes', () => {
    const differs = report({
      checked: true,
      ok: false,
      how: 'schema file + 2 migrations',
      schemaFile: '/app/db/schema.sql',
      differences: [{ object: 'table public.audit_log', problem: 'table public.audit_log exists on the copy but not on a fresh database' }],
      notes: ['extension pg_stat_statements exists on the copy but not on a fresh database: not counted'],
    });
    const text = renderRehearsal(differs);
    expect(text).toContain('Fresh database: DIFFERS from the copy (built from schema file + 2 migrations (/app/db/schema.sql))\n  - table public.audit_log exists on the copy but not on a fresh database\n  note: extension pg_stat_statements');
    const markdown = renderRehearsalMarkdown(differs);
    expect(markdown).toContain('**Fresh database:** differs from the copy (built from schema file + 2 migrations (/app/db/schema.sql))\n- `table public.audit_log` exists on the copy but not on a fresh database\n- note: extension pg_stat_statements');
  });

  it('says when a fresh database matches, and when it was not checked', () => {
    expect(renderRehearsal(report({ checked: true, ok: true, how: '3 migrations from zero', differences: [], notes: [] }))).toContain('Fresh database: the same schema as the copy (built from 3 migrations from zero)');
    expect(renderRehearsalMarkdown(report({ checked: false, ok: null, differences: [], note: 'not checked (--no-fresh)' }))).toContain('**Fresh database:** not checked (--no-fresh)');
  });
});
