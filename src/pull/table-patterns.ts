/**
 * Table patterns a pull is given (--exclude-table-data): each must name at least one table of the source,
 * checked before anything is changed, so a typo is an error instead of a silently copied table.
 */
import { findCached } from '../backups/cache.js';
import { matchesTable, namedEntries, tablesWithData } from '../backups/toc.js';
import { ConfigError } from '../errors.js';
import type { BackupSummary } from '../heroku/cli.js';
import type { PgTools } from '../pg/pg-tools.js';
import { closestName } from '../suggest.js';
import type { SourceFacts } from './sources/live.js';
import type { PullOptions } from './types.js';

/** A table of the source: one (schema, name), or every reading of a backup's ambiguous label (a name with spaces). */
export type SourceTableName = { candidates: ReadonlyArray<{ schema: string; name: string }> };

/** The patterns of `patterns` that name no table of `tables`. Pure. */
export function unmatchedPatterns(patterns: readonly string[], tables: readonly SourceTableName[]): string[] {
  return patterns.filter((p) => !tables.some((t) => t.candidates.some((c) => matchesTable(p, c.schema, c.name))));
}

/**
 * The table a pattern that matched nothing was probably meant to name: the closest of the tables'
 * qualified names (`schema.name`) and unqualified names, whichever is nearer. None for `*` patterns.
 */
export function suggestTable(pattern: string, tables: readonly SourceTableName[]): string | undefined {
  if (pattern.includes('*')) return undefined;
  const names = new Set<string>();
  for (const t of tables) for (const c of t.candidates) names.add(pattern.includes('.') ? `${c.schema}.${c.name}` : c.name);
  for (const t of tables) for (const c of t.candidates) names.add(pattern.includes('.') ? c.name : `${c.schema}.${c.name}`);
  return closestName(pattern, names);
}

/**
 * Refuse patterns of `flag` that name no table of the source (`where`: "production", "backup b012"…), in
 * one line with a did-you-mean for each. Exit 2, nothing changed.
 */
export function assertPatternsMatch(flag: string, patterns: readonly string[], tables: readonly SourceTableName[], where: string, rowless: readonly SourceTableName[] = []): void {
  const unmatched = unmatchedPatterns(patterns, tables);
  if (!unmatched.length) return;
  const described = unmatched.map((p) => {
    // A table the source has but whose rows live elsewhere (a partitioned table, in a backup's table of contents).
    const hollow = rowless.find((t) => t.candidates.some((c) => matchesTable(p, c.schema, c.name)));
    if (hollow) {
      const name = hollow.candidates[0]!.name;
      return `"${p}" (a table with no rows of its own, such as a partitioned table: name its partitions, for example "${name}_*")`;
    }
    const suggestion = suggestTable(p, tables);
    return `"${p}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`;
  });
  throw new ConfigError(`${flag} ${described.join(', ')}: ${unmatched.length === 1 ? 'it names' : 'they name'} no table of ${where}`, {
    hint: `give a table as name, schema.name or a pattern with *; ${where} has ${tables.length} table(s) with data; nothing was changed`,
  });
}

/**
 * Before anything is changed: every --exclude-table-data pattern names a table of the source (a typo
 * would otherwise copy the table's data). A live source is checked against its tables (read in
 * preflight); a backup against its own table of contents when it is in the cache, else as soon as that
 * arrives, before anything loads (`prepareBackupRestore`; a dry run checks production's tables instead,
 * when production answers). Returns a plan line when the check is left for later.
 */
export async function checkTablePatterns(
  pgTools: PgTools,
  options: Pick<PullOptions, 'source' | 'excludeTableData' | 'dryRun'>,
  known: { facts: SourceFacts; backup: BackupSummary | undefined; cache: string; archiveMajor: number },
): Promise<string | undefined> {
  const patterns = options.excludeTableData;
  if (!patterns.length) return undefined;
  const { source } = options;
  // A partitioned table's name stands for its partitions (the live copy excludes those), so it counts as matched.
  const live = (known.facts.tables ?? []).flatMap((t) => [{ candidates: [t] }, ...(t.partitionOf ?? []).map((parent) => ({ candidates: [parent] }))]);
  if (source.kind !== 'backup') {
    assertPatternsMatch(FLAG, patterns, live, source.kind === 'url' ? 'the source database' : `the live database of ${source.app}`);
    return undefined;
  }
  const cached = known.backup ? await findCached(known.cache, source.app, known.backup.id, known.backup.createdAt) : undefined;
  if (cached) {
    const toc = await pgTools.listArchive(cached.file, known.archiveMajor);
    assertPatternsMatch(FLAG, patterns, tablesWithData(toc), `backup ${cached.id} of ${source.app}`, namedEntries(toc, 'TABLE'));
    return undefined;
  }
  if (options.dryRun && known.facts.tables) {
    // As the backup will be checked: by its tables with rows (a backup's table of contents does not say which partitioned table a partition belongs to).
    const leaves = (known.facts.tables ?? []).map((t) => ({ candidates: [t] }));
    const parents = (known.facts.tables ?? []).flatMap((t) => (t.partitionOf ?? []).map((parent) => ({ candidates: [parent] })));
    assertPatternsMatch(FLAG, patterns, leaves, `the live database of ${source.app} (checked in place of the backup, which is not downloaded)`, parents);
    return `${FLAG}: checked against the live database of ${source.app}; the pull checks it against the backup's table of contents before anything loads`;
  }
  return `${FLAG}: checked against the backup's table of contents as soon as it arrives, before anything loads`;
}

const FLAG = '--exclude-table-data';
