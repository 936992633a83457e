/**
 * `drydock schema dump|load` against the real local PostgreSQL 15 with the real pg_dump and psql:
 * through the plain functions, and through the built CLI for what users see.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PgTools } from '../../src/pg/pg-tools.js';
import { discoverTools } from '../../src/pg/tools.js';
import { parseDatabaseUrl } from '../../src/pg/url.js';
import { dumpSchema } from '../../src/schema/dump.js';
import { loadSchema } from '../../src/schema/load.js';
import { parseAppliedVersions, schemaDiff } from '../../src/schema/normalize.js';
import { runCli } from '../helpers/cli.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

const PASSWORD = 'schema-Pa55-canary';
const VERSIONS = ['20260110120000', '20260101090000', '20260120083000'];

/** A schema with the shapes that trip normalisers: an extension, comments, a view, a plpgsql body with blank lines and trailing spaces. */
const SCHEMA_SQL = `
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
CREATE SCHEMA billing;
CREATE TYPE billing.status AS ENUM ('open', 'paid');
CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE users IS 'people who sign in';
COMMENT ON COLUMN users.email IS 'lower-cased';
CREATE INDEX users_email_trgm ON users USING gin (email gin_trgm_ops);
CREATE TABLE billing.invoices (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  status billing.status NOT NULL DEFAULT 'open',
  note text DEFAULT E'multi\\nline'
);
CREATE VIEW open_invoices AS SELECT id, user_id FROM billing.invoices WHERE status = 'open';
CREATE FUNCTION touch_user() RETURNS trigger LANGUAGE plpgsql AS $body$
begin   


  new.email := lower(new.email);
  return new;
end
$body$;
CREATE TRIGGER users_touch BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch_user();
`;

let source: TestDb;
let tmp: string;
const dbs: TestDb[] = [];

/** The same URL with a password (trust auth ignores it; masking must not). */
function withPassword(url: string): string {
  const u = new URL(url);
  u.password = PASSWORD;
  return u.toString();
}

/** The client tools a command gets from cli.ts. */
function tools(): PgTools {
  return new PgTools({ discoverTools });
}

async function freshDb(label: string): Promise<TestDb> {
  const db = await createTestDb(label);
  dbs.push(db);
  return db;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'drydock-schema-'));
  source = await freshDb('schema_src');
  await source.query(SCHEMA_SQL);
  for (const v of VERSIONS) await source.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v]);
});

afterAll(async () => {
  await Promise.all(dbs.map((db) => db.drop()));
  rmSync(tmp, { recursive: true, force: true });
});

describe('schema dump', () => {
  it('gives byte-identical output on two runs', async () => {
    const first = await dumpSchema(tools(), parseDatabaseUrl(source.url));
    const second = await dumpSchema(tools(), parseDatabaseUrl(source.url));
    expect(schemaDiff(first, second)).toBe('');
    expect(second).toBe(first);
    expect(first).not.toMatch(/\\(un)?restrict|Dumped (from|by)/);
  });

  it('keeps object comments and function bodies as written', async () => {
    const text = await dumpSchema(tools(), parseDatabaseUrl(source.url));
    expect(text).toContain("COMMENT ON TABLE public.users IS 'people who sign in';");
    expect(text).toContain("COMMENT ON COLUMN public.users.email IS 'lower-cased';");
    expect(text).toContain('begin   \n\n\n  new.email := lower(new.email);');
  });

  it('appends the applied versions sorted', async () => {
    const text = await dumpSchema(tools(), parseDatabaseUrl(source.url));
    expect(parseAppliedVersions(text)).toEqual([...VERSIONS].sort());
    expect(text.endsWith("VALUES\n('20260101090000'),\n('20260110120000'),\n('20260120083000');\n")).toBe(true);
  });

  it('appends no versions when schema_migrations does not exist', async () => {
    const bare = await freshDb('schema_bare');
    await bare.query('CREATE TABLE things (id int)');
    const text = await dumpSchema(tools(), parseDatabaseUrl(bare.url));
    expect(text).toContain('CREATE TABLE public.things');
    expect(text).not.toContain('INSERT INTO');
  });

  it('uses DATABASE_URL when no URL is given', async () => {
    // DATABASE_URL reaches the command through its --url option (commander's Option.env).
    const text = (await runCli(['schema', 'dump', '-o', '-'], { env: { DATABASE_URL: source.url } })).stdout;
    expect(text).toContain('CREATE TABLE public.users');
  });
});

describe('schema load', () => {
  it('loads a dump into a fresh database that then dumps to the identical file', async () => {
    const file = join(tmp, 'roundtrip.sql');
    const original = await dumpSchema(tools(), parseDatabaseUrl(source.url));
    writeFileSync(file, original);
    const target = await freshDb('schema_target');
    const result = await loadSchema(tools(), parseDatabaseUrl(target.url), { file });
    expect(result.versions).toEqual([...VERSIONS].sort());
    expect(result.existingTables).toEqual([]);

    const again = await dumpSchema(tools(), parseDatabaseUrl(target.url));
    expect(schemaDiff(original, again, { labelA: 'source', labelB: 'loaded' })).toBe('');
    const { rows } = await target.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual([...VERSIONS].sort());
    // The loaded schema works: the trigger from the function body runs.
    await target.query(`INSERT INTO users (email) VALUES ('A@Example.com')`);
    expect((await target.query('SELECT email FROM users')).rows).toEqual([{ email: 'a@example.com' }]);
  });

  it('refuses a database that has a table and leaves it unchanged', async () => {
    const file = join(tmp, 'refuse.sql');
    writeFileSync(file, await dumpSchema(tools(), parseDatabaseUrl(source.url)));
    const busy = await freshDb('schema_busy');
    await busy.query(`CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (1), (2)`);
    await expect(loadSchema(tools(), parseDatabaseUrl(busy.url), { file })).rejects.toThrow(
      /refusing to load .*refuse\.sql into postgres@127\.0\.0\.1:5432\/drydock_test_schema_busy_\w+: it already has 1 table\(s\) \(public\.keep_me\)/,
    );
    const { rows } = await busy.query<{ relname: string }>(
      `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind = 'r'`,
    );
    expect(rows.map((r) => r.relname)).toEqual(['keep_me']);
    expect((await busy.query('SELECT count(*)::int AS n FROM keep_me')).rows[0]).toEqual({ n: 2 });
  });

  it('with force, a clash rolls the whole load back', async () => {
    const file = join(tmp, 'clash.sql');
    writeFileSync(file, await dumpSchema(tools(), parseDatabaseUrl(source.url)));
    const clash = await freshDb('schema_clash');
    await clash.query('CREATE TABLE users (id int)');
    await expect(loadSchema(tools(), parseDatabaseUrl(clash.url), { file, force: true })).rejects.toThrow(/relation "users" already exists/);
    const { rows } = await clash.query(`SELECT to_regclass('public.schema_migrations') AS sm, to_regnamespace('billing') AS billing`);
    expect(rows[0]).toEqual({ sm: null, billing: null });
  });

  it('ignores tables that belong to an extension when deciding the database is empty', async () => {
    const file = join(tmp, 'ext.sql');
    writeFileSync(file, 'CREATE TABLE public.t (id integer);\n');
    const db = await freshDb('schema_ext');
    // A table made a member of an extension stands in for postgis' spatial_ref_sys.
    await db.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE TABLE public.ext_owned (id int); ALTER EXTENSION pg_trgm ADD TABLE public.ext_owned`);
    await expect(loadSchema(tools(), parseDatabaseUrl(db.url), { file })).resolves.toMatchObject({ versions: [] });
  });
});

describe('drydock schema (CLI)', () => {
  it('dump -o - prints the normalised schema on stdout', async () => {
    const expected = await dumpSchema(tools(), parseDatabaseUrl(source.url));
    const res = await runCli(['schema', 'dump', '--url', source.url, '-o', '-']);
    expect(res.stderr).toBe('');
    expect(res.exitCode).toBe(0);
    // execa strips the final newline of what it captures.
    expect(res.stdout + '\n').toBe(expected);
  });

  it('dump writes db/schema.sql from DATABASE_URL and says what it wrote', async () => {
    const cwd = mkdtempSync(join(tmp, 'cwd-'));
    const res = await runCli(['schema', 'dump'], { cwd, env: { DATABASE_URL: source.url } });
    expect(res.stderr).toBe('');
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/^wrote db\/schema\.sql: 3 tables, 3 migration versions \(\d\.\d kB\)$/);
    expect(readFileSync(join(cwd, 'db/schema.sql'), 'utf8')).toBe(await dumpSchema(tools(), parseDatabaseUrl(source.url)));
  });

  it('--url wins over DATABASE_URL', async () => {
    const res = await runCli(['schema', 'dump', '--url', source.url, '-o', '-'], { env: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nothing' } });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('CREATE TABLE public.users');
  });

  it('load of a missing file fails with a one-line error and exit 2', async () => {
    const target = await freshDb('schema_nofile');
    const res = await runCli(['schema', 'load', '--url', target.url, '-f', join(tmp, 'missing.sql')]);
    expect(res.exitCode).toBe(2);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`error: schema file ${join(tmp, 'missing.sql')} does not exist`);
    expect(lines.slice(1)).toEqual(['hint: write one with drydock schema dump, or pass -f FILE']);
  });

  it('load then --json reports the versions', async () => {
    const cwd = mkdtempSync(join(tmp, 'cwd-'));
    expect((await runCli(['schema', 'dump', '--url', source.url], { cwd })).exitCode).toBe(0);
    const target = await freshDb('schema_cli_load');
    const res = await runCli(['schema', 'load', '--url', target.url, '--json'], { cwd });
    expect(res.stderr).toBe('');
    expect(res.exitCode).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ file: 'db/schema.sql', versions: [...VERSIONS].sort(), existingTables: [] });
  });

  it('never shows the password from the URL, in output, errors or the tools argv', async () => {
    const shimDir = mkdtempSync(join(tmp, 'shims-'));
    const argvLog = join(shimDir, 'argv.log');
    writeFileSync(argvLog, '');
    for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
      const path = join(shimDir, tool);
      writeFileSync(path, `#!/bin/sh\nprintf '%s ' "${tool}" "$@" >> "${argvLog}"\nprintf '\\n' >> "${argvLog}"\nexec /usr/lib/postgresql/15/bin/${tool} "$@"\n`);
      chmodSync(path, 0o755);
    }
    const env = { PG_BIN: shimDir };
    const secretSource = withPassword(source.url);
    const busy = await freshDb('schema_secret');
    await busy.query('CREATE TABLE users (id int)');
    const cwd = mkdtempSync(join(tmp, 'cwd-'));
    const runs = [
      await runCli(['schema', 'dump', '--url', secretSource, '-o', '-'], { env }),
      await runCli(['schema', 'dump', '-o', 'out.sql', '--verbose'], { env: { ...env, DATABASE_URL: secretSource }, cwd }),
      await runCli(['schema', 'load', '--url', withPassword(busy.url), '-f', join(cwd, 'out.sql')], { env }),
      await runCli(['schema', 'load', '--url', withPassword(busy.url), '-f', join(cwd, 'out.sql'), '--force', '--verbose'], { env }),
      await runCli(['schema', 'dump', '--url', withPassword('postgres://postgres@127.0.0.1:1/nothing'), '--verbose'], { env, cwd }),
    ];
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0, 2, 2, 2]);
    expect(runs[3]!.stderr).toContain('relation "users" already exists');
    for (const res of runs) {
      expect(res.stdout).not.toContain(PASSWORD);
      expect(res.stderr).not.toContain(PASSWORD);
    }
    expect(existsSync(join(cwd, 'out.sql'))).toBe(true);
    const argv = readFileSync(argvLog, 'utf8');
    expect(argv).toMatch(/^pg_dump --schema-only/m);
    expect(argv).toMatch(/^psql -X -q -v ON_ERROR_STOP=1 -1 (-c \\restrict [0-9a-f]+ )?-f /m);
    expect(argv).not.toContain(PASSWORD);
    expect(argv).not.toContain('postgres://');
    expect(argv).not.toContain('drydock_test_');
  });
});
