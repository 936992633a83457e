/**
 * The release phase (Procfile `release: npx --no drydock release`). What it does with the schema version it
 * finds is decided in migrate/release-rule.ts (the rule table is there and in the README):
 * - the version cannot be determined → a clear error, exit non-zero (the deploy stops);
 * - it is 0 but the database holds tables or data of its own → refuse, exit 2, changing nothing;
 * - it is 0 on an empty database of a review app → skip, exit 0 (its postdeploy loads the schema);
 * - it is 0 on an empty database of any other app (a new production or staging app) → migrate from zero
 *   (every migration, or the app's own command), or, with no migration files but a schema file, fail
 *   with the command that loads it;
 * - otherwise → run the pending migrations under the runner's lock; any failure exits non-zero.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';

import type { Deps } from '../deps.js';
import { DrydockError } from '../errors.js';
import { runAppCommand } from '../migrate/app-command.js';
import { detectSchemaVersion, isLedgerTable, type SchemaVersion } from '../migrate/detect.js';
import { loadMigrations } from '../migrate/files.js';
import { decideRelease, listSome } from '../migrate/release-rule.js';
import { RUN_DRYDOCK } from '../package-root.js';
import { withClient } from '../pg/client.js';
import { listUserTables, readDataOutsideTables } from '../pg/queries/catalog.js';
import { readInvalidIndexDetails } from '../pg/queries/indexes.js';
import { describeDb, type DbUrl } from '../pg/url.js';
import { DEFAULT_SCHEMA_FILE } from '../schema/dump.js';
import type { MigrateSettings, ReviewApp } from '../settings.js';
import type { CheckLevels } from '../verify/checks.js';
import type { VerifyReport } from '../verify/report.js';
import { requireUrl, runMigrations, warnInvalidIndexes, type MigrationRunResult } from './migrate.js';
import { verifyAfterMigrating } from './verify.js';

/** What release did. */
export interface ReleaseResult {
  database: string;
  /** The schema version found before migrating. */
  before: SchemaVersion;
  action: 'skipped' | 'migrated' | 'command';
  /** A new (empty) database that release set up from zero. */
  fromZero: boolean;
  /** Whether this is a review app, and what said so. */
  reviewApp: ReviewApp;
  migrations?: MigrationRunResult | undefined;
  command?: string | undefined;
  /** What --verify found (only warnings: errors fail the release). */
  verify?: VerifyReport | undefined;
}

/** Options of the release phase beyond the migrate settings. */
export interface ReleaseOptions {
  /** Run the app's own migration command instead of drydock's runner. */
  command?: string | undefined;
  /** Keep retrying the first connection this long (a database that is waking up). */
  connectRetryMs: number;
  /** Whether this is a review app (resolveReviewApp: --review-app, DRYDOCK_REVIEW_APP, Heroku's markers). */
  reviewApp: ReviewApp;
  /** The Heroku app, when known (for the commands release suggests). */
  app?: string | undefined;
  /** --verify: after migrating, check the schema contract and leftovers (INVALID indexes …) with these levels; a finding at level error fails the release. */
  verify?: CheckLevels | undefined;
}

/** The schema version and, when it is 0, what the database already holds (the migration tools' empty ledgers left out). */
export interface SchemaState extends SchemaVersion {
  /** Qualified names; [] unless the version is 0. */
  appTables: string[];
  /** Large objects and used sequences, described; '' when none (or the version is not 0). */
  otherData: string;
}

/** Data outside tables, described ('' when none). */
function describeOtherData(data: { largeObjects: number; usedSequences: string[] }): string {
  const parts: string[] = [];
  if (data.largeObjects) parts.push(`${data.largeObjects} large object(s)`);
  if (data.usedSequences.length) parts.push(`${data.usedSequences.length} used sequence(s): ${listSome(data.usedSequences)}`);
  return parts.join('; ');
}

/** Read the schema version, or explain why it cannot be determined. */
export async function readSchemaVersion(url: DbUrl, connectRetryMs: number): Promise<SchemaState> {
  try {
    return await withClient(
      url,
      async (client) => {
        const version = await detectSchemaVersion(client);
        if (version.version !== '0') return { ...version, appTables: [], otherData: '' };
        const appTables = (await listUserTables(client)).filter((t) => !isLedgerTable(t));
        return { ...version, appTables, otherData: describeOtherData(await readDataOutsideTables(client)) };
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

/** How many migration files `dir` holds; undefined when there is no such folder (the runner then says so). */
async function countMigrationFiles(dir: string): Promise<number | undefined> {
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  return exists ? (await loadMigrations(dir)).length : undefined;
}

/** The schema file, when it exists. */
async function presentSchemaFile(settings: MigrateSettings): Promise<string | undefined> {
  const file = settings.schemaFile ?? DEFAULT_SCHEMA_FILE;
  return (await stat(resolve(file)).then((s) => s.isFile(), () => false)) ? file : undefined;
}

/** Run the release phase. */
export async function release(deps: Deps, settings: MigrateSettings, options: ReleaseOptions): Promise<ReleaseResult> {
  const url = requireUrl(settings);
  const database = describeDb(url);
  deps.output.info(`release: reading the schema version of ${database}`);
  const { appTables, otherData, ...before } = await readSchemaVersion(url, options.connectRetryMs);
  const command = options.command ?? settings.migrateCommand;
  // Only a new, empty database of an app that is not a review app needs to know what there is to set it up with.
  const newDatabase = before.version === '0' && !appTables.length && !otherData && !options.reviewApp.reviewApp && !command;
  const decision = decideRelease({
    version: before.version,
    appTables,
    otherData,
    reviewApp: options.reviewApp,
    command,
    migrationFiles: newDatabase ? await countMigrationFiles(settings.dir) : undefined,
    schemaFile: newDatabase ? await presentSchemaFile(settings) : undefined,
  });
  const done = { database, before, reviewApp: options.reviewApp };

  if (decision.action === 'refuse' && decision.reason === 'not-empty') {
    throw new DrydockError(`refusing to release to ${database}: ${decision.message}`, {
      hint:
        'this is not a new database, and nothing was changed: check that DATABASE_URL points at the right database; if its schema is already in place, ' +
        'baseline it with `drydock migrate baseline VERSION` (every version up to VERSION counts as applied) or `drydock migrate mark-applied VERSION` for each migration it already has, or run the migrations explicitly with `drydock migrate`',
    });
  }
  if (decision.action === 'refuse') {
    const file = settings.schemaFile ?? DEFAULT_SCHEMA_FILE;
    throw new DrydockError(`refusing to release to ${database}: ${decision.message}`, {
      hint:
        `release sets up a new database by applying migrations, and ${settings.dir} has none: load the schema file once with ` +
        `\`heroku run -a ${options.app ?? 'APP'} -- ${RUN_DRYDOCK} schema load -f ${file}\`, then deploy again; ` +
        'on a review app, set DRYDOCK_REVIEW_APP=true (app.json environments.review.env) so its postdeploy sets it up; nothing was changed',
    });
  }
  if (before.version !== '0') deps.output.info(`release: schema version is ${before.version} (${before.tool}, ${before.count} migration(s) recorded)`);
  else deps.output.info(`release: ${decision.message}`);
  if (decision.action === 'skip') return { ...done, action: 'skipped', fromZero: false };
  if (decision.fromZero) deps.output.info('release: (a review app that drydock did not recognise? set DRYDOCK_REVIEW_APP=true in app.json environments.review.env)');
  if (decision.action === 'command') {
    deps.output.info(`release: running the app's migration command: ${command}`);
    await runAppCommand(deps.output, command!, 'migration command', url.href);
    if (!options.verify) warnInvalidIndexes(deps.output, await withClient(url, (client) => readInvalidIndexDetails(client), { applicationName: 'drydock release' }));
    const verify = options.verify ? await verifyAfterMigrating(deps, settings, url, { who: 'release', levels: options.verify }) : undefined;
    return { ...done, action: 'command', fromZero: decision.fromZero, command, verify };
  }
  const migrations = await runMigrations(deps, { url, dir: settings.dir, settings: settings.runner, action: { direction: 'up' }, connectRetryMs: options.connectRetryMs, lint: settings.lint, lintProject: settings.lintProject });
  // --verify reports INVALID indexes itself, as errors that fail the release.
  if (!options.verify) warnInvalidIndexes(deps.output, migrations.invalidIndexes);
  const verify = options.verify ? await verifyAfterMigrating(deps, settings, url, { who: 'release', levels: options.verify }) : undefined;
  return { ...done, action: 'migrated', fromZero: decision.fromZero, migrations, verify };
}
