import { describe, expect, it } from 'vitest';

import { decideVerdict, exitCodeOf, longestWaits, migrationReport, renderRehearsal, renderRehearsalMarkdown, type MigrationMeasurements, type RehearsalReport } from '../../../src/rehearse/report.js';

const waits = [
  { table: 'public.items', kind: 'write' as const, startMs: 100, endMs: 900 },
  { table: 'public.items', kind: 'read' as const, startMs: 100, endMs: 103 },
  { table: 'public.users', kind: 'write' as const, startMs: 950, endMs: 1_000 },
];

function measured(extra: Partial<MigrationMeasurements> = {}): MigrationMeasurements {
  return {
    version: '20270101000000',
    name: 'x',
    file: '20270101000000_x.sql',
    irreversible: false,
    durationMs: 1_000,
    statements: [
      { line: 2, sql: 'CREATE INDEX a ON items (b);', startMs: 90, durationMs: 700, rowCount: null, walBytes: 10, rewrites: [], indexBuilds: [{ relation: 'public.a', kind: 'index', bytes: 5 }], failed: false },
      { line: 3, sql: 'UPDATE users SET x = 1;', startMs: 940, durationMs: 60, rowCount: 7, walBytes: 20, rewrites: [], indexBuilds: [], failed: false },
    ],
    watch: { locks: [{ relation: 'public.items', mode: 'ShareLock', firstMs: 95, lastMs: 905 }], waits, probed: ['public.items', 'public.users'] },
    leftBehind: { invalidIndexes: [], notValidConstraints: [] },
    findings: [],
    ...extra,
  };
}

describe('longestWaits', () => {
  it('keeps the longest read and write wait and their tables, clipped to a window', () => {
    expect(longestWaits(waits)).toEqual({ reads: 3, writes: 800, readTable: 'public.items', writeTable: 'public.items' });
    expect(longestWaits(waits, 940, 1_000)).toEqual({ reads: 0, writes: 50, readTable: undefined, writeTable: 'public.users' });
    expect(longestWaits(waits, 500, 600).writes).toBe(100);
  });
});

describe('decideVerdict', () => {
  const none = { reads: 0, writes: 0 };
  it('fails beats blocking beats irreversible beats safe', () => {
    expect(decideVerdict({ failure: { message: 'duplicate key', details: [] }, irreversible: true }, { reads: 5_000, writes: 5_000 }, 1_000).verdict).toBe('fails');
    expect(decideVerdict({ irreversible: true }, { reads: 0, writes: 1_000, writeTable: 'public.t' }, 1_000)).toEqual({ verdict: 'blocking', reason: expect.stringContaining('blocked writes to public.t') as string });
    expect(decideVerdict({ irreversible: true }, { reads: 999, writes: 0 }, 1_000).verdict).toBe('irreversible');
    expect(decideVerdict({ irreversible: false }, none, 1_000).verdict).toBe('safe');
  });
  it('names reads when reads waited longer', () => {
    expect(decideVerdict({ irreversible: false }, { reads: 2_000, writes: 1_500, readTable: 'public.r', writeTable: 'public.w' }, 1_000).reason).toContain('reads of public.r');
  });
});

describe('migrationReport', () => {
  it('attributes waits to the statements they overlapped and sums rows and WAL', () => {
    const r = migrationReport(measured(), 500);
    expect(r.verdict).toBe('blocking');
    expect(r.statements.map((s) => s.blockedMs)).toEqual([{ reads: 3, writes: 690 }, { reads: 0, writes: 50 }]);
    expect(r.rowsChanged).toBe(7);
    expect(r.walBytes).toBe(30);
    expect(r.locks).toEqual([{ relation: 'public.items', mode: 'ShareLock', heldMs: 810 }]);
    expect(r.indexBuilds).toEqual([{ relation: 'public.a', kind: 'index', bytes: 5 }]);
    expect(migrationReport(measured(), 1_000).verdict).toBe('safe');
  });
});

describe('exitCodeOf and rendering', () => {
  it('exits 1 for blocking, fails, or a down section that does not undo its up section', () => {
    const safe = migrationReport(measured(), 1_000);
    const blocking = migrationReport(measured(), 100);
    expect(exitCodeOf([safe], true)).toBe(0);
    expect(exitCodeOf([{ ...safe, verdict: 'irreversible' }], true)).toBe(0);
    expect(exitCodeOf([safe, blocking], true)).toBe(1);
    expect(exitCodeOf([safe], false)).toBe(1);
  });
  it('says what was not checked', () => {
    const report: RehearsalReport = {
      copy: { database: 'app', snapshot: 'pristine', createdAt: '2027-01-01T00:00:00Z', ageHours: 2, ageSeconds: 7_320, source: 'pulled', reset: 'snapshot', resetSeconds: 0.4 },
      thresholdMs: 1_000,
      migrations: [migrationReport(measured(), 100)],
      notRun: [],
      reversible: { ok: false, checked: ['b.sql'], skipped: [], problems: [{ migration: 'b.sql', object: 'table public.audit', problem: 'table public.audit is still there after its down section ran' }] },
      freshDatabase: { checked: false, ok: null, differences: [], note: 'not checked: building the schema from zero is not part of drydock rehearse yet' },
      resetAfterwards: true,
      exitCode: 1,
    };
    const text = renderRehearsal(report);
    expect(text).toContain('BLOCKING');
    expect(text).toContain('Reversible: NO');
    expect(text).toContain('Fresh database: not checked');
    // Ages in the unit that fits, never '0 h'.
    expect(text).toContain('the data is 2 h old');
    expect(renderRehearsalMarkdown(report)).toContain('| `20270101000000_x.sql` | **blocking** |');
  });
});

describe('namedRelations', () => {
  it('finds the pre-existing relations a parse tree names, with public as the default schema', async () => {
    const { namedRelations } = await import('../../../src/rehearse/recorder.js');
    const { ensureParser, splitStatements } = await import('../../../src/sql/parse.js');
    await ensureParser();
    const existing = new Map([
      [1, { oid: 1, name: 'public.items', schema: 'public', relname: 'items', kind: 'r', fileNode: 1 }],
      [2, { oid: 2, name: 'app.items', schema: 'app', relname: 'items', kind: 'r', fileNode: 2 }],
      [3, { oid: 3, name: 'public.users', schema: 'public', relname: 'users', kind: 'r', fileNode: 3 }],
    ]);
    const [index, update, create] = splitStatements('CREATE INDEX i ON items (a); UPDATE app.items SET a = 1 FROM users WHERE users.id = 1; CREATE TABLE fresh (id int)');
    expect(namedRelations(index!.node, existing)).toEqual([1]);
    expect(namedRelations(update!.node, existing).sort()).toEqual([2, 3]);
    expect(namedRelations(create!.node, existing)).toEqual([]);
  });
});
