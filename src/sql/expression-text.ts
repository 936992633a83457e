/**
 * The source text of an expression (or a type name) inside a parsed statement, to build new SQL
 * around it: `drydock rehearse` runs a CHECK constraint's expression, an index's key expressions
 * and predicate, and an `ALTER COLUMN … USING` expression as read-only queries (src/rehearse/data-check-plan.ts).
 *
 * libpg_query gives a node's start (`location`) but not its end, and the smallest location inside an
 * expression is not always its start (`(a + b) > 0` starts at a parenthesis). So the text is cut at
 * token boundaries inside a region known to hold the node (the parentheses after CHECK, one element
 * of an index's column list, what follows WHERE or USING), and each candidate is parsed again on its
 * own: a text is accepted only when it parses to the very same tree (locations aside). Nothing is
 * guessed: when no candidate matches, the caller is told so (undefined). The parser must be loaded.
 */
import { splitStatements, type Statement } from './parse.js';
import { sqlSpans } from './scan.js';

/** A token of SQL text: enough to find parentheses, commas and keywords outside literals. */
export interface SqlToken {
  /** String indexes in the text. */
  start: number;
  end: number;
  text: string;
  /** 'word' (keyword or bare identifier), 'ident' ("quoted"), 'literal' (string or dollar quote), 'number', 'punct'. */
  kind: 'word' | 'ident' | 'literal' | 'number' | 'punct';
}

const CODE_TOKEN = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*|[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|::|\S/g;

/** The tokens of `text`, comments left out (src/sql/scan.ts decides what is a comment or a literal). */
export function sqlTokens(text: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  for (const span of sqlSpans(text)) {
    if (span.kind === 'line-comment' || span.kind === 'block-comment') continue;
    if (span.kind !== 'code') {
      tokens.push({ start: span.start, end: span.end, text: text.slice(span.start, span.end), kind: span.kind === 'double-quoted' ? 'ident' : 'literal' });
      continue;
    }
    const code = text.slice(span.start, span.end);
    for (const m of code.matchAll(CODE_TOKEN)) {
      const start = span.start + m.index;
      const word = m[0];
      const kind = /^[A-Za-z_\u0080-\uffff]/.test(word) ? 'word' : /^[0-9.]/.test(word) && word !== '.' ? 'number' : 'punct';
      tokens.push({ start, end: start + word.length, text: word, kind });
    }
  }
  return tokens;
}

/** True when the token is the keyword `word` (any case). */
export function isKeyword(token: SqlToken | undefined, word: string): boolean {
  return token?.kind === 'word' && token.text.toUpperCase() === word.toUpperCase();
}

/** Index of the `)` that closes the `(` at `open`, or undefined. */
export function closingParen(tokens: readonly SqlToken[], open: number): number | undefined {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'punct') continue;
    if (t.text === '(' || t.text === '[') depth++;
    else if (t.text === ')' || t.text === ']') {
      depth--;
      if (depth === 0) return t.text === ')' ? i : undefined;
    }
  }
  return undefined;
}

/** The first token index in [from, to) at parenthesis depth 0 (relative to `from`) that `match` accepts. */
export function findTopLevel(tokens: readonly SqlToken[], from: number, to: number, match: (token: SqlToken) => boolean): number | undefined {
  let depth = 0;
  for (let i = from; i < to; i++) {
    const t = tokens[i]!;
    if (depth === 0 && match(t)) return i;
    if (t.kind === 'punct' && (t.text === '(' || t.text === '[')) depth++;
    else if (t.kind === 'punct' && (t.text === ')' || t.text === ']')) {
      if (depth === 0) return undefined;
      depth--;
    }
  }
  return undefined;
}

/** The token ranges [start, end) between the top-level commas of [from, to). */
export function splitTopLevel(tokens: readonly SqlToken[], from: number, to: number): Array<[number, number]> {
  const parts: Array<[number, number]> = [];
  let start = from;
  for (;;) {
    const comma = findTopLevel(tokens, start, to, (t) => t.kind === 'punct' && t.text === ',');
    if (comma === undefined) {
      parts.push([start, to]);
      return parts;
    }
    parts.push([start, comma]);
    start = comma + 1;
  }
}

/** The first token at or after string index `index`. */
export function tokenAt(tokens: readonly SqlToken[], index: number): number {
  let i = 0;
  while (i < tokens.length && tokens[i]!.end <= index) i++;
  return i;
}

/** A parse tree without its `location` fields, for comparing trees of different texts. */
function withoutLocations(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutLocations);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (key !== 'location') out[key] = withoutLocations(value);
  }
  return out;
}

/** True when two parse trees are the same but for locations. */
export function sameTree(a: unknown, b: unknown): boolean {
  return JSON.stringify(withoutLocations(a)) === JSON.stringify(withoutLocations(b));
}

function parseOne(sql: string): Statement | undefined {
  try {
    const statements = splitStatements(sql);
    return statements.length === 1 ? statements[0] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The text of `want` within tokens [from, to): the longest run of tokens starting at `from` that,
 * put in `wrap`, parses to a tree whose `pick` is `want`. Undefined when none does.
 */
function longestMatch(text: string, tokens: readonly SqlToken[], from: number, to: number, want: unknown, wrap: (candidate: string) => string, pick: (select: Record<string, unknown>) => unknown): string | undefined {
  if (from >= to) return undefined;
  const start = tokens[from]!.start;
  for (let end = to; end > from; end--) {
    const candidate = text.slice(start, tokens[end - 1]!.end);
    const parsed = parseOne(wrap(candidate));
    const select = (parsed?.node as { SelectStmt?: Record<string, unknown> } | undefined)?.SelectStmt;
    if (!select) continue;
    const got = pick(select);
    if (got !== undefined && sameTree(got, want)) return candidate;
  }
  return undefined;
}

/** The only target's value of `SELECT <expr>` without an alias or any other clause, else undefined. */
function soleTarget(select: Record<string, unknown>): unknown {
  const keys = Object.keys(select).filter((k) => k !== 'limitOption' && k !== 'op');
  if (keys.length !== 1 || keys[0] !== 'targetList') return undefined;
  const list = select.targetList as Array<{ ResTarget?: { name?: string; val?: unknown } }>;
  if (list.length !== 1 || !list[0]!.ResTarget || list[0]!.ResTarget.name !== undefined) return undefined;
  return list[0]!.ResTarget.val;
}

/** The source text of the expression `expr` found at the start of tokens [from, to), or undefined. */
export function expressionText(text: string, tokens: readonly SqlToken[], from: number, to: number, expr: unknown): string | undefined {
  return longestMatch(text, tokens, from, to, expr, (c) => `SELECT ${c}`, soleTarget);
}

/** The source text of the type name `typeName` found at the start of tokens [from, to), or undefined. */
export function typeNameText(text: string, tokens: readonly SqlToken[], from: number, to: number, typeName: unknown): string | undefined {
  return longestMatch(text, tokens, from, to, typeName, (c) => `SELECT NULL::${c}`, (select) => (soleTarget(select) as { TypeCast?: { typeName?: unknown } } | undefined)?.TypeCast?.typeName);
}
