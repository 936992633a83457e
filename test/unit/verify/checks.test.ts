import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../../src/errors.js';
import type { SequenceRow, SessionRow } from '../../../src/pg/queries/verify.js';
import {
  applyLevels,
  bloatFindings,
  cacheHitFindings,
  CHECKS,
  checkLevelProblems,
  diagnoseFindings,
  notValidFindings,
  parseCheckList,
  resolveCheckLevels,
  sequenceFindings,
  sessionFindings,
  unindexedForeignKeyFindings,
} from '../../../src/verify/checks.js';

const seq = (over: Partial<SequenceRow>): SequenceRow => ({
  schema: 'public',
  name: 'users_id_seq',
  sequence_type: 'integer',
  last_value: '1',
  max_value: '2147483647',
  table_name: 'public.users',
  column_name: 'id',
  column_type: 'integer',
  ...over,
});

const session = (over: Partial<SessionRow>): SessionRow => ({
  pid: 42,
  user_name: 'app',
  application_name: 'web.1',
  state: 'active',
  query_seconds: 1,
  state_seconds: 1,
  query: 'SELECT 1',
  blocked_by: [],
  wait_event_type: null,
  ...over,
});

describe('sequenceFindings', () => {
  it('flags an integer sequence at 85 % of its limit, with the numbers and the bigint fix', () => {
    const [f] = sequenceFindings([seq({ last_value: String(Math.floor(2147483647 * 0.85)) })]);
    expect(f?.check).toBe('sequence-near-limit');
    expect(f?.message).toContain('85.0 %');
    expect(f?.message).toContain('of 2,147,483,647');
    expect(f?.fix).toContain('to bigint');
  });

  it('allows one at 79 %', () => {
    expect(sequenceFindings([seq({ last_value: String(Math.floor(2147483647 * 0.79)) })])).toEqual([]);
  });

  it('measures a bigint sequence feeding an integer column against the column', () => {
    const [f] = sequenceFindings([seq({ sequence_type: 'bigint', max_value: '9223372036854775807', last_value: '2000000000' })]);
    expect(f?.message).toContain("limited by its column public.users.id's type integer");
  });

  it('measures a bigint sequence of a bigint column exactly, without overflowing', () => {
    expect(sequenceFindings([seq({ sequence_type: 'bigint', max_value: '9223372036854775807', last_value: '9000000000000000000', column_type: 'bigint' })])[0]?.message).toContain('97.6 %');
    expect(sequenceFindings([seq({ sequence_type: 'bigint', max_value: '9223372036854775807', last_value: '5', column_type: 'bigint' })])).toEqual([]);
  });
});

describe('levels', () => {
  it('defaults each check to its registry level, then drydock.json, then flags', () => {
    const levels = resolveCheckLevels({ 'unindexed-foreign-key': 'error', 'table-bloat': 'off' }, { warn: ['invalid-index'], skip: ['cache-hit-rate'] });
    expect(levels['unindexed-foreign-key']).toBe('error');
    expect(levels['table-bloat']).toBe('off');
    expect(levels['invalid-index']).toBe('warn');
    expect(levels['cache-hit-rate']).toBe('off');
    expect(levels['not-valid-constraint']).toBe('error');
    expect(Object.keys(levels).sort()).toEqual(CHECKS.map((c) => c.id).sort());
  });

  it('refuses unknown ids and a check named in two flags', () => {
    expect(() => parseCheckList('invalid-index,nope', '--error')).toThrow(ConfigError);
    expect(() => parseCheckList(' , ', '--skip')).toThrow(/--skip is empty/);
    expect(() => resolveCheckLevels(undefined, { error: ['ssl'], skip: ['ssl'] })).toThrow(/both --error and --skip/);
    expect(checkLevelProblems({ nope: 'error', ssl: 'loud' }, '"verifyChecks"')).toEqual([expect.stringContaining('unknown check "nope"'), expect.stringContaining('"ssl" must be')]);
  });

  it('drops findings of checks turned off and sets each finding\'s level', () => {
    const raw = [...unindexedForeignKeyFindings([{ schema: 'public', table_name: 'orders', name: 'orders_user_id_fkey', referenced: 'public.users', columns: ['user_id'] }]), ...notValidFindings([{ schema: 'public', table_name: 'orders', name: 'fk', type: 'f', definition: 'FOREIGN KEY (user_id) REFERENCES users(id) NOT VALID' }])];
    const found = applyLevels(raw, resolveCheckLevels(undefined, { skip: ['not-valid-constraint'] }));
    expect(found).toEqual([expect.objectContaining({ check: 'unindexed-foreign-key', level: 'warn' })]);
    expect(found[0]?.fix).toBe('CREATE INDEX CONCURRENTLY "orders_user_id_idx" ON "public"."orders" ("user_id"); (in a migration marked -- drydock:no-transaction)');
  });
});

describe('health', () => {
  it('tells idle-in-transaction, blocked and long-running sessions apart by their thresholds', () => {
    const found = sessionFindings([
      session({ pid: 1, state: 'idle in transaction', state_seconds: 120 }),
      session({ pid: 2, state: 'idle in transaction', state_seconds: 30 }),
      session({ pid: 3, blocked_by: [1], query_seconds: 10 }),
      session({ pid: 4, query_seconds: 400 }),
      session({ pid: 5, query_seconds: 200 }),
    ]);
    expect(found.map((f) => [f.check, f.object])).toEqual([
      ['idle-in-transaction', 'session 1'],
      ['blocked-query', 'session 3'],
      ['long-running-query', 'session 4'],
    ]);
    expect(found[1]?.message).toContain('lock held by pid 1');
  });

  it('reports a low cache hit rate only with enough reads', () => {
    expect(cacheHitFindings({ tables: 0.9, table_reads: 50, indexes: null, index_reads: null })).toEqual([]);
    expect(cacheHitFindings({ tables: 0.9, table_reads: 5000, indexes: 0.995, index_reads: 5000 }).map((f) => f.object)).toEqual(['table cache']);
  });

  it('reports bloat on tables over 10 MB with over 20 % dead rows', () => {
    const big = 50 * 1024 * 1024;
    const rows = [
      { table_name: 'public.events', total_bytes: big, table_bytes: big, live_rows: 700, dead_rows: 300, last_vacuum: null },
      { table_name: 'public.small', total_bytes: 1024, table_bytes: 1024, live_rows: 1, dead_rows: 9, last_vacuum: null },
      { table_name: 'public.clean', total_bytes: big, table_bytes: big, live_rows: 900, dead_rows: 100, last_vacuum: null },
    ];
    expect(bloatFindings(rows).map((f) => f.object)).toEqual(['table public.events']);
  });
});

describe('diagnoseFindings', () => {
  it('turns red and yellow checks of a pg:diagnose report into findings that name the report', () => {
    const found = diagnoseFindings(
      {
        id: 'abc',
        checks: [
          { name: 'Connection Count', status: 'yellow', results: { count: 95 } },
          { name: 'Long Queries', status: 'red', results: [{ pid: 1 }, { pid: 2 }] },
          { name: 'Hit Rate', status: 'green', results: [] },
          { name: 'Load', status: 'skipped', results: { error: 'no metrics' } },
        ],
      },
      'my-app',
    );
    expect(found.map((f) => f.message)).toEqual(['heroku pg:diagnose: YELLOW Connection Count (count 95)', 'heroku pg:diagnose: RED Long Queries (2 row(s))']);
    expect(found[0]).toMatchObject({ check: 'heroku-diagnose', source: 'heroku pg:diagnose (report abc)', fix: 'see the rows with `heroku pg:diagnose abc -a my-app`' });
  });
});
