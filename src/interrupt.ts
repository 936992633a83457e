/**
 * Stopping on Ctrl-C (SIGINT), SIGTERM (a dyno restart, `kill`), SIGHUP (the terminal closed, an SSH
 * session dropped) and a closed output (EPIPE: `drydock … | head`, treated as SIGPIPE would be).
 *
 * cli.ts installs the handlers once (`installInterruptHandlers`). The first signal aborts the run's
 * AbortSignal (Deps.signal): children spawned through exec.ts with it are stopped, pause points and
 * waits return, and each command's own clean-up runs (finally blocks), then the command throws an
 * InterruptedError saying what state things are in (exit 130, 143, 129 or 141). A second signal exits at once,
 * after naming what the clean-up had not finished: what code registered with `mayLeave`.
 */
import { EXIT, InterruptedError, type InterruptSignal } from './errors.js';

/** What an immediate exit would leave behind, registered by the code that creates it. */
const pending = new Map<number, string>();
let nextId = 0;

/**
 * Register something an exit right now would leave behind ("scratch database drydock_pull_… on
 * localhost"); call the returned function once it is gone or finished.
 */
export function mayLeave(what: string): () => void {
  const id = nextId++;
  pending.set(id, what);
  return () => {
    pending.delete(id);
  };
}

/** What may be left if drydock exits now, oldest first. */
export function leftBehind(): string[] {
  return [...pending.values()];
}

/** The exit code of a run stopped by `signal`. */
export function interruptExitCode(signal: InterruptSignal): number {
  return EXIT[signal];
}

/** Wait `ms`, or less when `signal` aborts (then throws its reason). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
  signal?.throwIfAborted();
}

/** How the handlers report and exit (the process in production, fakes in tests). */
export interface InterruptHooks {
  /** One line on stderr. */
  say(line: string): void;
  /** Exit now. */
  exit(code: number): void;
  /** Subscribe to a signal; returns the unsubscribe. */
  on(signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP', handler: () => void): () => void;
}

/** The signals handled (SIGPIPE is not a real signal here: Node ignores it; `interrupt('SIGPIPE')` stands for EPIPE). */
const HANDLED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Install SIGINT, SIGTERM and SIGHUP handlers: the first signal aborts the returned controller (reason:
 * an InterruptedError for that signal), the second exits at once. `interrupt` does the same for what
 * is no signal (a closed output). Returns the controller, `interrupt` and the uninstall.
 */
export function installInterruptHandlers(hooks: InterruptHooks): { controller: AbortController; interrupt: (signal: InterruptSignal) => void; uninstall: () => void } {
  const controller = new AbortController();
  let first: InterruptSignal | undefined;
  const handle = (signal: InterruptSignal): void => {
    if (!first) {
      first = signal;
      hooks.say(`interrupted (${signal}): stopping and cleaning up; ${signal === 'SIGINT' ? 'press Ctrl-C again' : 'send a signal again'} to exit at once`);
      controller.abort(new InterruptedError(signal, `interrupted (${signal})`));
      return;
    }
    const left = leftBehind();
    hooks.say(
      left.length
        ? `interrupted again (${signal}): exiting now, before the clean-up finished; may be left: ${left.join('; ')}`
        : `interrupted again (${signal}): exiting now, before the clean-up finished`,
    );
    hooks.exit(interruptExitCode(first));
  };
  const offs = HANDLED.map((s) => hooks.on(s, () => handle(s)));
  return { controller, interrupt: handle, uninstall: () => offs.forEach((off) => off()) };
}
