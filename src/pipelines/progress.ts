/**
 * A long step's progress in its task's output, the way this run's output mode wants it:
 * - on a terminal, the newest state, redrawn every second with the time elapsed;
 * - in plain logs (CI, Heroku's release log, --json's stderr), a timestamped line only when it says
 *   something new: every 10 % or, for work without a known end, every 30 s (ReportThrottle), so a
 *   long step neither floods the log nor goes silent.
 * Log lines of a tool (Heroku's transfer log) pass through as they come, each once.
 */
import { formatEta } from '../format.js';
import type { OutputMode } from '../output.js';
import { PLAIN_LOG_POLICY, ReportThrottle, type ThrottlePolicy } from '../progress.js';

/** What a step's progress is written to: a listr task (its output line). */
export interface ProgressTarget {
  output: string;
}

/** A step's progress reporter. */
export interface StepProgress {
  /** A new state of the work (it replaces the previous one); `fraction` (0–1) paces plain logs. */
  update(text: string, fraction?: number): void;
  /** A line of a tool's log, or a new phase: shown once, as it comes; the next state then shows at once. */
  line(text: string): void;
  /** The time since the step started (ms). */
  elapsedMs(): number;
  /** Stop the clock (call in finally). */
  stop(): void;
}

export interface StepProgressOptions {
  now?: () => number;
  /** How often the terminal redraws the elapsed time and a plain log checks for a heartbeat (ms). */
  tickMs?: number;
  policy?: ThrottlePolicy;
}

/** Report a step's progress on `task` for output mode `mode`. */
export function stepProgress(task: ProgressTarget, mode: OutputMode, options: StepProgressOptions = {}): StepProgress {
  const now = options.now ?? Date.now;
  const policy = options.policy ?? PLAIN_LOG_POLICY;
  const startedAt = now();
  let throttle = new ReportThrottle(policy);
  const interactive = mode === 'interactive';
  /** The newest state (a terminal also redraws the newest log line). */
  let state: string | undefined;
  let shownAt = startedAt;
  const show = (text: string): void => {
    shownAt = now();
    task.output = `${text} · ${formatEta(shownAt - startedAt)} elapsed`;
  };
  const ticker = setInterval(() => {
    if (interactive) show(state ?? 'working');
    // Nothing new for a while in a plain log: a heartbeat with the newest state, never a log line again.
    else if (now() - shownAt >= policy.maxIntervalMs) show(state ?? 'still working');
  }, options.tickMs ?? 1_000);
  ticker.unref();
  return {
    update(text, fraction) {
      state = text;
      if (interactive || throttle.due(now(), fraction)) show(text);
    },
    line(text) {
      state = interactive ? text : undefined;
      show(text);
      // A new stretch of work (a phase, a finished table): its first state shows at once.
      throttle = new ReportThrottle(policy);
    },
    elapsedMs: () => now() - startedAt,
    stop: () => clearInterval(ticker),
  };
}

/** Run `work` with a StepProgress on `task`, stopped when the work ends. */
export async function withStepProgress<T>(task: ProgressTarget, mode: OutputMode, work: (progress: StepProgress) => Promise<T>, options?: StepProgressOptions): Promise<T> {
  const progress = stepProgress(task, mode, options);
  try {
    return await work(progress);
  } finally {
    progress.stop();
  }
}
