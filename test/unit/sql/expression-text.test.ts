import { beforeAll, describe, expect, it } from 'vitest';

import { closingParen, expressionText, findTopLevel, isKeyword, sameTree, splitTopLevel, sqlTokens, typeNameText } from '../../../src/sql/expression-text.js';
import { ensureParser, splitStatements } from '../../../src/sql/parse.js';

beforeAll(async () => {
  await ensureParser();
});

/** The parse tree of `SELECT <expr>`'s only target. */
function exprTree(expr: string): unknown {
  const node = splitStatements(`SELECT ${expr}`)[0]!.node as { SelectStmt: { targetList: Array<{ ResTarget: { val: unknown } }> } };
  return node.SelectStmt.targetList[0]!.ResTarget.val;
}

describe('sqlTokens', () => {
  it('keeps literals, quoted names and dollar quotes whole and leaves comments out', () => {
    const text = `a."b (c" , 'x)' -- ) comment\n /* ( */ $q$)$q$ ::int 1.5e3`;
    expect(sqlTokens(text).map((t) => [t.kind, t.text])).toEqual([
      ['word', 'a'],
      ['punct', '.'],
      ['ident', '"b (c"'],
      ['punct', ','],
      ['literal', "'x)'"],
      ['literal', '$q$)$q$'],
      ['punct', '::'],
      ['word', 'int'],
      ['number', '1.5e3'],
    ]);
  });

  it('finds matching parentheses, top-level keywords and commas', () => {
    const tokens = sqlTokens(`f(a, (b, c)) WHERE x IN (1, 2), g`);
    expect(closingParen(tokens, 1)).toBe(9);
    expect(findTopLevel(tokens, 0, tokens.length, (t) => isKeyword(t, 'where'))).toBe(10);
    expect(splitTopLevel(tokens, 2, 9).map(([a, b]) => tokens.slice(a, b).map((t) => t.text).join(''))).toEqual(['a', '(b,c)']);
  });
});

describe('expressionText', () => {
  it('returns the longest prefix that parses to the same expression (an opclass or ordering after it is left out)', () => {
    const text = `lower(email) text_pattern_ops DESC NULLS LAST`;
    expect(expressionText(text, sqlTokens(text), 0, sqlTokens(text).length, exprTree('lower(email)'))).toBe('lower(email)');
    const paren = `(a + b) > 0 AND c <> ')'`;
    expect(expressionText(paren, sqlTokens(paren), 0, sqlTokens(paren).length, exprTree(paren))).toBe(paren);
  });

  it('refuses text that parses to another expression', () => {
    const text = `a + b`;
    expect(expressionText(text, sqlTokens(text), 0, sqlTokens(text).length, exprTree('a - b'))).toBeUndefined();
    // An alias is not part of an expression: `x y` must not pass for `x`.
    const aliased = `x y`;
    expect(expressionText(aliased, sqlTokens(aliased), 0, 2, exprTree('x y'))).toBe('x');
  });

  it('reads a type name as written', () => {
    const text = `timestamp (3) with time zone USING x`;
    const typeName = (splitStatements('SELECT NULL::timestamp(3) WITH TIME ZONE')[0]!.node as { SelectStmt: { targetList: Array<{ ResTarget: { val: { TypeCast: { typeName: unknown } } } }> } }).SelectStmt.targetList[0]!.ResTarget.val.TypeCast.typeName;
    expect(typeNameText(text, sqlTokens(text), 0, 7, typeName)).toBe('timestamp (3) with time zone');
  });

  it('compares trees without their locations', () => {
    expect(sameTree(exprTree('a+1'), exprTree('a   +   1'))).toBe(true);
    expect(sameTree(exprTree('a+1'), exprTree('a+2'))).toBe(false);
  });
});
