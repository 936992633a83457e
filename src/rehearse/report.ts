/**
 * The rehearsal's findings, decided and written: a verdict per migration (pure), the JSON document,
 * and the human text and Markdown reports.
 */
import { formatAge, formatDuration } from '../format.js';
import { dataCheckLines, type DataCheck, type DataChecksRun } from './data-check-report.js';
import type { FreshDifference } from './fresh.js';
import type { RelationWrite, StatementMeasure } from './recorder.js';
import { notRepresentativeNote } from './without-data.js';
import type { LockSpan, ProbeWait, WatchResult } from './watch.js';

export type Verdict = 'safe' | 'blocking' | 'fails' | 'irreversible';

/** Where the copy came from and how old its data is. */
export interface CopyInfo {
  database: string;
  snapshot: string;
  /** When the pristine snapshot was taken (ISO). */
  createdAt: string;
  ageHours: number;
  /** The data's age when the rehearsal began (the snapshot's time against the clock). */
  ageSeconds: number;
  source: string | undefined;
  /** How the working database was made a production copy: reset from the snapshot, or pulled (no snapshot, or one older than --max-age). */
  reset: 'snapshot' | 'pulled';
  resetSeconds: number;
  /** A pull: how long it took, what it copied, and why rehearse pulled. */
  pullSeconds?: number | undefined;
  pulledFrom?: string | undefined;
  pulledBecause?: string | undefined;
  /** The pull's --exclude-table-data patterns, and the copy's tables they name (they hold no rows). */
  excludeTableData?: string[] | undefined;
  withoutData?: string[] | undefined;
}

export interface LockHeld {
  relation: string;
  mode: string;
  /** From the first to the last time the lock poll saw it (so a lock held for less than one poll shows 0). */
  heldMs: number;
  /** Too brief for the poll to see: the mode its statement takes by Postgres's lock table, held for the statement (or its transaction). */
  inferred?: boolean | undefined;
}

export interface StatementReport {
  /** Line in the migration file (with --command: the statement's number among those the command ran). */
  line: number;
  sql: string;
  durationMs: number;
  rowCount: number | null;
  walBytes: number | undefined;
  /** Longest waits of the probes while this statement ran. */
  blockedMs: { reads: number; writes: number };
  rewrites: RelationWrite[];
  indexBuilds: RelationWrite[];
}

export interface MigrationReport {
  version: string;
  name: string;
  file: string;
  verdict: Verdict;
  /** Why this verdict, in a sentence. */
  reason: string;
  durationMs: number;
  statements: StatementReport[];
  locks: LockHeld[];
  /** The longest a probe read / write of a table waited during this migration, and on which table. */
  blockedMs: { reads: number; writes: number };
  blockedTables: { reads: string | undefined; writes: string | undefined };
  rewrites: RelationWrite[];
  indexBuilds: RelationWrite[];
  rowsChanged: number;
  walBytes: number;
  /** Temporary files the migration wrote (sorts, hashes that did not fit in work_mem / maintenance_work_mem); undefined when not counted (before PostgreSQL 15, or it failed). */
  tempFiles: { files: number; bytes: number } | undefined;
  leftBehind: { invalidIndexes: string[]; notValidConstraints: string[] };
  findings: Array<{ rule: string; severity: string; line: number; message: string }>;
  failure?: { message: string; details: string[] } | undefined;
  /** Tables this migration's measures come from that were copied without data: their timings are not representative. */
  notRepresentative?: string[] | undefined;
  /** Data checks run before the migration (src/rehearse/data-checks.ts), reconciled with the run (migrationReport always sets them). */
  dataChecks?: DataCheck[] | undefined;
  /** Their total time: not part of durationMs. */
  dataChecksMs?: number | undefined;
  /** It applied on the copy but fails on a fresh database built from the history (see FreshFailure). */
  freshFailure?: FreshFailure | undefined;
}

/** A pending migration that fails on a fresh database: Postgres's message, and what on the copy it relies on. */
export interface FreshFailure {
  message: string;
  details: string[];
  /** The differences naming what it relies on ("table public.x exists on the copy but not on a fresh database"). */
  reliesOn: string[];
}

/** The fresh-database comparison: a database built from zero as a review app would, against the copy after migrating. */
export type FreshDatabaseReport =
  | { checked: false; ok: null; differences: FreshDifference[]; note: string }
  | {
      checked: true;
      ok: boolean;
      /** "schema file + 2 migrations", "5 migrations from zero". */
      how: string;
      /** The schema file loaded first, when there is one. */
      schemaFile?: string | undefined;
      differences: FreshDifference[];
      /** Differences not counted, and what was compared with what when a migration failed. */
      notes: string[];
    };

export interface ReversibilityProblem {
  migration: string;
  object: string;
  problem: string;
}

export interface RehearsalReport {
  copy: CopyInfo;
  thresholdMs: number;
  migrations: MigrationReport[];
  /** Pending migrations not rehearsed because an earlier one failed. */
  notRun: Array<{ version: string; name: string }>;
  reversible: {
    /** null: not checked (--command without --rollback-command). */
    ok: boolean | null;
    /** Why it was not checked. */
    note?: string | undefined;
    /** Migrations rolled back and applied again, newest first. */
    checked: string[];
    /** Migrations not rolled back: irreversible ones, and every one before the newest irreversible one. */
    skipped: string[];
    problems: ReversibilityProblem[];
  };
  freshDatabase: FreshDatabaseReport;
  /** With --command: the framework's migration command drydock ran through its proxy. */
  command?: CommandRunInfo | undefined;
  /** The working database was reset to the pristine snapshot afterwards (false with --keep). */
  resetAfterwards: boolean;
  exitCode: 0 | 1;
}

/** `--command`: what drydock ran and recorded through its protocol proxy. */
export interface CommandRunInfo {
  command: string;
  rollbackCommand: string | undefined;
  exitCode: number;
  /** The framework whose ledger rows split the statements into migrations; undefined: none recognised (one report for the whole command). */
  framework: string | undefined;
  /** Sessions the command opened. */
  connections: number;
  /** Statements recorded, and how many of them were the framework's own bookkeeping or session control. */
  statements: number;
  bookkeeping: number;
  /** Streams the proxy forwarded without recording them. */
  problems: string[];
}

/** Measurements of one migration, before a verdict. */
export interface MigrationMeasurements {
  version: string;
  name: string;
  file: string;
  irreversible: boolean;
  durationMs: number;
  statements: StatementMeasure[];
  watch: WatchResult;
  leftBehind: { invalidIndexes: string[]; notValidConstraints: string[] };
  tempFiles?: { files: number; bytes: number } | undefined;
  findings: MigrationReport['findings'];
  failure?: { message: string; details: string[] } | undefined;
  /** The data checks run before it, reconciled with the run (reconcileDataChecks). */
  dataChecks?: DataChecksRun | undefined;
  /** The data check that predicted the failure, as a sentence: the `fails` reason cites it. */
  failureCause?: string | undefined;
}

/** The longest wait of each kind, and its table, among `waits` (clipped to [fromMs, toMs] when given). */
export function longestWaits(waits: readonly ProbeWait[], fromMs = -Infinity, toMs = Infinity): { reads: number; writes: number; readTable: string | undefined; writeTable: string | undefined } {
  const best = { reads: 0, writes: 0, readTable: undefined as string | undefined, writeTable: undefined as string | undefined };
  for (const w of waits) {
    const ms = Math.min(w.endMs, toMs) - Math.max(w.startMs, fromMs);
    if (ms <= 0) continue;
    if (w.kind === 'read' && ms > best.reads) Object.assign(best, { reads: ms, readTable: w.table });
    if (w.kind === 'write' && ms > best.writes) Object.assign(best, { writes: ms, writeTable: w.table });
  }
  return best;
}

/** A lock span as reported. */
export function lockHeld(span: LockSpan): LockHeld {
  return { relation: span.relation, mode: span.mode, heldMs: Math.round(span.lastMs - span.firstMs), ...(span.inferred ? { inferred: true } : {}) };
}

/**
 * The verdict: `fails` when it failed on the copy's data or on a fresh database; else `blocking` when a
 * probe read or write waited at least `thresholdMs`; else `irreversible` when its down section says so;
 * else `safe`.
 */
export function decideVerdict(m: Pick<MigrationMeasurements, 'failure' | 'irreversible' | 'failureCause'> & { freshFailure?: FreshFailure | undefined }, blocked: { reads: number; writes: number; readTable?: string | undefined; writeTable?: string | undefined }, thresholdMs: number): { verdict: Verdict; reason: string } {
  if (m.failure) return { verdict: 'fails', reason: `it fails on the copy's data: ${m.failureCause ?? m.failure.message}` };
  if (m.freshFailure) return { verdict: 'fails', reason: `it fails on a fresh database: ${m.freshFailure.message}${m.freshFailure.reliesOn.length ? ` (${m.freshFailure.reliesOn.join('; ')})` : ''}` };
  const worst = blocked.writes >= blocked.reads ? { what: 'writes to', ms: blocked.writes, table: blocked.writeTable } : { what: 'reads of', ms: blocked.reads, table: blocked.readTable };
  if (worst.ms >= thresholdMs) return { verdict: 'blocking', reason: `it blocked ${worst.what} ${worst.table} for ${formatDuration(worst.ms)} (threshold ${formatDuration(thresholdMs)})` };
  if (m.irreversible) return { verdict: 'irreversible', reason: 'its down section is marked irreversible' };
  return { verdict: 'safe', reason: `no read or write waited ${formatDuration(thresholdMs)} or more` };
}

/** One migration's report from its measurements. */
export function migrationReport(m: MigrationMeasurements, thresholdMs: number): MigrationReport {
  const blocked = longestWaits(m.watch.waits);
  const { verdict, reason } = decideVerdict(m, blocked, thresholdMs);
  const statements: StatementReport[] = m.statements.map((s) => {
    const during = longestWaits(m.watch.waits, s.startMs, s.startMs + s.durationMs);
    return { line: s.line, sql: s.sql, durationMs: Math.round(s.durationMs), rowCount: s.rowCount, walBytes: s.walBytes, blockedMs: { reads: Math.round(during.reads), writes: Math.round(during.writes) }, rewrites: s.rewrites, indexBuilds: s.indexBuilds };
  });
  return {
    version: m.version,
    name: m.name,
    file: m.file,
    verdict,
    reason,
    durationMs: Math.round(m.durationMs),
    statements,
    locks: m.watch.locks.map(lockHeld),
    blockedMs: { reads: Math.round(blocked.reads), writes: Math.round(blocked.writes) },
    blockedTables: { reads: blocked.readTable, writes: blocked.writeTable },
    rewrites: m.statements.flatMap((s) => s.rewrites),
    indexBuilds: m.statements.flatMap((s) => s.indexBuilds),
    rowsChanged: m.statements.reduce((n, s) => n + (s.rowCount ?? 0), 0),
    walBytes: m.statements.reduce((n, s) => n + (s.walBytes ?? 0), 0),
    tempFiles: m.tempFiles,
    leftBehind: m.leftBehind,
    findings: m.findings,
    failure: m.failure,
    dataChecks: m.dataChecks?.checks ?? [],
    dataChecksMs: Math.round(m.dataChecks?.ms ?? 0),
  };
}

/** A migration's report once it failed on a fresh database: its verdict decided again (its measurements on the copy stand). */
export function withFreshFailure(m: MigrationReport, freshFailure: FreshFailure, thresholdMs: number): MigrationReport {
  // Failing on the copy's data comes first, with the reason it has.
  if (m.failure) return { ...m, freshFailure };
  const blocked = { reads: m.blockedMs.reads, writes: m.blockedMs.writes, readTable: m.blockedTables.reads, writeTable: m.blockedTables.writes };
  return { ...m, ...decideVerdict({ failure: m.failure, irreversible: m.verdict === 'irreversible', freshFailure }, blocked, thresholdMs), freshFailure };
}

/** 0 when every migration is safe or irreversible, down undoes up (or that was not checked) and a fresh database matches the copy (or was not checked); 1 otherwise. */
export function exitCodeOf(migrations: readonly MigrationReport[], reversibleOk: boolean | null, freshOk: boolean | null = null): 0 | 1 {
  return migrations.some((m) => m.verdict === 'blocking' || m.verdict === 'fails') || reversibleOk === false || freshOk === false ? 1 : 0;
}

function commandLine(c: CommandRunInfo): string {
  const what = `${c.connections} session(s), ${c.statements} statement(s) recorded, ${c.bookkeeping} of them the framework's own or session control`;
  return `\`${c.command}\` through drydock's proxy (exit ${c.exitCode}; ${c.framework ? `${c.framework} migrations told apart by its ledger` : 'no ledger recognised: one report for the whole command'}; ${what})`;
}

/** freshDatabase.note with --no-fresh. */
export const FRESH_DATABASE_SKIPPED = 'not checked (--no-fresh)';

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} kB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

function copyLine(copy: CopyInfo): string {
  const made = copy.reset === 'pulled' ? `${copy.database}: pulled a fresh copy from ${copy.pulledFrom ?? 'production'} in ${copy.pullSeconds ?? '?'} s (${copy.pulledBecause ?? 'no usable snapshot'})` : `${copy.database} reset from its ${copy.snapshot} snapshot in ${copy.resetSeconds} s`;
  const empty = copy.withoutData?.length ? `; copied without data: ${copy.withoutData.join(', ')}` : '';
  return `${made}; the data is ${formatAge(copy.ageSeconds / 3600)} old (${copy.source ?? 'source unknown'}, taken ${copy.createdAt})${empty}`;
}

function migrationLines(m: MigrationReport, unit: 'line' | 'statement' = 'line'): string[] {
  const lines = [`${m.verdict.toUpperCase().padEnd(12)} ${m.file} (${formatDuration(m.durationMs)}): ${m.reason}`];
  for (const s of m.statements) {
    const extra = [
      s.rowCount !== null ? `${s.rowCount} row(s)` : undefined,
      s.walBytes !== undefined ? `WAL ${bytes(s.walBytes)}` : undefined,
      s.blockedMs.writes || s.blockedMs.reads ? `blocked writes ${formatDuration(s.blockedMs.writes)}, reads ${formatDuration(s.blockedMs.reads)}` : undefined,
    ].filter(Boolean);
    lines.push(`    ${unit} ${s.line}: ${s.sql} — ${formatDuration(s.durationMs)}${extra.length ? `, ${extra.join(', ')}` : ''}`);
    for (const r of s.rewrites) lines.push(`      rewrote ${r.kind} ${r.relation} (${bytes(r.bytes)})${m.notRepresentative?.includes(r.relation) ? ', copied without data: not representative' : ''}`);
    for (const r of s.indexBuilds) lines.push(`      built ${r.kind} ${r.relation} (${bytes(r.bytes)})`);
  }
  if (m.tempFiles?.files) lines.push(`    temporary files: ${m.tempFiles.files} (${bytes(m.tempFiles.bytes)})`);
  for (const l of m.locks) lines.push(`    lock ${l.mode} on ${l.relation}, held ${l.heldMs ? formatDuration(l.heldMs) : 'briefly (seen once)'}${l.inferred ? ' (too brief for the lock poll: the mode its statement takes)' : ''}${m.notRepresentative?.includes(l.relation) ? ' (copied without data: not representative)' : ''}`);
  for (const t of m.notRepresentative ?? []) lines.push(`    ${notRepresentativeNote(t)}`);
  for (const i of m.leftBehind.invalidIndexes) lines.push(`    left behind: INVALID index ${i}`);
  for (const c of m.leftBehind.notValidConstraints) lines.push(`    left behind: NOT VALID constraint ${c}`);
  for (const f of m.findings) lines.push(`    lint ${f.severity} ${f.rule} (${unit} ${f.line}): ${f.message}`);
  lines.push(...dataCheckLines(m.dataChecks, m.dataChecksMs));
  for (const d of m.failure?.details ?? []) lines.push(`    ${d}`);
  for (const d of m.freshFailure?.details ?? []) lines.push(`    on a fresh database: ${d}`);
  return lines;
}

/** The fresh-database comparison's headline. */
function freshHeadline(f: FreshDatabaseReport): string {
  if (!f.checked) return f.note;
  const built = `built from ${f.how}${f.schemaFile ? ` (${f.schemaFile})` : ''}`;
  return f.ok ? `the same schema as the copy (${built})` : `differs from the copy (${built})`;
}

/** The human report. */
export function renderRehearsal(r: RehearsalReport): string {
  const lines = [`Copy: ${copyLine(r.copy)}`, ...(r.command ? [`Command: ${commandLine(r.command)}`, ...r.command.problems.map((p) => `  proxy: ${p}`)] : []), `Blocking threshold: ${formatDuration(r.thresholdMs)}`, ''];
  if (!r.migrations.length) lines.push('Nothing pending: there is nothing to rehearse.');
  for (const m of r.migrations) lines.push(...migrationLines(m, r.command ? 'statement' : 'line'));
  for (const n of r.notRun) lines.push(`NOT RUN      ${n.version}_${n.name}: an earlier migration failed`);
  lines.push('');
  if (r.reversible.ok === null) lines.push(`Reversible: not checked (${r.reversible.note ?? 'no rollback'})`);
  else if (r.reversible.ok) lines.push(`Reversible: yes (${r.reversible.checked.length ? `rolled back and re-applied ${r.reversible.checked.join(', ')}` : 'nothing to roll back'})`);
  else lines.push('Reversible: NO', ...r.reversible.problems.map((p) => `  - ${p.migration}: ${p.problem}`));
  if (r.reversible.skipped.length) lines.push(`  not rolled back (irreversible, or before an irreversible one): ${r.reversible.skipped.join(', ')}`);
  lines.push(`Fresh database: ${r.freshDatabase.checked && !r.freshDatabase.ok ? freshHeadline(r.freshDatabase).replace(/^differs/, 'DIFFERS') : freshHeadline(r.freshDatabase)}`);
  lines.push(...r.freshDatabase.differences.map((d) => `  - ${d.problem}`));
  if (r.freshDatabase.checked) lines.push(...r.freshDatabase.notes.map((n) => `  note: ${n}`));
  lines.push(r.resetAfterwards ? `${r.copy.database} was reset to its ${r.copy.snapshot} snapshot.` : `${r.copy.database} was kept as the rehearsal left it (--keep).`);
  return lines.join('\n');
}

/** The Markdown report (--report FILE.md, $GITHUB_STEP_SUMMARY). */
export function renderRehearsalMarkdown(r: RehearsalReport): string {
  const lines = ['# drydock rehearse', '', `**Copy:** ${copyLine(r.copy)}  `, ...(r.command ? [`**Command:** ${commandLine(r.command)}  `] : []), `**Blocking threshold:** ${formatDuration(r.thresholdMs)}`, ''];
  if (r.migrations.length) {
    lines.push('| Migration | Verdict | Time | Writes blocked | Reads blocked | Why |', '|---|---|---|---|---|---|');
    for (const m of r.migrations) lines.push(`| \`${m.file}\` | **${m.verdict}** | ${formatDuration(m.durationMs)} | ${formatDuration(m.blockedMs.writes)} | ${formatDuration(m.blockedMs.reads)} | ${m.reason.replace(/\|/g, '\\|')} |`);
    for (const n of r.notRun) lines.push(`| \`${n.version}_${n.name}\` | not run | | | | an earlier migration failed |`);
    lines.push('');
    for (const m of r.migrations) lines.push(`<details><summary>${m.file}</summary>`, '', '```', ...migrationLines(m, r.command ? 'statement' : 'line'), '```', '</details>', '');
  } else lines.push('Nothing pending.', '');
  lines.push(`**Reversible:** ${r.reversible.ok === null ? `not checked (${r.reversible.note ?? 'no rollback'})` : r.reversible.ok ? 'yes' : 'no'}`, ...r.reversible.problems.map((p) => `- \`${p.migration}\`: ${p.problem}`), '');
  lines.push(`**Fresh database:** ${freshHeadline(r.freshDatabase)}`, ...r.freshDatabase.differences.map((d) => `- ${d.problem.startsWith(d.object) ? `\`${d.object}\`${d.problem.slice(d.object.length)}` : `\`${d.object}\`: ${d.problem}`}`));
  if (r.freshDatabase.checked) lines.push(...r.freshDatabase.notes.map((n) => `- note: ${n}`));
  lines.push('');
  return lines.join('\n');
}
