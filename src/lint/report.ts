/**
 * Lint results for people (text), programs (json) and GitHub Actions (workflow-command
 * annotations: https://docs.github.com/actions/reference/workflow-commands-for-github-actions).
 * Pure: returns strings; output.ts writes them.
 */
import type { Finding } from './types.js';
import type { LintRun } from './lint.js';

import type { LintFormat } from './settings.js';

export { LINT_FORMATS, type LintFormat } from './settings.js';

/** The --json shape: totals, one entry per file, and every finding. */
export interface LintJson {
  ok: boolean;
  pgVersion: number;
  errors: number;
  warnings: number;
  /** Findings on tables the database showed to be small (severity "info"): shown, never blocking. */
  notes: number;
  files: Array<{ file: string; kind: 'drydock' | 'plain'; statements: number; errors: number; warnings: number }>;
  findings: Array<Finding & { docs: string }>;
}

/** The JSON result of a run. */
export function lintJson(run: LintRun): LintJson {
  return {
    ok: run.errors === 0,
    pgVersion: run.pgVersion,
    errors: run.errors,
    warnings: run.warnings,
    notes: run.notes,
    files: run.files.map((f) => ({
      file: f.file,
      kind: f.kind,
      statements: f.statements,
      errors: f.findings.filter((x) => x.severity === 'error').length,
      warnings: f.findings.filter((x) => x.severity === 'warning').length,
    })),
    findings: run.findings.map((f) => ({ ...f, docs: docsFor(f.rule) })),
  };
}

/** Where a rule is explained. */
export function docsFor(rule: string): string {
  return `drydock lint --explain ${rule}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const MAX_STATEMENT_LINES = 4;

/** One finding as text: location, severity, message, the statement, help and where the docs are. */
export function renderFinding(finding: Finding): string {
  const lines = [`${finding.file}:${finding.line}:${finding.column}: ${finding.severity}: ${finding.message} [${finding.rule}]`];
  if (finding.statement) {
    const statement = finding.statement.split('\n');
    for (const line of statement.slice(0, MAX_STATEMENT_LINES)) lines.push(`  | ${line.trimEnd()}`);
    if (statement.length > MAX_STATEMENT_LINES) lines.push('  | …');
  }
  if (finding.frame) lines.push(...finding.frame.split('\n').map((l) => `  ${l}`));
  if (finding.help) {
    const [first, ...rest] = finding.help.split('\n');
    lines.push(`  help: ${first}`, ...rest.map((l) => `        ${l}`));
  }
  lines.push(`  docs: ${docsFor(finding.rule)}`);
  return lines.join('\n');
}

/** The summary line of a run. */
export function lintSummary(run: LintRun): string {
  const files = plural(run.files.length, 'file') + (run.skippedOld ? ` (${plural(run.skippedOld, 'older file')} skipped by --start-after)` : '');
  const version = `Postgres ${run.pgVersion}`;
  const notes = run.notes ? `; ${plural(run.notes, 'note')} on small tables` : '';
  if (run.errors === 0 && run.warnings === 0) return `No unsafe operations found in ${files} (checked for ${version})${notes}.`;
  const withFindings = run.files.filter((f) => f.findings.some((x) => x.severity !== 'info')).length;
  return `${plural(run.errors, 'error')} and ${plural(run.warnings, 'warning')} in ${withFindings} of ${files} (checked for ${version})${notes}.`;
}

/** The human report: every finding, then the summary. */
export function renderLintText(run: LintRun): string {
  const blocks = run.findings.map(renderFinding);
  return [...blocks, lintSummary(run)].join('\n\n');
}

function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** GitHub Actions annotations, one line per finding, then the summary as a plain log line. */
export function renderLintGithub(run: LintRun): string {
  const lines = run.findings.map((f) => {
    const command = f.severity === 'error' ? 'error' : f.severity === 'warning' ? 'warning' : 'notice';
    const body = f.help ? `${f.message}\n\n${f.help}` : f.message;
    return `::${command} file=${escapeProperty(f.file)},line=${f.line},col=${f.column},title=${escapeProperty(`drydock lint: ${f.rule}`)}::${escapeData(body)}`;
  });
  return [...lines, lintSummary(run)].join('\n');
}

/** Render a run in a format. */
export function renderLint(run: LintRun, format: LintFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(lintJson(run), null, 2);
    case 'github':
      return renderLintGithub(run);
    default:
      return renderLintText(run);
  }
}
