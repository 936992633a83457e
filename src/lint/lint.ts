/**
 * The linter: files → findings. `lintFile`, `lintMigration` and `summarizeLint` are pure (they
 * need the parser loaded: `await ensureParser()`); `lintFiles` reads files and folders.
 *
 * Exit policy (drydock lint, release): error findings fail the check; warnings are shown and pass.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, isAbsolute, join, relative, resolve } from 'node:path';

import { ConfigError } from '../errors.js';
import { readSqlFileSync } from '../files.js';
import type { MigrationFile } from '../migrate/types.js';
import { ensureParser } from '../sql/parse.js';
import { LintContext, SchemaMemory } from './context.js';
import { parseLintFile, parseMigrationSections, type ParsedLintFile, type ParsedSection } from './parse.js';
import { BUILTIN_CHECKS, RULES } from './rules/index.js';
import { parseSuppressions } from './suppression.js';
import type { Finding, LintStatement, Report, Rule } from './types.js';

export { DEFAULT_PG_VERSION } from './settings.js';

/** How to lint. */
export interface LintOptions {
  /** Production's Postgres major, ordered by release (majorOrder): 9.6, 10 … 17. */
  pgVersion: number;
  /** Plain .sql files run inside a transaction someone else opens (Flyway does; psql -1 does). */
  assumeInTransaction?: boolean | undefined;
  /** Also lint down sections (and *.down.sql / down.sql files found in folders). */
  down?: boolean | undefined;
  /** The rules to run (default: every rule enabled by default). */
  rules?: readonly Rule[] | undefined;
  /** Column types and constraints declared by earlier files of the run (lintFiles and the release pipeline share one). */
  memory?: SchemaMemory | undefined;
}

/** Options of lintFiles. */
export interface LintFilesOptions extends LintOptions {
  /** Skip files named `<version>_…` with a version at or before this one (already deployed). */
  startAfter?: string | undefined;
  cwd?: string | undefined;
}

/** The findings of one file. */
export interface FileLintResult {
  file: string;
  kind: 'drydock' | 'plain';
  /** Top-level statements linted. */
  statements: number;
  findings: Finding[];
}

/** The result of a lint run, as `drydock lint --json` prints it. */
export interface LintRun {
  /** The Postgres major the verdicts are for. */
  pgVersion: number;
  files: FileLintResult[];
  findings: Finding[];
  errors: number;
  warnings: number;
  /** Files left out because their version is at or before --start-after (lintFiles only). */
  skippedOld?: number | undefined;
}

const DEFAULT_RULES = RULES.filter((r) => r.enabledByDefault);

/** Rules by the statement kind they look at, built once per rule list. */
const dispatchTables = new WeakMap<readonly Rule[], Map<string, Rule[]>>();

function rulesByKind(rules: readonly Rule[]): Map<string, Rule[]> {
  let table = dispatchTables.get(rules);
  if (!table) {
    table = new Map();
    for (const rule of rules) {
      for (const kind of rule.kinds) table.set(kind, [...(table.get(kind) ?? []), rule]);
    }
    dispatchTables.set(rules, table);
  }
  return table;
}

function defaultRules(options: LintOptions): readonly Rule[] {
  return options.rules ?? DEFAULT_RULES;
}

/** Lint one file's text. `file` is how findings name it. Drydock migrations are detected by their `-- migrate:` markers. */
export function lintFile(file: string, text: string, options: LintOptions, kind?: 'drydock' | 'plain'): FileLintResult {
  return lintParsed(file, parseLintFile(basename(file), text, { down: options.down, kind }), options);
}

/** Lint a migration the runner already read (the release pipeline): its up section, and down with `down`. */
export function lintMigration(file: string, migration: MigrationFile, options: LintOptions): FileLintResult {
  return lintParsed(file, parseMigrationSections(migration, { down: options.down }), options);
}

function lintParsed(file: string, parsed: ParsedLintFile, options: LintOptions): FileLintResult {
  const rules = defaultRules(options);
  const findings: Finding[] = [];
  let statements = 0;
  for (const section of parsed.sections) {
    statements += section.statements.length;
    findings.push(...lintSection(file, section, parsed.kind, options, rules));
  }
  if (parsed.problem) {
    findings.push({
      rule: 'syntax-error',
      severity: 'error',
      file,
      line: parsed.problem.line,
      column: parsed.problem.column,
      message: parsed.problem.message,
      help: 'fix the SQL: the statements after this point were not checked',
      statement: undefined,
      frame: parsed.problem.frame,
    });
  }
  return { file, kind: parsed.kind, statements, findings: sortFindings(findings) };
}

function lintSection(file: string, section: ParsedSection, kind: 'drydock' | 'plain', options: LintOptions, rules: readonly Rule[]): Finding[] {
  const ctx = new LintContext({
    pgVersion: options.pgVersion,
    isDrydockMigration: kind === 'drydock',
    runnerTransaction: section.runnerTransaction,
    assumeInTransaction: kind === 'plain' && Boolean(options.assumeInTransaction),
    memory: options.memory,
    statements: section.statements.flatMap((s) => (s.embedded.length ? [s, ...s.embedded] : [s])),
  });

  const raw: Array<{ finding: Finding; anchor: number }> = [];
  // One reporter for the whole section; it reads which rule and statement are running.
  let current: { rule: Rule; stmt: LintStatement; anchor: number } | undefined;
  ctx.setReporter((report) => {
    if (!current) throw new Error('report() called outside a rule check');
    raw.push({ anchor: current.anchor, finding: toFinding(file, section, current.rule, current.stmt, report) });
  });
  const byKind = rulesByKind(rules);
  const run = (stmt: LintStatement, anchor: number): void => {
    for (const rule of byKind.get(stmt.kind) ?? []) {
      current = { rule, stmt, anchor };
      rule.check(stmt, ctx);
    }
    current = undefined;
  };
  section.statements.forEach((stmt, index) => {
    ctx.enterStatement();
    run(stmt, index);
    if (stmt.embedded.length) {
      ctx.withinDoBlock(() => {
        for (const inner of stmt.embedded) {
          run(inner, index);
          ctx.observe(inner);
        }
      });
    }
    ctx.observe(stmt);
  });
  // A down section undoes its up section: what it declares is not the schema later migrations see.
  if (section.direction !== 'down') ctx.remember();

  const { suppressions, problems } = parseSuppressions(
    section.comments,
    RULES.map((r) => r.id),
    Object.keys(BUILTIN_CHECKS),
  );
  const used = new Set<number>();
  const findings: Finding[] = [];
  for (const { finding, anchor } of raw) {
    const index = suppressions.findIndex((s) => s.rule === finding.rule && s.statementIndex === anchor);
    if (index === -1) findings.push(finding);
    else used.add(index);
  }
  const base = { file, statement: undefined, section: section.direction };
  for (const problem of problems) {
    findings.push({ ...base, rule: 'invalid-suppression', severity: 'error', line: problem.line, column: problem.column, message: problem.message, help: problem.help });
  }
  suppressions.forEach((s, index) => {
    if (used.has(index)) return;
    findings.push({
      ...base,
      rule: 'unused-suppression',
      severity: 'warning',
      line: s.line,
      column: s.column,
      message: `\`-- drydock:safe ${s.rule}\` silences nothing: ${s.statementIndex === undefined ? 'no statement follows it' : `the statement it is attached to has no ${s.rule} finding`}`,
      help: 'remove the comment, or move it directly above the statement it is about',
    });
  });
  return findings;
}

function toFinding(file: string, section: ParsedSection, rule: Rule, stmt: LintStatement, report: Report): Finding {
  const location = typeof report.node === 'number' ? report.node : report.node?.location;
  const { line, column } = stmt.locate(location);
  return {
    rule: rule.id,
    severity: rule.severity,
    file,
    line,
    column,
    message: report.message,
    help: report.help,
    statement: stmt.text,
    section: section.direction,
  };
}

function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Totals over file results. */
export function summarizeLint(files: FileLintResult[], pgVersion: number): LintRun {
  const findings = files.flatMap((f) => f.findings);
  return {
    pgVersion,
    files,
    findings,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
  };
}

// ---------------------------------------------------------------------------------------------
// Files and folders

/** A file to lint: where it is, and how findings name it. */
export interface LintTarget {
  path: string;
  display: string;
}

/** Folders never walked into. */
const SKIPPED_DIRS = new Set(['node_modules', '.git']);

/** How findings name a path: relative to `cwd` when inside it, else absolute. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, resolve(cwd, path));
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? resolve(cwd, path) : rel;
}

/** True for down migrations of tools that keep them in their own files (golang-migrate, diesel). */
function isDownFile(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.endsWith('.down.sql') || lower === 'down.sql';
}

/** What walking the paths found besides the files to lint: told when there is nothing to lint. */
export interface LintScan {
  /** SQL files left out because their version is at or before --start-after. */
  skippedOld: number;
  /** Separate down files (*.down.sql) left out without --down. */
  skippedDown: number;
  /** Other files in the folders, by extension ('' for none), e.g. { '.rb': 12 }. */
  otherFiles: Record<string, number>;
}

/**
 * Expand paths into files: a file is taken as is (whatever its extension); a folder is walked
 * for *.sql files, sorted, skipping hidden entries, node_modules, and separate down files unless
 * `down`. An unreadable path is a ConfigError (exit 2). `scan`, when given, counts what was left out.
 */
export async function collectLintTargets(
  paths: readonly string[],
  options: { down?: boolean | undefined; cwd?: string | undefined; startAfter?: string | undefined } = {},
  scan: LintScan = { skippedOld: 0, skippedDown: 0, otherFiles: {} },
): Promise<LintTarget[]> {
  const cwd = options.cwd ?? process.cwd();
  const targets: LintTarget[] = [];
  const startAfter = options.startAfter === undefined ? undefined : BigInt(options.startAfter);
  const isOld = (name: string): boolean => {
    const version = /^(\d{1,14})_/.exec(name)?.[1];
    const old = startAfter !== undefined && version !== undefined && BigInt(version) <= startAfter;
    if (old) scan.skippedOld += 1;
    return old;
  };
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      throw unreadable(dir, error, cwd);
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await walk(full);
      } else if (!entry.name.toLowerCase().endsWith('.sql')) {
        const ext = extname(entry.name).toLowerCase();
        scan.otherFiles[ext] = (scan.otherFiles[ext] ?? 0) + 1;
      } else if (!options.down && isDownFile(entry.name)) {
        scan.skippedDown += 1;
      } else if (!isOld(entry.name)) {
        targets.push({ path: full, display: displayPath(full, cwd) });
      }
    }
  };
  for (const path of paths) {
    const full = resolve(cwd, path);
    let info;
    try {
      info = await stat(full);
    } catch (error) {
      throw unreadable(path, error, cwd);
    }
    if (info.isDirectory()) await walk(full);
    else if (!isOld(basename(full))) targets.push({ path: full, display: displayPath(full, cwd) });
  }
  return targets;
}

function unreadable(path: string, error: unknown, cwd: string): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file or folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
  return new ConfigError(`cannot read ${displayPath(path, cwd)}: ${why}`, { hint: 'pass SQL files or folders that exist', cause: error });
}

/**
 * Read and lint files and folders. Finding no SQL file to lint is a ConfigError (exit 2) that says
 * what the folders hold instead, so CI never goes green having checked nothing; files left out by
 * `startAfter` alone are not that (the run has no files, and the summary says why).
 */
export async function lintFiles(paths: readonly string[], options: LintFilesOptions): Promise<LintRun> {
  await ensureParser();
  const scan: LintScan = { skippedOld: 0, skippedDown: 0, otherFiles: {} };
  const targets = await collectLintTargets(paths, options, scan);
  if (targets.length === 0 && scan.skippedOld === 0) throw nothingToLint(paths.map((p) => displayPath(p, options.cwd)), scan);
  const files: FileLintResult[] = [];
  options = { ...options, memory: options.memory ?? new SchemaMemory() };
  for (const target of targets) {
    // Synchronous on purpose: a migrations folder is many small files, and one thread-pool round
    // trip per open/stat/read/close costs more than the reads themselves. Regular files up to 10 MB.
    const text = readSqlFileSync(target.path, target.display).toString('utf8');
    files.push(lintFile(target.display, text, options));
  }
  return { ...summarizeLint(files, options.pgVersion), skippedOld: scan.skippedOld };
}

/** Tools whose migrations are not SQL files, by the extension of their files: how to get SQL drydock can lint. */
const NOT_SQL_HINTS: Record<string, string> = {
  '.rb': 'Rails migrations are Ruby: lint the SQL they run (after `bin/rails db:migrate`, log/development.log holds it), or check them with the strong_migrations gem',
  '.py': 'for Django, `python manage.py sqlmigrate APP MIGRATION > file.sql` writes the SQL of a migration to lint',
  '.prisma': "for Prisma, lint prisma/migrations (each migration.sql), or write a change's SQL with `prisma migrate diff ... --script > file.sql`",
};

/** "found 12 .rb files and 1 .md file", largest first. */
function describeOthers(others: Record<string, number>): string {
  const parts = Object.entries(others)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([ext, n]) => `${n} ${ext === '' ? 'file' : `${ext} file`}${n === 1 ? '' : 's'}${ext === '' ? ' without an extension' : ''}`);
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]!}`;
}

/** No SQL file to lint was found (exit 2): the command still writes a JSON document in JSON modes. */
export class NothingToLintError extends ConfigError {
  constructor(message: string, hint: string, readonly scan: LintScan) {
    super(message, { hint });
    this.name = 'NothingToLintError';
  }
}

/** The error for a run that found no SQL to lint: what the paths hold, what drydock lints, and how other stacks get linted. */
export function nothingToLint(paths: readonly string[], scan: LintScan): NothingToLintError {
  const where = paths.join(', ');
  const others = describeOthers(scan.otherFiles);
  const found = [scan.skippedDown ? `${scan.skippedDown} separate down file${scan.skippedDown === 1 ? '' : 's'} (*.down.sql, linted with --down)` : '', others].filter(Boolean);
  const what = found.length ? `found ${found.join(' and ')}, but no .sql migration to lint` : 'found no files at all';
  const tool = Object.keys(scan.otherFiles).map((ext) => NOT_SQL_HINTS[ext]).find((hint) => hint !== undefined);
  const hint = [
    'drydock lints .sql files (drydock/dbmate migrations with `-- migrate:up`, or plain SQL as Flyway, golang-migrate and Prisma write)',
    scan.skippedDown && !others ? 'pass --down to lint the down files' : '',
    tool ??
      'pass the folder that holds them; for Rails, lint the SQL a migration runs; for Django, `manage.py sqlmigrate APP MIGRATION > file.sql`; for Prisma, prisma/migrations',
  ].filter(Boolean).join('; ');
  return new NothingToLintError(`nothing to lint in ${where}: ${what}`, hint, scan);
}
