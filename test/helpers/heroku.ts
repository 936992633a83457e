/**
 * Run the real heroku CLI (the pinned devDependency, never npx: npx adds an npm registry check)
 * against a Heroku emulator.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run } from '../../src/exec.js';
import type { Emulator } from '../heroku-emulator/index.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The heroku executable from node_modules/.bin. */
export function herokuBinPath(): string {
  return resolve(REPO_ROOT, 'node_modules', '.bin', 'heroku');
}

/** What one heroku invocation left behind. */
export interface HerokuRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Options of `runHeroku`. */
export interface RunHerokuOptions {
  /** Extra (or, with undefined, removed) environment variables on top of the emulator's. */
  env?: Record<string, string | undefined>;
  /** Kill the CLI after this long (default 30 s). */
  timeoutMs?: number;
  /** Text for stdin; stdin is closed either way. */
  input?: string;
}

/** Run `heroku …args` against the emulator with stdin closed. Never throws on a non-zero exit. */
export async function runHeroku(emu: Pick<Emulator, 'env'>, args: string[], opts: RunHerokuOptions = {}): Promise<HerokuRun> {
  const result = await run(herokuBinPath(), args, {
    // PGSSLMODE from the developer's shell would override the CLI's choice for localhost URLs.
    env: { PGSSLMODE: undefined, ...emu.env, ...opts.env },
    timeoutMs: opts.timeoutMs ?? 30_000,
    input: opts.input ?? '',
    reject: false,
    label: 'heroku',
  });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}
