/**
 * The review-app postdeploy (app.json `scripts.postdeploy`): set up an empty database. Load the schema
 * file (written by `drydock schema dump`) and then apply the migrations it does not list (those written
 * after the dump), or run every migration from zero when there is none, or run the app's own setup
 * command (`--command "bin/rails db:schema:load"`: a framework app), then seed. Every input (schema file, migrations, seed file) is checked before the first statement. It
 * refuses, changing nothing, when the database already holds anything: tables, a non-zero schema
 * version, large objects, used sequences (unless force), and it refuses to run in a release-phase dyno: postdeploy must never touch a
 * production database.
 */
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';

import type { Deps } from '../deps.js';
import { ConfigError, DrydockError, ToolError } from '../errors.js';
import { runAppCommand } from '../migrate/app-command.js';
import { detectSchemaVersion, type SchemaVersion } from '../migrate/detect.js';
import { loadMigrations } from '../migrate/files.js';
import { currentVersion, planUp } from '../migrate/plan.js';
import { validateSteps } from '../migrate/runner.js';
import { withClient } from '../pg/client.js';
import { listUserTables, readDataOutsideTables } from '../pg/queries/catalog.js';
import { describeDb, type DbUrl } from '../pg/url.js';
import { DEFAULT_SCHEMA_FILE } from '../schema/dump.js';
import { loadSchema } from '../schema/load.js';
import { parseAppliedVersions } from '../schema/normalize.js';
import type { MigrateSettings } from '../settings.js';
import type { CheckLevels } from '../verify/checks.js';
import type { VerifyReport } from '../verify/report.js';
import { requireUrl, runMigrations } from './migrate.js';
import { verifyAfterMigrating } from './verify.js';

/** Default seed file. */
export const DEFAULT_SEED_FILE = 'db/seeds.sql';

/** What postdeploy was asked to do beyond the migrate settings. */
export interface PostdeployOptions {
  /** --schema (or DRYDOCK_SCHEMA_FILE). */
  schema?: string | undefined;
  /** The schema file was named on the command line: a missing one is an error, not a cue to run the migrations. */
  schemaRequired?: boolean | undefined;
  seed?: string | undefined;
  seedCommand?: string | undefined;
  /** The app's own command that sets the schema up (instead of the schema file and drydock's migrations). */
  command?: string | undefined;
  force?: boolean | undefined;
  /**
   * Verify the result (drydock verify's contract and leftovers) with these levels; undefined: --no-verify.
   * A finding at level error fails postdeploy (exit 1) after everything ran.
   */
  verify?: CheckLevels | undefined;
}

/** What postdeploy did. */
export interface PostdeployResult {
  database: string;
  schema: {
    source: 'schema-file' | 'migrations' | 'command';
    file?: string | undefined;
    /** The app's command that set the schema up (source 'command'). */
    command?: string | undefined;
    /** Versions the schema file recorded (0 without one; with a command, the migrations its framework recorded). */
    versions: number;
    /** Migrations applied: every one from zero, or those newer than the schema file (not listed in it). */
    migrated: number;
    /** The schema version it ended at ("0" when none). */
    version: string;
  };
  seed: { source: 'file' | 'command' | 'none'; detail?: string | undefined };
  /** What the verification found (only warnings: errors fail postdeploy); undefined with --no-verify. */
  verify?: VerifyReport | undefined;
}

/** Whether `path` exists at all (a file, a directory, anything). */
async function present(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** An input file must be a readable regular file. */
async function checkReadableFile(path: string, what: string): Promise<void> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new ConfigError(`${what} ${path} is not a file`, { hint: `point it at a SQL file; nothing was changed` });
    await access(path, constants.R_OK);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read ${what} ${path}: ${(error as Error).message}`, { hint: 'check the path and its permissions; nothing was changed', cause: error });
  }
}

/** Where an empty database's schema comes from: a schema file (then the migrations it does not list), or every migration. */
export interface SchemaSource {
  /** The schema file to load first; undefined: run every migration from zero. */
  schemaFile: string | undefined;
  /** The schema file looked for (the one named, drydock.json schemaFile, or db/schema.sql), absolute. */
  lookedFor: string;
  /** With a schema file: whether the migrations folder exists (its migrations not in the file are applied after it). */
  migrationsAfterSchema: boolean;
}

/** Where the schema comes from and how the seeds are run, every input checked. */
interface Inputs extends SchemaSource {
  /** The app's own setup command: no schema file, no drydock migrations. */
  command: string | undefined;
  seed: { source: 'file'; file: string } | { source: 'command'; command: string } | { source: 'none' };
}

/**
 * Find the schema source as postdeploy does (`schema`, else drydock.json schemaFile, else
 * db/schema.sql; without one, every migration) and check it before the first statement: the schema
 * file is readable and the migrations it does not list (else every migration) read and parse.
 * Also used by `drydock rehearse` to build a fresh database the way a review app would.
 */
export async function findSchemaSource(settings: Pick<MigrateSettings, 'dir' | 'schemaFile'>, options: Pick<PostdeployOptions, 'schema' | 'schemaRequired'> = {}): Promise<SchemaSource> {
  const lookedFor = resolve(options.schema ?? settings.schemaFile ?? DEFAULT_SCHEMA_FILE);
  if (await present(lookedFor)) {
    await checkReadableFile(lookedFor, 'schema file');
    // Migrations written after the dump are applied after the load: they must parse too. Without a
    // migrations folder the schema file is all there is.
    if (!(await present(settings.dir))) return { schemaFile: lookedFor, lookedFor, migrationsAfterSchema: false };
    const listed = parseAppliedVersions(await readFile(lookedFor, 'utf8')).map((version) => ({ version }));
    await validateSteps(planUp(await loadMigrations(settings.dir), listed));
    return { schemaFile: lookedFor, lookedFor, migrationsAfterSchema: true };
  }
  if (options.schemaRequired) throw new ConfigError(`schema file ${lookedFor} not found`, { hint: 'write it with `drydock schema dump`, or leave --schema out to run every migration' });
  // The database is empty: every migration is pending, so every up section must parse.
  await validateSteps(planUp(await loadMigrations(settings.dir), []));
  return { schemaFile: undefined, lookedFor, migrationsAfterSchema: false };
}

/**
 * Check every input before the first statement: the app's setup command, else the schema source
 * (findSchemaSource), and the seed file (when one was named, or the default exists). A typo must not
 * leave a half set-up database behind.
 */
async function checkInputs(settings: MigrateSettings, options: PostdeployOptions): Promise<Inputs> {
  const command = options.command?.trim() ? options.command : undefined;
  if (options.command !== undefined && !command) throw new ConfigError('--command is empty', { hint: 'pass the command that sets the schema up, e.g. --command "bin/rails db:schema:load"; nothing was changed' });
  if (command && options.schemaRequired) {
    throw new ConfigError('--schema and --command both set the schema up', { hint: 'pass one of them: --command runs the app\'s own setup instead of loading a schema file; nothing was changed' });
  }
  // The app's command sets the schema up: no schema file, no drydock migrations to check.
  const source = command
    ? { schemaFile: undefined, lookedFor: resolve(options.schema ?? settings.schemaFile ?? DEFAULT_SCHEMA_FILE), migrationsAfterSchema: false }
    : await findSchemaSource(settings, options);
  const seedCommand = options.seedCommand ?? settings.seedCommand;
  if (seedCommand) return { command, ...source, seed: { source: 'command', command: seedCommand } };
  const seedFile = resolve(options.seed ?? settings.seedFile ?? DEFAULT_SEED_FILE);
  if (await present(seedFile)) {
    await checkReadableFile(seedFile, 'seed file');
    return { command, ...source, seed: { source: 'file', file: seedFile } };
  }
  if (options.seed) throw new ConfigError(`seed file ${seedFile} not found`, { hint: 'create it, or leave --seed out to skip seeding; nothing was changed' });
  return { command, ...source, seed: { source: 'none' } };
}

/** What the database already holds that makes it not empty ('' when it is empty). */
function describeContents(tables: string[], version: SchemaVersion, data: { largeObjects: number; usedSequences: string[] }): string {
  const parts: string[] = [];
  if (version.version !== '0') parts.push(`schema version ${version.version} (${version.tool})`);
  else if (tables.length) parts.push(`${tables.length} table(s): ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''}`);
  if (data.largeObjects) parts.push(`${data.largeObjects} large object(s)`);
  if (data.usedSequences.length) parts.push(`${data.usedSequences.length} used sequence(s): ${data.usedSequences.slice(0, 5).join(', ')}${data.usedSequences.length > 5 ? ', …' : ''}`);
  return parts.join('; ');
}

/** How the schema was set up, and the version it ended at. */
export function describeSchema(schema: PostdeployResult['schema']): string {
  const how =
    schema.source === 'command'
      ? `ran \`${schema.command}\``
      : schema.source === 'migrations'
        ? `ran ${schema.migrated} migration(s)`
        : `loaded ${schema.file}${schema.migrated ? `, then applied ${schema.migrated} newer migration(s)` : ''}`;
  return `${how}; schema version ${schema.version}`;
}

/** A failed seed step, with what is done and how to run only the seeds again. */
function seedFailure(error: unknown, schema: PostdeployResult['schema'], database: string, rerun: string): unknown {
  if (!(error instanceof DrydockError)) return error;
  const loaded = describeSchema(schema);
  const hint =
    `the schema is loaded (${loaded}) into ${database} and only the seeds failed; running postdeploy again would refuse (the database is no longer empty): ` +
    `fix the seeds and re-run only the seeds with DATABASE_URL set to this database: ${rerun} (on Heroku: \`heroku run\` on the review app, where DATABASE_URL is set)`;
  if (error instanceof ToolError) {
    return new ToolError(error.message, { command: error.command, toolExitCode: error.toolExitCode, stderrTail: error.stderrTail }, { hint, cause: error, exitCode: error.exitCode });
  }
  return new DrydockError(error.message, { hint, cause: error, exitCode: error.exitCode });
}

/** How buildSchema runs. */
export interface BuildSchemaOptions {
  /** Receives a progress line per stage ("loading … into …"). */
  say: (line: string) => void;
  /** Load the schema file even though the database has tables. */
  force?: boolean | undefined;
  /** Apply migrations up to this version only (default: all). */
  to?: string | undefined;
  /** Keep retrying the first connection this long (a database that is waking up). */
  connectRetryMs?: number | undefined;
}

/**
 * Build the schema of an empty database from `source`: load the schema file and then apply the
 * migrations it does not list (those written after the dump), or run every migration from zero,
 * through drydock's runner. Used by postdeploy and by `drydock rehearse`'s fresh database.
 */
export async function buildSchema(deps: Pick<Deps, 'output' | 'pgTools'> & Partial<Pick<Deps, 'signal'>>, settings: Pick<MigrateSettings, 'dir' | 'runner'>, url: DbUrl, source: SchemaSource, options: BuildSchemaOptions): Promise<PostdeployResult['schema']> {
  const database = describeDb(url);
  const migrate = () => runMigrations(deps, { url, dir: settings.dir, settings: settings.runner, action: { direction: 'up', to: options.to }, connectRetryMs: options.connectRetryMs });
  if (!source.schemaFile) {
    options.say(`no ${source.lookedFor}; running every migration from zero`);
    const ran = await migrate();
    return { source: 'migrations', versions: 0, migrated: ran.ran.length, version: ran.version };
  }
  options.say(`loading ${source.schemaFile} into ${database}`);
  const loaded = await loadSchema(deps.pgTools, url, { file: source.schemaFile, force: options.force });
  const loadedVersion = currentVersion(loaded.versions.map((version) => ({ version })));
  options.say(`loaded ${source.schemaFile}: ${loaded.versions.length} version(s), schema version ${loadedVersion}`);
  const schema: PostdeployResult['schema'] = { source: 'schema-file', file: source.schemaFile, versions: loaded.versions.length, migrated: 0, version: loadedVersion };
  if (!source.migrationsAfterSchema) return schema;
  options.say(`applying the migrations in ${settings.dir} that ${source.schemaFile} does not list`);
  const ran = await migrate();
  return { ...schema, migrated: ran.ran.length, version: ran.version };
}

/** Set up an empty review-app database. */
export async function postdeploy(deps: Deps, settings: MigrateSettings, options: PostdeployOptions): Promise<PostdeployResult> {
  const dyno = deps.settings.dyno;
  if (/^release\./.test(dyno)) {
    throw new ConfigError(`refusing to run postdeploy in a release-phase dyno (${dyno})`, {
      hint: 'postdeploy belongs in app.json scripts.postdeploy; the Procfile release line runs `drydock release`',
    });
  }
  const url = requireUrl(settings);
  const database = describeDb(url);
  const inputs = await checkInputs(settings, options);
  const { tables, version, data } = await withClient(
    url,
    async (client) => ({ tables: await listUserTables(client), version: await detectSchemaVersion(client), data: await readDataOutsideTables(client) }),
    { retryForMs: 30_000 },
  );
  const contents = describeContents(tables, version, data);
  if (contents && !options.force) {
    throw new DrydockError(`refusing to set up ${database}: it already holds ${contents}`, {
      hint: 'postdeploy only sets up an empty review-app database and changed nothing; pass --force to load over existing objects',
    });
  }

  let schema: PostdeployResult['schema'];
  if (inputs.command) {
    const { command } = inputs;
    deps.output.info(`postdeploy: setting ${database} up with the app's command: ${command}`);
    await runAppCommand(deps.output, command, 'schema command', url.href);
    const after = await withClient(url, (client) => detectSchemaVersion(client));
    schema = { source: 'command', command, versions: after.count, migrated: 0, version: after.version };
  } else {
    schema = await buildSchema(deps, settings, url, inputs, { say: (line) => deps.output.info(`postdeploy: ${line}`), force: options.force, connectRetryMs: 30_000 });
  }
  deps.output.info(`postdeploy: schema version is now ${schema.version}`);

  let seed: PostdeployResult['seed'];
  if (inputs.seed.source === 'command') {
    const { command } = inputs.seed;
    deps.output.info(`postdeploy: seeding with: ${command}`);
    try {
      await runAppCommand(deps.output, command, 'seed command', url.href);
    } catch (error) {
      throw seedFailure(error, schema, database, `\`${command}\``);
    }
    seed = { source: 'command', detail: command };
  } else if (inputs.seed.source === 'file') {
    const { file } = inputs.seed;
    deps.output.info(`postdeploy: seeding from ${file}`);
    try {
      await deps.pgTools.psqlFile(url, file, { singleTransaction: true });
    } catch (error) {
      throw seedFailure(error, schema, database, `\`psql "$DATABASE_URL" -X -v ON_ERROR_STOP=1 --single-transaction -f ${file}\``);
    }
    seed = { source: 'file', detail: file };
  } else {
    seed = { source: 'none' };
  }
  // Last: the schema is set up and seeded whatever the verification says; a finding fails the run with its fix.
  const verify = options.verify ? await verifyAfterMigrating(deps, settings, url, { who: 'postdeploy', levels: options.verify, schema: options.schema }) : undefined;
  return { database, schema, seed, verify };
}
