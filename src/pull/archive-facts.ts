/**
 * What a backup archive says its restore must hold, for the facts pg_restore --list can tell: populated
 * materialized views, indexes, and every sequence's state (read from the archive's SEQUENCE SET entries,
 * without reading any table data). Compared with the copy before the swap.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { namedEntries, tocWith, type TocTable } from '../backups/toc.js';
import { parseQualifiedName } from '../pg/ident.js';
import type { PgTools } from '../pg/pg-tools.js';
import { factKey, type CatalogFacts } from '../pg/queries/facts.js';

/** What the archive holds. */
export interface ArchiveFacts {
  /** Materialized views the archive refreshes (populated in production). */
  matviews: TocTable[];
  /** Indexes (those behind keys are constraints, not listed). */
  indexes: TocTable[];
  sequences: Array<{ schema: string; name: string; state: string }>;
}

/** `SELECT pg_catalog.setval('app."order items_id_seq"', 50, false);` → the sequence and `50 false`. Pure. */
export function parseSetval(line: string): { schema: string; name: string; state: string } | undefined {
  const m = /^SELECT pg_catalog\.setval\('((?:[^']|'')*)', (-?\d+), (true|false)\);$/.exec(line.trim());
  if (!m) return undefined;
  const name = parseQualifiedName(m[1]!.replace(/''/g, "'"));
  return name ? { schema: name.schema, name: name.name, state: `${m[2]} ${m[3]}` } : undefined;
}

/** Read the archive's facts (the sequences' values come from its SEQUENCE SET entries only). */
export async function readArchiveFacts(pgTools: PgTools, archive: string, archiveMajor: number, toc: string): Promise<ArchiveFacts> {
  const facts: ArchiveFacts = { matviews: namedEntries(toc, 'MATERIALIZED VIEW DATA'), indexes: namedEntries(toc, 'INDEX'), sequences: [] };
  const list = tocWith(toc, (e) => e.desc.startsWith('SEQUENCE SET '));
  if (!/^\d+;/m.test(list)) return facts;
  const work = await mkdtemp(join(tmpdir(), 'drydock-seq-'));
  try {
    const file = join(work, 'sequences.list');
    await writeFile(file, list);
    const sql = await pgTools.archiveSql(archive, { archiveMajor, useList: file });
    for (const line of sql.split('\n')) {
      const seq = parseSetval(line);
      if (seq) facts.sequences.push(seq);
    }
    return facts;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** What differs between the archive and the copy (empty: faithful). Pure. */
export function compareArchiveFacts(archive: ArchiveFacts, copy: CatalogFacts): string[] {
  const differences: string[] = [];
  for (const m of archive.matviews) {
    if (!m.candidates.some((c) => copy.matviews.get(factKey(c.schema, c.name))?.populated)) differences.push(`materialized view ${m.label} is populated in the backup, not in the copy`);
  }
  for (const i of archive.indexes) {
    if (!i.candidates.some((c) => copy.indexes.get(factKey(c.schema, c.name))?.valid)) differences.push(`index ${i.label} is missing or INVALID in the copy`);
  }
  for (const s of archive.sequences) {
    const got = copy.sequences.get(factKey(s.schema, s.name));
    if (got?.state !== s.state) differences.push(`sequence ${s.schema}.${s.name}: last_value/is_called ${s.state} in the backup, ${got?.state ?? 'missing'} in the copy`);
  }
  return differences;
}
