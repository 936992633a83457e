import { describe, expect, it } from 'vitest';

import { evaluateParity, type ParityInput, type ToolFact } from '../../../src/parity/checks.js';
import { parseVersion, type PgVersion } from '../../../src/pg/version.js';

function v(text: string): PgVersion {
  const parsed = parseVersion(text);
  if (!parsed) throw new Error(`bad version ${text}`);
  return parsed;
}

function tool(name: ToolFact['name'], version: string, path: string, source: ToolFact['source'] = 'PATH'): ToolFact {
  return { name, path, realPath: path, version: v(version), source };
}

const PG15_PATH = [
  tool('pg_dump', '15.20', '/usr/bin/pg_dump'),
  tool('pg_restore', '15.20', '/usr/bin/pg_restore'),
  tool('psql', '15.20', '/usr/bin/psql'),
];

const PG17_SIDE = [
  tool('pg_dump', '17.2', '/usr/lib/postgresql/17/bin/pg_dump', 'side-by-side'),
  tool('pg_restore', '17.2', '/usr/lib/postgresql/17/bin/pg_restore', 'side-by-side'),
  tool('psql', '17.2', '/usr/lib/postgresql/17/bin/psql', 'side-by-side'),
];

interface Overrides {
  prod?: string;
  /** The local server's version; null for an unreachable server. */
  local?: string | null;
  tools?: ToolFact[];
}

function input(overrides: Overrides = {}): ParityInput {
  const prod = overrides.prod ?? '15.20';
  return {
    production: {
      label: 'app DATABASE_URL',
      version: v(prod),
      versionSource: 'connection',
      extensions: [
        { name: 'plpgsql', version: '1.0', schema: 'pg_catalog' },
        { name: 'pg_stat_statements', version: '1.10', schema: 'heroku_ext' },
      ],
    },
    local: overrides.local === null
      ? { label: 'localhost', version: undefined, error: 'connection refused' }
      : {
          label: 'localhost',
          version: v(overrides.local ?? '15.20'),
          availableExtensions: [
            { name: 'plpgsql', versions: ['1.0'] },
            { name: 'pg_stat_statements', versions: ['1.9', '1.10'] },
          ],
        },
    tools: overrides.tools ?? PG15_PATH,
  };
}

function statuses(report: ReturnType<typeof evaluateParity>): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
}

describe('evaluateParity', () => {
  it('passes everything when tools, server and production share a version', () => {
    const report = evaluateParity(input());
    expect(statuses(report)).toEqual({ dump: 'pass', restore: 'pass', 'server-major': 'pass', extensions: 'pass', psql: 'pass' });
    expect(report.exitCode).toBe(0);
  });

  it('fails the dump check when production is newer than every pg_dump, naming the install commands', () => {
    const report = evaluateParity(input({ prod: '17.10', local: '15.20' }));
    const dump = report.checks.find((c) => c.id === 'dump')!;
    expect(dump.status).toBe('fail');
    expect(dump.detail).toContain('17.10');
    expect(dump.detail).toContain('server version mismatch');
    expect(dump.remedies.map((r) => r.command).join('\n')).toMatch(/postgresql-client-17/);
    expect(dump.remedies.map((r) => r.command).join('\n')).toMatch(/brew install postgresql@17/);
    expect(report.exitCode).toBe(1);
  });

  it('uses a side-by-side pg_dump that fits and says the PATH one would fail', () => {
    const report = evaluateParity(input({ prod: '17.10', local: '17.2', tools: [...PG15_PATH, ...PG17_SIDE] }));
    const dump = report.checks.find((c) => c.id === 'dump')!;
    expect(dump.status).toBe('pass');
    expect(dump.uses).toBe('/usr/lib/postgresql/17/bin/pg_dump');
    expect(dump.detail).toContain('too old');
    expect(dump.remedies[0]?.command).toContain('export PATH="/usr/lib/postgresql/17/bin:$PATH"');
  });

  it('fails server parity on a major difference in either direction', () => {
    const older = evaluateParity(input({ prod: '16.4', local: '15.20', tools: [...PG15_PATH, ...PG17_SIDE] }));
    expect(statuses(older)['server-major']).toBe('fail');
    expect(statuses(older).restore).toBe('fail');
    const newer = evaluateParity(input({ prod: '14.11', local: '15.20' }));
    expect(statuses(newer)['server-major']).toBe('fail');
    expect(statuses(newer).dump).toBe('pass');
    expect(statuses(newer).restore).toBe('pass');
    expect(newer.checks.find((c) => c.id === 'server-major')!.remedies.some((r) => /postgresql-14/.test(r.command))).toBe(true);
  });

  it('only warns on a minor difference', () => {
    const report = evaluateParity(input({ prod: '15.4', local: '15.20' }));
    expect(statuses(report)['server-major']).toBe('warn');
    expect(report.exitCode).toBe(0);
  });

  it('fails when pg_restore is older than the pg_dump that would write the archive', () => {
    const tools = [tool('pg_dump', '17.2', '/opt/pg17/pg_dump', 'PG_BIN'), tool('pg_restore', '15.20', '/usr/bin/pg_restore')];
    const report = evaluateParity(input({ prod: '17.2', local: '17.2', tools }));
    expect(statuses(report).restore).toBe('fail');
  });

  it('fails on a production extension the local server lacks, with a package to install', () => {
    const base = input();
    base.production.extensions = [...(base.production.extensions ?? []), { name: 'postgis', version: '3.4.2', schema: 'heroku_ext' }];
    const report = evaluateParity(base);
    const ext = report.checks.find((c) => c.id === 'extensions')!;
    expect(ext.status).toBe('fail');
    expect(ext.detail).toContain('postgis 3.4.2');
    expect(ext.remedies.map((r) => r.command)).toContain('sudo apt-get install -y postgresql-15-postgis-3');
  });

  it('warns when an extension exists locally only at other versions', () => {
    const base = input();
    base.production.extensions = [{ name: 'pg_stat_statements', version: '1.11', schema: 'public' }];
    expect(statuses(evaluateParity(base)).extensions).toBe('warn');
  });

  it('answers unknown (exit 2) when the local server is unreachable and nothing failed', () => {
    const report = evaluateParity(input({ local: null }));
    expect(statuses(report)['server-major']).toBe('unknown');
    expect(report.exitCode).toBe(2);
  });

  it('prefers a failure (exit 1) over unknowns', () => {
    const report = evaluateParity(input({ prod: '17.1', local: null }));
    expect(report.exitCode).toBe(1);
  });

  it('treats pre-10 versions by their two-part major', () => {
    const report = evaluateParity(input({ prod: '9.6.24', local: '9.6.24', tools: [tool('pg_dump', '9.6.24', '/x/pg_dump'), tool('pg_restore', '9.6.24', '/x/pg_restore')] }));
    expect(statuses(report).dump).toBe('pass');
    expect(statuses(report)['server-major']).toBe('pass');
  });
});

describe('tool choice', () => {
  it('uses the exact major when installed, else the lowest that fits, PG_BIN before PATH', () => {
    const tools = [
      tool('pg_dump', '18.1', '/a/pg_dump', 'side-by-side'),
      tool('pg_dump', '16.3', '/b/pg_dump', 'PATH'),
      tool('pg_dump', '16.3', '/c/pg_dump', 'PG_BIN'),
      tool('pg_dump', '17.0', '/d/pg_dump', 'side-by-side'),
      tool('pg_restore', '18.1', '/a/pg_restore', 'side-by-side'),
    ];
    const dumpFor = (prod: string) => evaluateParity(input({ prod, local: prod, tools })).checks.find((c) => c.id === 'dump')!;
    expect(dumpFor('17.0').uses).toBe('/d/pg_dump');
    expect(dumpFor('16.3').uses).toBe('/c/pg_dump');
    expect(dumpFor('19.0').status).toBe('fail');
  });

  it('orders 9.6 before 10 when comparing majors', () => {
    const tools = [tool('pg_dump', '10.23', '/x/pg_dump'), tool('pg_restore', '10.23', '/x/pg_restore')];
    const report = evaluateParity(input({ prod: '9.6.24', local: '10.23', tools }));
    expect(report.checks.find((c) => c.id === 'dump')!.status).toBe('pass');
    expect(report.checks.find((c) => c.id === 'server-major')!.detail).toContain('newer major');
  });
});
