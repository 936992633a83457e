/**
 * `drydock verify`'s report as people read it (pure): the contract as a diff both ways, then the
 * half-done leftovers and health findings with their fixes, then the numbers and where they came from.
 */
import { CHECKS, megabytes, percent, type CheckPart, type Finding } from './checks.js';
import type { ConnectionFacts } from './connections.js';

/** The contract part of the report. */
export interface ContractReport {
  checked: boolean;
  /** What the database was compared with ("db/schema.sql", "… built on a scratch database"). */
  against?: string | undefined;
  /** Why it was not compared. */
  note?: string | undefined;
  /** What differs but is not counted (Heroku's own extensions). */
  notes: string[];
}

/** What verify found. */
export interface VerifyReport {
  database: string;
  /** The Heroku app, with -a. */
  app?: string | undefined;
  ok: boolean;
  /** 0 no error findings, 1 some. */
  exitCode: 0 | 1;
  errors: number;
  warnings: number;
  findings: Finding[];
  contract: ContractReport;
  /** Numbers read along the way, each with its source (only the parts that ran). */
  facts: VerifyFacts;
  /** Parts or checks that could not run, and why. */
  notes: string[];
}

/** Numbers verify read, with where they came from. */
export interface VerifyFacts {
  ssl?: { encrypted: boolean; sslmode: string; checked: boolean; note?: string | undefined } | undefined;
  connections?: (ConnectionFacts & { demandSource?: string | undefined }) | undefined;
  sessions?: { active: number; idleInTransaction: number; blocked: number; source: string } | undefined;
  cacheHit?: { tables: number | null; indexes: number | null; source: string } | undefined;
  /** `heroku pg:diagnose`'s report with -a APP: each check's name and status. */
  diagnose?: { report: string; checks: Array<{ name: string; status: string }>; source: string } | undefined;
  largestTables?: { tables: Array<{ table: string; totalBytes: number; liveRows: number; deadRows: number; deadShare: number }>; source: string } | undefined;
}

const PART_TITLE: Record<CheckPart, string> = {
  contract: 'Schema contract',
  leftovers: 'Half-done migrations',
  health: 'Health',
};

/** The diff mark of a contract finding: - missing in the database, + only in the database, ~ different. */
const MARK: Record<string, string> = { 'missing-in-database': '-', 'not-in-schema': '+', 'differs-from-schema': '~' };

function partOf(check: string): CheckPart {
  return CHECKS.find((c) => c.id === check)?.part ?? 'health';
}

function findingLines(f: Finding): string[] {
  const level = f.level === 'error' ? 'ERROR' : 'warning';
  const mark = MARK[f.check];
  const head = mark ? `  ${mark} ${level} [${f.check}] ${f.message}` : `  ${level} [${f.check}] ${f.message}`;
  return [head, ...(f.fix ? [`      fix: ${f.fix}`] : [])];
}

/** The report as text. */
export function renderVerify(report: VerifyReport): string {
  const lines: string[] = [`verify: ${report.database}`];
  const byPart = (part: CheckPart) => report.findings.filter((f) => partOf(f.check) === part);

  const contract = byPart('contract');
  if (report.contract.checked) {
    lines.push(`${PART_TITLE.contract}: compared with ${report.contract.against}: ${contract.length ? `${contract.length} difference(s) (- missing in the database, + not in the schema, ~ different)` : 'the same'}`);
    for (const f of contract) lines.push(...findingLines(f));
    for (const note of report.contract.notes) lines.push(`  note: ${note}`);
  } else {
    lines.push(`${PART_TITLE.contract}: ${(report.contract.note ?? 'not checked').replace(/^schema contract /, '')}`);
  }

  const leftovers = byPart('leftovers');
  lines.push(`${PART_TITLE.leftovers}: ${leftovers.length ? `${leftovers.length} finding(s)` : 'none'}`);
  for (const f of leftovers) lines.push(...findingLines(f));

  const health = byPart('health');
  const facts = report.facts;
  if (facts.ssl || facts.connections || facts.sessions) {
    lines.push(`${PART_TITLE.health}: ${health.length ? `${health.length} finding(s)` : 'no findings'}`);
    for (const f of health) lines.push(...findingLines(f));
    if (facts.ssl) lines.push(`  SSL: ${facts.ssl.encrypted ? 'in use' : 'not in use'} (sslmode ${facts.ssl.sslmode}${facts.ssl.note ? `; ${facts.ssl.note}` : ''})`);
    const c = facts.connections;
    if (c) {
      const use = c.used !== undefined && c.limit !== undefined ? `${c.used}/${c.limit} in use` : 'not known';
      lines.push(`  Connections: ${use} (${c.source})`);
      if (c.demand) lines.push(`  Pools: the app can open ${c.demand.total} (${c.demand.terms.join(' + ')}; ${c.demandSource})`);
    }
    if (facts.sessions) lines.push(`  Sessions: ${facts.sessions.active} active, ${facts.sessions.idleInTransaction} idle in transaction, ${facts.sessions.blocked} waiting for a lock (${facts.sessions.source})`);
    if (facts.cacheHit) {
      const rate = (r: number | null) => (r === null ? 'no reads yet' : percent(r));
      lines.push(`  Cache hit: tables ${rate(facts.cacheHit.tables)}, indexes ${rate(facts.cacheHit.indexes)} (${facts.cacheHit.source})`);
    }
    if (facts.diagnose) lines.push(`  Heroku pg:diagnose (report ${facts.diagnose.report}): ${facts.diagnose.checks.map((c) => `${c.status.toUpperCase()} ${c.name}`).join(', ')}`);
    if (facts.largestTables?.tables.length) {
      lines.push(`  Largest tables (${facts.largestTables.source}):`);
      for (const t of facts.largestTables.tables) lines.push(`    ${t.table}: ${megabytes(t.totalBytes)}, ${Math.round(t.liveRows).toLocaleString('en-US')} rows, ${percent(t.deadShare)} dead`);
    }
  }
  const notes = report.notes.filter((n) => n !== report.contract.note);
  for (const note of notes) lines.push(`note: ${note}`);
  lines.push(report.findings.length ? `verify: ${report.errors} error(s), ${report.warnings} warning(s)` : 'verify: clean');
  return lines.join('\n');
}
