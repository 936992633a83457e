/**
 * `drydock postdeploy`: the app.json `scripts.postdeploy` of a review app.
 *
 * Sets up an empty database: load the schema file (written by `drydock schema dump`), or run every
 * migration from zero when there is none, then seed. It refuses, changing nothing, when the database
 * already holds tables or a non-zero schema version (unless --force), and it refuses to run in a
 * release-phase dyno: postdeploy must never touch a production database.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import type { Command } from 'commander';

import type { Deps } from '../deps.js';
import { ConfigError, DrydockError } from '../errors.js';
import { detectSchemaVersion } from '../migrate/detect.js';
import { withClient } from '../pg/client.js';
import { PgTools } from '../pg/pg-tools.js';
import { describeDb } from '../pg/url.js';
import { runMigrations } from '../pipelines/migrate.js';
import { listUserTables } from '../pg/queries/catalog.js';
import { DEFAULT_SCHEMA_FILE } from '../schema/dump.js';
import { loadSchema } from '../schema/load.js';
import { resolveMigrateSetup, type MigrateFlags } from './migrate.js';
import { runAppCommand } from './shared.js';

/** Flags of `drydock postdeploy`. */
export interface PostdeployFlags extends MigrateFlags {
  schema?: string | undefined;
  seed?: string | undefined;
  seedCommand?: string | undefined;
  force?: boolean | undefined;
}

/** What postdeploy did. */
export interface PostdeployResult {
  database: string;
  schema: { source: 'schema-file' | 'migrations'; file?: string | undefined; versions: number };
  seed: { source: 'file' | 'command' | 'none'; detail?: string | undefined };
}

/** Default seed file. */
export const DEFAULT_SEED_FILE = 'db/seeds.sql';

/** Set up an empty review-app database. */
export async function postdeploy(deps: Deps, flags: PostdeployFlags): Promise<PostdeployResult> {
  const env = deps.config.env;
  const dyno = env.DYNO ?? '';
  if (/^release\./.test(dyno)) {
    throw new ConfigError(`refusing to run postdeploy in a release-phase dyno (${dyno})`, {
      hint: 'postdeploy belongs in app.json scripts.postdeploy; the Procfile release line runs `drydock release`',
    });
  }
  const setup = resolveMigrateSetup(deps, flags);
  const url = setup.url!;
  const database = describeDb(url);
  const { tables, version } = await withClient(url, async (client) => ({ tables: await listUserTables(client), version: await detectSchemaVersion(client) }), {
    retryForMs: 30_000,
    env: env as NodeJS.ProcessEnv,
  });
  if ((tables.length || version.version !== '0') && !flags.force) {
    const what = version.version !== '0' ? `schema version ${version.version} (${version.tool})` : `${tables.length} table(s): ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''}`;
    throw new DrydockError(`refusing to set up ${database}: it already holds ${what}`, {
      hint: 'postdeploy only sets up an empty review-app database and changed nothing; pass --force to load over existing objects',
    });
  }

  const schemaFile = resolve(flags.schema ?? env.DRYDOCK_SCHEMA_FILE ?? setup.project.schemaFile ?? DEFAULT_SCHEMA_FILE);
  let schema: PostdeployResult['schema'];
  if (existsSync(schemaFile)) {
    deps.output.info(`postdeploy: loading ${schemaFile} into ${database}`);
    const loaded = await loadSchema(deps, { url, file: schemaFile, force: flags.force });
    schema = { source: 'schema-file', file: schemaFile, versions: loaded.versions.length };
  } else {
    if (flags.schema) throw new ConfigError(`schema file ${schemaFile} not found`, { hint: 'write it with `drydock schema dump`, or leave --schema out to run every migration' });
    deps.output.info(`postdeploy: no ${schemaFile}; running every migration from zero`);
    const ran = await runMigrations(deps, { url, dir: setup.dir, settings: setup.settings, action: { direction: 'up' }, connectRetryMs: 30_000 });
    schema = { source: 'migrations', versions: ran.ran.length };
  }

  const seedCommand = flags.seedCommand ?? setup.project.seedCommand;
  const seedFile = resolve(flags.seed ?? setup.project.seedFile ?? DEFAULT_SEED_FILE);
  let seed: PostdeployResult['seed'];
  if (seedCommand) {
    deps.output.info(`postdeploy: seeding with: ${seedCommand}`);
    await runAppCommand(deps, seedCommand, 'seed command', url.href);
    seed = { source: 'command', detail: seedCommand };
  } else if (existsSync(seedFile)) {
    deps.output.info(`postdeploy: seeding from ${seedFile}`);
    await PgTools.fromDeps(deps).psqlFile(url, seedFile, { singleTransaction: true });
    seed = { source: 'file', detail: seedFile };
  } else {
    if (flags.seed) throw new ConfigError(`seed file ${seedFile} not found`, { hint: 'create it, or leave --seed out to skip seeding' });
    seed = { source: 'none' };
  }
  return { database, schema, seed };
}

function renderPostdeploy(result: PostdeployResult): string {
  const schema = result.schema.source === 'schema-file' ? `loaded ${result.schema.file}` : `ran ${result.schema.versions} migration(s)`;
  const seed = result.seed.source === 'none' ? 'no seeds' : `seeded from ${result.seed.detail}`;
  return `postdeploy: done: ${result.database} set up (${schema}; ${seed})`;
}

/** Register `drydock postdeploy`. */
export function registerPostdeploy(program: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  program
    .command('postdeploy')
    .description('review-app postdeploy (app.json): load the schema and seeds into an EMPTY database; refuses one with data')
    .option('--url <url>', 'database URL (default: DATABASE_URL)')
    .option('--dir <dir>', 'migrations folder (used when there is no schema file)')
    .option('--schema <file>', `schema file (default ${DEFAULT_SCHEMA_FILE})`)
    .option('--seed <file>', `seed SQL file (default ${DEFAULT_SEED_FILE}, skipped when missing)`)
    .option('--seed-command <command>', 'run this to seed instead (e.g. "bin/rails db:seed")')
    .option('--force', 'load even though the database already has tables or a schema version')
    .action(async (opts: PostdeployFlags) => {
      await run(async (deps) => {
        const result = await postdeploy(deps, opts);
        deps.output.result(result, renderPostdeploy);
      });
    });
}
