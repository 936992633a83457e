/**
 * Every rule against its table of unsafe (`err`) and safe (`ok`) SQL (cases.ts). Each fixture is
 * parsed with the Postgres parser first, so a typo cannot make a case pass.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { RULES } from '../../../../src/lint/rules/index.js';
import { ensureParser } from '../../../../src/sql/parse.js';
import { label, lintCase, rulesOf } from '../helpers.js';
import { RULE_CASES } from './cases.js';

beforeAll(async () => {
  await ensureParser();
});

describe('the rule tables', () => {
  it('cover every rule in the registry with unsafe and safe cases, and nothing else', () => {
    for (const rule of RULES) {
      expect(RULE_CASES[rule.id]?.err.length, `${rule.id} err cases`).toBeGreaterThan(0);
      expect(RULE_CASES[rule.id]?.ok.length, `${rule.id} ok cases`).toBeGreaterThan(0);
    }
    expect(Object.keys(RULE_CASES).sort()).toEqual(RULES.map((r) => r.id).sort());
  });
});

for (const rule of RULES) {
  const cases = RULE_CASES[rule.id] ?? { err: [], ok: [] };
  describe(rule.id, () => {
    it.each(cases.err.map((c) => [label(c), c] as const))('flags %s', (_name, c) => {
      expect(rulesOf(lintCase(c))).toContain(rule.id);
    });
    it.each(cases.ok.map((c) => [label(c), c] as const))('allows %s', (_name, c) => {
      expect(rulesOf(lintCase(c))).not.toContain(rule.id);
    });
  });
}
