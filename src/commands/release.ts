/**
 * `drydock release`: the Procfile `release:` line (`release: npx drydock release`).
 *
 * The release-phase contract:
 * - the schema version of DATABASE_URL cannot be determined → a clear error, exit non-zero (the deploy stops);
 * - it is 0 (nothing set up yet: a new review app, whose postdeploy loads the schema) → say so, exit 0;
 * - otherwise → run the pending migrations under the runner's lock; any failure exits non-zero.
 */
import type { Command } from 'commander';

import type { Deps } from '../deps.js';
import { DrydockError } from '../errors.js';
import { detectSchemaVersion, type SchemaVersion } from '../migrate/detect.js';
import { withClient } from '../pg/client.js';
import { describeDb, type DbUrl } from '../pg/url.js';
import { runMigrations, type MigrationRunResult } from '../pipelines/migrate.js';
import { resolveMigrateSetup, type MigrateFlags } from './migrate.js';
import { parseDuration, runAppCommand } from './shared.js';

/** Flags of `drydock release`. */
export interface ReleaseFlags extends MigrateFlags {
  /** Run the app's own migration command instead of drydock's runner. */
  command?: string | undefined;
  /** Keep retrying the first connection this long (a database that is waking up). */
  connectTimeout?: string | undefined;
}

/** What release did. */
export interface ReleaseResult {
  database: string;
  /** The schema version found before migrating. */
  before: SchemaVersion;
  action: 'skipped' | 'migrated' | 'command';
  migrations?: MigrationRunResult | undefined;
  command?: string | undefined;
}

/** Read the schema version, or explain why it cannot be determined. */
export async function readSchemaVersion(url: DbUrl, connectRetryMs: number, env: NodeJS.ProcessEnv): Promise<SchemaVersion> {
  try {
    return await withClient(url, (client) => detectSchemaVersion(client), { retryForMs: connectRetryMs, env, applicationName: 'drydock release' });
  } catch (error) {
    const reason = error instanceof DrydockError ? error.message : (error as Error).message;
    throw new DrydockError(`cannot determine the schema version of ${describeDb(url)}: ${reason}`, {
      hint: error instanceof DrydockError && error.hint ? error.hint : 'check DATABASE_URL and that the database accepts connections',
      cause: error,
    });
  }
}

/** Run the release phase. */
export async function release(deps: Deps, flags: ReleaseFlags): Promise<ReleaseResult> {
  const setup = resolveMigrateSetup(deps, flags);
  const url = setup.url!;
  const database = describeDb(url);
  const connectRetryMs = parseDuration(flags.connectTimeout ?? deps.config.env.DRYDOCK_CONNECT_TIMEOUT, '--connect-timeout', 's') ?? 30_000;
  deps.output.info(`release: reading the schema version of ${database}`);
  const before = await readSchemaVersion(url, connectRetryMs, deps.config.env as NodeJS.ProcessEnv);
  if (before.version === '0') {
    deps.output.info('release: schema version is 0 (no migrations recorded yet): skipping migrations; a new review app sets its schema up in postdeploy');
    return { database, before, action: 'skipped' };
  }
  deps.output.info(`release: schema version is ${before.version} (${before.tool}, ${before.count} migration(s) recorded)`);
  const command = flags.command ?? setup.project.migrateCommand;
  if (command) {
    deps.output.info(`release: running the app's migration command: ${command}`);
    await runAppCommand(deps, command, 'migration command', url.href);
    return { database, before, action: 'command', command };
  }
  const migrations = await runMigrations(deps, { url, dir: setup.dir, settings: setup.settings, action: { direction: 'up' }, connectRetryMs, lint: setup.lint });
  return { database, before, action: 'migrated', migrations };
}

function renderRelease(result: ReleaseResult): string {
  switch (result.action) {
    case 'skipped':
      return `release: done, nothing migrated (schema version 0 on ${result.database})`;
    case 'command':
      return `release: done, the migration command finished`;
    default: {
      const ran = result.migrations?.ran.length ?? 0;
      return ran
        ? `release: done, applied ${ran} migration(s); schema version is now ${result.migrations?.version}`
        : `release: done, the database is up to date (schema version ${result.migrations?.version})`;
    }
  }
}

/** Register `drydock release`. */
export function registerRelease(program: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  program
    .command('release')
    .description('release phase (Procfile `release: npx drydock release`): migrate when the schema version is non-zero, skip at 0')
    .option('--url <url>', 'database URL (default: DATABASE_URL)')
    .option('--dir <dir>', 'migrations folder')
    .option('--command <command>', "run the app's own migration command instead (e.g. \"bin/rails db:migrate\")")
    .option('--connect-timeout <duration>', 'keep retrying the first connection this long (default 30s)')
    .option('--lock-timeout <ms>', 'lock_timeout for every statement (default 5s)')
    .option('--statement-timeout <ms>', 'statement_timeout (default: none)')
    .option('--lock-retries <n>', 'retries of a migration that hit lock_timeout (default 3)')
    .option('--lint <mode>', 'lint pending migrations first: error refuses unsafe ones, warn applies them anyway, off skips (default: DRYDOCK_LINT, drydock.json "lint", else error)')
    .action(async (opts: ReleaseFlags) => {
      await run(async (deps) => {
        const result = await release(deps, opts);
        deps.output.result(result, renderRelease);
      });
    });
}
