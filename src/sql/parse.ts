/**
 * SQL → statements with the real PostgreSQL parser (libpg_query compiled to WebAssembly), never
 * regexes: dollar quotes, strings containing ';', nested comments and DO blocks split exactly as
 * the server would split them. The linter builds on the same trees.
 *
 * Offsets: libpg_query reports `stmt_location`, `stmt_len` and every node's `location` in UTF-8
 * bytes, and a syntax error's cursor in characters (code points). JavaScript strings index UTF-16
 * code units. `SourceLocator` converts between them; everything this module returns is a string
 * index (`start`, `end`) or a 1-based line and code-point column.
 */
import { MigrationError } from '../errors.js';
import { loadPgQuery, PgQueryError } from './pg-query.js';
import { spanAt } from './scan.js';

/** One top-level statement of a SQL text. */
export interface Statement {
  /** The statement from its first token to its last, without the `;` and surrounding comments. */
  text: string;
  /** String index in the input where `text` starts (its first non-comment token). */
  start: number;
  /** String index in the input just past `text`. */
  end: number;
  /** String index just after the previous statement's `;` (or 0): leading comments are in input.slice(regionStart, start). */
  regionStart: number;
  /** 1-based line of `start` (shifted by `firstLine` - 1 when given). */
  line: number;
  /** 1-based column of `start`, in characters. */
  column: number;
  /** The parse node's type, e.g. 'CreateStmt', 'IndexStmt', 'TransactionStmt', 'DoStmt'. */
  kind: string;
  /**
   * The statement's parse tree in libpg_query's Node form, `{ [kind]: { …fields } }`, like every
   * child node. `location` fields inside are UTF-8 byte offsets into the whole input (see SourceLocator).
   */
  node: unknown;
}

/** Where the text handed to splitStatements comes from, so errors and lines point into the file. */
export interface SplitOptions {
  /** File name for error messages. */
  file?: string | undefined;
  /** Line of the file on which the text starts (MigrationSection.startLine); default 1. */
  firstLine?: number | undefined;
}

/** SQLSTATE of a syntax error (syntax_error). */
const SYNTAX_ERROR_SQLSTATE = '42601';

/** The SQL does not parse. `line`/`column` are 1-based; `frame` shows the spot with a caret. */
export class SqlSyntaxError extends MigrationError {
  /** The parser's own message, e.g. 'syntax error at or near "selec"'. */
  readonly parserMessage: string;
  /** String index of the error in the text that was parsed. */
  readonly offset: number;
  /** A few lines of context with a caret under the error (see codeFrame). */
  readonly frame: string;

  constructor(
    parserMessage: string,
    where: { offset: number; line: number; column: number; frame: string; file?: string | undefined },
  ) {
    const at = `line ${where.line}, column ${where.column}`;
    super(`${where.file === undefined ? '' : `${where.file}: `}${parserMessage} (${at})`, {
      hint: `fix the SQL at ${at}${where.file === undefined ? '' : ` of ${where.file}`}`,
      file: where.file,
      line: where.line,
      column: where.column,
      sqlstate: SYNTAX_ERROR_SQLSTATE,
    });
    this.parserMessage = parserMessage;
    this.offset = where.offset;
    this.frame = where.frame;
  }
}

/** Parses SQL to libpg_query's tree (src/sql/pg-query.ts), once loaded. */
type Parse = (sql: string) => unknown;

let parser: Parse | undefined;
let loading: Promise<void> | undefined;

/** Load the WebAssembly parser once; call (and await) before splitStatements. */
export function ensureParser(): Promise<void> {
  // Imported lazily: importing libpg-query starts compiling the wasm, which commands that never
  // read SQL should not pay for.
  loading ??= (async () => {
    parser = await loadPgQuery();
  })().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

interface RawStmt {
  stmt: Record<string, unknown>;
  stmt_location?: number;
  stmt_len?: number;
}

/**
 * Split SQL into its top-level statements with the Postgres parser. Text with only comments and
 * whitespace yields []. Throws SqlSyntaxError (with line, column and a code frame) when it does not parse.
 */
export function splitStatements(sql: string, options: SplitOptions = {}): Statement[] {
  const parse = requireParser();
  const firstLine = options.firstLine ?? 1;
  const source = new SourceLocator(sql);

  const nul = sql.indexOf('\0');
  if (nul !== -1) throw syntaxError('the SQL contains a NUL byte', nul, sql, source, options);
  if (sql.trim() === '') return []; // libpg-query refuses empty input

  let stmts: RawStmt[];
  try {
    stmts = (parse(sql) as { stmts?: RawStmt[] }).stmts ?? [];
  } catch (error) {
    if (!(error instanceof PgQueryError)) throw error;
    // cursorPosition is 0-based and counts characters (code points), not bytes or UTF-16 units.
    const index = source.indexOfCodePoint(error.cursorPosition);
    throw syntaxError(error.message, index, sql, source, options);
  }

  // Postgres 18's parser starts a statement at its first token (stmt_location) and ends it at its
  // `;` (stmt_len, trailing comments included); the region between the previous `;` and the first
  // token holds the statement's leading comments.
  let previousEnd = -1;
  return stmts.map((raw) => {
    const byteStart = raw.stmt_location ?? 0;
    const regionStart = previousEnd + 1;
    const regionEnd = raw.stmt_len ? source.indexOfByte(byteStart + raw.stmt_len) : sql.length;
    previousEnd = regionEnd;
    const start = skipTrivia(sql, source.indexOfByte(byteStart), regionEnd);
    const text = trimTrailingTrivia(sql.slice(start, regionEnd), parse);
    const { line, column } = source.positionOf(start);
    const kind = Object.keys(raw.stmt)[0] ?? 'Unknown';
    return {
      text,
      start,
      end: start + text.length,
      regionStart,
      line: line + firstLine - 1,
      column,
      kind,
      node: raw.stmt,
    };
  });
}

function requireParser(): Parse {
  if (parser === undefined) throw new Error('the SQL parser is not loaded: await ensureParser() first');
  return parser;
}

function syntaxError(
  message: string,
  index: number,
  sql: string,
  source: SourceLocator,
  options: SplitOptions,
): SqlSyntaxError {
  // "at end of input" points past trailing whitespace; show it right after the last token instead.
  const clamped = Math.min(index, sql.trimEnd().length);
  const { line, column } = source.positionOf(clamped);
  const firstLine = options.firstLine ?? 1;
  return new SqlSyntaxError(message, {
    offset: clamped,
    line: line + firstLine - 1,
    column,
    frame: codeFrame(sql, line, column, { firstLine }),
    file: options.file,
  });
}

/**
 * Index of the first character at or after `from` that is neither whitespace nor inside a comment
 * (`-- …` to end of line, nested `/* … *\/`), or `to` if there is none. Exact only where no token
 * precedes `from` on the way, which is how it is used: from a statement's start, or on text that
 * should hold nothing but comments.
 */
export function skipTrivia(text: string, from = 0, to = text.length): number {
  let i = from;
  while (i < to) {
    if (isSpace(text.charCodeAt(i))) {
      i += 1;
      continue;
    }
    // Bounded at i + 1: only what starts here matters, not how far the code runs.
    const span = spanAt(text, i, i + 1);
    if (span.kind !== 'line-comment' && span.kind !== 'block-comment') return i;
    i = span.end;
  }
  return to;
}

/** True when `sql` holds nothing but whitespace and comments (no statement at all). */
export function isBlankSql(sql: string): boolean {
  return skipTrivia(sql) === sql.length;
}

function isSpace(ch: number): boolean {
  // The characters Postgres's scanner treats as whitespace: space, \t, \n, \r, \f, \v.
  return ch === 0x20 || (ch >= 0x09 && ch <= 0x0d);
}

/**
 * Drop whitespace and comments after a statement's last token. A scan backwards cannot tell a
 * comment from `--` inside a string, so each candidate cut is checked with the parser: the text
 * before it must still parse (it would not if the cut were inside a string, identifier, dollar
 * quote or comment) and the text after it must be only comments.
 */
function trimTrailingTrivia(text: string, parse: Parse): string {
  const trimmed = text.trimEnd();
  const lastLine = trimmed.slice(trimmed.lastIndexOf('\n') + 1);
  if (!trimmed.endsWith('*/') && !lastLine.includes('--')) return trimmed;
  for (let i = 1; i < trimmed.length; i += 1) {
    if (!trimmed.startsWith('--', i) && !trimmed.startsWith('/*', i)) continue;
    if (skipTrivia(trimmed, i) !== trimmed.length) continue;
    const prefix = trimmed.slice(0, i);
    try {
      if (((parse(prefix) as { stmts?: RawStmt[] }).stmts ?? []).length === 1) return prefix.trimEnd();
    } catch {
      // The cut is inside a token: keep looking.
    }
  }
  return trimmed;
}

/**
 * Converts between the offsets libpg_query reports (UTF-8 bytes, code points) and string indexes,
 * and from string indexes to 1-based line and column. Use it to place a node's `location`.
 */
export class SourceLocator {
  private readonly lineStarts: number[] = [0];
  private readonly isAscii: boolean;
  private byteAt: Int32Array | undefined;

  constructor(readonly text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
    this.isAscii = Buffer.byteLength(text, 'utf8') === text.length;
  }

  /** String index of a UTF-8 byte offset (as in `location`, `stmt_location`). */
  indexOfByte(byte: number): number {
    if (byte <= 0) return 0;
    if (this.isAscii) return Math.min(byte, this.text.length);
    const byteAt = (this.byteAt ??= this.buildByteIndex());
    // The first index whose byte offset is >= byte (a code point boundary for valid offsets).
    let lo = 0;
    let hi = this.text.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((byteAt[mid] ?? Infinity) < byte) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** String index of a 0-based code-point offset (as in a parser error's cursor position). */
  indexOfCodePoint(codePoints: number): number {
    let index = 0;
    for (let n = 0; n < codePoints && index < this.text.length; n += 1) {
      index += (this.text.codePointAt(index) ?? 0) > 0xffff ? 2 : 1;
    }
    return index;
  }

  /** 1-based line and column (in code points) of a string index. */
  positionOf(index: number): { line: number; column: number } {
    const at = Math.max(0, Math.min(index, this.text.length));
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.lineStarts[mid] ?? 0) <= at) lo = mid;
      else hi = mid - 1;
    }
    const lineStart = this.lineStarts[lo] ?? 0;
    return { line: lo + 1, column: [...this.text.slice(lineStart, at)].length + 1 };
  }

  private buildByteIndex(): Int32Array {
    const byteAt = new Int32Array(this.text.length + 1);
    let byte = 0;
    for (let i = 0; i < this.text.length; ) {
      const cp = this.text.codePointAt(i) ?? 0;
      const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      byteAt[i] = byte;
      if (size === 4) byteAt[i + 1] = byte; // the low surrogate shares its code point's offset
      i += size === 4 ? 2 : 1;
      byte += size;
    }
    byteAt[this.text.length] = byte;
    return byteAt;
  }
}

/** Options of codeFrame. */
export interface CodeFrameOptions {
  /** Number shown for the first line of `sql` (when it is a section of a larger file); default 1. */
  firstLine?: number;
  /** Lines shown before and after the marked one; default 2. */
  context?: number;
}

/**
 * A few lines of `sql` around 1-based `line` (within `sql`), numbered, with a caret under `column`:
 *
 *     2 | create table a (id int);
 *   > 3 | selec 1;
 *       | ^
 */
export function codeFrame(sql: string, line: number, column: number, options: CodeFrameOptions = {}): string {
  const firstLine = options.firstLine ?? 1;
  const context = options.context ?? 2;
  const lines = sql.split('\n').map((l) => l.replace(/\r$/, ''));
  const target = Math.max(1, Math.min(line, lines.length));
  const from = Math.max(1, target - context);
  const to = Math.min(lines.length, target + context);
  const width = String(to + firstLine - 1).length;
  const out: string[] = [];
  for (let n = from; n <= to; n += 1) {
    const text = lines[n - 1] ?? '';
    const number = String(n + firstLine - 1).padStart(width);
    out.push(`${n === target ? '>' : ' '} ${number} |${text === '' ? '' : ` ${text}`}`);
    if (n === target) {
      // Keep tabs so the caret lines up with the character above it.
      const before = [...text].slice(0, Math.max(0, column - 1));
      const pad = before.map((ch) => (ch === '\t' ? '\t' : ' ')).join('');
      out.push(`  ${' '.repeat(width)} | ${pad}^`);
    }
  }
  return out.join('\n');
}
