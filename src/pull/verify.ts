/**
 * Before a copy is swapped in: it holds every table the source had, the same schema version, and (for
 * live copies) about the rows copied. A failure here leaves the working database untouched.
 */
import type pg from 'pg';

import { DrydockError } from '../errors.js';
import { detectSchemaVersion } from '../migrate/detect.js';
import { quoteQualified } from '../pg/ident.js';
import { listRelations } from '../pg/queries/catalog.js';
import type { TocTable } from '../backups/toc.js';
import type { LiveCopyResult } from './copy-live.js';
import { compareArchiveFacts, type ArchiveFacts } from './archive-facts.js';
import { compareFacts } from './fidelity.js';
import { readCatalogFacts } from '../pg/queries/facts.js';

/** What the copy must hold. */
export interface CopyExpectation {
  /** The tables the source had (a backup's TOC may leave a name with spaces ambiguous: any candidate will do). */
  tables: TocTable[];
  /** The live copy's own account (schema version and rows per table), when the copy was live. */
  live?: LiveCopyResult | undefined;
  /** What the backup's archive says the copy holds, when the copy came from a backup. */
  archive?: ArchiveFacts | undefined;
}

/** What verification found. */
export interface CopyVerification {
  schemaVersion: string;
  tables: number;
  /** Rows copied and counted (live copies). */
  rows: number | undefined;
}

/**
 * ANALYZE what the copy did not analyze yet, then check the copy against the expectation. A live copy
 * whose table holds far fewer or more rows than were copied fails (estimates, so only over 1000 rows).
 */
export async function verifyCopy(client: pg.ClientBase, expected: CopyExpectation, analyzed: ReadonlySet<string>): Promise<CopyVerification> {
  let relations = await listRelations(client);
  const rest = relations.filter((r) => !analyzed.has(`${r.schema}.${r.name}`)).map((r) => quoteQualified(r.schema, r.name));
  if (rest.length) {
    await client.query(`ANALYZE ${rest.join(', ')}`);
    relations = await listRelations(client);
  }
  const have = new Set(relations.filter((r) => r.kind !== 'm').map((r) => `${r.schema}.${r.name}`));
  const missing = expected.tables.filter((t) => !t.candidates.some((c) => have.has(`${c.schema}.${c.name}`))).map((t) => t.label);
  if (missing.length) throw new DrydockError(`the restored copy lacks ${missing.length} table(s): ${missing.slice(0, 5).join(', ')}`, { hint: 'the working database was not touched; run `drydock doctor` and try again' });
  const schemaVersion = (await detectSchemaVersion(client)).version;
  const live = expected.live;
  if (live && schemaVersion !== live.schemaVersion) {
    throw new DrydockError(`schema version differs: production ${live.schemaVersion}, copy ${schemaVersion}`, { hint: 'the working database was not touched' });
  }
  if (expected.archive) failOnDifferences('the backup', compareArchiveFacts(expected.archive, await readCatalogFacts(client)));
  if (live) {
    // Fidelity: the copy's catalog facts equal production's in the copy's snapshot.
    const notValidConstraints = new Set(live.notValidForeignKeys.map((fk) => `constraint ${fk.name} on ${fk.table}`));
    failOnDifferences('production', compareFacts(live.sourceFacts, await readCatalogFacts(client), { notValidConstraints }));
    const estimate = new Map(relations.filter((r) => r.kind === 'r').map((r) => [`${r.schema}.${r.name}`, r.estimate]));
    for (const t of live.tables) {
      const local = estimate.get(`${t.schema}.${t.name}`) ?? 0;
      if (!t.excluded && t.rowsCopied > 1000 && Math.abs(local - t.rowsCopied) > t.rowsCopied * 0.5) {
        throw new DrydockError(`${t.schema}.${t.name}: ${t.rowsCopied} rows copied but about ${local} present`, { hint: 'the working database was not touched' });
      }
    }
  }
  return { schemaVersion, tables: expected.tables.length, rows: live ? live.tables.reduce((a, t) => a + t.rowsCopied, 0) : undefined };
}

/** A copy that is not faithful fails before the swap, naming what differs. */
function failOnDifferences(source: string, differences: string[]): void {
  if (!differences.length) return;
  throw new DrydockError(`the copy differs from ${source} in ${differences.length} way(s): ${differences.slice(0, 5).join('; ')}${differences.length > 5 ? `; and ${differences.length - 5} more` : ''}`, {
    hint: 'the working database was not touched; please report this with the output of `drydock pull --verbose` (it is a drydock bug)',
  });
}
