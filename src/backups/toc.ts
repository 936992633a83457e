/**
 * Archive tables of contents (pg_restore --list output), filtered before a restore with -L.
 */
import type { InstalledExtension } from '../pg/queries/server-facts.js';

/** True when `pattern` (`name`, `schema.name`, `*` wildcards) names the table. */
export function matchesTable(pattern: string, schema: string, name: string): boolean {
  return globMatch(pattern, pattern.includes('.') ? `${schema}.${name}` : name);
}

/**
 * Whether `text` matches `pattern`, where `*` stands for any run of characters and everything else is
 * literal. No RegExp (a pattern like `*a*a*a*…b` would backtrack exponentially): the first piece must
 * start the text, the last must end it, and each piece between is found leftmost after the previous
 * one, which is always the best choice for `*`-only patterns.
 */
export function globMatch(pattern: string, text: string): boolean {
  const pieces = pattern.split('*');
  const first = pieces[0]!;
  if (pieces.length === 1) return text === pattern;
  const last = pieces[pieces.length - 1]!;
  if (first.length + last.length > text.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  let at = first.length;
  const end = text.length - last.length;
  for (const piece of pieces.slice(1, -1)) {
    if (!piece) continue;
    const found = text.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

/**
 * Drop the entries drydock creates itself before a restore: extensions (and their comments), and the
 * schemas that hold them (Heroku's heroku_ext), which would otherwise fail with "already exists".
 */
export function withoutPrecreated(toc: string, schemas: ReadonlySet<string>): string {
  return toc
    .split('\n')
    .filter((line) => {
      if (/^\d+; \d+ \d+ EXTENSION - /.test(line)) return false;
      if (/^\d+; \d+ \d+ COMMENT - EXTENSION /.test(line)) return false;
      const schema = /^\d+; \d+ \d+ SCHEMA - (\S+) /.exec(line)?.[1];
      return !(schema && schemas.has(schema));
    })
    .join('\n');
}

/** A table named in a table of contents. */
export interface TocTable {
  /** As pg_restore --list prints it: `schema name` (unquoted). */
  label: string;
  /**
   * Every (schema, name) the label can stand for. pg_restore --list prints names unquoted and separated
   * by spaces, so `app order items owner` is schema `app`, table `order items` — or schema `app order`,
   * table `items`. Almost always there is one candidate; a name with spaces gives one per split.
   */
  candidates: Array<{ schema: string; name: string }>;
}

/** The table of a `TABLE DATA schema name owner` line, or undefined for any other line. Pure. */
export function tableDataOf(line: string): TocTable | undefined {
  return namedEntryOf(line, 'TABLE DATA');
}

/** The object of a `TYPE schema name owner` line (an INDEX, a MATERIALIZED VIEW DATA…), or undefined. Pure. */
export function namedEntryOf(line: string, type: string): TocTable | undefined {
  // `INDEX ATTACH` (a partition's index attached to its parent's) is another entry type than `INDEX`.
  const m = new RegExp(`^\\d+; \\d+ \\d+ ${type} (?!ATTACH )(.*)$`).exec(line);
  if (!m) return undefined;
  // The owner is the last word (empty when the dump has no owners).
  const words = m[1]!.split(' ');
  const named = words.slice(0, -1);
  const candidates: TocTable['candidates'] = [];
  for (let k = 1; k < named.length; k++) candidates.push({ schema: named.slice(0, k).join(' '), name: named.slice(k).join(' ') });
  return { label: named.join(' '), candidates };
}

/** Drop TABLE DATA entries of tables whose data is excluded (--exclude-table-data). */
export function withoutTableData(toc: string, patterns: readonly string[]): string {
  if (!patterns.length) return toc;
  return toc
    .split('\n')
    .filter((line) => !tableDataOf(line)?.candidates.some((c) => patterns.some((p) => matchesTable(p, c.schema, c.name))))
    .join('\n');
}

/** Tables with data in the archive. */
export function tablesWithData(toc: string): TocTable[] {
  return namedEntries(toc, 'TABLE DATA');
}

/** The objects of every `TYPE schema name owner` entry. */
export function namedEntries(toc: string, type: string): TocTable[] {
  return toc
    .split('\n')
    .map((line) => namedEntryOf(line, type))
    .filter((t): t is TocTable => t !== undefined);
}

/** Extensions named in the archive (when production itself cannot be asked). */
export function extensionsInToc(toc: string): InstalledExtension[] {
  return [...toc.matchAll(/^\d+; \d+ \d+ EXTENSION - (\S+) /gm)].map((m) => ({ name: m[1]!, version: '', schema: schemaOfExtension(toc, m[1]!) }));
}

/** pg_restore --list does not show an extension's schema; assume Heroku's layout when heroku_ext exists. */
function schemaOfExtension(toc: string, _name: string): string {
  return /^\d+; \d+ \d+ SCHEMA - heroku_ext /m.test(toc) ? 'heroku_ext' : 'public';
}

/** One entry of a table of contents: `ID; CLASS_OID OBJECT_OID DESCRIPTION…` (pg_restore --list). */
export interface TocEntry {
  /** The dump id (what `-- TOC entry N` headers and -L lists name). */
  id: number;
  /** The system catalog the object lives in (1259 pg_class, 2606 pg_constraint, 0 for comments). */
  classOid: number;
  /** The object's OID in the source database (0 for comments and data). */
  objOid: number;
  /** The rest of the line: entry type then schema, name and owner, e.g. `FK CONSTRAINT public posts posts_user_id_fkey postgres`. */
  desc: string;
  line: string;
}

/** The entries of a table of contents (comment lines, starting with `;`, are skipped). */
export function tocEntries(toc: string): TocEntry[] {
  const entries: TocEntry[] = [];
  for (const line of toc.split('\n')) {
    const m = /^(\d+); (\d+) (\d+) (.*)$/.exec(line);
    if (m) entries.push({ id: Number(m[1]), classOid: Number(m[2]), objOid: Number(m[3]), desc: m[4]!, line });
  }
  return entries;
}

/** A table of contents keeping only the entries `keep` accepts, for pg_restore -L. */
export function tocWith(toc: string, keep: (entry: TocEntry) => boolean): string {
  return (
    toc
      .split('\n')
      .filter((line) => {
        const entry = tocEntries(line)[0];
        return entry ? keep(entry) : line.startsWith(';');
      })
      .join('\n') + '\n'
  );
}

/** An event trigger, or a comment or label on one: restored after everything else, so it observes none of the restore. */
export function isEventTriggerEntry(entry: TocEntry): boolean {
  return /^(EVENT TRIGGER |(COMMENT|SECURITY LABEL) - EVENT TRIGGER )/.test(entry.desc);
}

/** Comments and security labels: they name their object, so they must run after it exists. */
export function isCommentEntry(entry: TocEntry): boolean {
  return /^(COMMENT|SECURITY LABEL) /.test(entry.desc);
}

/**
 * Split `pg_restore --verbose -f -` output into the SQL of each entry, by dump id. psql meta-commands
 * (`\\restrict`, `\\connect`) and comment lines are left out; `SET default_tablespace`-style lines that
 * pg_restore writes before an entry's header travel with that entry.
 */
export function sqlByEntry(script: string): Map<number, string> {
  const result = new Map<number, string>();
  let current: number | undefined;
  let sets: string[] = [];
  let lines: string[] = [];
  let pendingSets: string[] = [];
  const isSet = (line: string): boolean => /^SET default_\w+ = /.test(line);
  const flush = (): void => {
    if (current === undefined) return;
    // Trailing SET lines belong to the next entry (pg_restore emits them just before its header).
    while (lines.length && (lines[lines.length - 1]!.trim() === '' || isSet(lines[lines.length - 1]!))) {
      const last = lines.pop()!;
      if (last.trim() !== '') pendingSets.unshift(last);
    }
    result.set(current, [...sets, lines.join('\n').trim()].join('\n'));
  };
  for (const line of script.split('\n')) {
    const header = /^-- TOC entry (\d+) /.exec(line);
    if (header) {
      flush();
      current = Number(header[1]);
      sets = pendingSets;
      lines = [];
      pendingSets = [];
      continue;
    }
    if (line.startsWith('--') || line.startsWith('\\')) continue;
    if (current === undefined) {
      if (isSet(line)) pendingSets.push(line);
      continue;
    }
    lines.push(line);
  }
  flush();
  return result;
}
