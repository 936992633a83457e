import { describe, expect, it } from 'vitest';

import { formatEta, formatRate } from '../../src/format.js';
import { describeTransfer, etaFrom, formatPercent, measure, PLAIN_LOG_POLICY, ReportThrottle, shareDone } from '../../src/progress.js';

const MB = 1024 ** 2;

describe('measure', () => {
  it('gives the share done, the rate since the start and the time left at that pace', () => {
    const view = measure({ done: 30 * MB, total: 100 * MB, startedAt: 1_000, now: 11_000 });
    expect(view.fraction).toBeCloseTo(0.3);
    expect(view.rate).toBeCloseTo(3 * MB);
    // 70 MB left at 3 MB/s: about 23.3 s.
    expect(view.etaMs! / 1000).toBeCloseTo(23.33, 1);
    expect(view.elapsedMs).toBe(10_000);
  });

  it('has no share or time left without a total, and no rate in the first quarter second', () => {
    expect(measure({ done: 5, total: undefined, startedAt: 0, now: 10_000 })).toMatchObject({ fraction: undefined, etaMs: undefined, rate: 0.5 });
    expect(measure({ done: 5, total: 0, startedAt: 0, now: 10_000 }).fraction).toBeUndefined();
    expect(measure({ done: 5 * MB, total: 10 * MB, startedAt: 0, now: 100 })).toMatchObject({ rate: undefined, etaMs: undefined });
  });

  it('never shows a running piece of work as done, even when the estimate is beaten', () => {
    expect(shareDone(150, 100)).toBe(0.99);
    expect(shareDone(100, 100)).toBe(0.99);
    expect(formatPercent(shareDone(150, 100)!)).toBe('99 %');
    expect(shareDone(-1, 100)).toBe(0);
  });

  it('estimates no time left before anything is done', () => {
    expect(etaFrom(0, 10_000)).toBeUndefined();
    expect(etaFrom(0.5, 10_000)).toBe(10_000);
  });
});

describe('ReportThrottle (plain logs)', () => {
  it('lets the first reading through, then one per 10 % at most once a second', () => {
    const t = new ReportThrottle(PLAIN_LOG_POLICY);
    expect(t.due(0, 0.01)).toBe(true);
    expect(t.due(2_000, 0.05)).toBe(false); // moved 4 %
    expect(t.due(2_100, 0.12)).toBe(true); // moved 11 %
    expect(t.due(2_200, 0.5)).toBe(false); // too soon after the last line
    expect(t.due(3_200, 0.5)).toBe(true);
  });

  it('writes a heartbeat every 30 s when the work does not move or has no known end', () => {
    const t = new ReportThrottle(PLAIN_LOG_POLICY);
    expect(t.due(0)).toBe(true);
    expect(t.due(29_000)).toBe(false);
    expect(t.due(30_000)).toBe(true);
    expect(t.due(31_000, 0.02)).toBe(true); // the first share seen counts as movement
    expect(t.due(45_000, 0.03)).toBe(false);
    expect(t.due(61_000, 0.03)).toBe(true);
  });
});

describe('describeTransfer, formatRate, formatEta', () => {
  it('says bytes of the total, the share, the rate and the time left', () => {
    const view = measure({ done: 12 * MB, total: 40 * MB, startedAt: 0, now: 3_000 });
    expect(describeTransfer(12 * MB, 40 * MB, view)).toBe('12.0 MB of 40.0 MB (30 %) at 4.0 MB/s, about 7 s left');
  });

  it('says 100 % and no time left once every byte is in, and only bytes and rate without a size', () => {
    const done = measure({ done: 40 * MB, total: 40 * MB, startedAt: 0, now: 10_000 });
    expect(describeTransfer(40 * MB, 40 * MB, done)).toBe('40.0 MB of 40.0 MB (100 %) at 4.0 MB/s');
    const unknown = measure({ done: 8 * MB, total: undefined, startedAt: 0, now: 2_000 });
    expect(describeTransfer(8 * MB, undefined, unknown)).toBe('8.0 MB at 4.0 MB/s');
  });

  it('formats rates and spans', () => {
    expect(formatRate(4.1 * MB)).toBe('4.1 MB/s');
    expect(formatRate(512 * 1024)).toBe('512 kB/s');
    expect(formatRate(undefined)).toBe('?');
    expect(formatEta(6_100)).toBe('7 s');
    expect(formatEta(65_000)).toBe('1 min 05 s');
    expect(formatEta(2 * 3_600_000 + 3 * 60_000)).toBe('2 h 03 min');
    expect(formatEta(undefined)).toBe('?');
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe('?');
  });
});
