import { describe, expect, it } from 'vitest';

import { renderRehearsal, renderRehearsalMarkdown, type MigrationReport, type RehearsalReport } from '../../../src/rehearse/report.js';
import type { ProbeWait } from '../../../src/rehearse/watch.js';
import { markWithoutData, notRepresentativeNote, tablesWithoutData, type CopyTables } from '../../../src/rehearse/without-data.js';

const TABLES = [
  { name: 'public.items', schema: 'public', relname: 'items', ancestors: [] },
  { name: 'public.events', schema: 'public', relname: 'events', ancestors: [] },
  { name: 'public.logs', schema: 'public', relname: 'logs', ancestors: [] },
  { name: 'public.logs_2026', schema: 'public', relname: 'logs_2026', ancestors: [{ schema: 'public', relname: 'logs' }] },
  { name: 'audit."Trail"', schema: 'audit', relname: 'Trail', ancestors: [] },
];

describe('tablesWithoutData', () => {
  it('names the tables a pattern names (name, schema.name, *), and the partitions of a partitioned table one names', () => {
    expect(tablesWithoutData([], TABLES)).toEqual([]);
    expect(tablesWithoutData(['events'], TABLES)).toEqual(['public.events']);
    expect(tablesWithoutData(['logs'], TABLES)).toEqual(['public.logs', 'public.logs_2026']);
    expect(tablesWithoutData(['audit.*', 'ev*'], TABLES)).toEqual(['audit."Trail"', 'public.events']);
    expect(tablesWithoutData(['other.events'], TABLES)).toEqual([]);
  });
});

function report(extra: Partial<MigrationReport>): MigrationReport {
  return {
    version: '20270101000000', name: 'x', file: '20270101000000_x.sql', verdict: 'safe', reason: 'no read or write waited 1 s or more', durationMs: 2_000, statements: [],
    locks: [], blockedMs: { reads: 0, writes: 0 }, blockedTables: { reads: undefined, writes: undefined }, rewrites: [], indexBuilds: [], rowsChanged: 0, walBytes: 0,
    tempFiles: undefined, leftBehind: { invalidIndexes: [], notValidConstraints: [] }, findings: [], ...extra,
  };
}

const copy: CopyTables = { tables: new Set(['public.items', 'public.events']), withoutData: new Set(['public.events']) };
const wait = (table: string, ms: number): ProbeWait => ({ table, kind: 'write', startMs: 100, endMs: 100 + ms });

describe('markWithoutData', () => {
  it('lists nothing when the migration measured no table without data', () => {
    const r = report({ locks: [{ relation: 'public.items', mode: 'AccessExclusiveLock', heldMs: 3 }] });
    expect(markWithoutData(r, [], copy, 1_000)).toEqual({ ...r, notRepresentative: [] });
  });

  it('a blocking verdict that only a table without data gave says so', () => {
    const r = report({ verdict: 'blocking', reason: 'it blocked writes to public.events for 2 s (threshold 1 s)', locks: [{ relation: 'public.events', mode: 'ShareLock', heldMs: 2_000 }, { relation: 'public.events_pkey', mode: 'AccessShareLock', heldMs: 0 }], blockedTables: { reads: undefined, writes: 'public.events' } });
    const marked = markWithoutData(r, [wait('public.events', 2_000), wait('public.items', 50)], copy, 1_000);
    expect(marked.notRepresentative).toEqual(['public.events']);
    expect(marked.verdict).toBe('blocking');
    expect(marked.reason).toBe('it blocked writes to public.events for 2 s (threshold 1 s); computed only from public.events, copied without data: not representative');
  });

  it('a blocking verdict that a table with data gives too stands as it is, with the table listed', () => {
    const r = report({ verdict: 'blocking', reason: 'it blocked writes to public.events for 2 s (threshold 1 s)', blockedTables: { reads: undefined, writes: 'public.events' } });
    const marked = markWithoutData(r, [wait('public.events', 2_000), wait('public.items', 1_500)], copy, 1_000);
    expect(marked.notRepresentative).toEqual(['public.events']);
    expect(marked.reason).toBe(r.reason);
  });

  it('a safe verdict measured only on tables without data says so; one measured on others too only lists them', () => {
    const only = markWithoutData(report({ locks: [{ relation: 'public.events', mode: 'AccessExclusiveLock', heldMs: 1 }] }), [], copy, 1_000);
    expect(only.reason).toBe('no read or write waited 1 s or more (computed only from public.events, copied without data: not representative)');
    const both = markWithoutData(report({ locks: [{ relation: 'public.events', mode: 'AccessExclusiveLock', heldMs: 1 }], rewrites: [{ relation: 'public.items', kind: 'table', bytes: 8_192 }] }), [], copy, 1_000);
    expect(both.notRepresentative).toEqual(['public.events']);
    expect(both.reason).toBe('no read or write waited 1 s or more');
  });

  it('an irreversible verdict does not depend on the data', () => {
    const r = report({ verdict: 'irreversible', reason: 'its down section is marked irreversible', locks: [{ relation: 'public.events', mode: 'AccessExclusiveLock', heldMs: 1 }] });
    expect(markWithoutData(r, [], copy, 1_000).reason).toBe(r.reason);
  });

  it('words the note for the reports', () => {
    expect(notRepresentativeNote('public.events')).toBe('table public.events was copied without data: its timings are not representative');
  });
});

describe('the reports of a pulled copy with tables without data', () => {
  it('say the copy was pulled and why, and mark what was measured on tables without data', () => {
    const marked = markWithoutData(
      report({ verdict: 'blocking', reason: 'it blocked writes to public.events for 2 s (threshold 1 s)', locks: [{ relation: 'public.events', mode: 'ShareLock', heldMs: 2_000 }], statements: [{ line: 2, sql: 'ALTER TABLE events ALTER COLUMN id TYPE bigint', durationMs: 2_000, rowCount: null, walBytes: 100, blockedMs: { reads: 2_000, writes: 2_000 }, rewrites: [{ relation: 'public.events', kind: 'table', bytes: 8_192 }], indexBuilds: [] }] }),
      [wait('public.events', 2_000)],
      copy,
      1_000,
    );
    const doc: RehearsalReport = {
      copy: { database: 'my_app', snapshot: 'pristine', createdAt: '2026-11-26T10:00:00.000Z', ageHours: 0, ageSeconds: 30, source: 'live database of my-app', reset: 'pulled', resetSeconds: 0, pullSeconds: 12.5, pulledFrom: 'my-app', pulledBecause: 'pristine snapshot was 30 h old', excludeTableData: ['events'], withoutData: ['public.events'] },
      thresholdMs: 1_000,
      migrations: [marked],
      notRun: [],
      reversible: { ok: true, checked: [], skipped: [], problems: [] },
      freshDatabase: { checked: false, ok: null, differences: [], note: 'not checked' },
      resetAfterwards: true,
      exitCode: 1,
    };
    const text = renderRehearsal(doc);
    expect(text).toContain('Copy: my_app: pulled a fresh copy from my-app in 12.5 s (pristine snapshot was 30 h old); the data is 30 s old (live database of my-app, taken 2026-11-26T10:00:00.000Z); copied without data: public.events');
    expect(text).toContain('      rewrote table public.events (8.0 kB), copied without data: not representative');
    expect(text).toContain('    lock ShareLock on public.events, held 2 s (copied without data: not representative)');
    expect(text).toContain('    table public.events was copied without data: its timings are not representative');
    expect(text).toContain('computed only from public.events, copied without data: not representative');
    expect(renderRehearsalMarkdown(doc)).toContain('table public.events was copied without data: its timings are not representative');
  });
});
