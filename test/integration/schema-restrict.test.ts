/**
 * schema load runs the file with psql's meta-commands refused (\restrict with a fresh key), the
 * protection pg_dump's own guard lines gave before `schema dump` normalised them away.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

const dir = mkdtempSync(join(tmpdir(), 'drydock-restrict-'));
const dbs: TestDb[] = [];
afterAll(async () => {
  for (const db of dbs) await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('schema load and meta-commands', () => {
  it('refuses a meta-command smuggled into a schema file, runs nothing of it, and changes nothing', async () => {
    const db = await createTestDb('restrict');
    dbs.push(db);
    const marker = join(dir, 'pwned');
    const file = join(dir, 'schema.sql');
    writeFileSync(file, `CREATE TABLE public.t (id bigint);\n\\! touch ${marker}\nCREATE TABLE public.schema_migrations (version text PRIMARY KEY);\n`);
    const res = await runCli(['schema', 'load', '--url', db.url, '-f', file], { cwd: dir });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/restrict/i);
    expect(existsSync(marker)).toBe(false);
    const tables = await db.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
    expect(tables.rows[0]).toEqual({ n: 0 });
  });
});
