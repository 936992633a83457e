/**
 * The linter: files → findings. `lintFile`, `lintMigration` and `summarizeLint` are pure (they
 * need the parser loaded: `await ensureParser()`); `lintFiles` reads files and folders.
 *
 * Exit policy (drydock lint, release): error findings fail the check; warnings are shown and pass.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';

import { ConfigError } from '../errors.js';
import { readSqlTextSync } from '../files.js';
import type { MigrationFile } from '../migrate/types.js';
import { ensureParser } from '../sql/parse.js';
import { showRelation, type RangeVar } from './ast.js';
import { LintContext } from './context.js';
import { parseLintFile, parseMigrationSections, type ParsedLintFile, type ParsedSection } from './parse.js';
import { BUILTIN_CHECKS, RULES } from './rules/index.js';
import { DEFAULT_SMALL_TABLE, judgeSize, SchemaModel, showSize, type CatalogSchema, type SmallTableLimits } from './schema-model.js';
import { compareVersions, migrationVersion, ruleLevelsFor, type LintRuleConfig, type RuleLevel } from './settings.js';
import { parseSuppressions } from './suppression.js';
import type { Finding, LintStatement, Report, Rule, Severity } from './types.js';

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
  /**
   * The schema the files are judged against, moved forward by each file linted (lintFiles and the
   * migrate pipeline share one across files). Default: an empty model per file.
   */
  model?: SchemaModel | undefined;
  /** Below these limits a table the database measured is small: its findings are notes (default DEFAULT_SMALL_TABLE). */
  smallTable?: SmallTableLimits | undefined;
  /** drydock.json `lintRules` / `lintOverrides`: rules turned off or given another severity, per path. */
  ruleConfig?: LintRuleConfig | undefined;
  /** The folder `ruleConfig` paths are relative to (default: the working directory). */
  projectDir?: string | undefined;
}

/** Options of lintFiles. */
export interface LintFilesOptions extends LintOptions {
  /**
   * Files whose version (in their own or their folder's name, see migrationVersion) is at or before
   * this one are already deployed: they are not linted, only replayed into the schema model.
   */
  startAfter?: string | undefined;
  cwd?: string | undefined;
  /** The database's schema (lint --url): the model starts from it, and earlier files are not replayed. */
  catalog?: CatalogSchema | undefined;
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
  /** Findings on tables the database showed to be small: shown, never blocking. */
  notes: number;
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

/**
 * The rules for one file with their severity: drydock.json's levels (project-wide, then overrides
 * whose paths match the file) applied to the default rules; 'off' drops a rule.
 */
function rulesForFile(file: string, options: LintOptions): readonly Rule[] {
  const rules = defaultRules(options);
  if (!options.ruleConfig) return rules;
  const path = relative(options.projectDir ?? process.cwd(), resolve(options.projectDir ?? process.cwd(), file));
  const levels = ruleLevelsFor(options.ruleConfig, path);
  if (!Object.keys(levels).length) return rules;
  const out: Rule[] = [];
  for (const rule of rules) {
    const level: RuleLevel | undefined = levels[rule.id];
    if (level === 'off') continue;
    out.push(level ? { ...rule, severity: level } : rule);
  }
  return out;
}

/** Rule ids named in a rule config that no rule has (a ConfigError names them). */
export function checkRuleConfig(config: LintRuleConfig | undefined): void {
  if (!config) return;
  const known = new Set(RULES.map((r) => r.id));
  const named = [...Object.keys(config.rules), ...config.overrides.flatMap((o) => Object.keys(o.rules))];
  const unknown = [...new Set(named.filter((id) => !known.has(id)))];
  if (unknown.length) {
    throw new ConfigError(`drydock.json names unknown lint rule${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, { hint: '`drydock lint --list-rules` lists the rules' });
  }
}

function lintParsed(file: string, parsed: ParsedLintFile, options: LintOptions): FileLintResult {
  const rules = rulesForFile(file, options);
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
  // A down section undoes its up section: what it declares is not the schema later migrations see.
  const model = options.model ?? new SchemaModel();
  const ctx = new LintContext({
    pgVersion: options.pgVersion,
    isDrydockMigration: kind === 'drydock',
    runnerTransaction: section.runnerTransaction,
    assumeInTransaction: kind === 'plain' && Boolean(options.assumeInTransaction),
    model: section.direction === 'down' ? model.fork() : model,
  });
  const limits = options.smallTable ?? DEFAULT_SMALL_TABLE;

  const raw: Array<{ finding: Finding; anchor: number }> = [];
  // One reporter for the whole section; it reads which rule and statement are running.
  let current: { rule: Rule; stmt: LintStatement; anchor: number } | undefined;
  ctx.setReporter((report) => {
    if (!current) throw new Error('report() called outside a rule check');
    raw.push({ anchor: current.anchor, finding: sized(toFinding(file, section, current.rule, current.stmt, report), current.rule, current.stmt, report, ctx, limits) });
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

/**
 * Size-aware rules, with a database: on a table below the small-table limits the finding becomes a
 * note naming the measured size; above them its message says how big the table is. Without a
 * measurement (no database, a table created in this run) the finding stays as it is.
 */
function sized(finding: Finding, rule: Rule, stmt: LintStatement, report: Report, ctx: LintContext, limits: SmallTableLimits): Finding {
  if (!rule.sizeAware || finding.severity === 'info') return finding;
  const table = report.table ?? (stmt.node.relation as RangeVar | undefined);
  const size = ctx.tableSize(table);
  const verdict = judgeSize(size, limits);
  if (!verdict || !size) return finding;
  const name = `\`${showRelation(table)}\``;
  if (verdict === 'large') return { ...finding, message: `${finding.message} (${name} holds ${showSize(size)})` };
  const severity: Severity = 'info';
  return { ...finding, severity, message: `${finding.message}; but ${name} holds only ${showSize(size)}, so this takes milliseconds: noted, not blocking` };
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
    notes: findings.filter((f) => f.severity === 'info').length,
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
  const full = resolve(cwd, path);
  const root = resolve(cwd);
  // The common case, a file inside cwd (every file of a folder being linted), without path.relative's work.
  const base = root.endsWith(sep) ? root : root + sep;
  const rest = full.startsWith(base) ? full.slice(base.length) : '';
  if (rest !== '' && !rest.startsWith('..')) return rest;
  const rel = relative(root, full);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? full : rel;
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

/** The version of a migration file: in its own name, else in its folder's (Prisma's migration.sql, diesel's up.sql). */
export function fileVersion(path: string): bigint[] | undefined {
  return migrationVersion(basename(path)) ?? migrationVersion(basename(dirname(path)));
}

/** Folder entries in migration order: by version where both names carry one, else by name. */
function inMigrationOrder<T extends { name: string }>(entries: readonly T[]): T[] {
  // Each name's version is read once, not at every comparison of the sort.
  const keyed = entries.map((entry) => ({ entry, version: migrationVersion(entry.name) }));
  keyed.sort((a, b) => {
    if (a.version && b.version) {
      const c = compareVersions(a.version, b.version);
      if (c !== 0) return c;
    }
    return a.entry.name < b.entry.name ? -1 : a.entry.name > b.entry.name ? 1 : 0;
  });
  return keyed.map((k) => k.entry);
}

/** A file of the plan: linted, or only replayed into the schema model (an earlier, deployed migration). */
export interface PlannedFile extends LintTarget {
  replayOnly: boolean;
}

/** The SQL files of a folder, walked in migration order (hidden entries, node_modules and, unless `down`, down files skipped); `scan` counts what was left out. */
async function walkSqlFiles(dir: string, down: boolean, cwd: string, scan?: LintScan): Promise<string[]> {
  const out: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      throw unreadable(folder, error, cwd);
    }
    for (const entry of inMigrationOrder(entries)) {
      if (entry.name.startsWith('.')) continue;
      const full = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await walk(full);
      } else if (!entry.name.toLowerCase().endsWith('.sql')) {
        if (scan) {
          const ext = extname(entry.name).toLowerCase();
          scan.otherFiles[ext] = (scan.otherFiles[ext] ?? 0) + 1;
        }
      } else if (!down && isDownFile(entry.name)) {
        if (scan) scan.skippedDown += 1;
      } else {
        out.push(full);
      }
    }
  };
  await walk(dir);
  return out;
}

/** The migrations folder a lone file belongs to: its folder, or the one above when the folder itself is a migration (Prisma, diesel). */
function migrationsFolderOf(file: string): string {
  const parent = dirname(file);
  return migrationVersion(basename(parent)) ? dirname(parent) : parent;
}

/**
 * Expand paths into the files to lint, in order, with the earlier migrations to replay first:
 * - a folder is walked for *.sql files in migration order, skipping hidden entries, node_modules
 *   and separate down files unless `down`; files at or before `startAfter` are replayed, not linted;
 * - a file is linted whatever its extension, after replaying (with `replayEarlier`) the files
 *   before it in its migrations folder, so it is judged knowing what they created.
 * An unreadable path is a ConfigError (exit 2).
 */
export async function planLintFiles(
  paths: readonly string[],
  options: { down?: boolean | undefined; cwd?: string | undefined; startAfter?: string | undefined; replayEarlier?: boolean | undefined } = {},
  scan?: LintScan,
): Promise<PlannedFile[]> {
  const cwd = options.cwd ?? process.cwd();
  const startAfter = options.startAfter === undefined ? undefined : migrationVersion(options.startAfter);
  const isOld = (path: string): boolean => {
    if (startAfter === undefined) return false;
    const version = fileVersion(path);
    return version !== undefined && compareVersions(version, startAfter) <= 0;
  };
  const planned: PlannedFile[] = [];
  const seen = new Set<string>();
  const add = (full: string, replayOnly: boolean): void => {
    if (seen.has(full)) return;
    seen.add(full);
    planned.push({ path: full, display: displayPath(full, cwd), replayOnly });
  };
  const folders = new Map<string, string[]>();
  for (const path of paths) {
    const full = resolve(cwd, path);
    let info;
    try {
      info = await stat(full);
    } catch (error) {
      throw unreadable(path, error, cwd);
    }
    if (info.isDirectory()) {
      for (const file of await walkSqlFiles(full, Boolean(options.down), cwd, scan)) {
        const old = isOld(file);
        if (old && scan) scan.skippedOld += 1;
        add(file, old);
      }
      continue;
    }
    if (options.replayEarlier !== false) {
      const folder = migrationsFolderOf(full);
      let files = folders.get(folder);
      if (!files) {
        files = await walkSqlFiles(folder, false, cwd).catch(() => []);
        folders.set(folder, files);
      }
      const index = files.indexOf(full);
      for (const earlier of index > 0 ? files.slice(0, index) : []) add(earlier, true);
    }
    add(full, isOld(full));
  }
  return planned;
}

/** Expand paths into the files to lint (planLintFiles without the files only replayed); `scan` counts what was left out. */
export async function collectLintTargets(
  paths: readonly string[],
  options: { down?: boolean | undefined; cwd?: string | undefined; startAfter?: string | undefined } = {},
  scan?: LintScan,
): Promise<LintTarget[]> {
  const planned = await planLintFiles(paths, { ...options, replayEarlier: false }, scan);
  return planned.filter((p) => !p.replayOnly).map(({ path, display }) => ({ path, display }));
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
  // The parser's WebAssembly compiles while the folders are walked; a failure to load it is
  // reported by the await below (the catch only keeps an early ConfigError from leaving it unhandled).
  const parserReady = ensureParser();
  void parserReady.catch(() => undefined);
  checkRuleConfig(options.ruleConfig);
  const model = options.model ?? new SchemaModel(options.catalog);
  const scan: LintScan = { skippedOld: 0, skippedDown: 0, otherFiles: {} };
  // With the database's catalog at hand, it wins: earlier files are not replayed over it.
  const planned = await planLintFiles(paths, { ...options, replayEarlier: !model.fromCatalog }, scan);
  await parserReady;
  if (!planned.some((p) => !p.replayOnly) && scan.skippedOld === 0) throw nothingToLint(paths.map((p) => displayPath(p, options.cwd)), scan);
  const files: FileLintResult[] = [];
  options = { ...options, model, projectDir: options.projectDir ?? options.cwd };
  for (const target of planned) {
    if (target.replayOnly && model.fromCatalog) continue;
    // Synchronous on purpose: a migrations folder is many small files, and one thread-pool round
    // trip per open/stat/read/close costs more than the reads themselves. Regular files up to 10 MB.
    const text = readSqlTextSync(target.path, target.display);
    if (target.replayOnly) replayFile(target.display, text, options);
    else files.push(lintFile(target.display, text, options));
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

/** Move the schema model past an earlier, already deployed file: its statements are walked, no rule runs, nothing is reported. */
export function replayFile(file: string, text: string, options: LintOptions): void {
  lintParsed(file, parseLintFile(basename(file), text, { down: false }), { ...options, rules: [], ruleConfig: undefined });
}
