/**
 * `-- drydock:safe <rule-id> <reason>`: a reviewed statement, marked as safe for one rule.
 *
 * The comment goes on the lines directly above the statement (or at the end of the statement's
 * last line). The reason is required: it is what the next reader needs. A suppression without a
 * reason, or naming an unknown rule, is itself a finding (invalid-suppression); one that silences
 * nothing is reported as a warning (unused-suppression), so stale ones do not pile up.
 * `-- drydock-ignore <rule-id>: <reason>` is accepted as a synonym.
 */
import { closestName } from '../suggest.js';
import type { SectionComment } from './parse.js';

/** A parsed `-- drydock:safe` comment. */
export interface Suppression {
  rule: string;
  reason: string;
  line: number;
  column: number;
  /** The statement it applies to (see SectionComment.statementIndex). */
  statementIndex: number | undefined;
}

/** A malformed suppression comment. */
export interface SuppressionProblem {
  line: number;
  column: number;
  message: string;
  help: string;
}

const MARKER = /^--\s*drydock(?::safe|-ignore)\b(.*)$/i;

/** Read the suppression comments of a section. `ruleIds` are the rules that may be suppressed; `builtinIds` those that may not. */
export function parseSuppressions(
  comments: readonly SectionComment[],
  ruleIds: readonly string[],
  builtinIds: readonly string[],
): { suppressions: Suppression[]; problems: SuppressionProblem[] } {
  const suppressions: Suppression[] = [];
  const problems: SuppressionProblem[] = [];
  const usage = '-- drydock:safe <rule-id> <why this statement is safe>';
  for (const comment of comments) {
    const match = MARKER.exec(comment.text);
    if (!match) continue;
    const rest = match[1]!.trim();
    const ruleMatch = /^([A-Za-z0-9_-]+)\s*:?\s*(.*)$/.exec(rest);
    const where = { line: comment.line, column: comment.column };
    if (!ruleMatch) {
      problems.push({ ...where, message: 'this `-- drydock:safe` comment names no rule', help: usage });
      continue;
    }
    const rule = ruleMatch[1]!.toLowerCase();
    const reason = ruleMatch[2]!.trim();
    if (builtinIds.includes(rule)) {
      problems.push({ ...where, message: `\`${rule}\` cannot be suppressed`, help: 'fix the file instead' });
      continue;
    }
    if (!ruleIds.includes(rule)) {
      const closest = closestName(rule, ruleIds);
      const suggestion = closest !== undefined ? `did you mean \`${closest}\`? ` : '';
      problems.push({ ...where, message: `\`-- drydock:safe\` names an unknown rule \`${rule}\``, help: `${suggestion}the rules are listed by \`drydock lint --list-rules\`` });
      continue;
    }
    if (reason === '') {
      problems.push({ ...where, message: `\`-- drydock:safe ${rule}\` gives no reason`, help: `say why the statement is safe: -- drydock:safe ${rule} <reason>` });
      continue;
    }
    suppressions.push({ rule, reason, ...where, statementIndex: comment.statementIndex });
  }
  return { suppressions, problems };
}
