/**
 * `drydock postdeploy`: the app.json `scripts.postdeploy` of a review app (see pipelines/postdeploy.ts).
 */
import { Option, type Command } from 'commander';

import { DEFAULT_SEED_FILE, describeSchema, postdeploy, type PostdeployResult } from '../pipelines/postdeploy.js';
import { DEFAULT_SCHEMA_FILE } from '../schema/dump.js';
import type { MigrateFlags } from '../settings.js';
import { migrateSettings } from './migrate.js';
import type { RunCommand } from './run.js';
import { checkLevelOptions, checkLevelsOf, type CheckLevelFlags } from './verify.js';

/** Flags of `drydock postdeploy`. */
export interface PostdeployFlags extends MigrateFlags, CheckLevelFlags {
  schema?: string | undefined;
  seed?: string | undefined;
  seedCommand?: string | undefined;
  command?: string | undefined;
  force?: boolean | undefined;
  /** --no-verify: false. */
  verify?: boolean | undefined;
}

function renderPostdeploy(result: PostdeployResult): string {
  const schema = describeSchema(result.schema);
  const seed = result.seed.source === 'none' ? 'no seeds' : `seeded from ${result.seed.detail}`;
  const verified = result.verify ? `, verified${result.verify.contract.checked ? ` against ${result.verify.contract.against}` : ''}${result.verify.warnings ? ` with ${result.verify.warnings} warning(s)` : ''}` : '';
  return `postdeploy: done: ${result.database} set up (${schema}; ${seed})${verified}`;
}

/** Register `drydock postdeploy`. */
export function registerPostdeploy(program: Command, run: RunCommand): void {
  const postdeployCommand = program
    .command('postdeploy')
    .description('review-app postdeploy (app.json): load the schema and seeds into an EMPTY database; refuses one with data')
    .addOption(new Option('--url <url>', 'database URL').env('DATABASE_URL'))
    .addOption(new Option('--dir <dir>', 'migrations folder: every migration when there is no schema file, else those newer than it').env('DRYDOCK_MIGRATIONS_DIR'))
    .addOption(new Option('--schema <file>', `schema file (default ${DEFAULT_SCHEMA_FILE})`).env('DRYDOCK_SCHEMA_FILE'))
    .option('--seed <file>', `seed SQL file (default ${DEFAULT_SEED_FILE}, skipped when missing)`)
    .option('--command <command>', "set the schema up with the app's own command instead of the schema file and migrations (e.g. \"bin/rails db:schema:load\")")
    .option('--seed-command <command>', 'run this to seed instead (e.g. "bin/rails db:seed")')
    .option('--force', 'load even though the database already has tables or a schema version')
    .option('--no-verify', 'skip verifying the result (the schema contract and what migrations leave half-done, as `drydock verify`)');
  checkLevelOptions(postdeployCommand)
    .action(async (opts: PostdeployFlags, cmd: Command) => {
      await run(async (deps) => {
        const verify = opts.verify === false ? undefined : checkLevelsOf(opts, deps.project().verifyChecks);
        const result = await postdeploy(deps, migrateSettings(deps, opts, cmd), { ...opts, schemaRequired: cmd.getOptionValueSource('schema') === 'cli', verify });
        deps.output.result(result, renderPostdeploy);
      });
    });
}
