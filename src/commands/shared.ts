/**
 * Small pieces several commands share.
 */
import { assertAppName, type ResolvedConfig } from '../config.js';
import type { Deps } from '../deps.js';
import { ConfigError } from '../errors.js';
import { run } from '../exec.js';
import { appFromRemote } from '../heroku/remote.js';

/** The app from -a/HEROKU_APP, else from -r REMOTE; `required` makes its absence a usage error. */
export async function resolveApp(config: ResolvedConfig, options: { required: true }): Promise<string>;
export async function resolveApp(config: ResolvedConfig, options: { required: false }): Promise<string | undefined>;
export async function resolveApp(config: ResolvedConfig, options: { required: boolean }): Promise<string | undefined> {
  if (config.app) return config.app;
  if (config.remote) {
    const app = await appFromRemote(config.remote);
    assertAppName(app);
    return app;
  }
  if (options.required) {
    throw new ConfigError('no Heroku app given', { hint: 'pass -a APP, set HEROKU_APP, or use -r REMOTE for a git remote' });
  }
  return undefined;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/**
 * A duration flag ("5s", "500ms", "90m", "24h", "2d"; a bare number is in `defaultUnit`) in milliseconds.
 * Undefined in, undefined out; anything else is a ConfigError naming the flag.
 */
export function parseDuration(value: string | undefined, flag: string, defaultUnit: Unit): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(value.trim());
  if (!m) {
    throw new ConfigError(`${flag} must be a duration like 500ms, 5s, 90m, 24h or 2d, not "${value.slice(0, 30)}"`, { hint: `for example ${flag} 5${defaultUnit}` });
  }
  return Math.round(Number(m[1]) * UNIT_MS[((m[2] ?? defaultUnit).toLowerCase() as Unit)]);
}

/**
 * Run one of the app's own commands (`bin/rails db:migrate`, a seed task) through `sh -c`, with the
 * app's whole environment and DATABASE_URL pointing at `databaseUrl`, streaming its output as log lines.
 */
export async function runAppCommand(deps: Pick<Deps, 'output'>, command: string, label: string, databaseUrl: string | undefined): Promise<void> {
  await run('sh', ['-c', command], {
    inheritEnv: true,
    ...(databaseUrl ? { env: { DATABASE_URL: databaseUrl } } : {}),
    timeoutMs: 60 * 60_000,
    label,
    onStdoutLine: (line) => deps.output.info(line),
    onStderrLine: (line) => deps.output.info(line),
  });
}
