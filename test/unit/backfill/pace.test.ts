import { describe, expect, it } from 'vitest';

import { FIRST_BATCH, firstBatchSize, lsnBytes, MAX_PAUSE_MS, nextBatchSize, pauseAfter, retryBatchSize, retryDelay, walBytesBetween } from '../../../src/backfill/pace.js';

const adaptive = { batchSize: undefined, batchTimeMs: 200, sleepMs: 0, maxWalBytesPerSec: undefined };

describe('batch size', () => {
  it('starts small when it adapts, and at the given size when fixed', () => {
    expect(firstBatchSize(adaptive)).toBe(FIRST_BATCH);
    expect(firstBatchSize({ batchSize: 5000 })).toBe(5000);
  });

  it('grows toward the batch time at most 1.5x per batch', () => {
    // 1000 rows in 10 ms: 200 ms would hold 20000, but growth is capped.
    expect(nextBatchSize(adaptive, { size: 1000, elapsedMs: 10 })).toBe(1500);
    // 10000 rows in 150 ms: 13333 fits 200 ms.
    expect(nextBatchSize(adaptive, { size: 10_000, elapsedMs: 150 })).toBe(13_333);
  });

  it('shrinks at once after a batch that ran over', () => {
    expect(nextBatchSize(adaptive, { size: 20_000, elapsedMs: 800 })).toBe(5000);
  });

  it('halves the batch when sessions waited on its locks, whatever the rate', () => {
    expect(nextBatchSize(adaptive, { size: 10_000, elapsedMs: 100 }, { othersWaited: true })).toBe(5000);
  });

  it('keeps a fixed size, and retries a timed-out batch at half', () => {
    expect(nextBatchSize({ batchSize: 500, batchTimeMs: 200 }, { size: 500, elapsedMs: 5000 })).toBe(500);
    expect(retryBatchSize({ batchSize: undefined }, 1000)).toBe(500);
    expect(retryBatchSize({ batchSize: undefined }, 12)).toBe(10);
    expect(retryBatchSize({ batchSize: 1 }, 1)).toBe(1);
  });
});

describe('pauses', () => {
  it('pauses --sleep when nothing else asks for more', () => {
    expect(pauseAfter({ sleepMs: 100, maxWalBytesPerSec: undefined }, { batchMs: 200, cycleMs: 300, walBytes: 1e9, waitingSessions: 0 })).toEqual({ ms: 100, reason: undefined });
  });

  it('pauses until the WAL rate of the cycle is down to the cap', () => {
    // 30 MB in 1 s against 20 MB/s: 1.5 s are needed, 1 s has passed.
    const mb = 1024 * 1024;
    expect(pauseAfter({ sleepMs: 0, maxWalBytesPerSec: 20 * mb }, { batchMs: 900, cycleMs: 1000, walBytes: 30 * mb, waitingSessions: 0 })).toEqual({ ms: 500, reason: 'wal-rate' });
    expect(pauseAfter({ sleepMs: 0, maxWalBytesPerSec: 20 * mb }, { batchMs: 900, cycleMs: 1000, walBytes: 10 * mb, waitingSessions: 0 })).toEqual({ ms: 0, reason: undefined });
  });

  it('never pauses longer than the maximum', () => {
    expect(pauseAfter({ sleepMs: 0, maxWalBytesPerSec: 1 }, { batchMs: 1, cycleMs: 1, walBytes: 1e9, waitingSessions: 0 }).ms).toBe(MAX_PAUSE_MS);
  });

  it("gives waiting sessions at least the batch's own time", () => {
    expect(pauseAfter({ sleepMs: 50, maxWalBytesPerSec: undefined }, { batchMs: 180, cycleMs: 200, walBytes: 0, waitingSessions: 2 })).toEqual({ ms: 180, reason: 'lock-waits' });
  });

  it('backs off exponentially after timeouts, capped', () => {
    expect([1, 2, 3].map((a) => retryDelay(a, { batchTimeMs: 200 }))).toEqual([200, 400, 800]);
    expect(retryDelay(30, { batchTimeMs: 200 })).toBe(MAX_PAUSE_MS);
  });
});

describe('WAL positions', () => {
  it('reads pg_lsn text and measures the bytes between two', () => {
    expect(lsnBytes('0/10')).toBe(16n);
    expect(lsnBytes('1/0')).toBe(2n ** 32n);
    expect(walBytesBetween('0/FFFFFFF0', '1/10')).toBe(32);
    expect(walBytesBetween('1/10', '0/10')).toBe(0);
    expect(() => lsnBytes('nope')).toThrow();
  });
});
