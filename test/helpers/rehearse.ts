/**
 * What the rehearse test files share: working copies pulled from a source database (`drydock pull
 * --from-url`, which keeps the pristine snapshot rehearse resets from) and migration folders, all
 * removed after the file's tests. Call rehearseScope() at the top level of a test file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, expect } from 'vitest';

import { runCli } from './cli.js';
import { dropTargetAndCopies, testServerUrl, uniqueDbName } from './db.js';

export interface RehearseScope {
  /** The environment every drydock run of these tests gets: the test server as the local server. */
  env: { DRYDOCK_LOCAL_DATABASE_URL: string };
  /** Working databases made (or to be made) by drydock: dropped afterwards with drydock's copies of them. */
  targets: string[];
  /** Folders removed afterwards. */
  dirs: string[];
  /** A temporary folder holding `files` (name → text). */
  migrationsDir: (files: Record<string, string>) => Promise<string>;
  /** A working copy of `sourceUrl` pulled under a new name, with its pristine snapshot. */
  pulled: (sourceUrl: string, label: string) => Promise<string>;
}

export function rehearseScope(prefix = 'drydock-rehearse-'): RehearseScope {
  const targets: string[] = [];
  const dirs: string[] = [];
  const env = { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() };
  afterAll(async () => {
    for (const t of targets) await dropTargetAndCopies(t);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  return {
    env,
    targets,
    dirs,
    async migrationsDir(files) {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      dirs.push(dir);
      for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
      return dir;
    },
    async pulled(sourceUrl, label) {
      const to = uniqueDbName(label);
      targets.push(to);
      const res = await runCli(['pull', '--from-url', sourceUrl, '--to', to], { env, timeoutMs: 180_000 });
      expect(res.exitCode, res.stderr).toBe(0);
      return to;
    },
  };
}
