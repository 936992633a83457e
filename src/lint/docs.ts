/**
 * Rule documentation: src/lint/rules/<id>.md, shipped with the package (package.json "files").
 */
import { readFile } from 'node:fs/promises';

import { ConfigError } from '../errors.js';
import { packagePath } from '../package-root.js';
import { BUILTIN_CHECKS, findRule, RULES } from './rules/index.js';

/** The markdown documentation of a rule (or a short text for the built-in checks). ConfigError for an unknown id. */
export async function readRuleDoc(id: string): Promise<string> {
  const rule = findRule(id);
  if (!rule) {
    const builtin = BUILTIN_CHECKS[id as keyof typeof BUILTIN_CHECKS];
    if (builtin) return `# ${id}\n\n${builtin}.\n`;
    throw new ConfigError(`unknown lint rule "${id}"`, { hint: `the rules are: ${RULES.map((r) => r.id).join(', ')}` });
  }
  return readFile(packagePath(rule.docs), 'utf8');
}
