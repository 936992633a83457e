/**
 * Extensions (and the schemas holding them, such as Heroku's heroku_ext) created in a scratch
 * database before a restore, so the restore does not fail on them.
 */
import { DrydockError } from '../errors.js';
import { withClient } from '../pg/client.js';
import { quoteLiteral, quoteQualified } from '../pg/ident.js';
import { readAvailableExtensions, type InstalledExtension } from '../pg/queries/server-facts.js';
import type { DbUrl } from '../pg/url.js';

/** The schemas drydock creates for `extensions` (not public or pg_catalog): skipped in the restore's TOC. */
export function precreatedSchemas(extensions: readonly InstalledExtension[]): Set<string> {
  return new Set(extensions.map((e) => e.schema).filter((s) => s !== 'public' && s !== 'pg_catalog'));
}

/**
 * Check every extension is installable locally, then create the schemas and extensions in `url`, each at
 * production's version where this server ships it (`onWarning` names both versions where it does not).
 */
export async function prepareExtensions(url: DbUrl, extensions: readonly InstalledExtension[], onWarning: (message: string) => void = () => undefined): Promise<void> {
  await withClient(url, async (client) => {
    const versions = new Map((await readAvailableExtensions(client)).map((e) => [e.name, e.versions]));
    const missing = extensions.filter((e) => e.name !== 'plpgsql' && !versions.has(e.name));
    if (missing.length) {
      throw new DrydockError(`the local server lacks extension(s) production uses: ${missing.map((e) => e.name).join(', ')}`, {
        hint: 'run `drydock doctor` for the install command; nothing was changed',
      });
    }
    for (const schema of precreatedSchemas(extensions)) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteQualified(schema)}`);
    for (const ext of extensions) {
      if (ext.name === 'plpgsql') continue;
      const shipped = versions.get(ext.name) ?? [];
      const atVersion = ext.version && shipped.includes(ext.version);
      if (ext.version && !atVersion) onWarning(`extension ${ext.name} is ${ext.version} in production, but this server ships ${shipped.join(', ') || 'no version'} of it: the copy has the default`);
      await client.query(`CREATE EXTENSION IF NOT EXISTS ${quoteQualified(ext.name)} WITH SCHEMA ${quoteQualified(ext.schema)}${atVersion ? ` VERSION ${quoteLiteral(ext.version)}` : ''}`);
    }
  });
}
