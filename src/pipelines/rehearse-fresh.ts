/**
 * `drydock rehearse`, the fresh-database comparison (issue 15, item 4): after the pending migrations
 * ran on the copy, build the schema from zero on an empty scratch database on the same local server,
 * the way a review app would (postdeploy's buildSchema: the schema file and then the migrations it
 * does not list, or every migration through drydock's runner), and compare it with the copy, object
 * by object (rehearse/fresh.ts decides what the differences mean).
 *
 * A pending migration that fails there relies on something only production has: its verdict becomes
 * `fails`. A migration already applied on production that fails there means the history no longer
 * builds a database: a difference. The scratch database is dropped at the end, also on failure and
 * Ctrl-C; one a killed rehearsal left is dropped by the next rehearsal.
 */
import { readFile } from 'node:fs/promises';

import type { Deps } from '../deps.js';
import { ConfigError, ConnectionError, DrydockError, interruptedBy, MigrationError } from '../errors.js';
import { mayLeave } from '../interrupt.js';
import { createScratch, dropLeftoverScratch, dropScratch } from '../local/fresh-scratch.js';
import { planUp } from '../migrate/plan.js';
import type { MigrationFile } from '../migrate/types.js';
import { describeDb, type DbUrl } from '../pg/url.js';
import { compareWithFresh, describeHow, freshBuildTarget, reliedOn, type FreshDifference } from '../rehearse/fresh.js';
import { FRESH_DATABASE_SKIPPED, withFreshFailure, type FreshDatabaseReport, type MigrationReport } from '../rehearse/report.js';
import { dumpSchema } from '../schema/dump.js';
import { parseAppliedVersions } from '../schema/normalize.js';
import type { MigrateSettings } from '../settings.js';
import { buildSchema, findSchemaSource, type SchemaSource } from './postdeploy.js';
import { quiet } from './rehearse.js';

/** What the rehearsal knows when the fresh database is built. */
export interface FreshInput {
  /** The working database (the copy), after the rehearsal. */
  url: DbUrl;
  files: readonly MigrationFile[];
  /** The pending migrations' reports, in order. */
  migrations: MigrationReport[];
  /** Pending migrations not run on the copy (an earlier one failed). */
  notRun: ReadonlyArray<{ version: string }>;
  /** The copy's normalised schema before the first pending migration, then after each one that applied. */
  schemas: readonly string[];
  thresholdMs: number;
  /** false: --no-fresh. */
  enabled: boolean;
  /** --schema (DRYDOCK_SCHEMA_FILE), and whether it was named on the command line: as postdeploy's. */
  schema?: string | undefined;
  schemaRequired?: boolean | undefined;
}

/** The comparison, and the pending migrations' reports (a migration that fails on a fresh database now `fails`). */
export interface FreshOutcome {
  freshDatabase: FreshDatabaseReport;
  migrations: MigrationReport[];
}

/** Drop leftovers of killed rehearsals; then, unless --no-fresh, build a fresh database and compare it with the copy. */
export async function checkFreshDatabase(deps: Deps, settings: MigrateSettings, input: FreshInput): Promise<FreshOutcome> {
  const dropped = await dropLeftoverScratch(input.url, deps.clock.now());
  if (dropped.length) deps.output.info(`rehearse: dropped ${dropped.length} scratch database(s) a killed rehearsal left: ${dropped.join(', ')}`);
  const notChecked = (note: string): FreshOutcome => ({ freshDatabase: { checked: false, ok: null, differences: [], note }, migrations: input.migrations });
  if (!input.enabled) return notChecked(FRESH_DATABASE_SKIPPED);
  const target = freshBuildTarget(input.files, [...input.migrations.filter((m) => m.failure), ...input.notRun]);
  if ('skip' in target) return notChecked(`not checked: ${target.skip}`);

  const copy = input.schemas[input.schemas.length - 1]!;
  const scratch = await createScratch(input.url, input.url.database!, deps.clock.now());
  const done = mayLeave(`scratch database ${describeDb(scratch)} (the next \`drydock rehearse\` drops it)`);
  let source: SchemaSource | undefined;
  let planned = 0;
  try {
    try {
      source = await findSchemaSource(settings, { schema: input.schema, schemaRequired: input.schemaRequired });
      planned = await countPlanned(source, input.files, target.to);
      deps.output.info(`rehearse: building a fresh database from ${describeHow(Boolean(source.schemaFile), planned)} in ${describeDb(scratch)}`);
      await buildSchema(quiet(deps), settings, scratch, source, { say: (line) => deps.output.debug(`rehearse: fresh database: ${line}`), to: target.to });
    } catch (error) {
      // An unreadable or missing named schema file is a usage error (exit 2), not a finding.
      if (interruptedBy(deps.signal) || !(error instanceof DrydockError) || error instanceof ConnectionError || error instanceof ConfigError) throw error;
      return await failedBuild(deps, input, scratch, source, planned, error);
    }
    const { differences, notes } = compareWithFresh(copy, await dumpSchema(deps.pgTools, scratch));
    deps.output.info(`rehearse: fresh database: ${differences.length ? `${differences.length} difference(s) from the copy` : 'the same schema as the copy'}`);
    return { freshDatabase: { checked: true, ok: !differences.length, how: describeHow(Boolean(source.schemaFile), planned), schemaFile: source.schemaFile, differences, notes }, migrations: input.migrations };
  } finally {
    await dropScratch(scratch).then(done, (error: unknown) =>
      deps.output.warn(`could not drop the scratch database ${describeDb(scratch)}: ${(error as Error).message}; the next \`drydock rehearse\` drops it`),
    );
  }
}

/** How many migrations the build applies: those the schema file does not list (every one without it), up to `to`. */
async function countPlanned(source: SchemaSource, files: readonly MigrationFile[], to: string | undefined): Promise<number> {
  if (source.schemaFile && !source.migrationsAfterSchema) return 0;
  const listed = source.schemaFile ? parseAppliedVersions(await readFile(source.schemaFile, 'utf8')).map((version) => ({ version })) : [];
  return planUp(files, listed, { to }).length;
}

/** Postgres's own message of a migration failure, with its SQLSTATE and line, else drydock's message. */
function postgresMessage(error: MigrationError): string {
  const cause = error.cause;
  if (!(cause instanceof Error) || !error.sqlstate) return error.message;
  return `${cause.message} (SQLSTATE ${error.sqlstate}${error.line ? `, line ${error.line}` : ''})`;
}

/**
 * The build stopped. At a pending migration: it fails there (its verdict becomes `fails`), and the fresh
 * database, as far as it got, is compared with the copy as it was before that migration. At a migration
 * production already has: the history does not build a database any more. Elsewhere (the schema file
 * did not load): that is the difference.
 */
async function failedBuild(deps: Deps, input: FreshInput, scratch: DbUrl, source: SchemaSource | undefined, planned: number, error: DrydockError): Promise<FreshOutcome> {
  const how = describeHow(Boolean(source?.schemaFile), planned);
  const report = (differences: FreshDifference[], notes: string[], migrations = input.migrations): FreshOutcome => {
    deps.output.info(`rehearse: fresh database: ${differences[0]!.problem}`);
    return { freshDatabase: { checked: true, ok: false, how, schemaFile: source?.schemaFile, differences, notes }, migrations };
  };
  const file = error instanceof MigrationError ? input.files.find((f) => f.fileName === error.file) : undefined;
  if (!file || !(error instanceof MigrationError)) {
    const object = source?.schemaFile && !(error instanceof MigrationError) ? `schema file ${source.schemaFile}` : 'migrations';
    return report([{ object, problem: `building a fresh database failed: ${error.message}` }], []);
  }
  const message = postgresMessage(error);
  const partial = await dumpSchema(deps.pgTools, scratch);
  const at = input.migrations.findIndex((m) => m.file === file.fileName);
  if (at < 0) {
    const relied = reliedOn(compareWithFresh(input.schemas[input.schemas.length - 1]!, partial).differences, message, file.up.sql);
    const problem = `${file.fileName} is already applied on production, but fails on a fresh database: ${message}${relied.length ? ` (${relied.map((d) => d.problem).join('; ')})` : ''}`;
    return report([{ object: `migration ${file.fileName}`, problem }], ['the history stops building a database at that migration, so the schemas were not compared']);
  }
  // The fresh database holds every migration before this one (a failed transactional migration is rolled back): compare it with the copy before this one.
  const { differences, notes } = compareWithFresh(input.schemas[at]!, partial);
  const reliesOn = reliedOn(differences, message, file.up.sql).map((d) => d.problem);
  const migrations = input.migrations.map((m, i) => (i === at ? withFreshFailure(m, { message, details: [...error.details], reliesOn }, input.thresholdMs) : m));
  return report(
    [{ object: `migration ${file.fileName}`, problem: `${file.fileName} fails on a fresh database: ${message}` }, ...differences],
    [...notes, `the build stopped at ${file.fileName}: the fresh database was compared with the copy as it was before that migration`],
    migrations,
  );
}
