/**
 * A file to lint → its sections → their statements, with the Postgres parser (src/sql/parse.ts).
 *
 * - A file with `-- migrate:up` / `-- migrate:down` markers is a drydock (dbmate-format) migration:
 *   each section is linted on its own, and a section without `transaction:false` runs inside the
 *   transaction drydock's runner opens.
 * - Any other file is plain SQL, run statement by statement as written (psql, Flyway, Prisma …).
 * - Statements inside a plpgsql DO block run when the DO runs, so they are linted too: the body is
 *   cut at its top-level semicolons and each piece that starts with a SQL command is parsed with
 *   the real parser (plpgsql control flow around it is skipped). CREATE FUNCTION bodies do not run
 *   during the migration and are not linted.
 * - `--` comments between statements are kept for `-- drydock:safe` suppressions.
 */
import { hasMigrationMarkers, parseMigrationText } from '../migrate/files.js';
import type { MigrationSection } from '../migrate/types.js';
import { MigrationError } from '../errors.js';
import { isEmptySection } from '../backfill/directive.js';
import { isBlankSql, SourceLocator, splitStatements, SqlSyntaxError, type Statement } from '../sql/parse.js';
import { spanAt, sqlSpans } from '../sql/scan.js';
import { asKind, type PgNode } from './ast.js';
import type { LintStatement } from './types.js';

/** A top-level statement of a section, with the statements of its DO block when it is one. */
export interface ParsedStatement extends LintStatement {
  /** Statements inside a DO block, in order ([] for anything else). */
  embedded: LintStatement[];
}

/** A `--` comment between statements. */
export interface SectionComment {
  /** The comment's text from `--` to the end of its line. */
  text: string;
  line: number;
  column: number;
  /** Index of the statement the comment is attached to (the one it trails on the same line, else the next one); undefined after the last. */
  statementIndex: number | undefined;
}

/** One unit that runs as written: a migration section or a whole plain file. */
export interface ParsedSection {
  /** 'up' or 'down' for drydock migrations; undefined for plain files. */
  direction: 'up' | 'down' | undefined;
  /** drydock's runner wraps the section in a transaction. */
  runnerTransaction: boolean;
  statements: ParsedStatement[];
  comments: SectionComment[];
}

/** A file that could not be read as SQL, and where. */
export interface ParseProblem {
  message: string;
  line: number;
  column: number;
  /** The lines around the error with a caret under it (SQL syntax errors only). */
  frame?: string | undefined;
}

/** What parseLintFile makes of a file. */
export interface ParsedLintFile {
  kind: 'drydock' | 'plain';
  sections: ParsedSection[];
  /** Set when the file (or a section) does not parse; `sections` then holds what came before it. */
  problem: ParseProblem | undefined;
}

/** Options of parseLintFile. */
export interface ParseLintOptions {
  /** Also parse the down section of drydock migrations. */
  down?: boolean | undefined;
  /** Treat the file as this kind instead of detecting it from its markers. */
  kind?: 'drydock' | 'plain' | undefined;
}

/** Parse a file's text for linting (the parser must be loaded: await ensureParser()). Never throws for bad SQL. */
export function parseLintFile(fileName: string, text: string, options: ParseLintOptions = {}): ParsedLintFile {
  const kind = options.kind ?? (hasMigrationMarkers(text) ? 'drydock' : 'plain');
  if (kind === 'plain') {
    const source = blankPsqlMetaCommands(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    const section = parseSection(source, { sql: source, transaction: false, startLine: 1 }, undefined, false);
    return { kind, sections: 'problem' in section ? [] : [section], problem: 'problem' in section ? section.problem : undefined };
  }
  let sections;
  try {
    sections = parseMigrationText(fileName, text);
  } catch (error) {
    if (!(error instanceof MigrationError)) throw error;
    const message = error.message.startsWith(`${fileName}: `) ? error.message.slice(fileName.length + 2) : error.message;
    return { kind, sections: [], problem: { message, line: error.line ?? 1, column: 1 } };
  }
  // The loader reads an empty up section (status shows it pending) but the runner refuses to apply it: lint says so before a deploy does.
  if (isEmptySection(sections.up.sql, isBlankSql)) {
    return { kind, sections: [], problem: { message: 'the `-- migrate:up` section has no statements (`drydock migrate up` refuses to apply it)', line: sections.up.startLine - 1, column: 1 } };
  }
  return parseMigrationSections(sections, options);
}

/**
 * Plain files are often run with psql, and may hold psql meta-commands (`\set ON_ERROR_STOP on`,
 * `\connect`, `\i other.sql`) that psql consumes before the server sees any SQL. Blank out every
 * line that starts with a backslash where a statement could start (not inside a string, quoted
 * identifier, dollar quote or comment, and not in the middle of a statement), keeping every other
 * character where it is so positions stay exact.
 */
export function blankPsqlMetaCommands(text: string): string {
  if (!text.includes('\\')) return text;
  let out: string[] | undefined;
  let i = 0;
  let atBoundary = true;
  let lineHasContent = false;
  while (i < text.length) {
    // Code spans stop after the line's newline, so a blanked line is cheap to resume after.
    const eol = text.indexOf('\n', i);
    const span = spanAt(text, i, eol === -1 ? text.length : eol + 1);
    if (span.kind === 'line-comment') {
      i = span.end;
    } else if (span.kind === 'block-comment') {
      lineHasContent = true;
      i = span.end;
    } else if (span.kind !== 'code') {
      lineHasContent = true;
      atBoundary = false;
      i = span.end;
    } else {
      for (; i < span.end; i++) {
        const ch = text[i]!;
        if (ch === '\n') {
          lineHasContent = false;
        } else if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\f') {
          continue;
        } else if (ch === '\\' && atBoundary && !lineHasContent) {
          const end = eol === -1 ? text.length : eol;
          out ??= text.split('');
          for (let j = i; j < end; j++) out[j] = ' ';
          // Resume after the command: whatever it holds (quotes, comments) is psql's, not SQL.
          i = end;
          break;
        } else {
          lineHasContent = true;
          atBoundary = ch === ';';
        }
      }
    }
  }
  return out ? out.join('') : text;
}

/** Parse the sections of an already-read drydock migration (the release pipeline has them). */
export function parseMigrationSections(
  migration: { up: MigrationSection; down: MigrationSection | undefined; irreversible: boolean },
  options: { down?: boolean | undefined } = {},
): ParsedLintFile {
  const wanted: Array<['up' | 'down', MigrationSection]> = [['up', migration.up]];
  // An irreversible down section holds the word `irreversible`, not SQL.
  if (options.down && migration.down && !migration.irreversible) wanted.push(['down', migration.down]);
  const parsed: ParsedSection[] = [];
  for (const [direction, section] of wanted) {
    const result = parseSection(section.sql, section, direction, section.transaction);
    if ('problem' in result) return { kind: 'drydock', sections: parsed, problem: result.problem };
    parsed.push(result);
  }
  return { kind: 'drydock', sections: parsed, problem: undefined };
}

function parseSection(
  sql: string,
  section: MigrationSection,
  direction: 'up' | 'down' | undefined,
  runnerTransaction: boolean,
): ParsedSection | { problem: ParseProblem } {
  let statements: Statement[];
  try {
    statements = splitStatements(sql, { firstLine: section.startLine });
  } catch (error) {
    if (!(error instanceof SqlSyntaxError)) throw error;
    return { problem: { message: error.parserMessage, line: error.line ?? section.startLine, column: error.column ?? 1, frame: error.frame } };
  }
  const locator = new SourceLocator(sql);
  const lineShift = section.startLine - 1;
  const place = (index: number): { line: number; column: number } => {
    const { line, column } = locator.positionOf(index);
    return { line: line + lineShift, column };
  };
  const parsed = statements.map((statement): ParsedStatement => {
    const kind = statement.kind;
    const node = ((statement.node as PgNode)[kind] ?? {}) as PgNode;
    return {
      kind,
      node,
      text: statement.text,
      line: statement.line,
      column: statement.column,
      inDoBlock: false,
      locate: (location) => (location === undefined || location < 0 ? { line: statement.line, column: statement.column } : place(locator.indexOfByte(location))),
      embedded: kind === 'DoStmt' ? doBlockStatements(node, sql, statement, locator, place) : [],
    };
  });
  return { direction, runnerTransaction, statements: parsed, comments: sectionComments(sql, statements, place) };
}

/** `--` comments in the gaps between statements, each attached to a statement. */
function sectionComments(
  sql: string,
  statements: Statement[],
  place: (index: number) => { line: number; column: number },
): SectionComment[] {
  const comments: SectionComment[] = [];
  const gaps: Array<{ from: number; to: number; before: number | undefined; after: number | undefined }> = [];
  let from = 0;
  statements.forEach((statement, i) => {
    gaps.push({ from, to: statement.start, before: i === 0 ? undefined : i - 1, after: i });
    from = statement.end;
  });
  gaps.push({ from, to: sql.length, before: statements.length ? statements.length - 1 : undefined, after: undefined });

  for (const gap of gaps) {
    // A gap holds only whitespace, `;` and comments.
    for (let i = gap.from; i < gap.to; ) {
      const span = spanAt(sql, i, gap.to);
      if (span.kind === 'line-comment') {
        const end = Math.min(span.end, gap.to);
        const { line, column } = place(i);
        const trails = gap.before !== undefined && !sql.slice(gap.from, i).includes('\n');
        comments.push({ text: sql.slice(i, end).replace(/\r$/, ''), line, column, statementIndex: trails ? gap.before : gap.after });
      }
      i = span.end;
    }
  }
  return comments;
}

// ---------------------------------------------------------------------------------------------
// DO blocks

/** Words that start a SQL command worth linting inside a plpgsql body. */
const COMMAND_WORDS = new Set([
  'ALTER',
  'CREATE',
  'DROP',
  'UPDATE',
  'DELETE',
  'INSERT',
  'TRUNCATE',
  'VACUUM',
  'CLUSTER',
  'REINDEX',
  'LOCK',
  'SET',
  'RESET',
  'REFRESH',
  'COMMENT',
]);

interface Token {
  type: 'word' | 'semi' | 'string';
  start: number;
  end: number;
}

/**
 * The words, semicolons and string literals of plpgsql text, skipping comments and the insides of
 * quoted identifiers and dollar quotes. Only used to find where embedded SQL commands begin; each
 * candidate is then checked by the real parser.
 */
function plpgsqlTokens(text: string): Token[] {
  const tokens: Token[] = [];
  for (const span of sqlSpans(text)) {
    if (span.kind === 'single-quoted' || span.kind === 'dollar-quoted') {
      tokens.push({ type: 'string', start: span.start, end: span.end });
    } else if (span.kind === 'code') {
      for (const m of text.slice(span.start, span.end).matchAll(/;|[A-Za-z_][A-Za-z0-9_$]*/g)) {
        const start = span.start + m.index;
        tokens.push({ type: m[0] === ';' ? 'semi' : 'word', start, end: start + m[0].length });
      }
    }
  }
  return tokens;
}

type Parse = (sql: string) => { kind: string; node: PgNode } | undefined;

function doBlockStatements(
  doNode: PgNode,
  sql: string,
  outer: Statement,
  locator: SourceLocator,
  place: (index: number) => { line: number; column: number },
): LintStatement[] {
  let language = 'plpgsql';
  let body: string | undefined;
  let bodyLocation: number | undefined;
  for (const arg of (doNode.args as PgNode[] | undefined) ?? []) {
    const def = asKind<{ defname?: string; arg?: PgNode; location?: number }>(arg, 'DefElem');
    if (!def) continue;
    const value = asKind<{ sval?: string }>(def.arg, 'String')?.sval;
    if (def.defname === 'language' && value !== undefined) language = value.toLowerCase();
    if (def.defname === 'as' && value !== undefined) {
      body = value;
      bodyLocation = def.location;
    }
  }
  if (language !== 'plpgsql' || body === undefined) return [];

  // Where the body starts in the section: after its opening $tag$ (the text is verbatim), else wherever it can be found.
  let bodyStart: number | undefined;
  if (bodyLocation !== undefined) {
    const at = locator.indexOfByte(bodyLocation);
    const tag = /^\$[A-Za-z_0-9]*\$/.exec(sql.slice(at, at + 64))?.[0];
    if (tag && sql.startsWith(body, at + tag.length)) bodyStart = at + tag.length;
    else if (sql[at] === "'" && sql.startsWith(body, at + 1)) bodyStart = at + 1;
  }

  const statements: LintStatement[] = [];
  const tokens = plpgsqlTokens(body);
  // Pieces between top-level semicolons: their tokens and where each piece ends.
  const chunks: Array<{ tokens: Token[]; end: number }> = [{ tokens: [], end: body.length }];
  for (const token of tokens) {
    if (token.type === 'semi') {
      chunks[chunks.length - 1]!.end = token.start;
      chunks.push({ tokens: [], end: body.length });
    } else chunks[chunks.length - 1]!.tokens.push(token);
  }
  const parseOne: Parse = (text) => {
    try {
      const stmts = splitStatements(text);
      if (stmts.length !== 1) return undefined;
      const s = stmts[0]!;
      return { kind: s.kind, node: ((s.node as PgNode)[s.kind] ?? {}) as PgNode };
    } catch {
      return undefined;
    }
  };

  for (const { tokens: chunk, end } of chunks) {
    for (let t = 0; t < chunk.length; t++) {
      const token = chunk[t]!;
      if (token.type !== 'word') continue;
      const word = body.slice(token.start, token.end).toUpperCase();
      // EXECUTE 'ALTER TABLE …': the constant string is the command.
      if (word === 'EXECUTE' && chunk[t + 1]?.type === 'string' && t + 2 === chunk.length) {
        const literal = body.slice(chunk[t + 1]!.start, chunk[t + 1]!.end);
        const inner = literal.startsWith("'") ? literal.slice(1, -1).replace(/''/g, "'") : literal.replace(/^\$[A-Za-z_]*\$/, '').replace(/\$[A-Za-z_]*\$$/, '');
        const parsed = parseOne(inner);
        if (parsed) statements.push(embedded(parsed, inner, chunk[t + 1]!.start + (literal.startsWith("'") ? 1 : (/^\$[A-Za-z_]*\$/.exec(literal)?.[0].length ?? 0))));
        break;
      }
      if (!COMMAND_WORDS.has(word)) continue;
      const text = body.slice(token.start, end);
      const parsed = parseOne(text);
      if (parsed) {
        statements.push(embedded(parsed, text, token.start));
        break;
      }
    }
  }
  return statements;

  function embedded(parsed: { kind: string; node: PgNode }, text: string, offsetInBody: number): LintStatement {
    const innerLocator = new SourceLocator(text);
    const fallback = { line: place(outer.start).line, column: place(outer.start).column };
    const at = (indexInText: number): { line: number; column: number } =>
      bodyStart === undefined ? fallback : place(bodyStart + offsetInBody + indexInText);
    const start = at(0);
    return {
      kind: parsed.kind,
      node: parsed.node,
      text: text.trim(),
      line: start.line,
      column: start.column,
      inDoBlock: true,
      locate: (location) => (location === undefined || location < 0 ? start : at(innerLocator.indexOfByte(location))),
    };
  }
}
