/**
 * A throwaway HOME for the heroku CLI. Every invocation runs `git config --global
 * credential.<host>.helper …` and writes caches, so without this it would touch the real
 * ~/.gitconfig and ~/.cache (see /work/shared/heroku-cli-endpoints.md §1).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The sandbox's directories, as environment variables. */
export interface Sandbox {
  root: string;
  env: Record<string, string>;
  remove(): Promise<void>;
}

export async function createSandbox(): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'drydock-heroku-emulator-'));
  const home = join(root, 'home');
  const env = {
    HOME: home,
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    GIT_CONFIG_GLOBAL: join(home, '.gitconfig'),
  };
  for (const dir of [env.XDG_CACHE_HOME, env.XDG_CONFIG_HOME, env.XDG_DATA_HOME]) await mkdir(dir, { recursive: true });
  await writeFile(env.GIT_CONFIG_GLOBAL, '');
  // The CLI warns "Our terms of service have changed" once per cache dir; this marks it as seen.
  await mkdir(join(env.XDG_CACHE_HOME, 'heroku'), { recursive: true });
  await writeFile(join(env.XDG_CACHE_HOME, 'heroku', 'terms-of-service'), '');
  return { root, env, remove: () => rm(root, { recursive: true, force: true }) };
}
