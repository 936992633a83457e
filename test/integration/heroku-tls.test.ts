/**
 * SSL end to end: emulated production is published over TLS under a host name that is not localhost
 * (the emulator's `tls` option), refuses connections without SSL as Heroku does, and presents a
 * certificate no CA vouches for. drydock's own connections (node-pg), pg_dump, pg_restore and psql all
 * go through it with sslmode=require, while the sandboxed HOME holds a ~/.postgresql/root.crt of some
 * other CA: with that file, libpq's require verifies the server (as verify-ca does) and would fail.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { run } from '../../src/exec.js';
import { createHostCert } from '../heroku-emulator/tls.js';
import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { scalar, testServerUrl, workingDatabases, type TestDb } from '../helpers/db.js';
import { herokuBinPath, runHeroku } from '../helpers/heroku.js';
import { makeMigrationDir, type MigrationDir } from '../helpers/migrations.js';
import { testScope } from '../helpers/scope.js';

const { cleanups, db } = testScope();
const { target, dropAll } = workingDatabases();

let emu: Emulator;
let prod: TestDb;
let cache: string;
/** The emulated production URL (TLS, remote host name). */
let prodUrl: string;
/** The local test server, reached through the same TLS front end (so pg_restore and psql run over TLS too). */
let localOverTls: string;
let m: MigrationDir;

const PSQL = '/usr/lib/postgresql/15/bin/psql';

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl(), DRYDOCK_CACHE_DIR: cache, ...extra };
}

/** psql with only the URL and the sandboxed HOME (no PG* variables of this process). */
function psql(url: string, sql: string, extra: Record<string, string | undefined> = {}) {
  return run(PSQL, ['-X', '-At', '-d', url, '-c', sql], { env: { HOME: emu.env.HOME, PGSSLMODE: undefined, PGSSLROOTCERT: undefined, ...extra }, reject: false, timeoutMs: 20_000 });
}

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'drydock-tls-cache-'));
  cleanups.push(() => rmSync(cache, { recursive: true, force: true }));
  cleanups.push(() => dropAll());
  prod = await db('tls_prod');
  await prod.query(`
    CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
    INSERT INTO schema_migrations VALUES ('20260101000000');
    CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, born date, score numeric(10,2));
    INSERT INTO users (email, born, score) SELECT 'u' || g || '@example.com', date '2000-01-01' + g, g / 7.0 FROM generate_series(1, 2000) g;
    CREATE INDEX users_email ON users (email);`);
  emu = await startEmulator({ tls: true, apps: [{ name: 'tls-prod', databaseUrl: prod.localhostUrl }] });
  cleanups.push(() => emu.stop());
  prodUrl = emu.app('tls-prod').configVars.DATABASE_URL!;
  localOverTls = emu.tls!.publish(testServerUrl());
  // A root certificate of some other CA, where libpq looks for one: ~/.postgresql/root.crt of the HOME
  // both the heroku CLI and drydock run with.
  const other = await createHostCert(join(cache, 'other-ca'), 'db.internal.example', 'other');
  mkdirSync(join(emu.env.HOME!, '.postgresql'), { recursive: true });
  writeFileSync(join(emu.env.HOME!, '.postgresql', 'root.crt'), other.cert);
  m = makeMigrationDir([
    { version: '20260101000000', name: 'create_users', up: 'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);', down: 'DROP TABLE users;' },
    { version: '20260102000000', name: 'create_rooms', up: 'CREATE TABLE rooms (id bigserial PRIMARY KEY, name text NOT NULL);', down: 'DROP TABLE rooms;' },
  ]);
  cleanups.push(() => m.cleanup());
  mkdirSync(join(m.root, 'db'), { recursive: true });
  writeFileSync(join(m.root, 'db/seeds.sql'), "INSERT INTO rooms (name) VALUES ('lobby');\n");
}, 120_000);


describe('emulated production over TLS', () => {
  it('names a host that is not localhost, refuses connections without SSL, and the heroku CLI reaches it', async () => {
    const url = new URL(prodUrl);
    expect(url.hostname).toBe(emu.tls!.host);
    expect(['localhost', '127.0.0.1', '::1']).not.toContain(url.hostname);
    expect(url.searchParams.get('sslmode')).toBeNull();

    const plain = await psql(`${prodUrl}?sslmode=disable`, 'SELECT 1');
    expect(plain.exitCode).not.toBe(0);
    expect(plain.stderr).toMatch(/no pg_hba\.conf entry for host .* no encryption/);

    // What the fix is about: libpq's require verifies against ~/.postgresql/root.crt when there is one.
    const verified = await psql(`${prodUrl}?sslmode=require`, 'SELECT 1');
    expect(verified.exitCode).not.toBe(0);
    expect(verified.stderr).toMatch(/certificate verify failed/);

    const cli = await runHeroku(emu, ['pg:psql', '-a', 'tls-prod', '-c', 'SELECT count(*) FROM users'], { env: { HOME: emu.env.HOME, PGSSLROOTCERT: '/dev/null/none' } });
    expect(cli.exitCode, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/2000/);
  });
});

describe('drydock over TLS, with a root.crt of another CA in HOME', () => {
  it('pulls the live database (node-pg, pg_dump, COPY streams) into a local server also reached over TLS (pg_restore, psql)', async () => {
    const before = emu.tls!.stats();
    const to = target('tls_live');
    const scrub = join(m.root, 'scrub.sql');
    writeFileSync(scrub, "UPDATE users SET email = 'user' || id || '@example.invalid';\n");
    const res = await runCli(['pull', '-a', 'tls-prod', '--from', 'live', '--to', to, '--no-snapshot', '--scrub', scrub, '--jobs', '2'], {
      env: env({ DRYDOCK_LOCAL_DATABASE_URL: localOverTls }),
    });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toContain('Pulled live database of tls-prod');
    expect(await scalar(to, 'SELECT count(*) FROM users')).toBe(2000);
    expect(await scalar(to, `SELECT count(*) FROM users WHERE email LIKE '%@example.invalid'`)).toBe(2000);
    expect(await scalar(to, `SELECT count(*) FROM pg_indexes WHERE indexname = 'users_email'`)).toBe(1);
    const after = emu.tls!.stats();
    // Production and the local server: every session went through TLS, none tried without.
    expect(after.plainRefused).toBe(before.plainRefused);
    expect(after.tlsSessions - before.tlsSessions).toBeGreaterThanOrEqual(6);
    expect(after.peak[prod.name]).toBeGreaterThanOrEqual(2);
  });

  it('pulls a captured backup: the heroku CLI and drydock download it, pg_restore loads it over TLS', async () => {
    const to = target('tls_backup');
    const res = await runCli(['pull', '-a', 'tls-prod', '--capture', '--to', to, '--no-snapshot'], { env: env({ DRYDOCK_LOCAL_DATABASE_URL: localOverTls }) });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await scalar(to, 'SELECT count(*) FROM users')).toBe(2000);
  });

  it('migrates, dumps the schema (pg_dump), sets up a review database from it (psql) and releases, all over TLS', async () => {
    const source = await db('tls_src');
    const sourceUrl = emu.tls!.publish(source.url);
    const migrate = await runCli(['migrate', '--dir', m.dir, '--url', sourceUrl], { cwd: m.root, env: { HOME: emu.env.HOME! } });
    expect(migrate.exitCode, migrate.stderr).toBe(0);
    const schemaFile = join(m.root, 'db/schema.sql');
    const dump = await runCli(['schema', 'dump', '--url', sourceUrl, '-o', schemaFile], { cwd: m.root, env: { HOME: emu.env.HOME! } });
    expect(dump.exitCode, dump.stderr).toBe(0);

    const review = await db('tls_review');
    const reviewUrl = emu.tls!.publish(review.url);
    const postdeploy = await runCli(['postdeploy', '--dir', m.dir, '--schema', schemaFile], { cwd: m.root, env: { HOME: emu.env.HOME!, DATABASE_URL: reviewUrl } });
    expect(postdeploy.exitCode, postdeploy.stderr).toBe(0);
    expect(await scalar(review.name, 'SELECT count(*) FROM rooms')).toBe(1);
    const release = await runCli(['release', '--dir', m.dir], { cwd: m.root, env: { HOME: emu.env.HOME!, DATABASE_URL: reviewUrl } });
    expect(release.exitCode, release.stderr).toBe(0);
    expect(release.stdout).toContain('up to date');
  });

  it('checks the certificate when asked to: verify-full with the server\'s certificate passes, with another CA fails in one line', async () => {
    const good = `${prodUrl}?sslmode=verify-full&sslrootcert=${encodeURIComponent(emu.tls!.certPath)}`;
    const to = target('tls_verify');
    const ok = await runCli(['pull', '--from-url', good, '--to', to, '--no-snapshot'], { env: env() });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(await scalar(to, 'SELECT count(*) FROM users')).toBe(2000);

    const bad = `${prodUrl}?sslmode=verify-full&sslrootcert=${encodeURIComponent(join(emu.env.HOME!, '.postgresql', 'root.crt'))}`;
    const refused = await runCli(['pull', '--from-url', bad, '--to', target('tls_refused'), '--no-snapshot'], { env: env() });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/^error: could not connect to .*: the server's certificate did not verify/m);
    expect(refused.stderr).toMatch(/^hint: .*sslrootcert/m);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });

  it('doctor connects to production over TLS', async () => {
    const res = await runCli(['doctor', '-a', 'tls-prod'], { env: env() });
    expect(res.stdout + res.stderr).toMatch(/Production: PostgreSQL 15\.\d+ \(direct connection\)/);
  });
});
