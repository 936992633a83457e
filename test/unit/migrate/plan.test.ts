import { describe, expect, it } from 'vitest';

import { MigrationError } from '../../../src/errors.js';
import {
  compareVersions,
  currentVersion,
  migrationStatus,
  outOfOrder,
  planDown,
  planUp,
} from '../../../src/migrate/plan.js';
import type { AppliedMigration, MigrationFile, PlannedStep } from '../../../src/migrate/types.js';

function file(version: string, overrides: Partial<MigrationFile> = {}): MigrationFile {
  const name = `m${version.slice(-4)}`;
  return {
    version,
    name,
    fileName: `${version}_${name}.sql`,
    path: `/m/${version}_${name}.sql`,
    checksum: `sum-${version}`,
    up: { sql: 'SELECT 1;\n', transaction: true, startLine: 2 },
    down: { sql: 'SELECT 2;\n', transaction: true, startLine: 4 },
    irreversible: false,
    ...overrides,
  };
}

function applied(version: string, overrides: Partial<AppliedMigration> = {}): AppliedMigration {
  return { version, checksum: `sum-${version}`, ...overrides };
}

const V1 = '20260101000000';
const V2 = '20260102000000';
const V3 = '20260103000000';
const V4 = '20260104000000';
const FILES = [file(V3), file(V1), file(V4), file(V2)];

const versions = (steps: PlannedStep[]) => steps.map((s) => `${s.direction} ${s.migration.version}`);

function errorOf(fn: () => unknown): MigrationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MigrationError);
    return error as MigrationError;
  }
  throw new Error('expected a MigrationError');
}

describe('planUp', () => {
  it('plans every pending version in order', () => {
    expect(versions(planUp(FILES, [applied(V1)]))).toEqual([`up ${V2}`, `up ${V3}`, `up ${V4}`]);
  });

  it('plans nothing when everything is applied', () => {
    expect(planUp(FILES, FILES.map((f) => applied(f.version)))).toEqual([]);
  });

  it('plans up to and including `to`', () => {
    expect(versions(planUp(FILES, [applied(V1)], { to: V3 }))).toEqual([`up ${V2}`, `up ${V3}`]);
  });

  it('plans nothing for a `to` that is already applied and has nothing pending before it', () => {
    expect(planUp(FILES, [applied(V1), applied(V2)], { to: V1 })).toEqual([]);
  });

  it('plans a pending version older than the newest applied one, flagged out of order', () => {
    const steps = planUp(FILES, [applied(V1), applied(V3)]);
    expect(steps.map((s) => [s.migration.version, s.outOfOrder])).toEqual([
      [V2, true],
      [V4, false],
    ]);
    expect(outOfOrder(FILES, [applied(V1), applied(V3)]).map((f) => f.version)).toEqual([V2]);
  });

  it('finds no out-of-order migrations on a linear history', () => {
    expect(outOfOrder(FILES, [applied(V1), applied(V2)])).toEqual([]);
  });

  it('ignores applied versions without a file', () => {
    expect(versions(planUp([file(V2)], [applied(V1)]))).toEqual([`up ${V2}`]);
  });

  it.each([
    ['20991231000000', 'version 20991231000000 is not a known migration'],
    ['0', 'version 0 is not a known migration'],
    ['latest', '"latest" is not a migration version'],
    ['', '"" is not a migration version'],
  ])('rejects `to` %j', (to, message) => {
    const error = errorOf(() => planUp(FILES, [], { to }));
    expect(error.message).toBe(message);
    expect(error.hint).toBeTruthy();
  });
});

describe('planDown', () => {
  const ALL_APPLIED = [applied(V2), applied(V1), applied(V3)];

  it('rolls back the newest applied migration by default', () => {
    expect(versions(planDown(FILES, ALL_APPLIED))).toEqual([`down ${V3}`]);
  });

  it('rolls back `steps` migrations, newest first', () => {
    expect(versions(planDown(FILES, ALL_APPLIED, { steps: 2 }))).toEqual([`down ${V3}`, `down ${V2}`]);
  });

  it('rolls back everything newer than `to`, which stays applied', () => {
    expect(versions(planDown(FILES, ALL_APPLIED, { to: V1 }))).toEqual([`down ${V3}`, `down ${V2}`]);
  });

  it('rolls back everything for `to` 0', () => {
    expect(versions(planDown(FILES, ALL_APPLIED, { to: '0' }))).toEqual([`down ${V3}`, `down ${V2}`, `down ${V1}`]);
  });

  it('plans nothing when `to` is the newest applied version', () => {
    expect(planDown(FILES, ALL_APPLIED, { to: V3 })).toEqual([]);
  });

  it('plans nothing when nothing is applied', () => {
    expect(planDown(FILES, [])).toEqual([]);
    expect(planDown(FILES, [], { to: '0' })).toEqual([]);
  });

  it('uses the files, not the ledger, for what to run', () => {
    const [step] = planDown([file(V1, { down: { sql: 'DROP TABLE t;', transaction: false, startLine: 9 } })], [applied(V1)]);
    expect(step!.migration.down).toEqual({ sql: 'DROP TABLE t;', transaction: false, startLine: 9 });
  });

  it('rejects rolling back an applied version whose file is missing', () => {
    const error = errorOf(() => planDown([file(V1)], [applied(V1), applied(V2, { name: 'gone' })]));
    expect(error.message).toBe(`migration ${V2}_gone is applied but its file is missing`);
    expect(error.hint).toContain('restore the file');
  });

  it('rejects an irreversible migration anywhere in the plan, before anything is rolled back', () => {
    const files = [file(V1), file(V2, { irreversible: true, down: { sql: 'irreversible\n', transaction: true, startLine: 4 } }), file(V3)];
    const error = errorOf(() => planDown(files, [applied(V1), applied(V2), applied(V3)], { to: '0' }));
    expect(error.message).toBe(`migration ${V2}_m0000.sql is irreversible`);
    expect(error.file).toBe(`${V2}_m0000.sql`);
    expect(error.hint).toContain('nothing was rolled back');
  });

  it('rejects a migration without a down section', () => {
    const error = errorOf(() => planDown([file(V1, { down: undefined })], [applied(V1)]));
    expect(error.message).toBe(`migration ${V1}_m0000.sql has no \`-- migrate:down\` section`);
    expect(error.hint).toContain('irreversible');
  });

  it('rejects a down section with only comments', () => {
    const down = { sql: '-- TODO: undo\n\n', transaction: true, startLine: 5 };
    const error = errorOf(() => planDown([file(V1, { down })], [applied(V1)]));
    expect(error.message).toBe(`migration ${V1}_m0000.sql has an empty \`-- migrate:down\` section`);
    expect(error.line).toBe(4);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects steps %s', (steps) => {
    expect(errorOf(() => planDown(FILES, ALL_APPLIED, { steps })).message).toBe(
      `the number of steps to roll back must be a positive integer, not ${String(steps)}`,
    );
  });

  it('rejects more steps than there are applied migrations', () => {
    const error = errorOf(() => planDown(FILES, ALL_APPLIED, { steps: 4 }));
    expect(error.message).toBe('cannot roll back 4 migrations: only 3 are applied');
    expect(error.hint).toContain('--to 0');
  });

  it('rejects steps and `to` together', () => {
    expect(errorOf(() => planDown(FILES, ALL_APPLIED, { steps: 1, to: V1 })).message).toMatch(/not both/);
  });

  it.each([
    ['20991231000000', 'version 20991231000000 is not a known migration'],
    [V4, `version ${V4} is not applied, so it cannot be the version to roll back to`],
    ['yesterday', '"yesterday" is not a migration version'],
  ])('rejects `to` %j', (to, message) => {
    expect(errorOf(() => planDown(FILES, ALL_APPLIED, { to })).message).toBe(message);
  });
});

describe('migrationStatus', () => {
  it('reports applied, pending, changed and missing-file versions in order', () => {
    const appliedAt = new Date('2026-01-05T00:00:00Z');
    const status = migrationStatus(
      [file(V1), file(V2, { checksum: 'edited' }), file(V4)],
      [applied(V1, { appliedAt }), applied(V2), applied(V3, { name: 'dropped' })],
    );
    expect(status).toEqual([
      { version: V1, name: 'm0000', state: 'applied', appliedAt },
      {
        version: V2,
        name: 'm0000',
        state: 'changed',
        appliedAt: undefined,
        detail: `${V2}_m0000.sql changed after it was applied (checksum edited, applied as ${`sum-${V2}`.slice(0, 12)})`,
      },
      { version: V3, name: 'dropped', state: 'missing-file', appliedAt: undefined },
      { version: V4, name: 'm0000', state: 'pending' },
    ]);
  });

  it('treats a version recorded without a checksum (by another tool) as applied', () => {
    expect(migrationStatus([file(V1)], [{ version: V1 }])[0]!.state).toBe('applied');
  });

  it('returns [] when there is nothing on disk or in the ledger', () => {
    expect(migrationStatus([], [])).toEqual([]);
  });
});

describe('adopted databases: versions another tool recorded, and the baseline (issue 13)', () => {
  const RAILS = ['20200101000000', '20200102000000', V1];
  const rails = RAILS.map((version) => ({ version, foreign: true }));
  const states = (rows: ReturnType<typeof migrationStatus>) => rows.map((r) => `${r.state} ${r.version}`);

  it("lists another tool's versions without a file as other-tool, not missing-file (a problem only for drydock's own)", () => {
    const rows = migrationStatus([file(V3)], [...rails, applied(V2)]);
    expect(states(rows)).toEqual(['other-tool 20200101000000', 'other-tool 20200102000000', `other-tool ${V1}`, `missing-file ${V2}`, `pending ${V3}`]);
    expect(rows[0]!.detail).toBe('recorded by another tool, no file here');
  });

  it('treats files and versions at or before the baseline as covered, never pending or missing', () => {
    const rows = migrationStatus([file(V1), file(V2), file(V3)], [...rails.slice(0, 2), applied('20200103000000'), applied(V3)], V2);
    expect(states(rows)).toEqual([
      'baseline 20200101000000',
      'baseline 20200102000000',
      'baseline 20200103000000', // drydock applied it, its file is gone: the baseline says that is fine
      `baseline ${V1}`,
      `baseline ${V2}`,
      `applied ${V3}`,
    ]);
    expect(rows[3]!.detail).toBe(`at or before the baseline ${V2}: counts as applied, never run by drydock`);
  });

  it('plans only files after the baseline, and compares versions numerically', () => {
    expect(planUp(FILES, [], { baseline: V2 }).map((s) => s.migration.version)).toEqual([V3, V4]);
    expect(planUp(FILES, [], { baseline: '20260102000000' }).map((s) => s.migration.version)).toEqual([V3, V4]);
    expect(planUp(FILES, [], { baseline: '0' }).map((s) => s.migration.version)).toEqual([V1, V2, V3, V4]);
    expect(planUp(FILES, [], { baseline: '99999999999999' })).toEqual([]);
    expect(outOfOrder(FILES, [applied(V4)], V2).map((m) => m.version)).toEqual([V3]);
  });

  it("refuses to roll back another tool's version or a baselined one that has no file, before anything runs", () => {
    expect(errorOf(() => planDown([file(V2), file(V3)], [...rails, applied(V2)], { steps: 2 })).message).toBe(
      `version ${V1} was recorded by another tool (Rails, dbmate, a schema load) and has no file here, so drydock cannot roll it back`,
    );
    expect(errorOf(() => planDown([file(V3)], [{ version: V2, foreign: true }, applied(V3)], { to: '0', baseline: V2 })).message).toBe(
      `version ${V2} is at or before the baseline ${V2} and has no file, so drydock cannot roll it back`,
    );
    // Another tool's version whose file is here (dbmate's format is drydock's): rolled back like any other.
    expect(versions(planDown(FILES, [{ version: V1, foreign: true }]))).toEqual([`down ${V1}`]);
  });
});

describe('currentVersion', () => {
  it("is '0' when nothing is applied", () => {
    expect(currentVersion([])).toBe('0');
  });

  it('is the newest applied version, whatever the order', () => {
    expect(currentVersion([applied(V2), applied(V3), applied(V1)])).toBe(V3);
  });
});

describe('compareVersions', () => {
  it('orders digit strings numerically', () => {
    expect(['20260101000000', '9', '0', '10', '20250101000000'].sort(compareVersions)).toEqual([
      '0',
      '9',
      '10',
      '20250101000000',
      '20260101000000',
    ]);
  });
});
