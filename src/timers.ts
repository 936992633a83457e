/**
 * Timers for waits a user sets. Node's timers take at most 2^31-1 ms (about 24.8 days): a longer
 * delay warns (TimeoutOverflowWarning) and fires after 1 ms. `longTimeout` chunks longer waits.
 */

/** The longest delay one Node timer takes. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Call `fn` once after `ms` (any length), in chunks no Node timer refuses; returns a cancel function. */
export function longTimeout(ms: number, fn: () => void): () => void {
  const end = Date.now() + ms;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const left = end - Date.now();
    if (left <= 0) {
      timer = undefined;
      fn();
      return;
    }
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  timer = setTimeout(arm, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
  return () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
}

/** Wait `ms` (any length). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => void longTimeout(ms, resolve));
}
