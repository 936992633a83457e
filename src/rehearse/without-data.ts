/**
 * Tables copied without their rows (`drydock pull --exclude-table-data`): what a migration did to them
 * took the time an empty table takes, so its timings, blocking and rewrites there say nothing about
 * production. Pure: which tables those are, and how a migration's report says so.
 */
import { matchesTable } from '../backups/toc.js';
import type { MigrationReport } from './report.js';
import type { ProbeWait } from './watch.js';

/** A table of the copy, named as rehearse names relations (`schema.name`, quoted where needed). */
export interface CopyTable {
  name: string;
  schema: string;
  relname: string;
  /** The partitioned tables it is a partition of, nearest first (none for a plain table). */
  ancestors: ReadonlyArray<{ schema: string; relname: string }>;
}

/**
 * The tables of the copy whose rows were not copied: those a pattern names, and the partitions of a
 * partitioned table a pattern names (a live pull excludes those), ordered by name.
 */
export function tablesWithoutData(patterns: readonly string[], tables: readonly CopyTable[]): string[] {
  if (!patterns.length) return [];
  const named = (schema: string, relname: string): boolean => patterns.some((p) => matchesTable(p, schema, relname));
  return tables
    .filter((t) => named(t.schema, t.relname) || t.ancestors.some((a) => named(a.schema, a.relname)))
    .map((t) => t.name)
    .sort();
}

/** The sentence each such table gets in the reports. */
export function notRepresentativeNote(table: string): string {
  return `table ${table} was copied without data: its timings are not representative`;
}

/** The tables of the copy, and those of them copied without rows. */
export interface CopyTables {
  tables: ReadonlySet<string>;
  withoutData: ReadonlySet<string>;
}

/** The tables a migration's measures come from: those it locked, rewrote, or whose probes waited (indexes and new relations aside). */
function tablesMeasured(report: MigrationReport, waits: readonly ProbeWait[], copy: CopyTables): string[] {
  const names = new Set([
    ...report.locks.map((l) => l.relation),
    ...report.rewrites.map((r) => r.relation),
    ...waits.map((w) => w.table),
    ...[report.blockedTables.reads, report.blockedTables.writes].filter((t): t is string => Boolean(t)),
  ]);
  return [...names].filter((t) => copy.tables.has(t)).sort();
}

/**
 * `report` with `notRepresentative`: the tables without data among those its measures come from. A
 * verdict that rests only on such tables says so in its reason: `blocking` when no probe of a table
 * with data waited `thresholdMs`; `safe` or `fails` when every table measured is one without data.
 */
export function markWithoutData(report: MigrationReport, waits: readonly ProbeWait[], copy: CopyTables, thresholdMs: number): MigrationReport {
  const measured = tablesMeasured(report, waits, copy);
  const empty = measured.filter((t) => copy.withoutData.has(t));
  if (!empty.length) return { ...report, notRepresentative: [] };
  const only = `computed only from ${empty.join(', ')}, copied without data: not representative`;
  let reason = report.reason;
  if (report.verdict === 'blocking') {
    const longestWithData = Math.max(0, ...waits.filter((w) => !copy.withoutData.has(w.table)).map((w) => w.endMs - w.startMs));
    if (longestWithData < thresholdMs) reason = `${reason}; ${only}`;
  } else if ((report.verdict === 'safe' || report.verdict === 'fails') && empty.length === measured.length) {
    reason = `${reason} (${only})`;
  }
  return { ...report, reason, notRepresentative: empty };
}
