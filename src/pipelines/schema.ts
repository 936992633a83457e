/**
 * `drydock schema dump|load`: the schema file (db/schema.sql) that review apps and fresh databases
 * start from, with the applied migration versions at its end.
 */
import type { Deps } from '../deps.js';
import type { DbUrl } from '../pg/url.js';
import { dumpSchema, summarizeSchema, writeFileAtomic, type SchemaSummary } from '../schema/dump.js';
import { loadSchema, type LoadSchemaResult } from '../schema/load.js';

/** The --json shape of `schema dump` to a file. */
export interface SchemaDumpResult extends SchemaSummary {
  file: string;
}

/** Dump the schema of `url`: the text for "-", else written atomically to `file`. */
export async function schemaDump(deps: Pick<Deps, 'pgTools'>, url: DbUrl, file: string): Promise<{ text: string } | SchemaDumpResult> {
  const text = await dumpSchema(deps.pgTools, url);
  if (file === '-') return { text };
  await writeFileAtomic(file, text);
  return { file, ...summarizeSchema(text) };
}

/** Load a schema file into `url` (an empty database unless `force`). */
export async function schemaLoad(deps: Pick<Deps, 'pgTools'>, url: DbUrl, options: { file?: string | undefined; force?: boolean | undefined }): Promise<LoadSchemaResult> {
  return loadSchema(deps.pgTools, url, options);
}
