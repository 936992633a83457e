import { describe, expect, it } from 'vitest';

import { findBackfillDirectives, parseBackfillDirective, splitWords } from '../../../src/backfill/directive.js';
import { resolveBackfillSettings } from '../../../src/settings.js';

describe('-- drydock:backfill lines', () => {
  it('finds the lines in a section', () => {
    const sql = 'select 1;\n-- drydock:backfill users --set "a = 1"\n--drydock:backfill  t --set b=2\n  -- drydock:backfill not at line start\n';
    expect(findBackfillDirectives(sql).map((d) => [d.line, d.args])).toEqual([
      [2, 'users --set "a = 1"'],
      [3, 't --set b=2'],
    ]);
  });

  it('splits quoted words as a shell does', () => {
    expect(splitWords(`users --set "status = 'active', note = \\"x\\"" --where 'id > 3'`)).toEqual(['users', '--set', `status = 'active', note = "x"`, '--where', 'id > 3']);
    expect(() => splitWords('users --set "a = 1')).toThrow(/unterminated double quote/);
  });

  it('reads the table, the change and the pacing flags', () => {
    const { change, flags } = parseBackfillDirective('app.users --set "email_lower = lower(email)" --where "email_lower IS NULL" --batch-time=300ms --sleep 50ms --max-wal-rate 20MB/s');
    expect(change).toEqual({ table: 'app.users', set: 'email_lower = lower(email)', where: 'email_lower IS NULL' });
    expect(flags).toEqual({ batchTime: '300ms', sleep: '50ms', maxWalRate: '20MB/s' });
    const settings = resolveBackfillSettings(flags);
    expect(settings.pace).toEqual({ batchSize: undefined, batchTimeMs: 300, sleepMs: 50, maxWalBytesPerSec: 20 * 1024 * 1024 });
    expect(settings.lockTimeoutMs).toBe(300);
    expect(settings.statementTimeoutMs).toBe(450);
  });

  it.each([
    ['', /names no table/],
    ['users', /has no --set/],
    ['users --set', /--set needs a value/],
    ['users --set a=1 --fast', /unknown option --fast/],
    ['users --set a=1 --set b=2', /given twice/],
    ['users extra --set a=1', /unexpected "extra"/],
  ])('refuses %j', (args, message) => {
    expect(() => parseBackfillDirective(args)).toThrow(message);
  });
});

describe('backfill settings', () => {
  it('defaults to 200 ms batches, no pause, no WAL cap', () => {
    const s = resolveBackfillSettings({});
    expect(s).toEqual({ pace: { batchSize: undefined, batchTimeMs: 200, sleepMs: 0, maxWalBytesPerSec: undefined }, lockTimeoutMs: 200, statementTimeoutMs: 300, lockRetries: 10 });
  });

  it('uses longer timeouts with a fixed batch size', () => {
    const s = resolveBackfillSettings({ batchSize: '5000' });
    expect([s.pace.batchSize, s.lockTimeoutMs, s.statementTimeoutMs]).toEqual([5000, 1000, 60_000]);
  });

  it('reports every problem at once', () => {
    expect(() => resolveBackfillSettings({ batchSize: '0', sleep: '5', maxWalRate: '0MB/s' })).toThrow(/--batch-size must be from 1.*--sleep needs a unit.*--max-wal-rate must be a rate/);
  });
});
