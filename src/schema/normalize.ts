/**
 * Normalise `pg_dump --schema-only` output into a stable schema file (pure), in the spirit of Rails'
 * structure.sql: two dumps of the same schema give the same bytes, and a diff between two files
 * shows schema changes only.
 *
 * What goes:
 * - `-- Dumped from database version …` / `-- Dumped by pg_dump version …` (they change with every minor upgrade);
 * - `\restrict KEY` / `\unrestrict KEY` (pg_dump 15.14+ writes a random key on every run);
 * - `COMMENT ON EXTENSION` blocks: the text comes from the extension's control file, CREATE EXTENSION sets
 *   it again, and on Heroku only the extension's owner may set it ("must be owner of extension"), which
 *   would make the file fail to load there;
 * - trailing whitespace and runs of blank lines, but never inside string literals, quoted identifiers or
 *   dollar-quoted function bodies, where they are part of the object's definition.
 *
 * What stays: the `SET …` / `set_config('search_path', '', false)` preamble. It is identical for a given
 * pg_dump major and loading needs it: the empty search_path makes every name resolve exactly as dumped,
 * and `check_function_bodies = false` lets a function refer to a table created further down.
 * Comments on tables, columns and other objects stay too: they are part of the schema.
 *
 * Then the applied migration versions are appended as one INSERT, so loading the file also restores
 * which migrations the schema includes.
 */
import { structuredPatch, type StructuredPatchHunk } from 'diff';

import { spanAt } from '../sql/scan.js';

/** The table whose versions are appended (Rails' and dbmate's name for it). */
export const VERSIONS_TABLE = 'public.schema_migrations';

const VERSIONS_HEADER = `INSERT INTO ${VERSIONS_TABLE} (version) VALUES`;
const VERSION_ROW = /^\('((?:[^']|'')*)'\)[,;]$/;

/** One line with whether it starts and ends outside every literal. */
interface LexedLine {
  text: string;
  startsInCode: boolean;
  endsInCode: boolean;
}

/**
 * Split `text` into lines and say, for each, whether its start and its line break fall inside a
 * literal: a single-quoted string, a "quoted identifier", a $tag$ body or a block comment (src/sql/scan.ts).
 */
function lexLines(text: string): LexedLine[] {
  const lexed: LexedLine[] = [];
  // Everything before `pos` is lexed and `pos` starts a span; `open` once a literal runs to the end of the text.
  let pos = 0;
  let open = false;
  let lineStart = 0;
  for (const line of text.split('\n')) {
    const lineEnd = lineStart + line.length;
    const startsInCode = !open && pos <= lineStart;
    if (startsInCode && line.startsWith('\\')) {
      // psql meta-commands (\restrict, \connect) are not SQL: they end at the newline.
      pos = lineEnd;
    } else {
      while (!open && pos < lineEnd) {
        // Code stops at the line break: the next line may start with a meta-command.
        const span = spanAt(text, pos, lineEnd);
        pos = span.end;
        open = !span.closed;
      }
    }
    lexed.push({ text: line, startsInCode, endsInCode: !open && pos <= lineEnd });
    lineStart = lineEnd + 1;
  }
  return lexed;
}

const DUMPED_FROM_BY = /^-- Dumped (from database|by pg_dump) version /;
const RESTRICT = /^\\(un)?restrict\b/;
const EXTENSION_COMMENT_HEADER = /^-- Name: EXTENSION [^;]*; Type: COMMENT;/;

/**
 * Normalise a schema-only dump and append `versions` (sorted, de-duplicated) as an INSERT into
 * public.schema_migrations. A versions INSERT already at the end of `dump` is replaced, so normalising
 * a normalised file with its own versions gives the same bytes.
 */
export function normalizeDump(dump: string, versions: readonly string[] = []): string {
  const lines = lexLines(stripVersionsBlock(dump.replace(/\r\n/g, '\n')));
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsInCode) {
      kept.push(line.text);
      continue;
    }
    if (DUMPED_FROM_BY.test(line.text) || RESTRICT.test(line.text)) continue;
    if (line.text === '--' && EXTENSION_COMMENT_HEADER.test(lines[i + 1]?.text ?? '') && lines[i + 2]?.text === '--') {
      // Skip the header and the statement (one line: COMMENT ON EXTENSION x IS '…';).
      let j = i + 3;
      while (j < lines.length && !/^COMMENT ON EXTENSION .*;$/.test(lines[j]!.text)) j += 1;
      if (j < lines.length) {
        i = j;
        continue;
      }
    }
    const text = line.endsInCode ? line.text.trimEnd() : line.text;
    if (text === '' && (kept.length === 0 || kept[kept.length - 1] === '')) continue;
    kept.push(text);
  }
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  const body = kept.join('\n') + '\n';
  const block = versionsBlock(versions);
  return block ? `${body}\n${block}` : body;
}

/** The INSERT that records `versions`, or '' when there are none. */
export function versionsBlock(versions: readonly string[]): string {
  const sorted = [...new Set(versions)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (sorted.length === 0) return '';
  const rows = sorted.map((v, i) => `('${v.replace(/'/g, "''")}')${i === sorted.length - 1 ? ';' : ','}`);
  return `${VERSIONS_HEADER}\n${rows.join('\n')}\n`;
}

/** Where the trailing versions INSERT starts (index of its header line), or -1. */
function versionsBlockStart(lines: readonly string[]): number {
  let end = lines.length;
  while (end > 0 && lines[end - 1]!.trim() === '') end -= 1;
  const start = lines.lastIndexOf(VERSIONS_HEADER, end - 1);
  if (start < 0 || start === end - 1) return -1;
  for (let i = start + 1; i < end; i++) {
    const m = VERSION_ROW.exec(lines[i]!);
    if (!m || (i === end - 1) !== lines[i]!.endsWith(';')) return -1;
  }
  return start;
}

function stripVersionsBlock(text: string): string {
  const lines = text.split('\n');
  const start = versionsBlockStart(lines);
  return start < 0 ? text : lines.slice(0, start).join('\n');
}

/** The migration versions recorded at the end of a schema file (as `normalizeDump` writes them), in file order. */
export function parseAppliedVersions(schema: string): string[] {
  const lines = schema.replace(/\r\n/g, '\n').split('\n');
  const start = versionsBlockStart(lines);
  if (start < 0) return [];
  const versions: string[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const m = VERSION_ROW.exec(lines[i]!);
    if (m) versions.push(m[1]!.replace(/''/g, "'"));
  }
  return versions;
}

/** Options of `schemaDiff`. */
export interface SchemaDiffOptions {
  /** Names shown on the --- and +++ lines (default "a" and "b"). */
  labelA?: string;
  labelB?: string;
  /** Unchanged lines shown around each change (default 3). */
  context?: number;
  /** Stop after this many output lines and say how many changed lines were left out (default 60). */
  maxLines?: number;
}

/**
 * Beyond this many changed lines jsdiff gives up (its Myers diff slows down with the square of the
 * changes) and the part between the common start and end is shown as replaced.
 */
const MAX_EDIT_LENGTH = 1000;

/**
 * A short unified-style diff of two schema files: '' when they are equal, otherwise ---/+++ lines and
 * @@ hunks with `context` lines around each change, cut after `maxLines`. A missing newline at the
 * end of either file is not a difference.
 */
export function schemaDiff(a: string, b: string, options: SchemaDiffOptions = {}): string {
  if (a === b) return '';
  const context = options.context ?? 3;
  const maxLines = options.maxLines ?? 60;
  const hunks =
    structuredPatch('a', 'b', withFinalNewline(a), withFinalNewline(b), undefined, undefined, { context, maxEditLength: MAX_EDIT_LENGTH })?.hunks ??
    replacedMiddle(a, b, context);
  // Headers and the cut are written here rather than by formatPatch, which would add Index:/=== lines and quote labels.
  const out = [`--- ${options.labelA ?? 'a'}`, `+++ ${options.labelB ?? 'b'}`];
  const changed = hunks.reduce((n, hunk) => n + hunk.lines.filter((line) => !line.startsWith(' ')).length, 0);
  let shownChanges = 0;
  for (const hunk of hunks) {
    // diff -u numbers an empty side by the line before it.
    out.push(`@@ -${hunk.oldLines ? hunk.oldStart : hunk.oldStart - 1},${hunk.oldLines} +${hunk.newLines ? hunk.newStart : hunk.newStart - 1},${hunk.newLines} @@`);
    for (const line of hunk.lines) {
      if (out.length >= maxLines) {
        const left = changed - shownChanges;
        out.push(`… ${left} more changed line${left === 1 ? '' : 's'} not shown`);
        return out.join('\n') + '\n';
      }
      out.push(line);
      if (!line.startsWith(' ')) shownChanges += 1;
    }
  }
  return out.join('\n') + '\n';
}

/** `text` ending in a newline (unless empty), so jsdiff never writes "\\ No newline at end of file". */
function withFinalNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

/** The one hunk for files too different to diff: everything between their common first and last lines replaced. */
function replacedMiddle(a: string, b: string, context: number): StructuredPatchHunk[] {
  const aLines = withFinalNewline(a).split('\n').slice(0, -1);
  const bLines = withFinalNewline(b).split('\n').slice(0, -1);
  let pre = 0;
  while (pre < aLines.length && pre < bLines.length && aLines[pre] === bLines[pre]) pre += 1;
  let suf = 0;
  while (suf < aLines.length - pre && suf < bLines.length - pre && aLines[aLines.length - 1 - suf] === bLines[bLines.length - 1 - suf]) suf += 1;
  const before = aLines.slice(Math.max(0, pre - context), pre);
  const after = aLines.slice(aLines.length - suf, aLines.length - suf + context);
  const removed = aLines.slice(pre, aLines.length - suf);
  const added = bLines.slice(pre, bLines.length - suf);
  return [
    {
      oldStart: pre - before.length + 1,
      oldLines: before.length + removed.length + after.length,
      newStart: pre - before.length + 1,
      newLines: before.length + added.length + after.length,
      lines: [...before.map((l) => ` ${l}`), ...removed.map((l) => `-${l}`), ...added.map((l) => `+${l}`), ...after.map((l) => ` ${l}`)],
    },
  ];
}
