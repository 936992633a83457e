import { describe, expect, it } from 'vitest';

import { copyShare, describeCopyProgress, tableShare, type LiveCopyProgress, type RunningTable } from '../../../src/pull/copy-progress.js';

const MB = 1024 ** 2;

function table(extra: Partial<RunningTable>): RunningTable {
  return { table: 'public.events', bytes: 0, rows: 0, sizeOnDisk: 0, estimatedRows: 0, ...extra };
}

function reading(extra: Partial<LiveCopyProgress>): LiveCopyProgress {
  return { startedAt: 0, now: 10_000, tablesDone: 0, tablesTotal: 1, sizeDone: 0, sizeTotal: 0, bytesCopied: 0, running: [], ...extra };
}

describe('tableShare', () => {
  it("goes by rows when the planner has an estimate (COPY's bytes are not the bytes on disk)", () => {
    expect(tableShare(table({ rows: 250, estimatedRows: 1000, bytes: 90 * MB, sizeOnDisk: 100 * MB }))).toBe(0.25);
  });

  it('goes by bytes against the size on disk without an estimate, and knows nothing without either', () => {
    expect(tableShare(table({ bytes: 30 * MB, sizeOnDisk: 120 * MB }))).toBe(0.25);
    expect(tableShare(table({ bytes: 30 * MB }))).toBeUndefined();
  });

  it('stays below 100 % while the table copies, however wrong the estimate', () => {
    expect(tableShare(table({ rows: 5000, estimatedRows: 1000 }))).toBe(0.99);
  });
});

describe('copyShare', () => {
  it('weighs each table by its size on disk: finished ones whole, running ones by their share', () => {
    const p = reading({
      tablesDone: 1,
      tablesTotal: 3,
      sizeDone: 20 * MB,
      sizeTotal: 100 * MB,
      running: [table({ rows: 500, estimatedRows: 1000, sizeOnDisk: 60 * MB }), table({ table: 'public.small', sizeOnDisk: 20 * MB })],
    });
    expect(copyShare(p)).toBeCloseTo(0.5); // 20 + 0.5 × 60 + 0 × 20, of 100
  });

  it('counts tables when none has a size, and has no share without tables', () => {
    expect(copyShare(reading({ tablesDone: 1, tablesTotal: 4, running: [table({ rows: 5, estimatedRows: 10 })] }))).toBeCloseTo(0.375);
    expect(copyShare(reading({ tablesTotal: 0 }))).toBeUndefined();
  });
});

describe('describeCopyProgress', () => {
  it('says tables, share, bytes, rate and time left, then the running tables, largest first', () => {
    const p = reading({
      now: 4_000,
      tablesDone: 1,
      tablesTotal: 4,
      sizeDone: 10 * MB,
      sizeTotal: 100 * MB,
      bytesCopied: 16 * MB,
      running: [
        table({ table: 'public.small', bytes: 1 * MB, rows: 10, estimatedRows: 0, sizeOnDisk: 10 * MB }),
        table({ table: 'public.events', bytes: 6 * MB, rows: 600, estimatedRows: 1000, sizeOnDisk: 60 * MB }),
        table({ table: 'public.tiny', bytes: 0, rows: 0, estimatedRows: 0, sizeOnDisk: 0 }),
      ],
    });
    // 10 + 0.6 × 60 + 0.1 × 10 = 47 of 100.
    expect(describeCopyProgress(p)).toBe(
      '1/4 tables, 47 %, 16.0 MB at 4.0 MB/s, about 5 s left; copying public.events 60 % (6.0 MB, 600 of ~1000 rows), public.small 10 % (1.0 MB, 10 rows) and 1 more',
    );
  });

  it('leaves out what it cannot know yet', () => {
    expect(describeCopyProgress(reading({ now: 100, sizeTotal: 0, tablesTotal: 0 }))).toBe('0/0 tables, 0 kB');
  });
});
