import { describe, expect, it } from 'vitest';

import { dataCheckLines, describeDataCheck, reconcileDataChecks, showSampleValue, type DataCheck } from '../../../src/rehearse/data-check-report.js';
import { decideVerdict, migrationReport, renderRehearsalMarkdown, type MigrationMeasurements, type RehearsalReport } from '../../../src/rehearse/report.js';

function check(extra: Partial<DataCheck> & Pick<DataCheck, 'line' | 'check'>): DataCheck {
  return { statement: 'x', table: 'users', columns: ['email'], action: 'CREATE UNIQUE INDEX users_email_key', problem: '(email)', violations: 0, samples: [], prediction: 'passes', ms: 12, ...extra };
}

const unique = check({ line: 2, check: 'unique', violations: 1204, groups: 311, prediction: 'fails', samples: [{ values: ['a@x.com'], count: 4 }, { values: [null], count: 2 }] });
const notNull = check({ line: 3, check: 'not-null', action: 'SET NOT NULL on users.phone', problem: 'with phone NULL', columns: ['phone'], violations: 5, prediction: 'fails' });
const type = check({ line: 4, check: 'type', action: 'ALTER COLUMN code TYPE integer', problem: 'not valid as integer', violations: 1, prediction: 'fails', samples: [{ values: ['abc'] }] });
const clean = check({ line: 5, check: 'check', action: 'ADD CONSTRAINT c CHECK', problem: 'violating it', violations: 0 });

describe('describeDataCheck', () => {
  it('says what would fail, with counts and samples', () => {
    expect(describeDataCheck(unique)).toBe("CREATE UNIQUE INDEX users_email_key would fail: 1,204 rows share 311 duplicated values of (email), e.g. 'a@x.com' ×4, NULL ×2");
    expect(describeDataCheck(notNull)).toBe('SET NOT NULL on users.phone would fail: 5 rows with phone NULL');
    expect(describeDataCheck(type)).toBe("ALTER COLUMN code TYPE integer would fail: 1 value not valid as integer, e.g. 'abc'");
    expect(describeDataCheck(clean)).toBe('ADD CONSTRAINT c CHECK: no rows violating it');
    expect(describeDataCheck({ ...unique, prediction: 'passes', violations: 0, groups: 0, samples: [] })).toBe('CREATE UNIQUE INDEX users_email_key: no duplicated (email)');
    expect(describeDataCheck({ ...type, violations: null, samples: [], error: 'invalid input syntax for type date: "soon"', action: 'ALTER COLUMN born TYPE date', problem: 'that do not convert to date' })).toBe(
      'ALTER COLUMN born TYPE date would fail: some values that do not convert to date (Postgres: invalid input syntax for type date: "soon")',
    );
    expect(describeDataCheck({ ...type, violations: null, prediction: 'unknown', note: 'not checked: timed out after 30 s' })).toBe('ALTER COLUMN code TYPE integer: not checked: timed out after 30 s');
    expect(describeDataCheck({ ...unique, samples: [{ values: ['a', '1'], count: 2 }] })).toContain("e.g. ('a', '1') ×2");
  });

  it('cuts long sample values, escapes control characters and masks passwords', () => {
    expect(showSampleValue('x'.repeat(41))).toBe(`${'x'.repeat(40)}…`);
    expect(showSampleValue('x'.repeat(40))).toBe('x'.repeat(40));
    expect(showSampleValue('a\nb\tc')).toBe('a\\nb\\tc');
    expect(showSampleValue('postgres://u:hunter22@db/x')).toBe('postgres://u:********@db/x');
    expect(showSampleValue(null)).toBeNull();
  });
});

describe('reconcileDataChecks', () => {
  it('cites the check of the failing statement, and reports later ones as would also fail', () => {
    const { checks, cause } = reconcileDataChecks([unique, notNull, type, clean], { line: 2, sqlstate: '23505' });
    expect(cause).toBe(describeDataCheck(unique));
    expect(checks.map((c) => c.note)).toEqual([
      'the statement failed on the copy, as predicted',
      'would also fail (not reached: the migration failed at line 2)',
      'would also fail (not reached: the migration failed at line 2)',
      undefined,
    ]);
  });

  it('keeps a prediction on a statement that succeeded as a note (an earlier statement fixed the data)', () => {
    const { checks, cause } = reconcileDataChecks([unique], undefined);
    expect(cause).toBeUndefined();
    expect(checks[0]!.note).toBe('predicted to fail, but the statement succeeded on the copy: an earlier statement of the migration must have changed the data (informational)');
    expect(reconcileDataChecks([unique], { line: 7, sqlstate: '23502' }).checks[0]!.note).toContain('but the statement succeeded');
  });

  it('picks the check whose failure has the SQLSTATE Postgres reported, when a statement has several', () => {
    const pkUnique = { ...unique, action: 'ADD PRIMARY KEY (email)' };
    const pkNull = { ...notNull, line: 2, action: 'ADD PRIMARY KEY (email)' };
    const { checks, cause } = reconcileDataChecks([pkUnique, pkNull], { line: 2, sqlstate: '23502' });
    expect(cause).toBe(describeDataCheck(pkNull));
    expect(checks.map((c) => c.note)).toEqual(['would also fail', 'the statement failed on the copy, as predicted']);
  });

  it('does not cite a check when the statement failed for another reason, and says when a check found nothing yet the statement failed', () => {
    const lock = reconcileDataChecks([unique], { line: 2, sqlstate: '55P03' });
    expect(lock.cause).toBeUndefined();
    expect(lock.checks[0]!.note).toBe('predicted to fail; the statement failed first for another reason (SQLSTATE 55P03)');
    const missed = reconcileDataChecks([{ ...clean, line: 2 }], { line: 2, sqlstate: '23514' });
    expect(missed.cause).toBeUndefined();
    expect(missed.checks[0]!.note).toBe('found no violation, yet the statement failed on the copy');
  });

  it('leaves checks that did not run as they are', () => {
    const timedOut = { ...type, line: 2, violations: null, prediction: 'unknown' as const, note: 'not checked: timed out after 30 s' };
    expect(reconcileDataChecks([timedOut], { line: 2, sqlstate: '22P02' })).toEqual({ checks: [timedOut], cause: undefined });
  });
});

describe('the reports', () => {
  const measured: MigrationMeasurements = {
    version: '20270101000000',
    name: 'x',
    file: '20270101000000_x.sql',
    irreversible: false,
    durationMs: 30,
    statements: [{ line: 2, sql: 'CREATE UNIQUE INDEX users_email_key ON users (email)', startMs: 0, durationMs: 30, rowCount: null, walBytes: 0, rewrites: [], indexBuilds: [], failed: true }],
    watch: { locks: [], waits: [], probed: [] },
    leftBehind: { invalidIndexes: [], notValidConstraints: [] },
    findings: [],
    failure: { message: 'could not create unique index "users_email_key"', details: ['detail: Key (email)=(a@x.com) is duplicated.'] },
  };

  it('the fails reason cites the check that predicted it; without one it is Postgres’s message', () => {
    const { checks, cause } = reconcileDataChecks([unique], { line: 2, sqlstate: '23505' });
    const report = migrationReport({ ...measured, dataChecks: { checks, ms: 140.4 }, failureCause: cause }, 1_000);
    expect(report).toMatchObject({ verdict: 'fails', reason: `it fails on the copy's data: ${describeDataCheck(unique)}`, dataChecks: checks, dataChecksMs: 140 });
    expect(decideVerdict(measured, { reads: 0, writes: 0 }, 1_000).reason).toBe(`it fails on the copy's data: could not create unique index "users_email_key"`);
    expect(migrationReport(measured, 1_000)).toMatchObject({ dataChecks: [], dataChecksMs: 0 });
  });

  it('lists each check under its migration, with its time and the total', () => {
    const { checks } = reconcileDataChecks([unique, clean], { line: 2, sqlstate: '23505' });
    expect(dataCheckLines(checks, 140)).toEqual([
      `    data check, line 2 (unique, 12 ms): ${describeDataCheck(unique)} (the statement failed on the copy, as predicted)`,
      '    data check, line 5 (check, 12 ms): ADD CONSTRAINT c CHECK: no rows violating it',
      '    data checks took 140 ms before the migration ran (not counted in its time)',
    ]);
    expect(dataCheckLines([], 0)).toEqual([]);
    const report = migrationReport({ ...measured, dataChecks: { checks, ms: 140 } }, 1_000);
    const doc = { copy: { database: 'w', snapshot: 'pristine', createdAt: '2026-11-26T00:00:00Z', ageHours: 1, ageSeconds: 3600, source: undefined, reset: 'snapshot', resetSeconds: 1 }, thresholdMs: 1_000, migrations: [report], notRun: [], reversible: { ok: true, checked: [], skipped: [], problems: [] }, freshDatabase: { checked: false, ok: null, differences: [], note: '' }, resetAfterwards: true, exitCode: 1 } as RehearsalReport;
    expect(renderRehearsalMarkdown(doc)).toContain('data check, line 2 (unique, 12 ms)');
  });
});
