import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DataLoadTracker, planEarlyPostData, verboseTocEntries } from '../../../src/pull/early-post-data.js';

// pg_restore --list --verbose of a real pg_dump -Fc (PostgreSQL 15): a function used by an expression
// index, a partitioned table with a key and an index (attached to its partition's), a table with a space
// in its name and a foreign key, an exclusion constraint, a materialized view with an index.
const TOC = readFileSync(join(import.meta.dirname, '../../fixtures/toc/rich-verbose.list'), 'utf8');
const without = (ids: number[]): string => TOC.split('\n').filter((l) => !ids.some((id) => l.startsWith(`${id}; `))).join('\n');

describe('planEarlyPostData', () => {
  it('gives each table with data the indexes and keys that belong to it alone, in archive order', () => {
    const plan = planEarlyPostData(TOC, TOC);
    expect(plan.map((t) => [t.names, t.entryIds.sort()])).toEqual([
      [['public.empty_t'], [3511]],
      // The partition's key and index depend on its parent's (post-data): they wait for the final step.
      [['public.measures_2024'], []],
      // Its foreign key (3514) waits too; the name with a space reads two ways.
      [['public.order items', 'public order.items'], [3499, 3500]],
      // An exclusion constraint names its table twice.
      [['public.rooms'], [3508]],
      // An expression index depends on a function (pre-data) as well.
      [['public.users'], [3494, 3495, 3497]],
    ]);
  });

  it('never plans a foreign key, an INDEX ATTACH, an index of a materialized view, or a partitioned parent\'s key', () => {
    const early = new Set(planEarlyPostData(TOC, TOC).flatMap((t) => t.entryIds));
    for (const id of [3514, 3512, 3513, 3509, 3503, 3501, 3506, 3504]) expect(early.has(id), String(id)).toBe(false);
  });

  it('builds nothing early for a table whose data is not restored (--exclude-table-data), nor entries left out of the list', () => {
    const plan = planEarlyPostData(TOC, without([3658, 3499]));
    expect(plan.map((t) => t.names[0])).not.toContain('public.users');
    expect(plan.flatMap((t) => t.entryIds)).not.toContain(3499);
    expect(plan.flatMap((t) => t.entryIds)).not.toEqual(expect.arrayContaining([3494, 3495, 3497]));
  });

  it('ANALYZEs a table early only when all its indexes are built early and it has no extended statistics (and its name reads one way)', () => {
    const analyze = (toc: string): Record<string, string | undefined> =>
      Object.fromEntries(planEarlyPostData(toc, toc).map((t) => [t.names[0]!, t.analyze ? `${t.analyze.schema}.${t.analyze.name}` : undefined]));
    expect(analyze(TOC)).toEqual({
      'public.empty_t': 'public.empty_t',
      // Its index is attached to its parent's: built in the final step, so its statistics wait too.
      'public.measures_2024': undefined,
      'public.order items': undefined,
      'public.rooms': 'public.rooms',
      // The expression index (its own statistics) is built early too.
      'public.users': 'public.users',
    });
    const withStats = TOC.replace('3504; 1259 17102 INDEX', '3999; 3381 17200 STATISTICS public rooms_stats postgres\n;\tdepends on: 219\n3504; 1259 17102 INDEX');
    expect(analyze(withStats)['public.rooms']).toBeUndefined();
  });

  it('reads dependencies that pg_dump lists twice, and entries without any', () => {
    const entries = verboseTocEntries(TOC);
    expect(entries.find((e) => e.id === 3508)?.deps).toEqual([219, 219]);
    expect(entries.find((e) => e.id === 421)?.deps).toEqual([]);
  });
});

describe('DataLoadTracker', () => {
  const lines = [
    'pg_restore: connecting to database for restore',
    'pg_restore: creating TABLE "public.users"',
    'pg_restore: processing data for table "public.empty_t"',
    'pg_restore: processing data for table "public.measures_2024"',
    'pg_restore: processing data for table "public.order items"',
    'pg_restore: processing data for table "public.rooms"',
    'pg_restore: processing data for table "public.users"',
  ];

  it('says a table is done when pg_restore names the next item, and leaves the last one to the end of the run', () => {
    const done: string[] = [];
    const tracker = new DataLoadTracker(planEarlyPostData(TOC, TOC), (t) => done.push(t.names[0]!));
    for (const line of lines) tracker.line(line);
    expect(done).toEqual(['public.empty_t', 'public.measures_2024', 'public.order items', 'public.rooms']);
    tracker.line('pg_restore: executing SEQUENCE SET users_id_seq');
    expect(done.at(-1)).toBe('public.users');
  });

  it('ignores lines that name no item (warnings, errors) and tables it does not know', () => {
    const done: string[] = [];
    const tracker = new DataLoadTracker(planEarlyPostData(TOC, TOC), (t) => done.push(t.names[0]!));
    tracker.line('pg_restore: processing data for table "public.empty_t"');
    tracker.line('pg_restore: warning: errors ignored on restore: 1');
    expect(done).toEqual([]);
    tracker.line('pg_restore: processing data for table "other.unknown"');
    expect(done).toEqual(['public.empty_t']);
    tracker.line('pg_restore: processing data for table "public.rooms"');
    expect(done).toEqual(['public.empty_t']);
  });
});
