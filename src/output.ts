/**
 * The only module that writes to stdout and stderr.
 *
 * Three modes, chosen once per run:
 * - interactive: stdout is a TTY and CI is not set; listr2's default renderer.
 * - plain: not a TTY, or CI set (Heroku release logs, CI); one timestamped line per event.
 * - json: `--json`; stdout carries only the JSON result, progress goes to stderr as plain lines.
 * Every byte passes through `mask`.
 */
import type { ListrBaseClassOptions, ListrLogger, ListrRendererValue, ProcessOutput } from 'listr2';

import { EXIT, isDrydockError, type ExitCode } from './errors.js';
import { mask, maskDeep } from './redact.js';

/** The listr2 classes listrOptions builds its logger from. */
export interface ListrClasses {
  ListrLogger: typeof ListrLogger;
  ProcessOutput: typeof ProcessOutput;
}

/** listr2 options carrying the renderer choice for this run. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ListrRendering = ListrBaseClassOptions<any, ListrRendererValue, ListrRendererValue>;

/** How output is rendered. */
export type OutputMode = 'interactive' | 'plain' | 'json';

/** A writable sink (process.stdout in production, a buffer in tests). */
export interface Sink {
  write(chunk: string): unknown;
  isTTY?: boolean | undefined;
}

/** What decides the output mode. */
export interface OutputOptions {
  json?: boolean | undefined;
  verbose?: boolean | undefined;
  /** CI or a non-TTY stdout forces plain lines. */
  ci?: boolean | undefined;
  stdout?: Sink;
  stderr?: Sink;
  /** Clock for timestamps (tests pin it). */
  now?: () => Date;
  /**
   * A step inside a larger command (rehearse's own migration runs): task lists render nothing and
   * info/problem lines become debug lines, shown with --verbose; warnings, results and errors are unchanged.
   */
  quiet?: boolean | undefined;
}

/** Pick the output mode from the flags and the terminal. */
export function chooseMode(opts: { json?: boolean | undefined; ci?: boolean | undefined; isTTY?: boolean | undefined }): OutputMode {
  if (opts.json) return 'json';
  if (opts.ci || !opts.isTTY) return 'plain';
  return 'interactive';
}

/** ISO-8601 UTC timestamp without milliseconds: what a plain log line starts with. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Writes human lines, results and failures in the chosen mode. */
export class Output {
  readonly mode: OutputMode;
  readonly verbose: boolean;
  private readonly stdout: Sink;
  private readonly stderr: Sink;
  private readonly now: () => Date;
  /** --json: the result was written, so stdout already holds its one JSON document. */
  private wroteResult = false;
  private readonly options: OutputOptions;
  private readonly quiet: boolean;

  constructor(options: OutputOptions = {}) {
    this.options = options;
    this.quiet = Boolean(options.quiet);
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.now = options.now ?? (() => new Date());
    this.verbose = Boolean(options.verbose);
    this.mode = chooseMode({ json: options.json, ci: options.ci, isTTY: this.stdout.isTTY });
  }

  /** The same output for a step inside a larger command: its progress lines are debug lines (see OutputOptions.quiet). */
  quieter(): Output {
    return new Output({ ...this.options, quiet: true });
  }

  /** A progress or information line: stdout for people, stderr in --json mode. */
  info(message: string): void {
    if (this.quiet) return this.debug(message);
    const sink = this.mode === 'json' ? this.stderr : this.stdout;
    for (const line of message.split('\n')) sink.write(this.decorate(line) + '\n');
  }

  /** A warning line, always on stderr. */
  warn(message: string): void {
    for (const line of message.split('\n')) this.stderr.write(this.decorate(`warning: ${line}`) + '\n');
  }

  /** Lines that explain problems and carry their own severity (a lint report inside a pipeline); on stderr. */
  problems(message: string): void {
    if (this.quiet) return this.debug(message);
    for (const line of message.split('\n')) this.stderr.write(this.decorate(line) + '\n');
  }

  /** Detail shown only with --verbose, on stderr. */
  debug(message: string): void {
    if (!this.verbose) return;
    for (const line of message.split('\n')) this.stderr.write(this.decorate(`debug: ${line}`) + '\n');
  }

  /** The command's result: JSON on stdout with --json, otherwise the human rendering. */
  result<T>(data: T, render: (data: T) => string): void {
    if (this.mode === 'json') {
      this.stdout.write(JSON.stringify(maskDeep(data), null, 2) + '\n');
      this.wroteResult = true;
      return;
    }
    const text = render(data);
    if (text) this.stdout.write(mask(text.endsWith('\n') ? text : text + '\n'));
  }

  /** One line on stderr exactly as given (no timestamp, no prefix): test pause markers, in every mode. */
  notice(message: string): void {
    this.stderr.write(mask(`${message}\n`));
  }

  /**
   * Ask a question on the terminal and return the answer (typed confirmations). Callers check that
   * stdin is a terminal first (`canAsk`); the question goes to stderr so stdout stays the result's.
   */
  async ask(question: string): Promise<string> {
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  }

  /** Whether `ask` can reach a person: stdin is a terminal. */
  canAsk(): boolean {
    return Boolean(process.stdin.isTTY);
  }

  /**
   * Data the user asked for on stdout (a schema dump): written as is, except URL passwords and
   * registered secrets, which are masked even here.
   */
  raw(text: string): void {
    this.stdout.write(mask(text, { keywords: false }));
  }

  /**
   * Report a failure and return the exit code for it. Known errors print one line and a hint;
   * unexpected ones print the stack and ask for an issue. --verbose adds causes and stacks.
   *
   * With --json, stdout also gets one JSON document, `{"ok": false, "error": {message, hint,
   * exitCode, type, …}}`, so scripts read failures as they read results; unless the command had
   * already written its result (a check that found problems), which stays the only document.
   * `human: false` skips the stderr lines (commander printed its own usage error already).
   */
  fail(error: unknown, options: { human?: boolean } = {}): ExitCode {
    const lines: string[] = [];
    let code: ExitCode;
    let message: string;
    let hint: string | undefined;
    if (isDrydockError(error)) {
      message = oneLine(error.message);
      hint = error.hint ? oneLine(error.hint) : undefined;
      lines.push(`error: ${message}`);
      for (const detail of error.details) lines.push(oneLine(detail));
      if (hint) lines.push(`hint: ${hint}`);
      if (this.verbose) lines.push(...causeChain(error));
      code = error.exitCode;
    } else {
      const err = error instanceof Error ? error : new Error(String(error));
      message = `unexpected failure: ${oneLine(err.message)}`;
      hint = 'this is a bug in drydock; please report it with the output of the same command run with --verbose';
      lines.push(`error: ${message}`, `hint: ${hint}`);
      if (this.verbose) lines.push(...(err.stack ?? '').split('\n').slice(1), ...causeChain(err));
      code = EXIT.FAILURE;
    }
    if (options.human !== false) this.writeError(lines);
    if (this.mode === 'json' && !this.wroteResult) {
      this.stdout.write(JSON.stringify(maskDeep({ ok: false, error: { message, hint: hint ?? null, exitCode: code, ...errorDetails(error) } }), null, 2) + '\n');
      this.wroteResult = true;
    }
    return code;
  }

  /**
   * listr2 options for this mode: interactive renderer on a TTY, timestamped lines otherwise. The
   * caller (pipelines/listr.ts) hands in listr2's classes, so commands without task lists (lint)
   * never load listr2.
   */
  listrOptions({ ListrLogger, ProcessOutput }: ListrClasses): ListrRendering {
    const maskedStdout = maskingStream(this.mode === 'json' ? this.stderr : this.stdout);
    const maskedStderr = maskingStream(this.stderr);
    const processOutput = new ProcessOutput(maskedStdout, maskedStderr, { leaveEmptyLine: false });
    if (this.quiet && !this.verbose) return { renderer: 'silent', fallbackRenderer: 'silent', exitOnError: true, registerSignalListeners: false } as unknown as ListrRendering;
    if (this.mode === 'interactive') {
      return {
        renderer: 'default',
        rendererOptions: { collapseSubtasks: false, logger: new ListrLogger({ processOutput }) },
        exitOnError: true,
        // drydock's own handlers (cli.ts) stop the run and clean up; listr2's would exit 127 at once.
        registerSignalListeners: false,
      } as unknown as ListrRendering;
    }
    return {
      renderer: 'simple',
      fallbackRenderer: 'simple',
      rendererOptions: {
        logger: new ListrLogger({ processOutput, useIcons: false }),
        timestamp: { field: () => timestamp(this.now()), condition: true, format: () => (text: string) => text },
      },
      exitOnError: true,
      registerSignalListeners: false,
    } as unknown as ListrRendering;
  }

  private decorate(line: string): string {
    const masked = mask(line);
    return this.mode === 'interactive' ? masked : `[${timestamp(this.now())}] ${masked}`;
  }

  private writeError(lines: string[]): void {
    // Masked first, so shortening never cuts a secret into pieces mask() would not recognise.
    for (const line of lines) this.stderr.write(shortenEchoes(mask(line)) + '\n');
  }
}

/** A run of non-space characters longer than this in an error line is input echoed back, shortened. */
const MAX_ECHO = 200;
/** No error line is longer than this. */
const MAX_ERROR_LINE = 2_000;

/**
 * Error lines echo what the user gave (a database name, a path, a value); a 100,000-character one would
 * bury the message. Each overlong run keeps its start and end around a count of what was left out,
 * and the line as a whole is capped the same way, so the message keeps its meaning.
 */
export function shortenEchoes(line: string): string {
  const cut = (text: string, keep: number): string =>
    `${text.slice(0, keep)}…(${text.length - keep - 40} characters left out)…${text.slice(-40)}`;
  const shorter = line.replace(new RegExp(`\\S{${MAX_ECHO + 1},}`, 'g'), (word) => cut(word, 100));
  return shorter.length > MAX_ERROR_LINE ? cut(shorter, MAX_ERROR_LINE - 100) : shorter;
}

/** What a script may branch on besides the message: the error's class, and its kind, signal or check result. */
function errorDetails(error: unknown): Record<string, unknown> {
  if (!isDrydockError(error)) return { type: 'UnexpectedError' };
  const details: Record<string, unknown> = { type: error.name };
  // Postgres's DETAIL, HINT and the objects it names (migration errors), one string each.
  if (error.details.length) details.details = error.details.map(oneLine);
  for (const key of ['kind', 'signal', 'file', 'line', 'column', 'sqlstate', 'result'] as const) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined) details[key] = value;
  }
  return details;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function causeChain(error: Error): string[] {
  const lines: string[] = [];
  let cause: unknown = error.cause;
  let depth = 0;
  while (cause !== undefined && depth < 5) {
    if (cause instanceof Error) {
      lines.push(`cause: ${oneLine(cause.message)}`);
      lines.push(...(cause.stack ?? '').split('\n').slice(1, 6));
      cause = cause.cause;
    } else {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- deliberate: a non-Error cause prints its own toString (or [object Object]), never its fields, which could hold secrets mask() does not know
      lines.push(`cause: ${String(cause)}`);
      cause = undefined;
    }
    depth += 1;
  }
  return lines;
}

/** A stream look-alike for listr2 that masks every chunk before it reaches the real sink. */
function maskingStream(sink: Sink): NodeJS.WriteStream {
  const base = sink as unknown as NodeJS.WriteStream;
  const stream = Object.create(base) as NodeJS.WriteStream;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    const ok = sink.write(mask(text));
    cb?.();
    return ok !== false;
  });
  return stream;
}

/**
 * A reader that stops early (`drydock … | head`) or a terminal that closed (an SSH session dropped) makes
 * writes fail (EPIPE, EIO). The first failure calls `onClose` (cli.ts stops the run as SIGPIPE would: its
 * clean-up runs); every failed write is dropped, never a stack trace.
 */
export function whenOutputCloses(onClose: () => void): void {
  let closed = false;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'EIO') throw error;
      if (closed) return;
      closed = true;
      onClose();
    });
  }
}
