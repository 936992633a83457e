import { describe, expect, it } from 'vitest';

import { spanAt, sqlSpans, type SqlSpan } from '../../../src/sql/scan.js';

/** The spans of `sql` as [kind, text] pairs, which read better than offsets. */
function pieces(sql: string): Array<[string, string]> {
  return [...sqlSpans(sql)].map((s) => [s.kind, sql.slice(s.start, s.end)]);
}

/** The first span of `sql` that is not code. */
function firstLiteral(sql: string): SqlSpan {
  const span = [...sqlSpans(sql)].find((s) => s.kind !== 'code');
  if (!span) throw new Error(`no literal in ${sql}`);
  return span;
}

describe('sqlSpans', () => {
  it('tiles the text: spans follow each other without gaps or overlaps', () => {
    const samples = [
      '',
      'SELECT 1',
      "SELECT 'a', \"b\", $$c$$ -- d\n/* e */ ;",
      "E'\\'' $x$ $$ $x$ /* /* */ */ '",
      "\"unterminated 'x' $$",
      "x$$y$$ $1$ E'\\",
    ];
    for (const sql of samples) {
      let at = 0;
      for (const span of sqlSpans(sql)) {
        expect(span.start).toBe(at);
        expect(span.end).toBeGreaterThan(span.start);
        at = span.end;
      }
      expect(at).toBe(sql.length);
    }
  });

  it('ends a line comment before its newline, and only in code', () => {
    expect(pieces("SELECT '--' -- note\nFROM t")).toEqual([
      ['code', 'SELECT '],
      ['single-quoted', "'--'"],
      ['code', ' '],
      ['line-comment', '-- note'],
      ['code', '\nFROM t'],
    ]);
    expect(pieces('-- last line')).toEqual([['line-comment', '-- last line']]);
  });

  it('nests block comments', () => {
    expect(pieces('a /* one /* two */ still one */ b')).toEqual([
      ['code', 'a '],
      ['block-comment', '/* one /* two */ still one */'],
      ['code', ' b'],
    ]);
    expect(pieces('/*/ x */ y')).toEqual([
      ['block-comment', '/*/ x */'],
      ['code', ' y'],
    ]);
  });

  it('marks unterminated comments and literals as not closed and ends them at the end of the text', () => {
    for (const sql of ['x /* a /* b */ c', "x 'it''s", 'x "name', 'x $tag$ body $$', "x E'a\\"]) {
      const span = firstLiteral(sql);
      expect({ sql, end: span.end, closed: span.closed }).toEqual({ sql, end: sql.length, closed: false });
    }
    expect(firstLiteral('x /* a */').closed).toBe(true);
  });

  it("reads '' as a quote inside a standard string, where a backslash is just a character", () => {
    expect(pieces("'it''s' 'C:\\' x")).toEqual([
      ['single-quoted', "'it''s'"],
      ['code', ' '],
      ['single-quoted', "'C:\\'"],
      ['code', ' x'],
    ]);
  });

  it("takes backslash escapes in E'' strings (either case), leaving the E in the code before", () => {
    expect(pieces("SELECT E'it\\'s', e'a\\\\' x")).toEqual([
      ['code', 'SELECT E'],
      ['single-quoted', "'it\\'s'"],
      ['code', ', e'],
      ['single-quoted', "'a\\\\'"],
      ['code', ' x'],
    ]);
    expect(firstLiteral("E'it\\'s'").escapes).toBe(true);
    expect(firstLiteral("E'a''\\'b'")).toMatchObject({ end: 9, closed: true, escapes: true });
  });

  it("does not read E'' after other identifier characters: somE'…' is a typed literal", () => {
    expect(firstLiteral("somE'a\\' x")).toMatchObject({ start: 4, end: 8, escapes: false });
    expect(firstLiteral("_e'a\\' x")).toMatchObject({ end: 6, escapes: false });
  });

  it('keeps quotes inside quoted identifiers, with "" for a double quote', () => {
    expect(pieces('SELECT "it\'s", "a""b" -- c')).toEqual([
      ['code', 'SELECT '],
      ['double-quoted', '"it\'s"'],
      ['code', ', '],
      ['double-quoted', '"a""b"'],
      ['code', ' '],
      ['line-comment', '-- c'],
    ]);
  });

  it('reads $$ and $tag$ quotes, where other tags and comment markers are text', () => {
    expect(pieces("DO $$ a $x$ -- ' /* $$; x")).toEqual([
      ['code', 'DO '],
      ['dollar-quoted', "$$ a $x$ -- ' /* $$"],
      ['code', '; x'],
    ]);
    expect(pieces('$fn_1$ $$ $fn_1$')).toEqual([['dollar-quoted', '$fn_1$ $$ $fn_1$']]);
    expect(firstLiteral('$fn_1$ $$ $fn_1$').tag).toBe('$fn_1$');
    expect(pieces('$é$ x $é$')).toEqual([['dollar-quoted', '$é$ x $é$']]);
  });

  it('does not take parameters or identifiers with $ for dollar quotes', () => {
    expect(pieces('SELECT $1, $2 FROM t WHERE a = $1$')).toEqual([['code', 'SELECT $1, $2 FROM t WHERE a = $1$']]);
    expect(pieces('SELECT a$$b, x$y$ FROM t$')).toEqual([['code', 'SELECT a$$b, x$y$ FROM t$']]);
    expect(pieces('$1$$ x')).toEqual([['code', '$1$$ x']]);
  });

  it('opens a dollar quote right after another one closes', () => {
    expect(pieces('$a$x$a$$b$y$b$')).toEqual([
      ['dollar-quoted', '$a$x$a$'],
      ['dollar-quoted', '$b$y$b$'],
    ]);
  });

  it('starts from a given offset', () => {
    const sql = "SELECT 'a'; /* b */ SELECT 2";
    expect([...sqlSpans(sql, sql.indexOf(';'))].map((s) => s.kind)).toEqual(['code', 'block-comment', 'code']);
  });
});

describe('spanAt', () => {
  it('stops code at `to` but returns a literal that starts before it whole', () => {
    const sql = "ab 'c\nd' e";
    expect(spanAt(sql, 0, 2)).toEqual({ kind: 'code', start: 0, end: 2, closed: true });
    expect(spanAt(sql, 0)).toEqual({ kind: 'code', start: 0, end: 3, closed: true });
    expect(spanAt(sql, 3, 4)).toEqual({ kind: 'single-quoted', start: 3, end: 8, closed: true, escapes: false });
  });

  it('reads what starts at the offset', () => {
    const sql = 'x -- a\n/* b */';
    expect(spanAt(sql, 2)).toEqual({ kind: 'line-comment', start: 2, end: 6, closed: true });
    expect(spanAt(sql, 7)).toEqual({ kind: 'block-comment', start: 7, end: 14, closed: true });
  });
});
