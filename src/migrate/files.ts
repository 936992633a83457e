/**
 * Migration files on disk, in dbmate's format: `<14-digit version>_<name>.sql` holding a
 * `-- migrate:up` section and optionally a `-- migrate:down` section. This module reads the
 * layout only; SQL syntax is checked by the runner (src/sql/parse.ts) before anything is applied.
 */
import { readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';

import { MigrationError } from '../errors.js';
import { readSqlFileSync } from '../files.js';
import { isBlankSql, skipTrivia } from '../sql/parse.js';
import type { MigrationFile, MigrationSection } from './types.js';

/** A valid migration file name: version, underscore, lowercase name, `.sql`. */
export const MIGRATION_FILE_NAME = /^(\d{14})_([a-z0-9_]+)\.sql$/;

/** An example name for hints. */
const EXAMPLE_NAME = '20260121093000_create_users.sql';

/** A section marker: `--` at the very start of a line, then `migrate:<word>` and options. */
const MARKER = /^--\s*migrate:(\S*)(.*)$/;

type Direction = 'up' | 'down';

interface Marker {
  direction: Direction;
  /** 0-based line index of the marker. */
  lineIndex: number;
  /** String index where the section's SQL begins (the start of the next line). */
  sqlStart: number;
  /** String index of the marker line's start (where the previous section ends). */
  lineStart: number;
  transaction: boolean;
  irreversible: boolean;
}

/**
 * Parse one migration file. `content` is the file's text or, better, its bytes (the checksum is
 * the sha256 of the bytes). Throws MigrationError naming the file on a bad name or layout.
 */
export function parseMigrationFile(path: string, content: string | Uint8Array): MigrationFile {
  const fileName = basename(path);
  const { version, name } = parseFileName(fileName);
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const checksum = sha256Hex(bytes);
  const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
  const { up, down, irreversible } = parseMigrationText(fileName, text);
  return {
    version,
    name,
    fileName,
    path: resolve(path),
    checksum,
    up,
    down,
    irreversible,
  };
}

let crypto: typeof import('node:crypto') | undefined;

/**
 * The sha256 of `bytes` in hex. node:crypto is loaded on the first checksum, not with this module:
 * `drydock lint` reads migrations through this module and never needs it (loading it costs a short
 * run several milliseconds).
 */
function sha256Hex(bytes: Uint8Array): string {
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** The sections of a migration file's text (what parseMigrationFile reads, without the file name rules). */
export interface MigrationSections {
  up: MigrationSection;
  down: MigrationSection | undefined;
  irreversible: boolean;
}

/** True when `text` has a `-- migrate:up` or `-- migrate:down` marker line: it is in drydock's (dbmate's) format. */
export function hasMigrationMarkers(text: string): boolean {
  return text.includes('migrate:') && /^--\s*migrate:(?:up|down)\b/m.test(text);
}

/**
 * Split a migration's text into its sections. `fileName` only names the file in errors. Throws
 * MigrationError (with the line) on a bad layout: no up section, two of a kind, SQL before the first
 * marker. An up section with no statements is not a layout error: the runner refuses to apply it.
 */
export function parseMigrationText(fileName: string, content: string): MigrationSections {
  let text = content;
  // A UTF-8 byte order mark would hide a marker on the first line; the checksum still covers it.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const fail = (message: string, hint: string, line?: number): MigrationError =>
    new MigrationError(`${fileName}: ${message}`, { hint, file: fileName, line });

  if (text.trim() === '') {
    throw fail('the file is empty', 'add a `-- migrate:up` section with the SQL to run, or delete the file');
  }

  const markers = findMarkers(text, fail);
  const ups = markers.filter((m) => m.direction === 'up');
  const downs = markers.filter((m) => m.direction === 'down');
  if (ups.length === 0) {
    throw fail('has no `-- migrate:up` section', 'start the file with a line `-- migrate:up`, followed by the SQL to run');
  }
  if (ups.length > 1) {
    throw fail(
      `has two \`-- migrate:up\` sections (lines ${ups[0]!.lineIndex + 1} and ${ups[1]!.lineIndex + 1})`,
      'keep one up section; put each change in its own migration',
      ups[1]!.lineIndex + 1,
    );
  }
  if (downs.length > 1) {
    throw fail(
      `has two \`-- migrate:down\` sections (lines ${downs[0]!.lineIndex + 1} and ${downs[1]!.lineIndex + 1})`,
      'keep one down section that undoes the up section',
      downs[1]!.lineIndex + 1,
    );
  }

  const first = markers[0]!;
  if (!isBlankSql(text.slice(0, first.lineStart))) {
    throw fail(
      'has SQL before its first `-- migrate:` marker',
      'move the SQL into the `-- migrate:up` or `-- migrate:down` section',
      1,
    );
  }

  const sectionOf = (marker: Marker): MigrationSection => {
    const next = markers[markers.indexOf(marker) + 1];
    return {
      sql: text.slice(marker.sqlStart, next === undefined ? text.length : next.lineStart),
      transaction: marker.transaction,
      startLine: marker.lineIndex + 2,
    };
  };

  // An up section without statements (a file fresh from `migrate create`) is read, not refused: the
  // folder stays usable, `migrate status` shows it pending with a warning, and the runner refuses to
  // apply it (validateSteps).
  const up = sectionOf(ups[0]!);

  const downMarker = downs[0];
  const down = downMarker === undefined ? undefined : sectionOf(downMarker);
  const irreversible =
    downMarker !== undefined && (downMarker.irreversible || isIrreversibleWord(down?.sql ?? ''));

  return { up, down, irreversible };
}

/** Split a migration file name into version and name, or throw MigrationError with the expected form. */
export function parseFileName(fileName: string): { version: string; name: string } {
  const match = MIGRATION_FILE_NAME.exec(fileName);
  if (match === null) {
    throw new MigrationError(`migration file name ${JSON.stringify(fileName)} is not <14-digit version>_<name>.sql`, {
      hint: `rename it like ${EXAMPLE_NAME} (UTC timestamp, then lowercase letters, digits and underscores), or create one with \`drydock migrate create NAME\``,
      file: fileName,
    });
  }
  return { version: match[1]!, name: match[2]! };
}

function findMarkers(
  text: string,
  fail: (message: string, hint: string, line?: number) => MigrationError,
): Marker[] {
  const markers: Marker[] = [];
  let lineStart = 0;
  for (let lineIndex = 0; lineStart <= text.length; lineIndex += 1) {
    const eol = text.indexOf('\n', lineStart);
    const lineEnd = eol === -1 ? text.length : eol;
    const line = text.slice(lineStart, lineEnd).replace(/\r$/, '');
    const match = MARKER.exec(line);
    if (match !== null) {
      const word = match[1]!;
      const lineNo = lineIndex + 1;
      if (word !== 'up' && word !== 'down') {
        throw fail(
          `line ${lineNo}: unknown section marker \`-- migrate:${word}\``,
          'sections are introduced by `-- migrate:up` and `-- migrate:down`',
          lineNo,
        );
      }
      const options = parseMarkerOptions(word, match[2]!, (message, hint) => fail(`line ${lineNo}: ${message}`, hint, lineNo));
      markers.push({
        direction: word,
        lineIndex,
        lineStart,
        sqlStart: eol === -1 ? text.length : eol + 1,
        ...options,
      });
    }
    if (eol === -1) break;
    lineStart = eol + 1;
  }
  return markers;
}

function parseMarkerOptions(
  direction: Direction,
  rest: string,
  fail: (message: string, hint: string) => MigrationError,
): { transaction: boolean; irreversible: boolean } {
  let transaction = true;
  let irreversible = false;
  const allowed = direction === 'down' ? '`transaction:false` or `irreversible`' : '`transaction:false`';
  for (const option of rest.trim().split(/\s+/).filter((o) => o !== '')) {
    if (option === 'transaction:false') transaction = false;
    else if (option === 'transaction:true') transaction = true;
    else if (option === 'irreversible' && direction === 'down') irreversible = true;
    else {
      throw fail(
        `unknown option ${JSON.stringify(option)} on \`-- migrate:${direction}\``,
        `the only option${direction === 'down' ? 's' : ''} after \`-- migrate:${direction}\` ${direction === 'down' ? 'are' : 'is'} ${allowed}`,
      );
    }
  }
  return { transaction, irreversible };
}

/** True when the SQL, ignoring comments, whitespace and a trailing `;`, is just the word `irreversible`. */
function isIrreversibleWord(sql: string): boolean {
  const at = skipTrivia(sql);
  const word = 'irreversible';
  if (sql.slice(at, at + word.length).toLowerCase() !== word) return false;
  let after = at + word.length;
  if (sql[after] === ';') after += 1;
  return isBlankSql(sql.slice(after));
}

/**
 * Read every migration in `dir`, sorted by version. Hidden files and files not ending in `.sql`
 * are ignored; a `.sql` file with a bad name, a bad layout or a duplicate version is an error.
 */
export async function loadMigrations(dir: string): Promise<MigrationFile[]> {
  const root = resolve(dir);
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new MigrationError(`the migrations directory ${dir} does not exist`, {
        hint: 'create the first migration with `drydock migrate create NAME`, or run `drydock init`',
        cause: error,
      });
    }
    throw new MigrationError(`cannot read the migrations directory ${dir}`, {
      hint: 'check that the directory is readable',
      cause: error,
    });
  }

  const files: MigrationFile[] = [];
  const byVersion = new Map<string, string>();
  for (const entry of entries.sort()) {
    if (entry.startsWith('.') || !entry.toLowerCase().endsWith('.sql')) continue;
    const path = join(root, entry);
    if (!(await isRegularFile(path))) continue;
    const { version } = parseFileName(entry);
    const other = byVersion.get(version);
    if (other !== undefined) {
      throw new MigrationError(`two migrations have version ${version}: ${other} and ${entry}`, {
        hint: 'give one of them a new version: rename it with a later timestamp',
        file: entry,
      });
    }
    byVersion.set(version, entry);
    files.push(parseMigrationFile(path, readSqlFileSync(path)));
  }
  return files.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}

async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    throw new MigrationError(`cannot read migration ${basename(path)}`, {
      hint: 'check that the file exists and is readable (a broken symlink?)',
      file: basename(path),
      cause: error,
    });
  }
}
