/**
 * Run the built drydock CLI (dist/cli.js) as a real child process, the way users and Heroku do.
 * `npm test` builds first; a missing build is a failure, not a skip.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { execa } from 'execa';

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The built CLI entry point. */
export const CLI_PATH = resolve(ROOT, 'dist/cli.js');

/** What one drydock run left behind. */
export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Options of one run. */
export interface RunCliOptions {
  /** Added to a minimal environment (PATH, HOME, CI=true unless overridden). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  input?: string;
}

/** Run `drydock ...args`; never throws on a non-zero exit. */
export async function runCli(args: string[], options: RunCliOptions = {}): Promise<CliRun> {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run \`npm run build\` (npm test does)`);
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    CI: 'true',
    // Background spare copies outlive the command; tests that want them turn them on and clean up.
    DRYDOCK_SNAPSHOT_SPARE: '0',
    ...options.env,
  };
  const result = await execa(process.execPath, [CLI_PATH, ...args], {
    env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>,
    extendEnv: false,
    cwd: options.cwd ?? ROOT,
    reject: false,
    timeout: options.timeoutMs ?? 90_000,
    input: options.input ?? '',
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}
