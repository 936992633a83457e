/**
 * Heroku runs one transfer (backup, restore, copy) per database at a time: a capture asked for while
 * another is pending or running (a scheduled backup, a teammate's capture, a restore) is refused with
 * "a transfer is currently in progress". A capture then waits for that transfer to finish, polling
 * `heroku pg:backups` with a growing interval, says what it is waiting for, and tries again, all within
 * the capture's own time limit (--transfer-timeout).
 */
import { HerokuError } from '../errors.js';
import { formatDuration } from '../format.js';
import type { BackupSummary } from './cli.js';

/** What the Data API answers (and the CLI prints) when a transfer is refused for another one. */
export const TRANSFER_IN_PROGRESS = /a transfer is currently in progress/i;

/** How the wait paces itself (tests shorten it). */
export interface TransferWaitPacing {
  /** First wait between polls (default 5 s), doubled after each, up to `maxDelayMs` (default 60 s). */
  firstDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Options of `waitForTransferSlot`. */
export interface TransferWaitOptions extends TransferWaitPacing {
  app: string;
  /** "backup of my-app", for messages. */
  what: string;
  /** The whole time allowed, waiting and the transfer itself. */
  timeoutMs: number;
  /** The app's unfinished transfers, newest first (from `heroku pg:backups`). */
  unfinished: () => Promise<BackupSummary[]>;
  /** Told once per transfer waited for, and when the wait is over. */
  onWait?: ((message: string) => void) | undefined;
}

/**
 * The CLI's warning before a capture of a database with Continuous Protection on (Standard plans and up:
 * pg:info says "Continuous Protection: On"), as drydock says it; undefined without it.
 */
export function continuousProtectionWarning(stderr: string, app: string): string | undefined {
  // The CLI wraps the warning at the terminal's width and prefixes each line with "›".
  const flat = stderr.replace(/[›▸]/g, ' ').replace(/\s+/g, ' ');
  if (!/Continuous protection is already enabled/i.test(flat)) return undefined;
  return `Heroku says Continuous Protection is on for ${app}'s database, and that logical backups (pg:backups) of large databases are likely to fail: for a large database, \`drydock pull --from live\` reads it directly instead`;
}

/** True for the CLI's refusal of a transfer while another runs. */
export function isTransferBusy(error: unknown): boolean {
  return error instanceof HerokuError && error.kind === 'busy';
}

/**
 * Run `attempt` (given the time left); while Heroku refuses it because another transfer is in progress,
 * wait for that transfer to finish and try again. Throws a HerokuError 'busy' naming the transfer when
 * the time runs out first.
 */
export async function waitForTransferSlot<T>(attempt: (timeLeftMs: number) => Promise<T>, options: TransferWaitOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const first = options.firstDelayMs ?? 5_000;
  const max = options.maxDelayMs ?? 60_000;
  const deadline = now() + options.timeoutMs;
  const told = new Set<string>();
  for (;;) {
    try {
      return await attempt(Math.max(1_000, deadline - now()));
    } catch (error) {
      if (!isTransferBusy(error)) throw error;
    }
    let delay = first;
    let waited = false;
    for (;;) {
      const blocking = (await options.unfinished().catch(() => [] as BackupSummary[]))[0];
      if (!blocking) break;
      waited = true;
      const key = `${blocking.id}:${blocking.status}`;
      if (!told.has(key)) {
        told.add(key);
        options.onWait?.(
          `waiting for ${blocking.kind} ${blocking.id} (${blocking.status}) to finish: Heroku runs one transfer per database at a time ("a transfer is currently in progress"); the ${options.what} starts after it, within ${formatDuration(options.timeoutMs)} in all`,
        );
      }
      if (now() + delay > deadline) throw stillBusy(options, blocking);
      await sleep(delay);
      delay = Math.min(delay * 2, max);
    }
    // The transfer waited for is done: try again now. None was listed (the list lags, or could not be
    // read): a pause first, so a refusal that persists does not become a busy loop.
    if (!waited) {
      if (now() + first > deadline) throw stillBusy(options, undefined);
      if (!told.has('')) {
        told.add('');
        options.onWait?.(`Heroku refused the ${options.what}: a transfer is currently in progress (and it is already over, or not listed yet); trying again in ${formatDuration(first)}`);
      }
      await sleep(first);
    }
  }
}

function stillBusy(options: TransferWaitOptions, blocking: BackupSummary | undefined): HerokuError {
  const other = blocking ? `${blocking.kind} ${blocking.id} is still ${blocking.status}` : 'another transfer is still in progress';
  return new HerokuError('busy', `the ${options.what} did not start: ${other} after ${formatDuration(options.timeoutMs)} (Heroku runs one transfer per database at a time)`, {
    hint: blocking
      ? `wait for it (\`heroku pg:backups:info ${blocking.id} -a ${options.app}\`), stop it with \`heroku pg:backups:cancel ${blocking.id} -a ${options.app}\`, or allow more time with --transfer-timeout`
      : `check \`heroku pg:backups -a ${options.app}\`, or allow more time with --transfer-timeout`,
  });
}
