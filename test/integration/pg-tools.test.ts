import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { defaultSideBySideDirs, discoverTools, pickTool, TOOL_NAMES, type ClientTool } from '../../src/pg/tools.js';

/** The machine's real PostgreSQL 15 client binaries (Debian layout). */
const REAL_BIN = '/usr/lib/postgresql/15/bin';
const DEBIAN_WRAPPER = '/usr/share/postgresql-common/pg_wrapper';

let tmp: string;
/** tmp/usr/lib/postgresql/15/bin with symlinks to the real binaries. */
let debianDir: string;
/** tmp/opt/homebrew/opt/postgresql@15/bin → tmp/opt/homebrew/Cellar/postgresql@15/15.20/bin. */
let brewOptDir: string;
let brewCellarDir: string;
/** A PATH entry whose pg_dump exits 1, whose psql prints no version, and whose pg_restore is not executable. */
let brokenDir: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'drydock-pg-tools-'));
  debianDir = join(tmp, 'usr/lib/postgresql/15/bin');
  brewCellarDir = join(tmp, 'opt/homebrew/Cellar/postgresql@15/15.20/bin');
  brewOptDir = join(tmp, 'opt/homebrew/opt/postgresql@15/bin');
  brokenDir = join(tmp, 'broken/bin');
  await mkdir(debianDir, { recursive: true });
  await mkdir(brewCellarDir, { recursive: true });
  await mkdir(join(tmp, 'opt/homebrew/opt/postgresql@15'), { recursive: true });
  await mkdir(brokenDir, { recursive: true });
  for (const name of TOOL_NAMES) {
    await symlink(join(REAL_BIN, name), join(debianDir, name));
    await symlink(join(REAL_BIN, name), join(brewCellarDir, name));
  }
  // Homebrew's opt/ link points at the versioned Cellar directory.
  await symlink(join(tmp, 'opt/homebrew/Cellar/postgresql@15/15.20/bin'), brewOptDir);
  await writeFile(join(brokenDir, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 99.1"\nexit 1\n', { mode: 0o755 });
  await writeFile(join(brokenDir, 'psql'), '#!/bin/sh\necho "no version here"\n', { mode: 0o755 });
  await writeFile(join(brokenDir, 'pg_restore'), '#!/bin/sh\necho "pg_restore (PostgreSQL) 98.1"\n', { mode: 0o644 });
  await chmod(join(brokenDir, 'pg_restore'), 0o644);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function under(tools: ClientTool[], dir: string): ClientTool[] {
  return tools.filter((t) => t.path.startsWith(dir + '/'));
}

describe('discoverTools on this machine', () => {
  it('finds the installed PostgreSQL 15 pg_dump, pg_restore and psql', async () => {
    const tools = await discoverTools();
    for (const name of TOOL_NAMES) {
      const found = tools.filter((t) => t.name === name);
      expect(found.length, name).toBeGreaterThan(0);
      expect(found.map((t) => t.version.major)).toContain(15);
    }
    const realDump = tools.find((t) => t.path === join(REAL_BIN, 'pg_dump'));
    expect(realDump).toMatchObject({ source: 'side-by-side', realPath: join(REAL_BIN, 'pg_dump'), version: { major: 15 } });
    expect(pickTool(tools, 'pg_dump', { minMajor: 15, preferMajor: 15 })?.version.major).toBe(15);
    expect(pickTool(tools, 'pg_dump', { minMajor: 16 })).toBeUndefined();
  });

  it('sorts by tool name, then major, newest first', async () => {
    const tools = await discoverTools();
    const keys = tools.map((t) => [TOOL_NAMES.indexOf(t.name), -t.version.major] as const);
    const sorted = [...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(keys).toEqual(sorted);
  });

  it('never lists the same tool and resolved path twice', async () => {
    const tools = await discoverTools();
    const keys = tools.map((t) => `${t.name} ${t.realPath}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it.runIf(existsSync(DEBIAN_WRAPPER))("keeps Debian's pg_wrapper on PATH as its own entry, with the version it runs", async () => {
    const tools = await discoverTools({ env: { PATH: '/usr/bin' }, sideBySideDirs: [REAL_BIN] });
    for (const name of TOOL_NAMES) {
      const wrapper = tools.find((t) => t.name === name && t.path === `/usr/bin/${name}`);
      expect(wrapper, name).toMatchObject({ source: 'PATH', realPath: DEBIAN_WRAPPER, version: { major: 15 } });
      expect(tools.find((t) => t.name === name && t.path === join(REAL_BIN, name))).toMatchObject({ source: 'side-by-side' });
    }
  });

  it('lists the Debian side-by-side directory among the defaults', async () => {
    expect(await defaultSideBySideDirs(process.env)).toContain(REAL_BIN);
  });
});

describe('discoverTools with a laid-out install', () => {
  it('labels tools found in side-by-side directories', async () => {
    const tools = await discoverTools({ env: { PATH: '' }, sideBySideDirs: [debianDir] });
    expect(tools.map((t) => t.name)).toEqual([...TOOL_NAMES]);
    for (const t of tools) {
      expect(t.source).toBe('side-by-side');
      expect(t.path).toBe(join(debianDir, t.name));
      expect(t.realPath).toBe(join(REAL_BIN, t.name));
      expect(t.version.major).toBe(15);
    }
  });

  it('labels tools found through PG_BIN, from the environment or the option', async () => {
    const fromEnv = await discoverTools({ env: { PATH: '', PG_BIN: debianDir }, sideBySideDirs: [] });
    expect(fromEnv.map((t) => [t.name, t.source])).toEqual(TOOL_NAMES.map((n) => [n, 'PG_BIN']));
    const fromOption = await discoverTools({ env: { PATH: '' }, pgBin: debianDir, sideBySideDirs: [] });
    expect(fromOption.map((t) => t.source)).toEqual(['PG_BIN', 'PG_BIN', 'PG_BIN']);
  });

  it('keeps the first place a binary is found: PG_BIN before PATH before side-by-side', async () => {
    const tools = await discoverTools({ env: { PATH: debianDir }, pgBin: brewCellarDir, sideBySideDirs: [debianDir, brewOptDir] });
    // All three directories lead to the same real binaries: one entry per tool, labelled PG_BIN.
    expect(tools.map((t) => [t.name, t.source, t.path])).toEqual(TOOL_NAMES.map((n) => [n, 'PG_BIN', join(brewCellarDir, n)]));
    const fromPath = await discoverTools({ env: { PATH: debianDir }, sideBySideDirs: [brewOptDir] });
    expect(fromPath.map((t) => t.source)).toEqual(['PATH', 'PATH', 'PATH']);
  });

  it('treats a Homebrew opt/ link and its Cellar directory as one install', async () => {
    const tools = await discoverTools({ env: { PATH: '' }, sideBySideDirs: [brewOptDir, brewCellarDir] });
    expect(tools.map((t) => t.path)).toEqual(TOOL_NAMES.map((n) => join(brewOptDir, n)));
  });

  it('skips binaries that fail, print no version or are not executable', async () => {
    const tools = await discoverTools({ env: { PATH: brokenDir }, sideBySideDirs: [debianDir] });
    expect(under(tools, brokenDir)).toEqual([]);
    expect(tools.map((t) => [t.name, t.source])).toEqual(TOOL_NAMES.map((n) => [n, 'side-by-side']));
  });

  it('skips relative PATH entries and directories that do not exist', async () => {
    const relativeDir = relative(process.cwd(), debianDir);
    const tools = await discoverTools({ env: { PATH: ['', '.', relativeDir, join(tmp, 'missing')].join(':') }, sideBySideDirs: [] });
    expect(tools).toEqual([]);
  });
});
