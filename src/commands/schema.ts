/**
 * `drydock schema dump` and `drydock schema load`: the schema file (db/schema.sql) that review apps
 * and fresh databases start from, with the applied migration versions at its end.
 */
import { Option, type Command } from 'commander';

import { schemaDump, schemaLoad, type SchemaDumpResult } from '../pipelines/schema.js';
import { DEFAULT_SCHEMA_FILE } from '../schema/dump.js';
import type { LoadSchemaResult } from '../schema/load.js';
import { resolveDatabaseUrl } from '../settings.js';
import type { RunCommand } from './run.js';

/** Flags of `drydock schema dump`. */
export interface SchemaDumpFlags {
  url?: string | undefined;
  /** The file to write, or "-" for stdout. */
  output?: string | undefined;
}

/** Flags of `drydock schema load`. */
export interface SchemaLoadFlags {
  url?: string | undefined;
  file?: string | undefined;
  force?: boolean | undefined;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** "wrote db/schema.sql: 3 tables, 2 migration versions (2.4 kB)". */
export function renderSchemaDump(result: SchemaDumpResult): string {
  const size = result.bytes < 1000 ? `${result.bytes} bytes` : `${(result.bytes / 1000).toFixed(1)} kB`;
  return `wrote ${result.file}: ${plural(result.tables, 'table')}, ${plural(result.versions, 'migration version')} (${size})`;
}

/** "loaded db/schema.sql into user@host:5432/db (2 migration versions)". */
export function renderSchemaLoad(result: LoadSchemaResult): string {
  return `loaded ${result.file} into ${result.database} (${plural(result.versions.length, 'migration version')})`;
}

/** Register `drydock schema dump|load` on the program. */
export function registerSchema(program: Command, run: RunCommand): void {
  const schema = program
    .command('schema')
    .description('dump a database schema to db/schema.sql, or load that file into an empty database');

  schema
    .command('dump')
    .description('write the schema and the applied migration versions to a file (pg_dump --schema-only, normalised)')
    .addOption(new Option('--url <url>', 'database to dump').env('DATABASE_URL'))
    .option('-o, --output <file>', 'file to write, or - for stdout', DEFAULT_SCHEMA_FILE)
    .addHelpText('after', '\nExamples:\n  drydock schema dump\n  drydock schema dump --url "$STAGING_DATABASE_URL" -o - | less')
    .action(async (opts: SchemaDumpFlags, cmd: Command) => {
      await run(async (deps) => {
        const url = resolveDatabaseUrl(opts.url, deps.settings.libpq, cmd.getOptionValueSource('url'));
        const result = await schemaDump(deps, url, opts.output?.trim() || DEFAULT_SCHEMA_FILE);
        if ('text' in result) {
          if (deps.output.mode === 'json') deps.output.result({ schema: result.text }, (r) => r.schema);
          else deps.output.raw(result.text);
          return;
        }
        deps.output.result(result, renderSchemaDump);
      });
    });

  schema
    .command('load')
    .description('load a schema file into an empty database (psql, one transaction), then check its migration versions')
    .addOption(new Option('--url <url>', 'database to load into').env('DATABASE_URL'))
    .option('-f, --file <file>', 'schema file to load', DEFAULT_SCHEMA_FILE)
    .option('--force', 'load even though the database already has tables')
    .addHelpText('after', '\nExamples:\n  drydock schema load --url postgres://localhost:5432/myapp_test\n  drydock schema load -f db/schema.sql')
    .action(async (opts: SchemaLoadFlags, cmd: Command) => {
      await run(async (deps) => {
        const url = resolveDatabaseUrl(opts.url, deps.settings.libpq, cmd.getOptionValueSource('url'));
        const result = await schemaLoad(deps, url, { file: opts.file, force: opts.force });
        if (result.existingTables.length > 0) {
          deps.output.warn(`${result.database} already had ${plural(result.existingTables.length, 'table')}; loaded anyway (--force)`);
        }
        deps.output.result(result, renderSchemaLoad);
      });
    });
}
