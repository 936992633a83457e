import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';

import { buildProgram, loadCommands } from '../../src/cli.js';
import { PROJECT_SCHEMA } from '../../src/settings.js';

/**
 * Issue 13 item 18: every setting a user can give drydock is in the README's settings table, with its
 * flag, variable and drydock.json key. Built from the code (commander options, the variables the settings
 * module reads, the drydock.json schema), so a new setting without documentation fails here.
 */
const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
const settingsSource = readFileSync(join(import.meta.dirname, '../../src/settings.ts'), 'utf8');

/** The README's settings table: the rows under the header `| setting | flag | variable | drydock.json |`. */
function settingsRows(): string[][] {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => /^\|\s*setting\s*\|\s*flag\s*\|\s*variable\s*\|\s*drydock\.json\s*\|/.test(l));
  expect(start, 'README has a settings table (| setting | flag | variable | drydock.json |)').toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim()));
  }
  return rows;
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}

/** Variables that are not user settings: set by Heroku or the test harness, or standard ones documented elsewhere. */
const NOT_SETTINGS = new Set([
  'DRYDOCK_TEST_PAUSE_AT', // test hook: pauses at a named point so interrupt tests can signal there
  'DYNO', // set by Heroku; documented under postdeploy/release
  'XDG_CACHE_HOME', // named in the cache folder row
  'HEROKU_API_KEY', // the heroku CLI's own credential; only masked
  'CI', // documented under Output
]);

describe('the README settings table', () => {
  const rows = settingsRows();
  const variableCells = rows.map((r) => r[2] ?? '').join(' ');
  const flagCells = rows.map((r) => r[1] ?? '').join(' ');
  const jsonCells = rows.map((r) => r[3] ?? '').join(' ');

  it('names every variable an option reads, in the row of that option', async () => {
    const program = buildProgram(() => {}, {}, await loadCommands());
    const missing: string[] = [];
    for (const command of allCommands(program)) {
      for (const option of command.options) {
        if (!option.envVar) continue;
        const row = rows.find((r) => r[2]?.includes(`\`${option.envVar}\``));
        if (!row) missing.push(`${option.envVar} (${command.name()} ${option.long})`);
        else if (!row[1]?.includes(`\`${option.long}`) && !row[1]?.includes(`${option.long}\``) && !row[1]?.includes(`${option.long},`)) {
          missing.push(`${option.long} in the row of ${option.envVar}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('names every variable the settings module reads', () => {
    const read = new Set([...settingsSource.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!));
    const missing = [...read].filter((v) => !NOT_SETTINGS.has(v) && !variableCells.includes(v));
    expect(missing).toEqual([]);
    for (const v of NOT_SETTINGS) {
      if (read.has(v) && v !== 'DRYDOCK_TEST_PAUSE_AT' && v !== 'HEROKU_API_KEY') expect(readme, `${v} is documented somewhere`).toContain(v);
    }
  });

  it('names every drydock.json key, and the drydock.json section lists each too', () => {
    const missing = Object.keys(PROJECT_SCHEMA).filter((k) => !jsonCells.includes(`\`${k}\``));
    expect(missing).toEqual([]);
    const section = readme.slice(readme.indexOf('### `drydock.json`'), readme.indexOf('## Exit codes'));
    expect(Object.keys(PROJECT_SCHEMA).filter((k) => !section.includes(`\`${k}\``))).toEqual([]);
  });

  it('every flag in the table exists on some command', async () => {
    const program = buildProgram(() => {}, {}, await loadCommands());
    const longs = new Set(allCommands(program).flatMap((c) => c.options.map((o) => o.long)));
    const named = [...flagCells.matchAll(/`(--[a-z][a-z-]*)/g)].map((m) => m[1]!);
    expect(named.filter((f) => !longs.has(f))).toEqual([]);
  });
});
