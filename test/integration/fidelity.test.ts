/**
 * Fidelity: a pulled copy must equal production wherever the reference copy
 * `pg_dump -Fc | pg_restore --no-acl --no-owner` (what `heroku pg:pull` runs) does, object by
 * object. For each fixture: the reference copy, a live pull (`--from-url`) and a backup pull
 * (`-a APP --from backup` through the emulator and the real heroku CLI) are fingerprinted and
 * compared with the source (test/helpers/fidelity.ts). One `it` per (fixture, path).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { ROOT, runCli, type CliRun } from '../helpers/cli.js';
import { adminQuery, dropTargetAndCopies, scalar, testServerUrl, uniqueDbName, type TestDb } from '../helpers/db.js';
import {
  compareFingerprints,
  createFixtureDb,
  createSqlDb,
  fingerprint,
  fixtureClasses,
  pgTool,
  referenceCopy,
  rowsOnlyIn,
  type AllowedGap,
  type Fingerprint,
} from '../helpers/fidelity.js';
import { herokuBinPath } from '../helpers/heroku.js';

const FIXTURES_DIR = resolve(ROOT, 'test/fixtures');

/** A gap of the reference copy; `drydockToo: false` when drydock promises better. */
interface ReferenceGap extends AllowedGap {
  drydockToo: boolean;
}

/**
 * What `pg_dump -Fc | pg_restore --no-acl --no-owner` itself does not carry over. Ownership and
 * grants are dropped on purpose (--no-owner --no-acl) and the fingerprint does not read them.
 */
const REFERENCE_GAPS: ReferenceGap[] = [
  {
    why: 'pg_dump without --create writes no ALTER DATABASE … SET (heroku pg:pull neither): database-level settings stay behind; drydock reads them from production and puts them on the copy',
    matches: /^database settings: /,
    drydockToo: false,
  },
  {
    why:
      'pg_dump 15 writes an inheritance child made on its own and then attached with INHERIT as CREATE TABLE … INHERITS, ' +
      'inherited columns first: the column order changes (the values stay in their columns: checksums compare by column name)',
    matches: /^(table public\.trucks: columns \(payload_kg, wheels, id, make\) vs \(id, make, wheels, payload_kg\)$|schema TABLE public\.trucks: differs\n)/,
    drydockToo: true,
  },
  {
    why: 'pg_dump carries no planner statistics and pg_restore runs no ANALYZE; drydock analyzes every table it copies, so it must fill CREATE STATISTICS objects too',
    matches: /^statistics \S+: has data true vs false$/,
    drydockToo: false,
  },
];
const DRYDOCK_GAPS: AllowedGap[] = REFERENCE_GAPS.filter((g) => g.drydockToo);

interface Fixture {
  name: string;
  label: string;
  files: string[];
  /** SQL text instead of files (a section of classes.sql). */
  sql?: string;
  transform?: (sql: string) => string;
  source?: TestDb;
  sourceFp?: Fingerprint;
  app: string;
}

const fixtures: Fixture[] = [
  { name: 'app', label: 'fid_app', files: [join(FIXTURES_DIR, 'fidelity/app.sql')], app: 'fid-app' },
  {
    name: 'datestyle',
    label: 'fid_datestyle',
    files: [join(FIXTURES_DIR, 'fidelity/datestyle.sql')],
    app: 'fid-datestyle',
  },
  {
    name: 'chinook',
    label: 'fid_chinook',
    files: [join(FIXTURES_DIR, 'public/chinook/Chinook_PostgreSql.sql.gz')],
    // The script makes and enters its own database first.
    transform: (sql) => sql.replace(/^(DROP DATABASE IF EXISTS chinook;|CREATE DATABASE chinook;|\\c chinook;)$/gm, ''),
    app: 'fid-chinook',
  },
  // One database per class of object: a failure in one class cannot hide another's.
  ...[...fixtureClasses(join(FIXTURES_DIR, 'fidelity/classes.sql'))].map(([name, sql]) => ({
    name: `class ${name}`,
    label: `fc_${name.replace(/-/g, '_')}`.slice(0, 20),
    files: [],
    sql,
    app: `fid-${name}`.slice(0, 30).replace(/-$/, ''),
  })),
];

let emu: Emulator;
let cache: string;
const targets: string[] = [];
const others: TestDb[] = [];

function target(label: string): string {
  const name = uniqueDbName(label);
  targets.push(name);
  return name;
}

function env(): Record<string, string> {
  return { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl(), DRYDOCK_CACHE_DIR: cache };
}

/** The differences, with a few rows of each table whose checksum differs (source rows the copy lacks). */
async function explain(sourceUrl: string, copyUrl: string, diffs: string[]): Promise<string> {
  const out: string[] = [];
  for (const d of diffs) {
    out.push(d);
    const m = /^table (\S+): (checksum differs|rows \d+ vs \d+)/.exec(d);
    if (m && out.length < 60) {
      const [schema, name] = m[1]!.split('.') as [string, string];
      const table = `${schema}.${name}`;
      try {
        for (const row of await rowsOnlyIn(sourceUrl, copyUrl, table, 2)) out.push(`    source row not in the copy: ${row.slice(0, 300)}`);
        for (const row of await rowsOnlyIn(copyUrl, sourceUrl, table, 2)) out.push(`    copy row not in the source: ${row.slice(0, 300)}`);
      } catch {
        // best effort
      }
    }
  }
  return out.join('\n');
}

async function pullAndCompare(fixture: Fixture, label: string, args: (to: string) => string[], extraEnv: Record<string, string> = {}): Promise<{ run: CliRun; diffs: string[]; report: string }> {
  const to = target(label);
  const run = await runCli(args(to), { env: { ...env(), ...extraEnv }, timeoutMs: 170_000 });
  if (run.exitCode !== 0) {
    const errors = run.stderr.split('\n').filter((l) => /^(error|hint):/.test(l));
    return { run, diffs: [`pull failed (exit ${run.exitCode}): ${(errors.length ? errors : run.stderr.trim().split('\n').slice(-3)).join(' | ')}`], report: run.stderr.trim().split('\n').slice(-25).join('\n') };
  }
  const copyUrl = new URL(testServerUrl());
  copyUrl.pathname = '/' + to;
  const diffs = compareFingerprints(fixture.sourceFp!, await fingerprint(copyUrl.toString()), DRYDOCK_GAPS);
  return { run, diffs, report: await explain(fixture.source!.url, copyUrl.toString(), diffs) };
}

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'drydock-cache-fid-'));
  // Three at a time: the machine has two cores.
  const queue = [...fixtures];
  await Promise.all(
    [1, 2, 3].map(async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        f.source = f.sql !== undefined ? await createSqlDb(f.label, f.sql) : await createFixtureDb(f.label, f.files, f.transform ? { transform: f.transform } : {});
        f.sourceFp = await fingerprint(f.source.url);
      }
    }),
  );
  emu = await startEmulator({ apps: fixtures.map((f) => ({ name: f.app, databaseUrl: f.source!.localhostUrl })) });
  for (const f of fixtures) await emu.addBackup(f.app);
}, 300_000);

afterAll(async () => {
  await emu?.stop();
  for (const t of targets) await dropTargetAndCopies(t);
  for (const db of others) await db.drop();
  for (const f of fixtures) await f.source?.drop();
  if (cache) rmSync(cache, { recursive: true, force: true });
});

for (const fixture of fixtures) {
  describe(`fidelity: ${fixture.name}`, () => {
    it(`${fixture.name}: the reference copy (pg_dump | pg_restore) equals the source but for its known gaps`, async () => {
      const ref = await referenceCopy(fixture.source!.url, `${fixture.label}_ref`);
      others.push(ref);
      const diffs = compareFingerprints(fixture.sourceFp!, await fingerprint(ref.url), REFERENCE_GAPS);
      expect(diffs, await explain(fixture.source!.url, ref.url, diffs)).toEqual([]);
    });

    it(`${fixture.name}: a live pull (--from-url) equals the source`, async () => {
      const { diffs, report } = await pullAndCompare(fixture, `${fixture.label}_live`, (to) => ['pull', '--from-url', fixture.source!.localhostUrl, '--to', to, '--json', '--no-snapshot']);
      expect(diffs, report).toEqual([]);
    });

    it(`${fixture.name}: a backup pull (-a APP --from backup) equals the source`, async () => {
      const { diffs, report } = await pullAndCompare(fixture, `${fixture.label}_bak`, (to) => ['pull', '-a', fixture.app, '--from', 'backup', '--to', to, '--json', '--no-snapshot']);
      expect(diffs, report).toEqual([]);
    });

    it(`${fixture.name}: a backup pull loaded as it downloads (each table's indexes and keys built as its data comes in) equals the source`, async () => {
      const cold = mkdtempSync(join(tmpdir(), 'drydock-cache-fid-stream-'));
      try {
        const { run, diffs, report } = await pullAndCompare(fixture, `${fixture.label}_str`, (to) => ['pull', '-a', fixture.app, '--from', 'backup', '--to', to, '--no-snapshot'], { DRYDOCK_CACHE_DIR: cold, DRYDOCK_STREAM_RESTORE: '1' });
        expect(diffs, report).toEqual([]);
        expect(run.stdout).toMatch(/schema and data loaded as it arrived/);
      } finally {
        rmSync(cold, { recursive: true, force: true });
      }
    });
  });
}

describe('fidelity: forced row-level security, copied as the table owner (not a superuser)', () => {
  const role = `drydock_test_rls_${process.pid}_${randomBytes(3).toString('hex')}`;
  let source: TestDb | undefined;
  let ownerUrl: string;

  beforeAll(async () => {
    await adminQuery(`CREATE ROLE "${role}" LOGIN NOSUPERUSER NOBYPASSRLS`);
    source = await createFixtureDb('fid_rls', [join(FIXTURES_DIR, 'fidelity/rls.sql')], { variables: { owner: role } });
    const u = new URL(source.localhostUrl);
    u.username = role;
    ownerUrl = u.toString();
  });

  afterAll(async () => {
    for (const t of targets) await dropTargetAndCopies(t).catch(() => undefined);
    await source?.drop();
    await adminQuery(`DROP ROLE IF EXISTS "${role}"`);
  });

  it('the reference: pg_dump as the owner fails naming the table', async () => {
    const res = await execa(await pgTool('pg_dump'), ['-Fc', '--no-owner', '--no-acl', '-f', '/dev/null', '-d', ownerUrl], { reject: false });
    expect(res.exitCode).not.toBe(0);
    expect(String(res.stderr)).toMatch(/tenant_notes/);
    // The owner sees no rows of it (the trap a copy must not fall into).
    const asOwner = await execa(await pgTool('psql'), ['-X', '-At', '-d', ownerUrl, '-c', 'SELECT count(*) FROM tenant_notes'], { reject: false });
    expect(String(asOwner.stdout).trim()).toBe('0');
  });

  it('a live pull as the owner fails naming the table, or copies every row: never succeeds with rows missing', async () => {
    const to = target('fid_rls_live');
    const res = await runCli(['pull', '--from-url', ownerUrl, '--to', to, '--json', '--no-snapshot'], { env: { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() }, timeoutMs: 170_000 });
    if (res.exitCode !== 0) {
      expect(res.stderr, 'a failed pull names the table').toMatch(/tenant_notes/);
      return;
    }
    const copied = { tenant_notes: await scalar(to, 'SELECT count(*) AS n FROM public.tenant_notes'), plain_notes: await scalar(to, 'SELECT count(*) AS n FROM public.plain_notes') };
    expect(copied, `pull succeeded (exit 0); stdout: ${res.stdout.slice(0, 500)}`).toEqual({ tenant_notes: 200, plain_notes: 50 });
  });
});
