import { existsSync, readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { readRuleDoc } from '../../../src/lint/docs.js';
import { BUILTIN_CHECKS, RULES } from '../../../src/lint/rules/index.js';

describe('rule registry and docs', () => {
  it('has unique kebab-case ids that start with a verb', () => {
    const ids = RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^(require|ban|adding|changing|renaming|prefer)-[a-z]+(-[a-z]+)*$/);
  });

  it('says which statement kinds each rule looks at', () => {
    for (const rule of RULES) {
      expect(rule.kinds.length, rule.id).toBeGreaterThan(0);
      for (const kind of rule.kinds) expect(kind, rule.id).toMatch(/^[A-Z][A-Za-z]+Stmt$/);
    }
  });

  it('names each rule module after its id', () => {
    for (const rule of RULES) expect(existsSync(`src/lint/rules/${rule.id}.ts`), rule.id).toBe(true);
  });

  it('documents every rule with Problem, Solution, bad then good SQL, and a Postgres docs link', () => {
    for (const rule of RULES) {
      expect(rule.docs).toBe(`src/lint/rules/${rule.id}.md`);
      const doc = readFileSync(rule.docs, 'utf8');
      expect(doc.startsWith(`# ${rule.id}\n`), rule.id).toBe(true);
      const problem = doc.indexOf('## Problem');
      const solution = doc.indexOf('## Solution');
      const bad = doc.indexOf('Instead of:');
      const good = doc.indexOf('Use:');
      expect(problem, rule.id).toBeGreaterThan(0);
      expect(solution, rule.id).toBeGreaterThan(problem);
      expect(bad, rule.id).toBeGreaterThan(solution);
      expect(good, rule.id).toBeGreaterThan(bad);
      expect(doc.match(/```sql/g)?.length, rule.id).toBeGreaterThanOrEqual(2);
      expect(doc, rule.id).toMatch(/https:\/\/www\.postgresql\.org\/docs\//);
    }
  });

  it('reads a rule’s doc for --explain, and explains the built-in checks', async () => {
    expect(await readRuleDoc('ban-truncate')).toContain('## Problem');
    expect(await readRuleDoc('invalid-suppression')).toContain(BUILTIN_CHECKS['invalid-suppression']);
    await expect(readRuleDoc('no-such-rule')).rejects.toThrow('unknown lint rule "no-such-rule"');
  });
});
