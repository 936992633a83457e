/**
 * Progress of long work in numbers a person can read: how much is done of an estimated total, how
 * fast it goes and when it should end; and when a plain log should get another line. Pure: callers
 * pass the clock's readings, so every decision here is unit-tested without waiting.
 */
import { formatBytes, formatEta, formatRate } from './format.js';

/** One reading of a piece of work. */
export interface ProgressReading {
  /** Units done so far (bytes, rows, items). */
  done: number;
  /** The expected total in the same units (an estimate); undefined when unknown. */
  total?: number | undefined;
  /** When the work started and when this reading was taken (ms). */
  startedAt: number;
  now: number;
}

/** What a reading says. */
export interface ProgressView {
  /** Share done, 0 to 0.99 while running (an estimate that runs over never shows 100 %); undefined without a total. */
  fraction: number | undefined;
  /** Units a second since the start; undefined during the first quarter second (too noisy). */
  rate: number | undefined;
  /** Time left at the average pace so far; undefined without a fraction or a rate. */
  etaMs: number | undefined;
  elapsedMs: number;
}

/** Below this much elapsed time a rate says nothing yet. */
export const MIN_RATE_MS = 250;
/** The most a running piece of work shows: an estimate can be beaten. */
export const MAX_RUNNING_FRACTION = 0.99;

/** Share done, rate and time left for one reading. */
export function measure(reading: ProgressReading): ProgressView {
  const elapsedMs = Math.max(0, reading.now - reading.startedAt);
  const fraction = shareDone(reading.done, reading.total);
  const rate = elapsedMs >= MIN_RATE_MS ? (reading.done * 1000) / elapsedMs : undefined;
  return { fraction, rate, etaMs: etaFrom(fraction, elapsedMs), elapsedMs };
}

/** `done` of `total`, clamped to [0, 0.99]; undefined when there is no total. */
export function shareDone(done: number, total: number | undefined): number | undefined {
  if (total === undefined || !(total > 0)) return undefined;
  return Math.min(MAX_RUNNING_FRACTION, Math.max(0, done / total));
}

/** Time left at the pace so far, given the share done after `elapsedMs`. */
export function etaFrom(fraction: number | undefined, elapsedMs: number): number | undefined {
  if (fraction === undefined || fraction <= 0 || elapsedMs < MIN_RATE_MS) return undefined;
  return (elapsedMs * (1 - fraction)) / fraction;
}

/** "37 %" (never "100 %" while running). */
export function formatPercent(fraction: number): string {
  return `${Math.floor(fraction * 100)} %`;
}

/** How often a plain log (not a terminal) gets a progress line. */
export interface ThrottlePolicy {
  /** Never two lines closer than this (ms). */
  minIntervalMs: number;
  /** A line once the share done moved this much since the last one. */
  minStep: number;
  /** A line at least this often, moving or not (ms): a heartbeat. */
  maxIntervalMs: number;
}

/** Plain logs: a line every 10 %, or every 30 s, never more than one a second. */
export const PLAIN_LOG_POLICY: ThrottlePolicy = Object.freeze({ minIntervalMs: 1_000, minStep: 0.1, maxIntervalMs: 30_000 });

/** Decides, reading by reading, whether another progress line is due. */
export class ReportThrottle {
  private lastAt: number | undefined;
  private lastFraction: number | undefined;

  constructor(private readonly policy: ThrottlePolicy = PLAIN_LOG_POLICY) {}

  /** Whether a line for this reading is due now; when it is, it counts as written. */
  due(now: number, fraction?: number): boolean {
    const first = this.lastAt === undefined;
    const since = first ? Infinity : now - this.lastAt!;
    const moved = fraction !== undefined && (this.lastFraction === undefined || fraction - this.lastFraction >= this.policy.minStep);
    const ok = first || (since >= this.policy.minIntervalMs && (moved || since >= this.policy.maxIntervalMs));
    if (ok) {
      this.lastAt = now;
      if (fraction !== undefined) this.lastFraction = fraction;
    }
    return ok;
  }
}

/** "12.0 MB of 40.0 MB (30 %) at 4.1 MB/s, about 7 s left". */
export function describeTransfer(bytes: number, total: number | undefined, view: ProgressView): string {
  return [
    `${formatBytes(bytes)}${total ? ` of ${formatBytes(total)}` : ''}`,
    view.fraction !== undefined ? ` (${formatPercent(bytes >= (total ?? Infinity) ? 1 : view.fraction)})` : '',
    view.rate !== undefined ? ` at ${formatRate(view.rate)}` : '',
    view.etaMs !== undefined && bytes < (total ?? 0) ? `, about ${formatEta(view.etaMs)} left` : '',
  ].join('');
}
