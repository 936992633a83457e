/**
 * The only module that imports execa: every external program drydock runs goes through `run`.
 *
 * - Argument arrays, never shell strings.
 * - An environment built from an allowlist of the parent's variables plus what the caller adds
 *   (passwords travel in PGPASSWORD, never in argv).
 * - Explicit timeouts.
 * - Interruption: a child started with `signal` is stopped (SIGTERM, SIGKILL 5 s later) when it aborts.
 *   A run started after the signal aborted is the clean-up's (putting maintenance back, dropping a
 *   scratch database) and runs to completion, bounded by its timeout.
 * - A failure becomes a ToolError with the masked command line, the exit code and the tail of stderr.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

import type { ResultPromise } from 'execa';

import { InterruptedError, ToolError } from './errors.js';
import { formatDuration } from './format.js';
import { mask } from './redact.js';
import { currentEnvironment } from './settings.js';
import { longTimeout, MAX_TIMER_MS } from './timers.js';

/** Parent variables a child may see. Everything else (AWS keys, tokens of other tools) stays out. */
const ENV_ALLOWLIST = [
  /^PATH$/,
  /^HOME$/,
  /^USER$/,
  /^LOGNAME$/,
  /^SHELL$/,
  /^TERM$/,
  /^LANG$/,
  /^LANGUAGE$/,
  /^LC_[A-Z]+$/,
  /^TZ$/,
  /^TMPDIR$/,
  /^XDG_[A-Z_]+$/,
  /^PG[A-Z]+$/, // libpq: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE, PGSERVICEFILE …
  /^HEROKU_[A-Z_]+$/,
  /^PGDIAGNOSE_URL$/, // the heroku CLI's pg:diagnose service host
  /^DISABLE_TELEMETRY$/,
  /^IS_HEROKU_TEST_ENV$/,
  /^NODE_EXTRA_CA_CERTS$/,
  /^SSL_CERT_(FILE|DIR)$/,
  /^GIT_CONFIG_(GLOBAL|NOSYSTEM)$/,
  /^(HTTPS?|NO)_PROXY$/i,
  /^LD_LIBRARY_PATH$/,
  /^DYLD_LIBRARY_PATH$/,
  /^CI$/,
];

/** Build a child's environment: allowlisted parent variables, then `extra` (undefined deletes). */
export function childEnv(
  extra: Record<string, string | undefined> = {},
  parent: Readonly<Record<string, string | undefined>> = currentEnvironment(),
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(parent)) {
    if (value !== undefined && ENV_ALLOWLIST.some((re) => re.test(key))) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** How to run one program. */
export interface RunOptions {
  /** Variables added to (or, when undefined, removed from) the allowlisted environment. */
  env?: Record<string, string | undefined>;
  /** Kill the program after this many milliseconds (default 10 minutes). */
  timeoutMs?: number;
  cwd?: string;
  /** Text (or a stream) written to the program's stdin; stdin is closed either way. */
  input?: string | Readable;
  /** Resolve instead of throwing when the exit code is non-zero. */
  reject?: boolean;
  /** A short human name for error messages (default: the program's basename). */
  label?: string;
  /** Receives stderr lines as they arrive (progress). */
  onStderrLine?: (line: string) => void;
  /** Receives stdout lines as they arrive (masked, blank lines skipped; see rawStdoutLines). */
  onStdoutLine?: (line: string) => void;
  /** Give onStdoutLine every line exactly as printed (data, not log lines): no masking, blanks kept. */
  rawStdoutLines?: boolean;
  /** Do not keep stdout in memory (large outputs consumed through onStdoutLine). */
  discardStdout?: boolean;
  /**
   * Give the child the whole parent environment instead of the allowlist: only for the app's own
   * commands (`--command "bin/rails db:migrate"`), which need its config vars.
   */
  inheritEnv?: boolean;
  /** Stop the program when this aborts (Deps.signal: Ctrl-C or SIGTERM); ignored when already aborted at the start. */
  signal?: AbortSignal | undefined;
  /**
   * Run it in a process group of its own and, when it is stopped (signal, timeout) or ends, stop the
   * whole group: a shell command's children (`npx knex …` starts node under sh and npm) go too.
   */
  processGroup?: boolean;
}

/** What a finished program left behind. */
export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The masked command line, for messages. */
  command: string;
}

/** Quote one argument for display (never for a shell). */
function displayArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The masked, human-readable command line. */
export function displayCommand(file: string, args: readonly string[]): string {
  return mask([file, ...args].map(displayArg).join(' '));
}

/** Last `n` non-empty lines of a text, masked. */
export function tail(text: string, n = 5): string {
  return mask(
    text
      .split('\n')
      .map((l) => l.trimEnd())
      .filter(Boolean)
      .slice(-n)
      .join('\n'),
  );
}

function definedEnv(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Call `onLine` with each complete line of a child's stream: masked and non-empty, or exactly as printed when `raw`. */
function forwardLines(stream: NodeJS.ReadableStream | null | undefined, onLine: ((line: string) => void) | undefined, raw = false): void {
  if (!stream || !onLine) return;
  let buffered = '';
  const decoder = new StringDecoder('utf8');
  stream.on('data', (chunk: Buffer | string) => {
    buffered += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (raw) onLine(line);
      else if (line.trim()) onLine(mask(line));
    }
  });
  stream.on('end', () => {
    if (buffered && (raw || buffered.trim())) onLine(raw ? buffered : mask(buffered));
  });
}

/** Run a program to completion. Throws ToolError on a missing binary, a timeout or (unless reject:false) a non-zero exit. */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const command = displayCommand(file, args);
  const label = options.label ?? file.split('/').pop() ?? file;
  // Loaded on first use: execa costs ~100 ms of start-up, and many runs (release with nothing
  // pending) never spawn anything.
  const { execa } = await import('execa');
  const signal = options.signal && !options.signal.aborted ? options.signal : undefined;
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  // execa's timeout is one Node timer: past 2^31-1 ms it would fire at once, so long ones are chunked here.
  const chunked = timeoutMs > MAX_TIMER_MS;
  const subprocess: ResultPromise = execa(file, args, {
    env: options.inheritEnv ? { ...definedEnv(currentEnvironment()), ...definedEnv(options.env ?? {}) } : childEnv(options.env),
    extendEnv: false,
    ...(chunked ? {} : { timeout: timeoutMs }),
    cwd: options.cwd,
    input: options.input ?? '',
    reject: false,
    stripFinalNewline: false,
    encoding: 'utf8',
    buffer: { stdout: !options.discardStdout, stderr: true },
    ...(signal ? { cancelSignal: signal, forceKillAfterDelay: 5_000 } : {}),
    ...(options.processGroup ? { detached: true } : {}),
  });
  const stopGroup = options.processGroup ? groupStopper(subprocess.pid, signal) : undefined;
  forwardLines(subprocess.stderr, options.onStderrLine);
  forwardLines(subprocess.stdout, options.onStdoutLine, options.rawStdoutLines);
  let overran = false;
  const cancelTimer = chunked
    ? longTimeout(timeoutMs, () => {
        overran = true;
        subprocess.kill();
        stopGroup?.();
      })
    : () => undefined;
  const result = await subprocess.finally(() => {
    cancelTimer();
    stopGroup?.();
  });
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  if (signal?.aborted && result.isCanceled) {
    const reason: unknown = signal.reason;
    if (reason instanceof InterruptedError) {
      throw new InterruptedError(reason.signal, `interrupted (${reason.signal}): ${label} was stopped`, { cause: reason });
    }
    throw new ToolError(`${label} was stopped: ${mask(String((reason as Error | undefined)?.message ?? reason))}`, { command, stderrTail: tail(stderr) });
  }
  const code = (result as { code?: string }).code;
  if (code === 'ENOENT' || (result.failed && result.exitCode === undefined && /ENOENT/.test(String(result.message)))) {
    throw new ToolError(
      `${label} not found: could not run ${file}`,
      { command },
      { hint: `install ${label} or put it on PATH` },
    );
  }
  if (result.timedOut || overran) {
    throw new ToolError(
      `${label} timed out after ${formatDuration(timeoutMs)}`,
      { command, stderrTail: tail(stderr) },
      { hint: 'check the server is reachable and not overloaded, then run it again' },
    );
  }
  if (result.exitCode === undefined) {
    throw new ToolError(`${label} could not be run: ${mask(String(result.shortMessage ?? result.message))}`, { command });
  }
  const exitCode = result.exitCode;
  if (exitCode !== 0 && options.reject !== false) {
    const why = tail(stderr, 3) || tail(stdout, 3) || `exit code ${exitCode}`;
    throw new ToolError(
      `${label} failed (exit ${exitCode}): ${why.split('\n').join(' | ')}`,
      { command, toolExitCode: exitCode, stderrTail: tail(stderr) },
    );
  }
  return { exitCode, stdout, stderr, command };
}

/**
 * Stops the process group `pid` leads: SIGTERM when `signal` aborts, SIGKILL 5 s later; the returned
 * function (called when the leader ended or timed out) sends SIGKILL to what is left of the group.
 */
function groupStopper(pid: number | undefined, signal: AbortSignal | undefined): () => void {
  const kill = (name: NodeJS.Signals): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, name);
    } catch {
      // ESRCH: the group is gone already.
    }
  };
  let force: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    kill('SIGTERM');
    force = setTimeout(() => kill('SIGKILL'), 5_000);
    force.unref();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  return () => {
    signal?.removeEventListener('abort', onAbort);
    if (force) clearTimeout(force);
    kill('SIGKILL');
  };
}

/**
 * Start a program that outlives drydock (background housekeeping): detached, no stdio, allowlisted
 * environment plus `env`. Secrets go in `env`, never in `args`.
 */
export async function spawnDetached(file: string, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<DetachedProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(file, args, { detached: true, stdio: 'ignore', env: childEnv(env) });
  let running = child.pid !== undefined;
  child.on('error', () => {
    running = false;
  });
  child.on('exit', () => {
    running = false;
  });
  child.unref();
  return {
    pid: child.pid,
    alive: () => running,
    kill: () => {
      if (running) child.kill('SIGKILL');
    },
  };
}

/** A process started by spawnDetached. */
export interface DetachedProcess {
  pid: number | undefined;
  /** Whether it still runs (false once it exited, or if it could not start). */
  alive(): boolean;
  kill(): void;
}
