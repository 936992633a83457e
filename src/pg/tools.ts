/**
 * Discovery of the Postgres client tools installed on this machine (pg_dump, pg_restore, psql).
 *
 * A machine often has several majors side by side (Debian's /usr/lib/postgresql/<major>/bin,
 * Homebrew's postgresql@<major>, Postgres.app), and pg_dump refuses servers newer than itself,
 * so drydock finds them all and picks one per job (`pickTool`, pure).
 */
import { constants } from 'node:fs';
import { access, readdir, realpath, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

import { run } from '../exec.js';
import { majorOrder, parseVersion, type PgVersion } from './version.js';

/** The client tools drydock runs. */
export type ToolName = 'pg_dump' | 'pg_restore' | 'psql';

/** Every tool drydock looks for, in display order. */
export const TOOL_NAMES: readonly ToolName[] = Object.freeze(['pg_dump', 'pg_restore', 'psql'] as const);

/** Where a tool was found: the PG_BIN directory, a PATH entry, or a versioned install directory. */
export type ToolSource = 'PG_BIN' | 'PATH' | 'side-by-side';

/** One installed client tool. */
export interface ClientTool {
  name: ToolName;
  /** The path it was found at (what drydock runs). */
  path: string;
  /** `path` with symlinks resolved; two entries never share name and realPath. */
  realPath: string;
  /** What `<path> --version` reported. */
  version: PgVersion;
  source: ToolSource;
}

/** Where to look. */
export interface DiscoverOptions {
  /** Environment to read PATH (and HOMEBREW_PREFIX, PG_BIN) from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** A directory searched first (config's PG_BIN); defaults to env.PG_BIN. */
  pgBin?: string;
  /** Override the side-by-side directory list (tests); default `defaultSideBySideDirs(env)`. */
  sideBySideDirs?: string[];
  /** Give up on one `--version` after this long (default 5 s). */
  timeoutMs?: number;
}

/** Lower is preferred when two tools have the same major. */
const SOURCE_RANK: Record<ToolSource, number> = { PG_BIN: 0, PATH: 1, 'side-by-side': 2 };

/** Glob patterns (only `*` within a path segment) of versioned install directories. */
function sideBySidePatterns(env: NodeJS.ProcessEnv): string[] {
  const patterns = [
    '/usr/lib/postgresql/*/bin', // Debian, Ubuntu (postgresql-common)
    '/usr/pgsql-*/bin', // RHEL, Fedora (PGDG)
    '/opt/homebrew/opt/postgresql@*/bin', // Homebrew, Apple silicon
    '/usr/local/opt/postgresql@*/bin', // Homebrew, Intel
    '/opt/homebrew/opt/libpq/bin', // Homebrew's keg-only libpq ships pg_dump, pg_restore and psql
    '/usr/local/opt/libpq/bin',
    '/opt/homebrew/Cellar/postgresql@*/*/bin',
    '/usr/local/Cellar/postgresql@*/*/bin',
    '/Applications/Postgres.app/Contents/Versions/*/bin',
  ];
  const brew = env.HOMEBREW_PREFIX?.trim();
  if (brew && isAbsolute(brew) && brew !== '/opt/homebrew' && brew !== '/usr/local') {
    patterns.push(join(brew, 'opt/postgresql@*/bin'), join(brew, 'opt/libpq/bin'), join(brew, 'Cellar/postgresql@*/*/bin'));
  }
  return patterns;
}

/** The versioned install directories that exist on this machine, newest-looking first within each pattern. */
export async function defaultSideBySideDirs(env: NodeJS.ProcessEnv): Promise<string[]> {
  const found: string[] = [];
  for (const pattern of sideBySidePatterns(env)) {
    for (const dir of await expandPattern(pattern)) if (!found.includes(dir)) found.push(dir);
  }
  return found;
}

/** Expand an absolute pattern whose segments may contain `*`; returns existing directories only. */
async function expandPattern(pattern: string): Promise<string[]> {
  let current = ['/'];
  for (const segment of pattern.split('/').filter(Boolean)) {
    const next: string[] = [];
    if (!segment.includes('*')) {
      for (const base of current) next.push(join(base, segment));
    } else {
      const re = new RegExp('^' + segment.split('*').map(escapeRegExp).join('.*') + '$');
      for (const base of current) {
        const names = await readdir(base).catch(() => [] as string[]);
        const matched = names.filter((n) => re.test(n)).sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
        for (const name of matched) next.push(join(base, name));
      }
    }
    current = next;
    if (current.length === 0) return [];
  }
  const dirs: string[] = [];
  for (const dir of current) if (await isDirectory(dir)) dirs.push(dir);
  return dirs;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** The path of an executable regular file (symlinks followed), or undefined. */
async function executableRealPath(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path);
    if (!s.isFile()) return undefined;
    await access(path, constants.X_OK);
    return await realpath(path);
  } catch {
    return undefined;
  }
}

/**
 * Every pg_dump, pg_restore and psql in PG_BIN, each PATH entry and the side-by-side directories,
 * with the version each reports. Duplicates (same name and resolved path) keep the first place found,
 * in that order. Debian's /usr/bin/pg_dump is a wrapper script (pg_wrapper) that picks a version
 * when it runs; it resolves to the wrapper, not to a binary, so it stays its own PATH entry, and its
 * `--version` reports the binary it would run. Tools that cannot be run or report no version are
 * skipped. Sorted by name, then major (newest first), then source preference, then minor.
 */
export async function discoverTools(options: DiscoverOptions = {}): Promise<ClientTool[]> {
  const env = options.env ?? process.env;
  const pgBin = options.pgBin?.trim() || env.PG_BIN?.trim() || undefined;
  const places: Array<{ dir: string; source: ToolSource }> = [];
  if (pgBin) places.push({ dir: pgBin, source: 'PG_BIN' });
  // Relative PATH entries (and the empty one, meaning the current directory) are skipped:
  // drydock must not run a pg_dump that happens to sit in the directory it was started from.
  for (const dir of (env.PATH ?? '').split(delimiter)) if (dir && isAbsolute(dir)) places.push({ dir, source: 'PATH' });
  for (const dir of options.sideBySideDirs ?? (await defaultSideBySideDirs(env))) places.push({ dir, source: 'side-by-side' });

  const located = await Promise.all(
    places.flatMap(({ dir, source }) =>
      TOOL_NAMES.map(async (name) => {
        const path = join(dir, name);
        const realPath = await executableRealPath(path);
        return realPath === undefined ? undefined : { name, path, realPath, source };
      }),
    ),
  );
  const seen = new Set<string>();
  const candidates = located.filter((c): c is NonNullable<typeof c> => {
    if (!c) return false;
    const key = `${c.name}\0${c.realPath}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });

  const timeoutMs = options.timeoutMs ?? 5_000;
  const versioned = await Promise.all(
    candidates.map(async (c): Promise<ClientTool | undefined> => {
      try {
        const result = await run(c.path, ['--version'], { timeoutMs, reject: false, label: c.name });
        if (result.exitCode !== 0) return undefined;
        const version = parseVersion(result.stdout);
        return version ? { ...c, version } : undefined;
      } catch {
        return undefined; // not runnable (permissions, wrong architecture, hung): not a usable tool
      }
    }),
  );
  return versioned.filter((t): t is ClientTool => t !== undefined).sort(compareTools);
}

function compareTools(a: ClientTool, b: ClientTool): number {
  return (
    TOOL_NAMES.indexOf(a.name) - TOOL_NAMES.indexOf(b.name) ||
    majorOrder(b.version.major) - majorOrder(a.version.major) ||
    SOURCE_RANK[a.source] - SOURCE_RANK[b.source] ||
    b.version.minor - a.version.minor
  );
}

/** Which majors a tool must (and should) have. */
export interface ToolWant {
  /** The oldest acceptable major (pg_dump must be at least the server's major). */
  minMajor: number;
  /** The newest acceptable major, if any. */
  maxMajor?: number;
  /** The major to use when present (usually the server's). */
  preferMajor?: number;
}

/**
 * Pick the tool called `name` whose major is within [minMajor, maxMajor]: exactly preferMajor when
 * there is one, otherwise the lowest acceptable major (the closest to the server), in release order
 * (9.6, encoded 96, is older than 10). Among equal majors
 * prefer PG_BIN over PATH over side-by-side, then the higher minor. Undefined when none fits. Pure.
 */
export function pickTool(tools: readonly ClientTool[], name: ToolName, want: ToolWant): ClientTool | undefined {
  const order = (t: ClientTool): number => majorOrder(t.version.major);
  const fits = tools.filter(
    (t) =>
      t.name === name &&
      order(t) >= majorOrder(want.minMajor) &&
      (want.maxMajor === undefined || order(t) <= majorOrder(want.maxMajor)),
  );
  if (fits.length === 0) return undefined;
  const preferred = want.preferMajor === undefined ? [] : fits.filter((t) => t.version.major === want.preferMajor);
  const pool = preferred.length > 0 ? preferred : fits;
  return [...pool].sort(
    (a, b) => order(a) - order(b) || SOURCE_RANK[a.source] - SOURCE_RANK[b.source] || b.version.minor - a.version.minor,
  )[0];
}

/** The majors found for each tool, newest first (every tool name present, possibly with none). Pure. */
export function toolsByMajor(tools: readonly ClientTool[]): Map<ToolName, number[]> {
  const byName = new Map<ToolName, number[]>(TOOL_NAMES.map((n) => [n, []]));
  for (const tool of tools) {
    const majors = byName.get(tool.name);
    if (majors && !majors.includes(tool.version.major)) majors.push(tool.version.major);
  }
  for (const majors of byName.values()) majors.sort((a, b) => majorOrder(b) - majorOrder(a));
  return byName;
}
