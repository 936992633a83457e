/**
 * Small pieces several commands share.
 */
import { assertAppName, type ResolvedConfig } from '../config.js';
import { ConfigError } from '../errors.js';
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
