/**
 * Hostile and mistaken input, for every command: each case must end with exit 2 (or the code given),
 * one `error:` line and its `hint:`, no stack trace, no password anywhere in the output, and nothing
 * changed on the server (the system databases and this test's own, fingerprinted before and after).
 * No case reaches Heroku: every one of them must be refused before the first change.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../helpers/cli.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { serverFingerprint, type DatabaseFingerprint } from '../helpers/fingerprint.js';

const PASSWORD = 'Hostile-Secret-9f3k';
let db: TestDb;
let secretUrl: string;
let work: string;
let before: DatabaseFingerprint[];

beforeAll(async () => {
  db = await createTestDb('hostile');
  await db.query(`CREATE TABLE schema_migrations (version varchar PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20260101000000');
    CREATE TABLE users (id int PRIMARY KEY); INSERT INTO users SELECT generate_series(1, 10);`);
  const u = new URL(db.url);
  u.password = PASSWORD;
  secretUrl = u.toString();
  work = mkdtempSync(join(tmpdir(), 'drydock-hostile-'));
  mkdirSync(join(work, 'migrations'));
  writeFileSync(join(work, 'migrations', '20260101000000_init.sql'), '-- migrate:up\nCREATE TABLE things (id int);\n-- migrate:down\nDROP TABLE things;\n');
  writeFileSync(join(work, 'a-file'), 'not a folder');
  before = await serverFingerprint();
});

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await db?.drop();
});

/** Values a person (or an attacker) might pass where a name is expected. */
const NAMES = [
  `x'; DROP DATABASE postgres; --`,
  '$(touch /tmp/drydock-pwned)',
  '`touch /tmp/drydock-pwned`',
  '../../../etc/passwd',
  'a b',
  ' ',
  'x'.repeat(5000),
  '\u202Eevil',
  'a;b',
  'Robert"); DROP TABLE students;--',
];

/** URLs that are not Postgres URLs, or are broken ones. */
const BAD_URLS = [
  'mysql://user@host/db',
  'not a url',
  'postgres://user:pa@ss@host/db',
  'postgres://user@host:99999/db',
  'postgres://user@host:-1/db',
  `postgres://user:${PASSWORD}@host:notaport/db`,
  'postgres://',
  'http://example.com',
];

/** Durations that are not durations, or not sensible ones. */
const BAD_DURATIONS = ['abc', '-5s', '5x', '1e300', '1e20s', '', '5 minutes', 'NaN'];

/** Whole numbers that are not. */
const BAD_COUNTS = ['-1', '1.5', 'abc', '1e3', ''];

interface Case {
  args: string[];
  exit?: number;
  /** Prepare the work folder first. */
  setup?: 'migrations-is-a-file';
  /** Run in the work folder (migrations here), else the repository root. */
  inWork?: boolean;
}

function cases(): Case[] {
  const list: Case[] = [];
  const urlOf = (): string => '{SECRET_URL}';
  // migrate family: bad flag values with a reachable database must fail before touching it.
  for (const sub of ['up', 'down', 'status', 'version', 'redo']) {
    for (const d of BAD_DURATIONS) list.push({ args: ['migrate', sub, '--url', urlOf(), '--lock-timeout', d], inWork: true });
    for (const d of BAD_DURATIONS.slice(0, 4)) list.push({ args: ['migrate', sub, '--url', urlOf(), '--statement-timeout', d], inWork: true });
    for (const n of BAD_COUNTS.slice(0, 3)) list.push({ args: ['migrate', sub, '--url', urlOf(), '--lock-retries', n], inWork: true });
    for (const u of BAD_URLS) list.push({ args: ['migrate', sub, '--url', u], inWork: true });
  }
  for (const n of BAD_COUNTS) list.push({ args: ['migrate', 'down', '--url', urlOf(), '--steps', n], inWork: true });
  for (const v of ['abc', '123', '2026', "20260101000000'; --"]) list.push({ args: ['migrate', 'mark-unapplied', v, '--url', urlOf()], inWork: true });
  list.push({ args: ['migrate', 'mark-applied', '20990101000000', '--url', urlOf()], inWork: true });
  for (const mode of ['strict', '', 'ERROR!']) list.push({ args: ['migrate', 'up', '--url', urlOf(), '--lint', mode], inWork: true });
  list.push({ args: ['migrate', 'status', '--url', urlOf(), '--dir', join('{WORK}', 'missing')], inWork: true });
  list.push({ args: ['migrate', 'status', '--url', urlOf(), '--dir', join('{WORK}', 'a-file')], inWork: true });
  for (const name of ['', ' ', '../escape', 'x'.repeat(300)]) list.push({ args: ['migrate', 'create', name, '--dir', join('{WORK}', 'created')], inWork: true });
  for (const v of ['abc', '123', '-1', '2026-01-01', "20260101000000'; --", 'x'.repeat(500)]) list.push({ args: ['migrate', 'baseline', v, '--url', urlOf()], inWork: true });
  for (const u of BAD_URLS.slice(0, 4)) list.push({ args: ['migrate', 'baseline', '20260101000000', '--url', u], inWork: true });

  // release and postdeploy
  for (const d of BAD_DURATIONS) list.push({ args: ['release', '--url', urlOf(), '--connect-timeout', d], inWork: true });
  for (const u of BAD_URLS) list.push({ args: ['release', '--url', u], inWork: true });
  for (const u of BAD_URLS.slice(0, 4)) list.push({ args: ['postdeploy', '--url', u], inWork: true });
  list.push({ args: ['postdeploy', '--url', urlOf(), '--schema', join('{WORK}', 'missing.sql')], inWork: true });

  // lint
  for (const v of ['fifteen', '8.4', '0', '-1', 'x'.repeat(500)]) list.push({ args: ['lint', '--pg-version', v, join('{WORK}', 'migrations')] });
  for (const f of ['xml', 'JSON!', '']) list.push({ args: ['lint', '--format', f, join('{WORK}', 'migrations')] });
  // A long number is a version now (golang-migrate's are any integer): it lints nothing and says so, exit 0, not bad input.
  for (const s of ['abc', '-1', '20260101000000x', '../etc/passwd']) list.push({ args: ['lint', '--start-after', s, join('{WORK}', 'migrations')] });
  list.push({ args: ['lint', join('{WORK}', 'missing.sql')] });
  list.push({ args: ['lint', '--explain', 'no-such-rule'] });
  for (const u of BAD_URLS.slice(0, 4)) list.push({ args: ['lint', '--url', u, join('{WORK}', 'migrations')] });

  // rehearse: refused before the working database is reset
  for (const n of NAMES) list.push({ args: ['rehearse', '--to', n, '--local', '{DB_URL}'], inWork: true });
  for (const d of BAD_DURATIONS) list.push({ args: ['rehearse', '--to', 'hostile_target', '--local', '{DB_URL}', '--block-threshold', d], inWork: true });
  for (const d of BAD_DURATIONS.slice(0, 4)) list.push({ args: ['rehearse', '--to', 'hostile_target', '--local', '{DB_URL}', '--max-age', d], inWork: true });
  for (const u of BAD_URLS.slice(0, 4)) list.push({ args: ['rehearse', '--to', 'hostile_target', '--local', u], inWork: true });
  list.push({ args: ['rehearse', '--to', 'hostile_target', '--local', '{DB_URL}'], inWork: true });

  // schema
  for (const u of BAD_URLS) list.push({ args: ['schema', 'dump', '--url', u, '-o', '-'] });
  list.push({ args: ['schema', 'load', '--url', urlOf(), '-f', join('{WORK}', 'missing.sql')] });
  list.push({ args: ['schema', 'load', '--url', urlOf(), '-f', '{WORK}'] });

  // pull: every refusal happens before a scratch database exists
  const local = ['--local', '{DB_URL}'];
  for (const n of NAMES) list.push({ args: ['pull', '--from-url', '{DB_URL}', '--to', n, ...local] });
  for (const n of ['drydock_pull_x', 'drydock_snap_y', 'drydock_prev_z']) list.push({ args: ['pull', '--from-url', '{DB_URL}', '--to', n, ...local] });
  for (const j of ['0', '-1', '65', '1.5', 'abc', '1e9']) list.push({ args: ['pull', '--from-url', '{DB_URL}', '--to', 'hostile_target', '--jobs', j, ...local] });
  for (const u of BAD_URLS) list.push({ args: ['pull', '--from-url', u, '--to', 'hostile_target', ...local] });
  for (const u of BAD_URLS.slice(0, 4)) list.push({ args: ['pull', '--from-url', '{DB_URL}', '--to', 'hostile_target', '--local', u] });
  list.push({ args: ['pull', '--from-url', '{DB_URL}', '--to', 'hostile_target', '--scrub', join('{WORK}', 'missing.sql'), ...local] });
  list.push({ args: ['pull', '--from-url', '{DB_URL}', '--from', 'backup', '--to', 'hostile_target', ...local] });
  list.push({ args: ['pull', '--to', 'hostile_target', ...local] });
  for (const f of ['b', 'b1', 'x012', 'latest; rm -rf /']) list.push({ args: ['pull', '-a', 'hostile-app', '--from', f, '--to', 'hostile_target', ...local] });
  for (const d of BAD_DURATIONS.slice(0, 5)) list.push({ args: ['pull', '-a', 'hostile-app', '--from', 'backup', '--max-age', d, '--to', 'hostile_target', ...local] });

  // Heroku app names are checked before the CLI is asked
  for (const app of ['UPPER', 'a', 'x'.repeat(31), '-leading', 'trailing-', 'under_score', '../../etc', "a'b"]) {
    list.push({ args: ['backups', 'list', '-a', app] });
    list.push({ args: ['pull', '-a', app, '--to', 'hostile_target', ...local] });
  }
  // restore: ids, confirmation, local targets
  for (const id of ['b', 'x012', '12', 'b01', "b012'; --", '../b012']) list.push({ args: ['restore', id, '-a', 'hostile-app', '--confirm', 'hostile-app'] });
  list.push({ args: ['restore', 'b012', '-a', 'hostile-app', '--confirm', 'other-app'] });
  for (const n of NAMES.slice(0, 5)) list.push({ args: ['restore', 'b012', '-a', 'hostile-app', '--to-local', n] });

  // snapshots
  for (const n of NAMES.concat(['UPPER', '-x'])) list.push({ args: ['snapshot', 'save', n, '--to', '{DB}', ...local] });
  for (const n of NAMES.slice(0, 5)) list.push({ args: ['snapshot', 'restore', 'pristine', '--to', n, ...local] });
  list.push({ args: ['snapshot', 'restore', 'no-such-snapshot', '--to', '{DB}', ...local] });
  list.push({ args: ['snapshot', 'rm', 'no-such-snapshot', '--to', '{DB}', ...local] });

  // doctor
  for (const u of BAD_URLS) list.push({ args: ['doctor', '--remote-url', u, ...local] });
  list.push({ args: ['doctor', '--remote-url', '{DB_URL}', '-a', 'hostile-app', ...local] });

  // init
  list.push({ args: ['init', '--dir', join('{WORK}', 'a-file')] });
  list.push({ args: ['init', '--dir', join('{WORK}', 'init-app')] , inWork: true, exit: 2, setup: 'migrations-is-a-file' });

  // issue 12: targets that must never be replaced, and the source itself
  for (const t of ['template0', 'template1', 'postgres']) {
    list.push({ args: ['pull', '--from-url', '{DB_URL}', '--to', t, ...local] });
    list.push({ args: ['snapshot', 'restore', 'pristine', '--to', t, ...local] });
    list.push({ args: ['snapshot', 'save', 'before', '--to', t, ...local] });
  }
  list.push({ args: ['pull', '--from-url', '{DB_URL}', '--to', '{DB}', ...local] });
  list.push({ args: ['pull', '--from-url', '{DB_URL}', '--to', '{DB_URL}'] });
  // durations out of range, flags checked before any connection
  for (const d of ['0', '0s', '365d', '1e9d']) list.push({ args: ['backups', 'capture', '-a', 'hostile-app', '--transfer-timeout', d] });
  for (const d of ['99999999999ms', '30d']) list.push({ args: ['migrate', 'up', '--url', urlOf(), '--lock-timeout', d], inWork: true });
  for (const to of ['abc', '2026-01-01', '1'.repeat(20)]) list.push({ args: ['migrate', 'up', '--url', urlOf(), '--to', to], inWork: true });
  // what is read is bounded
  list.push({ args: ['lint', '/dev/zero'] });
  list.push({ args: ['lint', '--pg-version', '99', join('{WORK}', 'migrations')] });
  // passwords with unencoded special characters, and echoed input kept short
  for (const u of ['postgres://user:p@ss/word@127.0.0.1:5432/db', 'postgres://user:pa?ss@127.0.0.1:5432/db', 'postgres://user:pa#ss@127.0.0.1:5432/db']) {
    list.push({ args: ['migrate', 'status', '--url', u], inWork: true });
  }
  list.push({ args: ['pull', '--from-url', '{DB_URL}', '--to', 'x'.repeat(100_000), ...local] });
  // postdeploy checks its input files before the first statement
  list.push({ args: ['postdeploy', '--url', urlOf(), '--seed', join('{WORK}', 'typo.sql'), '--force'], inWork: true });
  return list;
}

describe('hostile input', () => {
  const all = cases();

  it(`covers at least 200 inputs (${all.length})`, () => {
    expect(all.length).toBeGreaterThanOrEqual(200);
  });

  it.each(all.map((c, i) => [i, c.args.join(' ').slice(0, 120), c] as const))('#%i drydock %s', async (_i, _label, c) => {
    if (c.setup === 'migrations-is-a-file') {
      mkdirSync(join(work, 'init-app'), { recursive: true });
      writeFileSync(join(work, 'init-app', 'migrations'), 'a file where the folder goes');
    }
    const args = c.args.map((a) => a.replace('{SECRET_URL}', secretUrl).replace('{DB_URL}', db.url).replace('{DB}', db.name).replace('{WORK}', work));
    const res = await runCli(args, { cwd: c.inWork ? work : undefined, env: { HEROKU_APP: undefined } });
    const output = `${res.stdout}\n${res.stderr}`;
    const context = `drydock ${args.join(' ').slice(0, 300)}\nexit ${res.exitCode}\n${output.slice(0, 2000)}`;
    expect(res.exitCode, context).toBe(c.exit ?? 2);
    const errors = res.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors.length, context).toBe(1);
    // drydock's hint, or commander's own for a malformed command line.
    expect(res.stderr, context).toMatch(/^(hint: |\(run with --help for usage\))/m);
    expect(output, context).not.toMatch(/^\s+at .+\(.*:\d+:\d+\)$/m);
    expect(output, context).not.toContain(PASSWORD);
    for (const line of res.stderr.split('\n')) expect(line.length, context).toBeLessThanOrEqual(1000);
  });

  it('changed nothing on the server', async () => {
    expect(await serverFingerprint()).toEqual(before);
  });
});
