#!/usr/bin/env node
/**
 * drydock's entry point: commander wiring, dependency construction, and the only top-level catch.
 */
import { realpathSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

import { Command, CommanderError } from 'commander';

import type { RunCommand } from './commands/run.js';
import { createDeps, type Deps } from './deps.js';
import { asInterrupted, ConfigError, EXIT, interruptedBy } from './errors.js';
import { installInterruptHandlers } from './interrupt.js';
import { Output, whenOutputCloses } from './output.js';
import { readEnvironment, resolveGlobalSettings, type Environment, type GlobalFlags } from './settings.js';
import { precompilePgQuery } from './sql/pg-query.js';

/** The package version, kept in one place for --version. */
export const VERSION = '0.1.0';

/** Registers one command on the program. */
export type RegisterCommand = (program: Command, run: RunCommand) => void;

/**
 * Every command's registration, in help order, each imported only when needed: a run loads the
 * module of the command it runs and nothing else (so `drydock lint` never loads pg, listr2 or
 * execa); help, `help <command>` and unknown commands load them all.
 */
const COMMANDS: Record<string, () => Promise<RegisterCommand>> = {
  doctor: async () => (await import('./commands/doctor.js')).registerDoctor,
  migrate: async () => (await import('./commands/migrate.js')).registerMigrate,
  release: async () => (await import('./commands/release.js')).registerRelease,
  lint: async () => (await import('./commands/lint.js')).registerLint,
  postdeploy: async () => (await import('./commands/postdeploy.js')).registerPostdeploy,
  pull: async () => (await import('./commands/pull.js')).registerPull,
  snapshot: async () => (await import('./commands/snapshot.js')).registerSnapshot,
  backups: async () => (await import('./commands/backups.js')).registerBackups,
  restore: async () => (await import('./commands/restore.js')).registerRestore,
  rehearse: async () => (await import('./commands/rehearse.js')).registerRehearse,
  schema: async () => (await import('./commands/schema.js')).registerSchema,
  verify: async () => (await import('./commands/verify.js')).registerVerify,
  diff: async () => (await import('./commands/diff.js')).registerDiff,
  dupes: async () => (await import('./commands/dupes.js')).registerDupes,
  backfill: async () => (await import('./commands/backfill.js')).registerBackfill,
  init: async () => (await import('./commands/init.js')).registerInit,
};

/** Global options that take a value (the word after them is not the command). */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['-a', '--app', '-r', '--remote']);

/** The command `argv` (node, script, args…) runs, when it names one of COMMANDS; else undefined. */
export function commandNameOf(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return undefined;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i++;
    else if (!arg.startsWith('-')) return Object.hasOwn(COMMANDS, arg) ? arg : undefined;
  }
  return undefined;
}

/** The registrations `argv` needs: its command's alone, none for a bare --version, else every command (omit argv for all). */
export async function loadCommands(argv?: readonly string[]): Promise<RegisterCommand[]> {
  const name = argv && commandNameOf(argv);
  const args = argv?.slice(2) ?? [];
  if (!name && args.some((a) => a === '-V' || a === '--version') && !args.some((a) => a === '-h' || a === '--help' || !a.startsWith('-'))) return [];
  return Promise.all((name ? [name] : Object.keys(COMMANDS)).map((n) => COMMANDS[n]!()));
}

/** Options of `lint` that print without reading any SQL. */
const LINT_WITHOUT_SQL = new Set(['--explain', '--list-rules', '-h', '--help', '-V', '--version']);

/** True when `argv` runs `drydock lint` on SQL files (not its --help, --explain or --list-rules). */
export function lintsSql(argv: readonly string[]): boolean {
  if (commandNameOf(argv) !== 'lint') return false;
  const end = argv.indexOf('--');
  return !(end < 0 ? argv : argv.slice(0, end)).some((arg) => LINT_WITHOUT_SQL.has(arg.replace(/=.*$/, '')));
}

/** What a run shares with the signal handlers main() installs. */
export interface RunContext {
  /** Aborted by the first SIGINT/SIGTERM; becomes Deps.signal. */
  signal?: AbortSignal;
  /** The run's Output, once it exists (the handlers report through it). */
  output?: Output;
}

/** Build the commander program with `commands` (loadCommands). `setExit` receives the exit code of the command that ran. */
export function buildProgram(setExit: (code: number) => void, env: Environment, commands: readonly RegisterCommand[], context: RunContext = {}): Command {
  const program = new Command('drydock');
  program
    .description('Rehearse, release and restore Heroku Postgres deploys safely')
    .version(VERSION, '-V, --version')
    .option('-a, --app <app>', 'Heroku app (default: HEROKU_APP)')
    .option('-r, --remote <remote>', 'git remote of the Heroku app (the app is read from its URL)')
    .option('--json', 'print only a JSON result on stdout')
    .option('--verbose', 'show debug lines and stack traces (also DEBUG=drydock)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const run = async (action: (deps: Deps) => Promise<void>): Promise<void> => {
    const flags = program.opts<GlobalFlags>();
    // Output exists before config resolves, so even a bad flag value is reported in the right mode.
    let output = new Output({ json: flags.json, verbose: flags.verbose, ci: Boolean(env.CI) && env.CI !== 'false' });
    context.output = output;
    const signal = context.signal ?? new AbortController().signal;
    try {
      const settings = resolveGlobalSettings(flags, env);
      output = new Output({ json: settings.json, verbose: settings.verbose, ci: settings.ci });
      context.output = output;
      await action(createDeps(settings, output, process.cwd(), signal));
      if (interruptedBy(signal)) output.notice(`drydock: the ${interruptedBy(signal)} arrived after the work was done: nothing was stopped`);
      setExit(EXIT.OK);
    } catch (error) {
      // A command that did not say what its interruption left gets the generic wording.
      setExit(output.fail(asInterrupted(signal, error, `stopped: ${error instanceof Error ? error.message.replace(/^interrupted \(SIG\w+\):\s*/, '') : String(error)}`)));
    }
  };

  for (const register of commands) register(program, run);
  return program;
}

/** Parse argv and run; returns the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  // A lint run's parser compiles on V8's threads while this process loads the linter and walks folders.
  if (lintsSql(argv)) precompilePgQuery();
  // `.env` is loaded before commander parses, so variables declared on options (Option.env) see it too.
  const env = readEnvironment();
  let code: number = EXIT.OK;
  // Installed once: the first SIGINT/SIGTERM/SIGHUP aborts Deps.signal (the command cleans up and exits 130/143/129), a second exits at once.
  const context: RunContext = {};
  const handlers = installInterruptHandlers({
    say: (line) => (context.output ?? new Output()).notice(`drydock: ${line}`),
    exit: (c) => process.exit(c),
    on: (name, handler) => {
      process.on(name, handler);
      return () => process.off(name, handler);
    },
  });
  context.signal = handlers.controller.signal;
  // Nobody reads the output any more: stop and clean up as SIGPIPE would (not a second interruption:
  // after SIGHUP, the closed terminal's failed writes are expected).
  whenOutputCloses(() => {
    if (!handlers.controller.signal.aborted) handlers.interrupt('SIGPIPE');
  });
  const program = buildProgram(
    (c) => {
      code = c;
    },
    env,
    await loadCommands(argv),
    context,
  );
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version exit 0; usage errors (already printed by commander) are exit 2.
      if (error.exitCode === 0) return EXIT.OK;
      // With --json, scripts get the usage error on stdout as one JSON object too.
      if (wantsJson(argv)) {
        new Output({ json: true }).fail(new ConfigError(error.message.replace(/^error:\s*/, ''), { hint: 'run with --help for usage' }), { human: false });
      }
      return EXIT.FAILURE;
    }
    return new Output({ verbose: argv.includes('--verbose'), json: wantsJson(argv) }).fail(error);
  } finally {
    handlers.uninstall();
  }
  return code;
}

/** --json is on the command line (before any `--`): failures that happen before commander's options exist still answer in JSON. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // Node 22.1+ caches compiled code on disk between runs (drydock loads ~70 modules per run); Node 20 has no such API.
  (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = new Output({ json: wantsJson(process.argv) }).fail(error);
    },
  );
}
