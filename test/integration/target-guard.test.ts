/**
 * Issue 12: what a pull, a snapshot restore and `restore --to-local` must never replace: template0,
 * template1, postgres, the --local URL's database, any other template database, and the source itself.
 * Each is refused before anything happens: exit 2, one error line and a hint saying nothing was changed,
 * and the server's databases exactly as they were (fingerprint).
 *
 * The system databases are named with an unreachable --from-url, so that even a drydock without the
 * guard stops at preflight instead of touching them: these tests must never be able to harm the shared
 * server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/errors.js';
import { runPull } from '../../src/pipelines/pull.js';
import { restore } from '../../src/pipelines/restore.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { adminQuery, createTestDb, drydockCopiesOf, dropTargetAndCopies, scalar, testServerUrl, uniqueDbName, urlFor, type TestDb } from '../helpers/db.js';
import { backup, FakeHeroku, FIXED_NOW, makeDeps } from '../helpers/fakes.js';
import { serverFingerprint } from '../helpers/fingerprint.js';
import { createAppDb, pullOptions } from '../helpers/pull.js';

/** A source no server answers at: a drydock that got past the guard would fail at preflight. */
const UNREACHABLE = 'postgres://postgres@127.0.0.1:1/nowhere';
const env = { DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() };

let source: TestDb;
let template: TestDb;
const cleanups: Array<() => void | Promise<void>> = [];

beforeAll(async () => {
  source = await createAppDb('guard_src', cleanups, { version: '20260301000000', users: 12 });
  // Someone's own template database (not drydock's): never a working database.
  template = await createTestDb('guard_tmpl');
  cleanups.push(async () => {
    await adminQuery(`ALTER DATABASE "${template.name}" WITH IS_TEMPLATE false`);
    await dropTargetAndCopies(template.name);
  });
  await template.query(`CREATE TABLE template_marker (note text); INSERT INTO template_marker VALUES ('mine')`);
  await adminQuery(`ALTER DATABASE "${template.name}" WITH IS_TEMPLATE true`);
});

afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** Exit 2, exactly an error line and a hint line that says nothing was changed. */
function expectRefusal(res: CliRun, message: RegExp): void {
  expect(res.exitCode, res.stderr + res.stdout).toBe(2);
  const lines = res.stderr.trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toMatch(/^hint: .*nothing was changed/);
}

describe('pull refuses system databases by name', () => {
  it.each(['template1', 'template0', 'postgres'])('pull --to %s: refused before anything happens', async (name) => {
    const before = await serverFingerprint();
    const res = await runCli(['pull', '--from-url', UNREACHABLE, '--to', name], { env });
    expectRefusal(res, new RegExp(`^error: refusing to use ${name} as a working database`));
    expect(await serverFingerprint()).toEqual(before);
  });

  it('pull --to postgres://…/template1 (the URL form): refused', async () => {
    const res = await runCli(['pull', '--from-url', UNREACHABLE, '--to', urlFor('template1')], { env });
    expectRefusal(res, /^error: refusing to use template1 as a working database/);
  });

  it('snapshot restore --to template1: refused', async () => {
    const before = await serverFingerprint();
    const res = await runCli(['snapshot', 'restore', 'pristine', '--to', 'template1'], { env });
    expectRefusal(res, /^error: refusing to use template1 as a working database/);
    expect(await serverFingerprint()).toEqual(before);
  });

  it("pull into the --local URL's database: refused", async () => {
    const db = await createTestDb('guard_admin');
    cleanups.push(() => dropTargetAndCopies(db.name));
    await db.query('CREATE TABLE admin_marker (x int); INSERT INTO admin_marker VALUES (1)');
    const before = await serverFingerprint();
    const res = await runCli(['pull', '--from-url', UNREACHABLE, '--to', db.name, '--local', db.url], { env: {} });
    expectRefusal(res, /^error: refusing to use .* it is the database the local URL .* connects to/);
    expect(await serverFingerprint()).toEqual(before);
    expect(await drydockCopiesOf(db.name)).toEqual([]);
  });
});

describe('refusals that ask the server', () => {
  it('pull --to a template database that is not drydock\'s: refused, the template untouched', async () => {
    const before = await serverFingerprint();
    const res = await runCli(['pull', '--from-url', source.localhostUrl, '--to', template.name], { env });
    expectRefusal(res, new RegExp(`^error: refusing to use ${template.name} as a working database: it is a template database`));
    expect(await serverFingerprint()).toEqual(before);
    expect(await drydockCopiesOf(template.name)).toEqual([]);
  });

  it('snapshot restore --to a template database: refused', async () => {
    const before = await serverFingerprint();
    const res = await runCli(['snapshot', 'restore', 'pristine', '--to', template.name], { env });
    expectRefusal(res, /it is a template database/);
    expect(await serverFingerprint()).toEqual(before);
  });

  it('pull --from-url naming the target itself (another spelling of the host): refused up front', async () => {
    const before = await serverFingerprint();
    // localhost in the source, 127.0.0.1 for the local server: the servers are asked who they are.
    const res = await runCli(['pull', '--from-url', source.localhostUrl, '--to', source.name], { env });
    expectRefusal(res, new RegExp(`^error: refusing to pull .* into ${source.name}: they are the same database`));
    expect(await serverFingerprint()).toEqual(before);
    expect(await scalar(source.name, 'SELECT count(*) FROM users')).toBe(12);
    expect(await drydockCopiesOf(source.name)).toEqual([]);
  });

  it("a live pull whose app's DATABASE_URL points at the target: refused, nothing made", async () => {
    const heroku = new FakeHeroku();
    heroku.addApp('self-prod', { databaseUrl: source.localhostUrl });
    const deps = makeDeps({ heroku });
    cleanups.push(() => deps.cleanup());
    const before = await serverFingerprint();
    const error = await runPull(deps, pullOptions(source.url, source.name, { source: { kind: 'live', app: 'self-prod' }, keepSnapshot: true })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/they are the same database/);
    expect((error as ConfigError).hint).toMatch(/nothing was changed/);
    expect(await serverFingerprint()).toEqual(before);
  });

  it('a different database on the same server is not mistaken for the source', async () => {
    const target = uniqueDbName('guard_other');
    cleanups.push(() => dropTargetAndCopies(target));
    await adminQuery(`CREATE DATABASE "${target}"`);
    const deps = makeDeps();
    cleanups.push(() => deps.cleanup());
    const result = await runPull(deps, pullOptions(source.localhostUrl, target));
    expect(result.tables).toBe(2);
    expect(await scalar(target, 'SELECT count(*) FROM users')).toBe(12);
  });
});

describe('restore --to-local', () => {
  it('restore --to-local template1: refused before Heroku is asked for anything', async () => {
    const heroku = new FakeHeroku();
    heroku.addApp('guard-prod', { databaseUrl: UNREACHABLE });
    const deps = makeDeps({ heroku, flags: { app: 'guard-prod' } });
    cleanups.push(() => deps.cleanup());
    const error = await restore(deps, { backup: 'latest', toLocal: 'template1' }, () => undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/refusing to use template1 as a working database/);
    expect(heroku.calls).toEqual([]);
  });

  it("restore --to-local into the database the app's DATABASE_URL points at: refused (a backup pull too)", async () => {
    const heroku = new FakeHeroku();
    heroku.addApp('guard-prod', { databaseUrl: source.localhostUrl, backups: [backup('b001', new Date(FIXED_NOW - 3_600_000).toISOString())] });
    const u = new URL(testServerUrl());
    const deps = makeDeps({ heroku, flags: { app: 'guard-prod' }, env: { PGHOST: u.hostname, PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username) || 'postgres' } });
    cleanups.push(() => deps.cleanup());
    const before = await serverFingerprint();
    const error = await restore(deps, { backup: 'b001', toLocal: source.name }, () => undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/they are the same database/);
    expect(await serverFingerprint()).toEqual(before);
    expect(heroku.mutatingCalls()).toEqual([]);
  });
});
