/**
 * `-r/--remote`: find the Heroku app behind a git remote, as the Heroku CLI does.
 */
import { ConfigError, ToolError } from '../errors.js';
import { run } from '../exec.js';
import { assertAppName, type GlobalSettings } from '../settings.js';

/** The app name in a Heroku git URL (https://git.heroku.com/APP.git or git@heroku.com:APP.git), else undefined. */
export function appFromGitUrl(url: string): string | undefined {
  const m = /^(?:https?:\/\/(?:[^@/]+@)?git\.heroku\.com\/|(?:ssh:\/\/)?git@heroku\.com[:/])([a-z][a-z0-9-]*)\.git\/?$/.exec(url.trim());
  return m?.[1];
}

/** Read the app name from a git remote of the repository in `cwd`. */
export async function appFromRemote(remote: string, cwd = process.cwd()): Promise<string> {
  let url: string;
  try {
    const result = await run('git', ['remote', 'get-url', '--', remote], { cwd, timeoutMs: 10_000, reject: false, label: 'git' });
    if (result.exitCode !== 0) {
      throw new ConfigError(`git remote "${remote}" not found in ${cwd}`, {
        hint: 'list remotes with `git remote -v`, add one with `heroku git:remote -a APP`, or pass -a APP',
      });
    }
    url = result.stdout.trim();
  } catch (error) {
    if (error instanceof ToolError) {
      throw new ConfigError(`cannot read git remote "${remote}": ${error.message}`, { hint: 'pass the app with -a APP instead' });
    }
    throw error;
  }
  const app = appFromGitUrl(url);
  if (!app) {
    throw new ConfigError(`git remote "${remote}" does not point at a Heroku app`, {
      hint: 'expected https://git.heroku.com/APP.git; pass the app with -a APP instead',
    });
  }
  return app;
}

/** The app from -a/HEROKU_APP, else from -r REMOTE; `required` makes its absence a usage error. */
export async function resolveApp(settings: Pick<GlobalSettings, 'app' | 'remote'>, options: { required: true }): Promise<string>;
export async function resolveApp(settings: Pick<GlobalSettings, 'app' | 'remote'>, options: { required: false }): Promise<string | undefined>;
export async function resolveApp(settings: Pick<GlobalSettings, 'app' | 'remote'>, options: { required: boolean }): Promise<string | undefined> {
  if (settings.app) return settings.app;
  if (settings.remote) {
    const app = await appFromRemote(settings.remote);
    assertAppName(app);
    return app;
  }
  if (options.required) {
    throw new ConfigError('no Heroku app given', { hint: 'pass -a APP, set HEROKU_APP, or use -r REMOTE for a git remote' });
  }
  return undefined;
}
