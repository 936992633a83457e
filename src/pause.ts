/**
 * Test-only pause points: with DRYDOCK_TEST_PAUSE_AT=<point> (resolved into settings.testPauseAt) drydock
 * says `drydock: paused at <point>` and waits, so kill tests can SIGKILL it at an exact moment.
 * Inert unless a test sets that variable.
 */
import { sleep } from './interrupt.js';
import type { Output } from './output.js';

/** Where a pause can be asked for, and how it is announced. */
export interface PausePoints {
  readonly testPauseAt: string | undefined;
  readonly output: Pick<Output, 'notice'>;
  /** Ends the pause early (Ctrl-C, SIGTERM): the pause then throws the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

/** Whether a test asked to pause at `point`. */
export function pausesAt(points: Pick<PausePoints, 'testPauseAt'>, point: string): boolean {
  return points.testPauseAt === point;
}

/**
 * Pause at `point` when a test asked for it (a minute, long enough to be killed or interrupted; an
 * interruption ends it by throwing); otherwise return at once.
 */
export async function pausePoint(points: PausePoints, point: string): Promise<void> {
  if (!pausesAt(points, point)) return;
  points.output.notice(`drydock: paused at ${point}`);
  await sleep(60_000, points.signal);
}
