import { afterEach, describe, expect, it, vi } from 'vitest';

import { longTimeout, MAX_TIMER_MS } from '../../src/timers.js';

afterEach(() => vi.useRealTimers());

describe('longTimeout', () => {
  it('waits the whole of a delay longer than one Node timer takes (30 days), in chunks', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    longTimeout(30 * 86_400_000, fn);
    vi.advanceTimersByTime(MAX_TIMER_MS + 1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(30 * 86_400_000 - MAX_TIMER_MS);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('can be cancelled', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const cancel = longTimeout(MAX_TIMER_MS * 2, fn);
    vi.advanceTimersByTime(MAX_TIMER_MS + 5);
    cancel();
    vi.advanceTimersByTime(MAX_TIMER_MS * 2);
    expect(fn).not.toHaveBeenCalled();
  });
});
