/**
 * Run the real heroku CLI (the pinned devDependency, never npx: npx adds an npm registry check)
 * against a Heroku emulator.
 */
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { get } from 'node:https';
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

/** What a plain HTTPS GET received. */
export interface HttpsGetResult {
  status: number;
  headers: IncomingHttpHeaders;
  /** Every byte that arrived, even when the connection was cut. */
  body: Buffer;
  /** False when the connection closed before the response ended. */
  complete: boolean;
}

/** GET a URL of the emulator's HTTPS server (a backup public URL), trusting its self-signed cert. */
export function httpsGet(emu: Pick<Emulator, 'caCertPath'>, url: string): Promise<HttpsGetResult> {
  const ca = readFileSync(emu.caCertPath);
  return new Promise((resolvePromise, reject) => {
    const req = get(url, { ca }, (res) => {
      const chunks: Buffer[] = [];
      let done = false;
      const finish = (complete: boolean): void => {
        if (done) return;
        done = true;
        resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete });
      };
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish(res.complete));
      res.on('error', () => finish(false));
      res.on('close', () => finish(res.complete));
    });
    req.on('error', reject);
  });
}
