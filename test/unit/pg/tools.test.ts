import { describe, expect, it } from 'vitest';

import { pickTool, TOOL_NAMES, toolsByMajor, type ClientTool, type ToolName, type ToolSource } from '../../../src/pg/tools.js';

function tool(name: ToolName, version: string, source: ToolSource, path = `/${source}/${version}/${name}`): ClientTool {
  const [major, minor] = version.split('.').map(Number) as [number, number];
  return { name, path, realPath: path, version: { major, minor, text: version }, source };
}

const installed: ClientTool[] = [
  tool('pg_dump', '17.2', 'side-by-side'),
  tool('pg_dump', '16.4', 'side-by-side'),
  tool('pg_dump', '16.6', 'side-by-side', '/other/16/pg_dump'),
  tool('pg_dump', '16.3', 'PATH'),
  tool('pg_dump', '14.11', 'side-by-side'),
  tool('psql', '15.20', 'PATH'),
];

describe('pickTool', () => {
  it('picks exactly the preferred major when it is installed', () => {
    expect(pickTool(installed, 'pg_dump', { minMajor: 14, preferMajor: 17 })?.version.text).toBe('17.2');
  });

  it('falls back to the lowest major at or above minMajor when the preferred one is missing', () => {
    expect(pickTool(installed, 'pg_dump', { minMajor: 15, preferMajor: 15 })?.version.major).toBe(16);
    expect(pickTool(installed, 'pg_dump', { minMajor: 14 })?.version.text).toBe('14.11');
  });

  it('ignores a preferred major outside the allowed range', () => {
    expect(pickTool(installed, 'pg_dump', { minMajor: 16, preferMajor: 14 })?.version.major).toBe(16);
  });

  it('respects maxMajor', () => {
    expect(pickTool(installed, 'pg_dump', { minMajor: 17, maxMajor: 17 })?.version.text).toBe('17.2');
    expect(pickTool(installed, 'pg_dump', { minMajor: 15, maxMajor: 15 })).toBeUndefined();
  });

  it('prefers PG_BIN over PATH over side-by-side among equal majors, before the higher minor', () => {
    expect(pickTool(installed, 'pg_dump', { minMajor: 16, maxMajor: 16 })?.source).toBe('PATH');
    const withPgBin = [...installed, tool('pg_dump', '16.1', 'PG_BIN')];
    expect(pickTool(withPgBin, 'pg_dump', { minMajor: 16, preferMajor: 16 })?.source).toBe('PG_BIN');
  });

  it('prefers the higher minor among equal majors and sources', () => {
    const sideBySideOnly = installed.filter((t) => t.source === 'side-by-side');
    expect(pickTool(sideBySideOnly, 'pg_dump', { minMajor: 16, maxMajor: 16 })?.version.text).toBe('16.6');
  });

  it('returns undefined when no tool of that name fits', () => {
    expect(pickTool(installed, 'pg_restore', { minMajor: 10 })).toBeUndefined();
    expect(pickTool(installed, 'psql', { minMajor: 16 })).toBeUndefined();
    expect(pickTool([], 'psql', { minMajor: 10 })).toBeUndefined();
  });

  it('handles pre-10 majors encoded as 96', () => {
    const old = [tool('pg_restore', '10.23', 'PATH'), { ...tool('pg_restore', '9.6', 'PATH', '/old/pg_restore'), version: { major: 96, minor: 24, text: '9.6.24' } }];
    expect(pickTool(old, 'pg_restore', { minMajor: 96, maxMajor: 96 })?.version.text).toBe('9.6.24');
    expect(pickTool(old, 'pg_restore', { minMajor: 10 })?.version.text).toBe('10.23');
    // A 9.6 server can be dumped by any newer pg_dump: 10 and 14 are both "at least 9.6".
    expect(pickTool(old, 'pg_restore', { minMajor: 96 })?.version.text).toBe('9.6.24');
    const modern = [tool('pg_dump', '14.11', 'PATH'), tool('pg_dump', '10.23', 'side-by-side')];
    expect(pickTool(modern, 'pg_dump', { minMajor: 96 })?.version.text).toBe('10.23');
    expect(pickTool(modern, 'pg_dump', { minMajor: 96, maxMajor: 96 })).toBeUndefined();
  });

  it('does not reorder its input', () => {
    const copy = [...installed];
    pickTool(installed, 'pg_dump', { minMajor: 14 });
    expect(installed).toEqual(copy);
  });
});

describe('toolsByMajor', () => {
  it('lists the distinct majors per tool, newest first, with every tool name present', () => {
    const byMajor = toolsByMajor(installed);
    expect([...byMajor.keys()]).toEqual([...TOOL_NAMES]);
    expect(byMajor.get('pg_dump')).toEqual([17, 16, 14]);
    expect(byMajor.get('psql')).toEqual([15]);
    expect(byMajor.get('pg_restore')).toEqual([]);
  });

  it('orders 9.6 after 10 (older)', () => {
    const old = { ...tool('psql', '9.6', 'PATH'), version: { major: 96, minor: 24, text: '9.6.24' } };
    expect(toolsByMajor([old, tool('psql', '10.1', 'PATH'), tool('psql', '16.1', 'PATH')]).get('psql')).toEqual([16, 10, 96]);
  });
});
