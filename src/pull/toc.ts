/**
 * Archive tables of contents (pg_restore --list output), filtered before a restore with -L.
 */
import type { InstalledExtension } from '../pg/server-facts.js';

/** True when `pattern` (`name`, `schema.name`, `*` wildcards) names the table. */
export function matchesTable(pattern: string, schema: string, name: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return pattern.includes('.') ? re.test(`${schema}.${name}`) : re.test(name);
}

/**
 * Drop the entries drydock creates itself before a restore: extensions (and their comments), and the
 * schemas that hold them (Heroku's heroku_ext), which would otherwise fail with "already exists".
 */
export function withoutPrecreated(toc: string, schemas: ReadonlySet<string>): string {
  return toc
    .split('\n')
    .filter((line) => {
      if (/^\d+; \d+ \d+ EXTENSION - /.test(line)) return false;
      if (/^\d+; \d+ \d+ COMMENT - EXTENSION /.test(line)) return false;
      const schema = /^\d+; \d+ \d+ SCHEMA - (\S+) /.exec(line)?.[1];
      return !(schema && schemas.has(schema));
    })
    .join('\n');
}

/** Drop TABLE DATA entries of tables whose data is excluded (--exclude-table-data). */
export function withoutTableData(toc: string, patterns: readonly string[]): string {
  if (!patterns.length) return toc;
  return toc
    .split('\n')
    .filter((line) => {
      const m = /^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) /.exec(line);
      return !(m && patterns.some((p) => matchesTable(p, m[1]!, m[2]!)));
    })
    .join('\n');
}

/** Tables with data in the archive, as schema.name. */
export function tablesWithData(toc: string): string[] {
  return [...toc.matchAll(/^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) /gm)].map((m) => `${m[1]}.${m[2]}`);
}

/** Extensions named in the archive (when production itself cannot be asked). */
export function extensionsInToc(toc: string): InstalledExtension[] {
  return [...toc.matchAll(/^\d+; \d+ \d+ EXTENSION - (\S+) /gm)].map((m) => ({ name: m[1]!, version: '', schema: schemaOfExtension(toc, m[1]!) }));
}

/** pg_restore --list does not show an extension's schema; assume Heroku's layout when heroku_ext exists. */
function schemaOfExtension(toc: string, _name: string): string {
  return /^\d+; \d+ \d+ SCHEMA - heroku_ext /m.test(toc) ? 'heroku_ext' : 'public';
}
