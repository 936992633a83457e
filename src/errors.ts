/**
 * Every failure drydock knows about is a DrydockError: a one-line message that
 * says what failed and on which object, plus a hint that says what to do.
 * Only cli.ts turns them into an exit code (see output.ts `fail`).
 */

/** Exit codes, documented in the README. */
export const EXIT = {
  /** Everything worked and every check passed. */
  OK: 0,
  /** drydock did its job and a check found a problem (version mismatch, lint finding). */
  CHECKS_FAILED: 1,
  /** drydock could not do the job: bad usage, unreachable server, a failed tool. */
  FAILURE: 2,
  /** Stopped by SIGINT (Ctrl-C) after cleaning up: 128 + 2, as shells report it. */
  SIGINT: 130,
  /** Stopped by SIGTERM (a dyno restart, `kill`) after cleaning up: 128 + 15. */
  SIGTERM: 143,
  /** Stopped by SIGHUP (the terminal closed, an SSH session dropped) after cleaning up: 128 + 1. */
  SIGHUP: 129,
  /** Stopped because whoever read its output went away (EPIPE, as SIGPIPE would) after cleaning up: 128 + 13. */
  SIGPIPE: 141,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Options shared by every DrydockError. */
export interface DrydockErrorOptions {
  /** What the user should do next; printed on its own line after the message. */
  hint?: string | undefined;
  /** The underlying error, shown with --verbose. */
  cause?: unknown;
  /** Exit code for this failure (default 2). */
  exitCode?: ExitCode;
  /**
   * Facts that explain the failure, each printed on its own line between the message and the hint
   * (what Postgres said: `detail: Key (email)=(…) is duplicated.`). Masked like every other line.
   */
  details?: readonly string[] | undefined;
}

/** Base class of every error drydock expects and explains. */
export class DrydockError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  /** Explaining lines shown between the message and the hint (see DrydockErrorOptions.details). */
  readonly details: readonly string[];

  constructor(message: string, options: DrydockErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT.FAILURE;
    this.details = options.details ?? [];
  }
}

/** Bad usage or configuration: a flag, a URL, an app name. */
export class ConfigError extends DrydockError {}

/** A database could not be reached or refused the connection. */
export class ConnectionError extends DrydockError {}

/** An external tool (pg_dump, psql, heroku …) failed or is missing. */
export class ToolError extends DrydockError {
  /** The command line with secrets masked. */
  readonly command: string;
  /** The tool's exit code, when it ran at all. */
  readonly toolExitCode: number | undefined;
  /** The last lines of the tool's stderr, masked. */
  readonly stderrTail: string;

  constructor(
    message: string,
    details: { command: string; toolExitCode?: number | undefined; stderrTail?: string },
    options: DrydockErrorOptions = {},
  ) {
    super(message, options);
    this.command = details.command;
    this.toolExitCode = details.toolExitCode;
    this.stderrTail = details.stderrTail ?? '';
  }
}

/** Where a migration problem is, when known; every field is optional. */
export interface MigrationErrorOptions extends DrydockErrorOptions {
  /** The migration's file name, e.g. "20260121093000_create_users.sql". */
  file?: string | undefined;
  /** 1-based line in that file. */
  line?: number | undefined;
  /** 1-based column (in characters) on that line. */
  column?: number | undefined;
  /** The Postgres SQLSTATE, e.g. "42601" for a syntax error. */
  sqlstate?: string | undefined;
}

/** A migration could not be found, parsed, planned or applied. */
export class MigrationError extends DrydockError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly sqlstate: string | undefined;

  constructor(message: string, options: MigrationErrorOptions = {}) {
    super(message, options);
    this.file = options.file;
    this.line = options.line;
    this.column = options.column;
    this.sqlstate = options.sqlstate;
  }
}

/** What went wrong when talking to Heroku, so callers can react to a kind rather than a string. */
export type HerokuErrorKind =
  | 'missing-binary'
  | 'not-logged-in'
  | 'unknown-app'
  | 'no-database'
  | 'network'
  /** Another transfer of the database is in progress (Heroku runs one at a time). */
  | 'busy'
  /** The account may not do this on the app (403 forbidden). */
  | 'forbidden'
  /** The account's API rate limit is spent (429 rate_limit). */
  | 'rate-limited'
  /** Heroku's API failed or is down (5xx). */
  | 'unavailable'
  | 'failed';

/** The heroku CLI failed; `kind` says why. */
export class HerokuError extends DrydockError {
  readonly kind: HerokuErrorKind;
  constructor(kind: HerokuErrorKind, message: string, options: DrydockErrorOptions = {}) {
    super(message, options);
    this.kind = kind;
  }
}

/** drydock did its job and checks found problems (exit 1). `result` is what --json prints. */
export class ChecksFailed extends DrydockError {
  readonly result: unknown;
  constructor(message: string, result: unknown, options: Omit<DrydockErrorOptions, 'exitCode'> = {}) {
    super(message, { ...options, exitCode: EXIT.CHECKS_FAILED });
    this.result = result;
  }
}

/** The signals drydock stops cleanly on (SIGPIPE: its output's reader went away, seen as EPIPE). */
export type InterruptSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGPIPE';

/**
 * The run was stopped by a signal (exit 130, 143, 129 or 141). The message says what was stopped and in what
 * state things are; the hint, what finishes or undoes the job.
 */
export class InterruptedError extends DrydockError {
  readonly signal: InterruptSignal;
  constructor(signal: InterruptSignal, message: string, options: Omit<DrydockErrorOptions, 'exitCode'> = {}) {
    super(message, { ...options, exitCode: EXIT[signal] });
    this.signal = signal;
  }
}

/** The signal an aborted signal was aborted for (undefined when it was not, or not by a signal). */
export function interruptedBy(signal: AbortSignal | undefined): InterruptSignal | undefined {
  return signal?.aborted && signal.reason instanceof InterruptedError ? signal.reason.signal : undefined;
}

/**
 * The error to throw once `signal` is aborted: an InterruptedError saying `what` (the state things
 * are left in), with `hint`. Rethrows `error` unchanged when the signal was not aborted.
 */
export function asInterrupted(signal: AbortSignal | undefined, error: unknown, what: string, hint?: string): unknown {
  const by = interruptedBy(signal);
  if (!by || error instanceof InterruptedError) return error;
  return new InterruptedError(by, `interrupted (${by}): ${what}`, { hint, cause: error });
}

/** True for errors drydock raised on purpose (as opposed to bugs). */
export function isDrydockError(error: unknown): error is DrydockError {
  return error instanceof DrydockError;
}

/** What a file-system error code means, and what to do about it. */
const FS_CODES: Record<string, { why: string; hint: string }> = {
  ENOENT: { why: 'no such file or folder', hint: 'check the path: every folder on it must exist' },
  ENOTDIR: { why: 'a part of the path is a file, not a folder', hint: 'check the path: a file stands where a folder should be' },
  EISDIR: { why: 'it is a folder', hint: 'give the path of a file, not of a folder' },
  EEXIST: { why: 'something with that name already exists', hint: 'move it away, or choose another path' },
  EACCES: { why: 'permission denied', hint: 'check the permissions of the path and its folders (ls -ld)' },
  EPERM: { why: 'operation not permitted', hint: 'check the permissions of the path and its folders (ls -ld)' },
  EROFS: { why: 'the file system is read-only', hint: 'choose a path on a writable file system' },
  ENOSPC: { why: 'no space left on the device', hint: 'free some space (df -h), or choose another place' },
  EDQUOT: { why: 'disk quota exceeded', hint: 'free some space, or choose another place' },
  ELOOP: { why: 'too many symbolic links', hint: 'check the path for a symbolic link that points to itself' },
  ENAMETOOLONG: { why: 'the path is too long', hint: 'choose a shorter path' },
  EMFILE: { why: 'too many open files', hint: 'raise the open-file limit (ulimit -n) and try again' },
  EBUSY: { why: 'the path is busy', hint: 'try again when nothing else uses it' },
  EXDEV: { why: 'it is on another file system', hint: 'choose a path on the same file system' },
  EINVAL: { why: 'the operation is not supported there', hint: 'choose a path on an ordinary file system' },
  ENXIO: { why: 'no such device', hint: 'give the path of a regular file' },
};

/**
 * A file-system failure as a one-line DrydockError: `cannot <action> <path>: <why>`, with what to do.
 * `action` is a verb phrase ("read", "write", "create the folder"). A DrydockError passes through.
 */
export function fsError(error: unknown, action: string, path: string, options: { hint?: string } = {}): DrydockError {
  if (error instanceof DrydockError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  const known = FS_CODES[code];
  const why = known?.why ?? (code ? `${code.toLowerCase()} (${String((error as Error).message).split('\n')[0]})` : String((error as Error)?.message ?? error));
  return new DrydockError(`cannot ${action} ${path}: ${why}`, { hint: options.hint ?? known?.hint ?? 'check the path and its permissions', cause: error });
}
