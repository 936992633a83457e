import { describe, expect, it } from 'vitest';

import { ToolError } from '../../../src/errors.js';
import { PgTools } from '../../../src/pg/pg-tools.js';
import type { ClientTool, ToolName } from '../../../src/pg/tools.js';

function tool(name: ToolName, major: number, minor = 1): ClientTool {
  const path = `/usr/lib/postgresql/${major}/bin/${name}`;
  return { name, path, realPath: path, version: { major, minor, text: `${major}.${minor}` }, source: 'side-by-side' };
}

function pgTools(tools: ClientTool[]): PgTools {
  return new PgTools({ discoverTools: () => Promise.resolve(tools), env: {} });
}

describe('PgTools.tool', () => {
  it('picks pg_dump of the server major when there is one', async () => {
    const picked = await pgTools([tool('pg_dump', 17), tool('pg_dump', 16), tool('pg_dump', 15)]).tool('pg_dump', 16);
    expect(picked.version.major).toBe(16);
  });

  it('falls back to the closest newer pg_dump', async () => {
    const picked = await pgTools([tool('pg_dump', 17), tool('pg_dump', 18), tool('pg_dump', 14)]).tool('pg_dump', 16);
    expect(picked.version.major).toBe(17);
  });

  it('takes an older psql when no newer one exists', async () => {
    const picked = await pgTools([tool('psql', 14)]).tool('psql', 16);
    expect(picked.version.major).toBe(14);
  });

  it('fails with a doctor hint when only older pg_dump versions are installed', async () => {
    const error = await pgTools([tool('pg_dump', 14, 11), tool('pg_dump', 15, 20)]).tool('pg_dump', 16).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolError);
    expect((error as ToolError).message).toBe('no pg_dump fits PostgreSQL 16: found pg_dump 14.11, 15.20, all older');
    expect((error as ToolError).hint).toMatch(/install PostgreSQL 16 client tools \(run drydock doctor/);
  });

  it('fails when the tool is not installed at all', async () => {
    await expect(pgTools([tool('psql', 16)]).tool('pg_restore', 16)).rejects.toThrow('no pg_restore fits PostgreSQL 16: pg_restore is not installed');
  });

  it('discovers the installed tools once', async () => {
    let calls = 0;
    const tools = new PgTools({
      discoverTools: () => {
        calls += 1;
        return Promise.resolve([tool('psql', 16), tool('pg_dump', 16)]);
      },
      env: {},
    });
    await tools.tool('psql', 16);
    await tools.tool('pg_dump', 16);
    expect(calls).toBe(1);
  });

  it('puts the password and database in PG* variables', () => {
    const env = pgTools([]).pgEnv({
      href: 'postgres://u:pw@db.example.com:5433/app',
      user: 'u',
      password: 'pw',
      host: 'db.example.com',
      port: 5433,
      database: 'app',
      sslmode: undefined,
      params: {},
      redacted: 'postgres://u:********@db.example.com:5433/app',
    });
    expect(env).toMatchObject({ PGHOST: 'db.example.com', PGPORT: '5433', PGUSER: 'u', PGPASSWORD: 'pw', PGDATABASE: 'app', PGSSLMODE: 'require' });
  });
});
