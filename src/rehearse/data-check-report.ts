/**
 * The data checks of `drydock rehearse` as reported (pure): what a check found, reconciled with what
 * running the migration really did, and the sentences and lines the reports show. They are run by
 * src/rehearse/data-checks.ts.
 */
import { formatDuration } from '../format.js';
import { mask } from '../redact.js';
import type { DataCheckKind, DataCheckPlan } from './data-check-plan.js';
import { SAMPLE_CHARS } from './data-check-sql.js';

export type { DataCheckKind } from './data-check-plan.js';

/** Sample rows of a check: the key values (cut and masked), and for a unique check how many rows share them. */
export interface DataCheckSample {
  values: Array<string | null>;
  count?: number | undefined;
}

/** One data check, run: what the migration's JSON holds in `dataChecks` (the plan's description of it, and what it found). */
export interface DataCheck extends Pick<DataCheckPlan, 'line' | 'statement' | 'check' | 'table' | 'columns' | 'action' | 'problem'> {
  /** Rows (values, for a type change) that would make the statement fail; null when not counted. */
  violations: number | null;
  /** Unique checks: how many distinct keys are duplicated. */
  groups?: number | undefined;
  samples: DataCheckSample[];
  /** 'fails': the statement would fail on this data; 'passes': nothing found; 'unknown': not checked (see note). */
  prediction: 'fails' | 'passes' | 'unknown';
  /** Why not checked, or how the prediction compares with the run. */
  note?: string | undefined;
  /** Postgres's message when reading the values failed (a value that does not convert): the statement would fail the same way. */
  error?: string | undefined;
  /** The check's own time. */
  ms: number;
  /** The read-only query that counted (run it by hand to see every row). */
  query?: string | undefined;
}

/** The checks of one migration and their total time. */
export interface DataChecksRun {
  checks: DataCheck[];
  ms: number;
}

/** A sample value as shown: cut to SAMPLE_CHARS characters (with … when it was longer), control characters escaped, secrets masked. */
export function showSampleValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const cutText = text.length > SAMPLE_CHARS ? `${text.slice(0, SAMPLE_CHARS)}…` : text;
  // eslint-disable-next-line no-control-regex
  return mask(cutText.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1)));
}

/** The SQLSTATE a statement fails with when a check of this kind finds violations. */
const EXPECTED_SQLSTATE: Record<DataCheckKind, RegExp> = {
  unique: /^23505$/,
  'not-null': /^23502$/,
  check: /^23514$/,
  'foreign-key': /^23503$/,
  type: /^22/,
};

const count = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, word: string): string => `${count(n)} ${word}${n === 1 ? '' : 's'}`;

function showSample(sample: DataCheckSample): string {
  const values = sample.values.map((v) => (v === null ? 'NULL' : `'${v}'`));
  const shown = values.length === 1 ? values[0]! : `(${values.join(', ')})`;
  return sample.count === undefined ? shown : `${shown} ×${count(sample.count)}`;
}

/** What a check found, as a sentence: "CREATE UNIQUE INDEX users_email_key would fail: 1,204 rows share 311 duplicated values of (email), e.g. 'a@x.com' ×4". */
export function describeDataCheck(check: DataCheck): string {
  const unit = check.check === 'type' ? 'value' : 'row';
  const examples = check.samples.length ? `, e.g. ${check.samples.map(showSample).join(', ')}` : '';
  if (check.prediction === 'unknown') return `${check.action}: ${check.note ?? 'not checked'}`;
  if (check.prediction === 'passes') return check.check === 'unique' ? `${check.action}: no duplicated ${check.problem}` : `${check.action}: no ${unit}s ${check.problem}`;
  if (check.violations === null) return `${check.action} would fail: some ${unit}s ${check.problem}${check.error ? ` (Postgres: ${check.error})` : ''}`;
  if (check.check === 'unique') return `${check.action} would fail: ${plural(check.violations, 'row')} share ${plural(check.groups ?? 0, 'duplicated value')} of ${check.problem}${examples}`;
  return `${check.action} would fail: ${plural(check.violations, unit)} ${check.problem}${examples}`;
}

/**
 * Compare the predictions with the run: when the migration failed at a statement a check predicted
 * would fail (with the SQLSTATE such a failure has), the check is the cause and its sentence becomes
 * the reason. A prediction on a statement that then succeeded (an earlier statement of the migration
 * fixed the data: a de-duplicating DELETE, a backfill) stays as a note; predictions on statements
 * after the failing one are reported as "would also fail". `failure.line` is the failing statement's line.
 */
export function reconcileDataChecks(checks: readonly DataCheck[], failure: { line: number | undefined; sqlstate: string | undefined } | undefined): { checks: DataCheck[]; cause: string | undefined } {
  const dataFailure = failure?.line !== undefined && (failure.sqlstate === undefined || /^2[23]/.test(failure.sqlstate));
  const atFailure = failure?.line === undefined ? [] : checks.filter((c) => c.line === failure.line && c.prediction === 'fails');
  const cause = dataFailure ? (atFailure.find((c) => failure.sqlstate !== undefined && EXPECTED_SQLSTATE[c.check].test(failure.sqlstate)) ?? atFailure[0]) : undefined;
  const out = checks.map((c): DataCheck => {
    const add = (note: string): DataCheck => ({ ...c, note: c.note ? `${c.note}; ${note}` : note });
    if (c.prediction === 'unknown') return c;
    if (c === cause) return add('the statement failed on the copy, as predicted');
    if (failure?.line === undefined) return c.prediction === 'fails' ? add(failure ? 'would also fail' : 'predicted to fail, but the statement succeeded on the copy: an earlier statement of the migration must have changed the data (informational)') : c;
    if (c.line === failure.line) {
      if (c.prediction === 'fails') return add(dataFailure ? 'would also fail' : `predicted to fail; the statement failed first for another reason${failure.sqlstate ? ` (SQLSTATE ${failure.sqlstate})` : ''}`);
      return dataFailure && !cause ? add('found no violation, yet the statement failed on the copy') : c;
    }
    if (c.prediction !== 'fails') return c;
    if (c.line > failure.line) return add(`would also fail (not reached: the migration failed at line ${failure.line})`);
    return add('predicted to fail, but the statement succeeded on the copy: an earlier statement of the migration must have changed the data (informational)');
  });
  return { checks: out, cause: cause ? describeDataCheck(cause) : undefined };
}

/** Report lines for a migration's data checks (indented like the other detail lines). */
export function dataCheckLines(checks: readonly DataCheck[] | undefined, ms: number | undefined): string[] {
  if (!checks?.length) return [];
  const lines = checks.map((c) => {
    const note = c.note && c.prediction !== 'unknown' ? ` (${c.note})` : '';
    return `    data check, line ${c.line} (${c.check}, ${formatDuration(c.ms)}): ${describeDataCheck(c)}${note}`;
  });
  lines.push(`    data checks took ${formatDuration(ms ?? 0)} before the migration ran (not counted in its time)`);
  return lines;
}
