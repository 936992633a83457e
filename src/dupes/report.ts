/**
 * The report of `drydock dupes`: its JSON shape and how a person reads it. Pure.
 */
import { formatDuration } from '../format.js';
import type { OnDelete, TableName } from './types.js';

/** One member row of a shown group. */
export interface GroupMember {
  /** The row's primary key. */
  key: Record<string, unknown>;
  survives: boolean;
  /** The values the rule compared, in its order. */
  why: unknown[];
  /** It ties for first with the survivor: the rule cannot choose. */
  tied: boolean;
}

/** One of the largest groups. */
export interface GroupSample {
  /** The key's values. */
  key: unknown[];
  rows: number;
  members: GroupMember[];
  /** Why the survivor survives, in words. */
  reason: string;
}

/** One reference in the report. */
export interface ReferenceReport {
  table: string;
  columns: string[];
  references: string;
  refColumns: string[];
  level: number;
  foreignKey: string | null;
  onDelete: OnDelete | null;
  /** Unique key of the referencing table that re-pointing can collide on (its rows are merged). */
  mergeKey: string[] | null;
  /** For a column without a foreign key: what would happen, and the SQL that adds one. */
  note?: string | undefined;
  suggestion?: string[] | undefined;
}

/** A migration --generate wrote. */
export interface GeneratedFile {
  file: string;
  summary: string;
}

/** What `drydock dupes` found (the --json document). */
export interface DupesReport {
  database: string;
  table: string;
  key: string[];
  where: string | null;
  nullsNotDistinct: boolean;
  keep: { rule: string; description: string };
  /** Groups of rows sharing a key (as the unique index would see them). */
  groups: number;
  /** Rows to remove: every row of a group but its survivor. */
  surplus: number;
  rowsInGroups: number;
  /** Groups the rule cannot resolve (two rows tie for first); null when the rule always resolves. */
  unresolved: number | null;
  largest: GroupSample[];
  references: ReferenceReport[];
  /** Seconds the report's queries took. */
  seconds: number;
  generated: GeneratedFile[];
  /** The unique index the migrations build. */
  indexName: string;
}

function label(t: TableName): string {
  return t.schema === 'public' ? t.name : `${t.schema}.${t.name}`;
}
export { label as tableDisplay };

function show(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return JSON.stringify(v);
  return JSON.stringify(v);
}

function keyOf(k: Record<string, unknown>): string {
  const values = Object.values(k);
  return values.length === 1 ? String(values[0]) : `(${values.map(String).join(', ')})`;
}

/** The report as a person reads it. */
export function renderDupes(r: DupesReport): string {
  const lines: string[] = [];
  const keyText = `(${r.key.join(', ')})${r.where ? ` WHERE ${r.where}` : ''}`;
  if (r.groups === 0) {
    lines.push(`No duplicates of ${keyText} in ${r.table} (${r.database}); NULLs ${r.nullsNotDistinct ? 'collide' : 'never collide'}. (${formatDuration(r.seconds * 1000)})`);
  } else {
    lines.push(`${r.table} ${keyText}: ${r.groups} group(s) of duplicates, ${r.surplus} surplus row(s) to remove (${r.rowsInGroups} rows in groups; NULLs ${r.nullsNotDistinct ? 'collide' : 'never collide'}). (${formatDuration(r.seconds * 1000)})`);
    lines.push(`Survivor: ${r.keep.description}.`);
    if (r.unresolved) lines.push(`UNRESOLVED: ${r.unresolved} group(s) have rows that tie for first under the rule: add a tie-breaker to --keep.`);
    lines.push('', `Largest groups (${r.largest.length} of ${r.groups}):`);
    for (const g of r.largest) {
      lines.push(`  ${g.key.map(show).join(', ')}: ${g.rows} rows; ${g.reason}`);
      for (const m of g.members.slice(0, 5)) {
        lines.push(`    ${m.survives ? 'keep  ' : m.tied ? 'TIED  ' : 'remove'} ${keyOf(m.key)}${m.why.length ? `  (${m.why.map(show).join(', ')})` : ''}`);
      }
      if (g.members.length > 5) lines.push(`    … ${g.members.length - 5} more`);
    }
  }
  lines.push('', r.references.length ? 'References:' : `References: none (no foreign key points at ${r.table}, no column looks like one)`);
  for (const ref of r.references) {
    const pad = '  '.repeat(ref.level);
    const fk = ref.foreignKey ? `foreign key ${ref.foreignKey}, ON DELETE ${(ref.onDelete ?? 'no action').toUpperCase()}` : 'NO FOREIGN KEY';
    lines.push(`${pad}${ref.table}(${ref.columns.join(', ')}) -> ${ref.references}(${ref.refColumns.join(', ')})  [${fk}]${ref.mergeKey ? `  unique (${ref.mergeKey.join(', ')}): colliding rows are merged` : ''}`);
    if (ref.note) lines.push(`${pad}  ${ref.note}`);
    for (const s of ref.suggestion ?? []) lines.push(`${pad}    ${s}`);
  }
  if (r.generated.length) {
    lines.push('', 'Wrote:');
    for (const f of r.generated) lines.push(`  ${f.file}  (${f.summary})`);
    lines.push('', 'Next: review them, `drydock rehearse` on the production copy, then release (drydock migrate up runs them).');
  } else if (r.groups > 0) {
    const key = r.key.join(', ');
    const args = [r.table, /^[A-Za-z0-9_.,]+$/.test(key) ? key : JSON.stringify(key), ...(r.where ? ['--where', JSON.stringify(r.where)] : []), ...(r.nullsNotDistinct ? ['--nulls-not-distinct'] : [])];
    lines.push('', `Next: drydock dupes ${args.join(' ')} --generate ${`dedupe_${r.indexName.replace(/_key$/, '')}`.slice(0, 60)} writes the migrations that fix them and build ${r.indexName}.`);
  }
  return lines.join('\n');
}
