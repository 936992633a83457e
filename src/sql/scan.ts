/**
 * The one lexer for code that must know which parts of a SQL text are code and which are comments,
 * strings, quoted identifiers or dollar quotes, without a full parse: skipping comments before a
 * statement (src/sql/parse.ts), blanking psql meta-commands and cutting plpgsql bodies for the
 * linter (src/lint/parse.ts), and telling line breaks inside literals from the rest when normalising
 * schema dumps (src/schema/normalize.ts). Statement splitting itself is libpg_query's job.
 *
 * It follows PostgreSQL's scanner for the constructs that hide other text:
 * - `-- …` to the end of the line (the span stops before the `\n`);
 * - `/* … *\/`, which nest;
 * - `'…'` with `''` for a quote; `E'…'`/`e'…'` also take backslash escapes (`\'`, `\\`). Other prefixes
 *   (B, X, N, U&) only change what the string means, not where it ends;
 * - `"…"` with `""` for a quote;
 * - `$$ … $$` and `$tag$ … $tag$`, where a tag is an identifier without `$` (so `$1` is a parameter,
 *   not a tag) and a `$` right after an identifier character continues the identifier (`a$$`).
 *
 * What it does not do (none of the callers needs it): standard_conforming_strings = off, the
 * continuation of an E'' string on a new line (`E'a'\n'b'`), U&'' escape characters, psql variables.
 */

/** What a span of SQL text is. */
export type SqlSpanKind = 'code' | 'line-comment' | 'block-comment' | 'single-quoted' | 'double-quoted' | 'dollar-quoted';

/** A run of SQL text of one kind. The spans of a text follow each other without gaps. */
export interface SqlSpan {
  kind: SqlSpanKind;
  /** String index of the span's first character (for literals and comments, their opening delimiter). */
  start: number;
  /** String index just past the span: past the closing delimiter; a line comment stops before its newline. */
  end: number;
  /** False when the text ends before the closing quote, `*\/` or tag (then `end` is the text's length). */
  closed: boolean;
  /** single-quoted: an E'' string, whose backslashes escape (the `E` itself is the end of the code before it). */
  escapes?: boolean;
  /** dollar-quoted: the delimiter, `$$` or `$tag$`. */
  tag?: string;
}

/** `$$` or `$tag$` (PostgreSQL's dolqdelim: a tag starts like an identifier and has no `$`). */
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

const SINGLE_QUOTE = 0x27;
const DOUBLE_QUOTE = 0x22;
const DOLLAR = 0x24;
const DASH = 0x2d;
const SLASH = 0x2f;
const STAR = 0x2a;
const BACKSLASH = 0x5c;

/**
 * The span of `sql` that starts at `at`. `at` must be a token boundary: 0, the end of another span,
 * a line start or the start of a statement. That matters for `$`: it opens a dollar quote unless it
 * continues an identifier (`a$$`), and at `at` it is taken to continue nothing, which is right after
 * a closing `$tag$` (`$a$x$a$$b$y$b$` is two dollar quotes). `to` only bounds code: a code span
 * stops there, while a comment or literal that starts before `to` is returned whole.
 */
export function spanAt(sql: string, at: number, to = sql.length): SqlSpan {
  const literal = literalAt(sql, at, at);
  if (literal) return literal;
  let i = at + 1;
  while (i < to && !opensLiteral(sql, i, at)) i += 1;
  return { kind: 'code', start: at, end: i, closed: true };
}

/** The spans of `sql` from `from` (a token boundary, see spanAt) to the end, in order. */
export function* sqlSpans(sql: string, from = 0): Generator<SqlSpan> {
  for (let i = from; i < sql.length; ) {
    const span = spanAt(sql, i);
    yield span;
    i = span.end;
  }
}

/** True when a comment, string, quoted identifier or dollar quote starts at `i` (scanning from `at`). */
function opensLiteral(sql: string, i: number, at: number): boolean {
  const ch = sql.charCodeAt(i);
  if (ch === SINGLE_QUOTE || ch === DOUBLE_QUOTE) return true;
  const next = sql.charCodeAt(i + 1);
  if (ch === DASH) return next === DASH;
  if (ch === SLASH) return next === STAR;
  if (ch === DOLLAR) return dollarTagAt(sql, i, at) !== undefined;
  return false;
}

/** The comment or literal starting at `i`, or undefined when `i` is in code. */
function literalAt(sql: string, i: number, at: number): SqlSpan | undefined {
  const ch = sql.charCodeAt(i);
  const next = sql.charCodeAt(i + 1);
  if (ch === DASH && next === DASH) {
    const eol = sql.indexOf('\n', i + 2);
    return { kind: 'line-comment', start: i, end: eol === -1 ? sql.length : eol, closed: true };
  }
  if (ch === SLASH && next === STAR) return blockComment(sql, i);
  if (ch === SINGLE_QUOTE) return singleQuoted(sql, i);
  if (ch === DOUBLE_QUOTE) return doubleQuoted(sql, i);
  if (ch === DOLLAR) {
    const tag = dollarTagAt(sql, i, at);
    if (tag === undefined) return undefined;
    const close = sql.indexOf(tag, i + tag.length);
    return close === -1
      ? { kind: 'dollar-quoted', start: i, end: sql.length, closed: false, tag }
      : { kind: 'dollar-quoted', start: i, end: close + tag.length, closed: true, tag };
  }
  return undefined;
}

function blockComment(sql: string, start: number): SqlSpan {
  let depth = 1;
  let i = start + 2;
  while (i < sql.length && depth > 0) {
    if (sql.startsWith('/*', i)) {
      depth += 1;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth -= 1;
      i += 2;
    } else i += 1;
  }
  return { kind: 'block-comment', start, end: i, closed: depth === 0 };
}

function singleQuoted(sql: string, start: number): SqlSpan {
  // E'…' only when the E is a word of its own: in `somE'x'` it ends an identifier (a typed literal).
  // No literal ends in an E, so the E, when there is one, is always the code just before.
  const escapes = (sql[start - 1] === 'E' || sql[start - 1] === 'e') && !isIdentChar(sql.charCodeAt(start - 2));
  let i = start + 1;
  while (i < sql.length) {
    const ch = sql.charCodeAt(i);
    if (escapes && ch === BACKSLASH) i += 2;
    else if (ch === SINGLE_QUOTE) {
      if (sql.charCodeAt(i + 1) !== SINGLE_QUOTE) return { kind: 'single-quoted', start, end: i + 1, closed: true, escapes };
      i += 2;
    } else i += 1;
  }
  return { kind: 'single-quoted', start, end: sql.length, closed: false, escapes };
}

function doubleQuoted(sql: string, start: number): SqlSpan {
  let i = start + 1;
  for (;;) {
    const close = sql.indexOf('"', i);
    if (close === -1) return { kind: 'double-quoted', start, end: sql.length, closed: false };
    if (sql.charCodeAt(close + 1) !== DOUBLE_QUOTE) return { kind: 'double-quoted', start, end: close + 1, closed: true };
    i = close + 2;
  }
}

/** The dollar-quote delimiter starting at `i`, if one does (`$` after an identifier character continues the identifier). */
function dollarTagAt(sql: string, i: number, at: number): string | undefined {
  if (i > at && isIdentChar(sql.charCodeAt(i - 1))) return undefined;
  DOLLAR_TAG.lastIndex = i;
  return DOLLAR_TAG.exec(sql)?.[0];
}

/** A character that can continue an identifier or keyword: letters, digits, `_`, `$` and anything non-ASCII. */
function isIdentChar(ch: number): boolean {
  return (
    (ch >= 0x61 && ch <= 0x7a) || (ch >= 0x41 && ch <= 0x5a) || (ch >= 0x30 && ch <= 0x39) || ch === 0x5f || ch === DOLLAR || ch >= 0x80
  );
}
