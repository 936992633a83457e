/**
 * The release phase (Procfile `release: npx drydock release`):
 * - the schema version of DATABASE_URL cannot be determined → a clear error, exit non-zero (the deploy stops);
 * - it is 0 and the database holds no tables of its own (a new review app, whose postdeploy loads the
 *   schema) → say so, exit 0;
 * - it is 0 but the app's tables are there (a database set up outside drydock, the wrong DATABASE_URL) →
 *   refuse, exit 2, changing nothing: skipping would hide pending migrations, and running them all would
 *   collide with what is there;
 * - otherwise → run the pending migrations under the runner's lock; any failure exits non-zero.
 */
import type { Deps } from '../deps.js';
import { DrydockError } from '../errors.js';
import { runAppCommand } from '../migrate/app-command.js';
import { detectSchemaVersion, isLedgerTable, type SchemaVersion } from '../migrate/detect.js';
import { withClient } from '../pg/client.js';
import { listUserTables } from '../pg/queries/catalog.js';
import { describeDb, type DbUrl } from '../pg/url.js';
import type { MigrateSettings } from '../settings.js';
import { requireUrl, runMigrations, type MigrationRunResult } from './migrate.js';

/** What release did. */
export interface ReleaseResult {
  database: string;
  /** The schema version found before migrating. */
  before: SchemaVersion;
  action: 'skipped' | 'migrated' | 'command';
  migrations?: MigrationRunResult | undefined;
  command?: string | undefined;
}

/** Options of the release phase beyond the migrate settings. */
export interface ReleaseOptions {
  /** Run the app's own migration command instead of drydock's runner. */
  command?: string | undefined;
  /** Keep retrying the first connection this long (a database that is waking up). */
  connectRetryMs: number;
}

/** The schema version and, when it is 0, the database's own tables (the migration tools' ledgers left out). */
export interface SchemaState extends SchemaVersion {
  /** Qualified names; [] unless the version is 0. */
  appTables: string[];
}

/** Read the schema version, or explain why it cannot be determined. */
export async function readSchemaVersion(url: DbUrl, connectRetryMs: number): Promise<SchemaState> {
  try {
    return await withClient(
      url,
      async (client) => {
        const version = await detectSchemaVersion(client);
        const appTables = version.version === '0' ? (await listUserTables(client)).filter((t) => !isLedgerTable(t)) : [];
        return { ...version, appTables };
      },
      { retryForMs: connectRetryMs, applicationName: 'drydock release' },
    );
  } catch (error) {
    const reason = error instanceof DrydockError ? error.message : (error as Error).message;
    throw new DrydockError(`cannot determine the schema version of ${describeDb(url)}: ${reason}`, {
      hint: error instanceof DrydockError && error.hint ? error.hint : 'check DATABASE_URL and that the database accepts connections',
      cause: error,
    });
  }
}

/** Run the release phase. */
export async function release(deps: Pick<Deps, 'output'>, settings: MigrateSettings, options: ReleaseOptions): Promise<ReleaseResult> {
  const url = requireUrl(settings);
  const database = describeDb(url);
  deps.output.info(`release: reading the schema version of ${database}`);
  const { appTables, ...before } = await readSchemaVersion(url, options.connectRetryMs);
  if (before.version === '0' && appTables.length) {
    const list = `${appTables.slice(0, 5).join(', ')}${appTables.length > 5 ? `, and ${appTables.length - 5} more` : ''}`;
    throw new DrydockError(`refusing to release to ${database}: schema version is 0 but it holds ${appTables.length} table(s): ${list}`, {
      hint:
        'this is not a new database, and nothing was changed: check that DATABASE_URL points at the right database; if its schema is already in place, ' +
        'baseline it with `drydock migrate baseline VERSION` (every version up to VERSION counts as applied) or `drydock migrate mark-applied VERSION` for each migration it already has, or run the migrations explicitly with `drydock migrate`',
    });
  }
  if (before.version === '0') {
    deps.output.info('release: schema version is 0 (no migrations recorded yet): skipping migrations; a new review app sets its schema up in postdeploy');
    return { database, before, action: 'skipped' };
  }
  deps.output.info(`release: schema version is ${before.version} (${before.tool}, ${before.count} migration(s) recorded)`);
  const command = options.command ?? settings.migrateCommand;
  if (command) {
    deps.output.info(`release: running the app's migration command: ${command}`);
    await runAppCommand(deps.output, command, 'migration command', url.href);
    return { database, before, action: 'command', command };
  }
  const migrations = await runMigrations(deps, { url, dir: settings.dir, settings: settings.runner, action: { direction: 'up' }, connectRetryMs: options.connectRetryMs, lint: settings.lint });
  return { database, before, action: 'migrated', migrations };
}
