import { describe, expect, it } from 'vitest';

import { backupOfUrlWithoutId } from '../../../src/backups/choose.js';
import type { BackupSummary } from '../../../src/heroku/cli.js';
import { earlyUrlFor } from '../../../src/pull/sources/backup.js';

const b = (id: string, createdAt: string, extra: Partial<BackupSummary> = {}): BackupSummary => ({
  id,
  num: Number(id.slice(1)),
  kind: 'backup',
  status: 'completed',
  createdAt,
  finishedAt: createdAt,
  sizeBytes: 1000,
  database: 'DATABASE',
  scheduled: false,
  ...extra,
});

describe('backupOfUrlWithoutId (which backup `heroku pg:backups:url` without an id gives)', () => {
  it('is the newest completed backup by creation time, whatever its database; restores, copies and unfinished ones do not count', () => {
    const list = [
      b('b003', '2026-11-03T00:00:00Z', { status: 'running', finishedAt: undefined }),
      b('r004', '2026-11-04T00:00:00Z', { kind: 'restore' }),
      b('b002', '2026-11-02T00:00:00Z', { database: 'HEROKU_POSTGRESQL_RED' }),
      b('b001', '2026-11-01T00:00:00Z'),
    ];
    expect(backupOfUrlWithoutId(list)?.id).toBe('b002');
  });

  it('is unknown when two completed backups share the newest time (the CLI sees finer times than the list prints), or there is none', () => {
    expect(backupOfUrlWithoutId([b('b001', '2026-11-01T00:00:00Z'), b('b002', '2026-11-01T00:00:00Z')])).toBeUndefined();
    expect(backupOfUrlWithoutId([b('b001', '2026-11-01T00:00:00Z', { status: 'failed' })])).toBeUndefined();
    expect(backupOfUrlWithoutId([])).toBeUndefined();
  });
});

describe('earlyUrlFor (may the URL asked for with the list be used)', () => {
  const list = [b('b002', '2026-11-02T00:00:00Z', { database: 'HEROKU_POSTGRESQL_RED' }), b('b001', '2026-11-01T00:00:00Z')];
  const askedAt = Date.parse('2026-11-03T00:00:00Z');
  it('a given id: the URL was asked for by that id', () => {
    expect(earlyUrlFor('B001', list[1]!, list, askedAt)).toBe('id');
    expect(earlyUrlFor('b002', list[1]!, list, askedAt)).toBeUndefined();
  });
  it("'latest': only when the app's newest backup is the chosen one, to be confirmed", () => {
    expect(earlyUrlFor('latest', list[0]!, list, askedAt)).toBe('latest');
    // The chosen database's newest is b001, but the CLI gives the app's newest (b002, another database's).
    expect(earlyUrlFor('latest', list[1]!, list, askedAt)).toBeUndefined();
  });
  it("'latest': not when the chosen backup finished shortly before the CLI started (the CLI may have read the list before it finished), nor when its end is unknown", () => {
    const fresh = b('b003', '2026-11-02T23:59:00Z', { finishedAt: '2026-11-02T23:59:30Z' });
    expect(earlyUrlFor('latest', fresh, [fresh, ...list], askedAt)).toBeUndefined();
    expect(earlyUrlFor('latest', fresh, [fresh, ...list], askedAt + 61_000)).toBe('latest');
    const warned = b('b003', '2026-11-01T00:00:00Z', { finishedAt: undefined });
    expect(earlyUrlFor('latest', warned, [warned], askedAt)).toBeUndefined();
  });
});
