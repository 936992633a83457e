/**
 * Pulls that must stop early: a capture that never starts, and production on a PostgreSQL major the
 * local client tools cannot dump (a real PostgreSQL 17 server).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator } from '../heroku-emulator/index.js';
import { runCli } from '../helpers/cli.js';
import { adminQuery, createTestDb, testServerUrl, uniqueDbName, type TestDb } from '../helpers/db.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../helpers/embedded-pg.js';
import { herokuBinPath } from '../helpers/heroku.js';

let emu: Emulator;
let prod: TestDb;
let pg17: EmbeddedPostgres;

function env(): Record<string, string> {
  return { ...emu.env, DRYDOCK_HEROKU_BIN: herokuBinPath(), DRYDOCK_LOCAL_DATABASE_URL: testServerUrl() };
}

async function drydockDatabasesFor(target: string): Promise<string[]> {
  const { rows } = await adminQuery<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname = $1 OR shobj_description(oid, 'pg_database') LIKE $2`, [target, `%"target":"${target}"%`]);
  return rows.map((r) => r.datname);
}

beforeAll(async () => {
  [prod, pg17] = await Promise.all([createTestDb('faults_prod'), startEmbeddedPostgres({ major: 17 })]);
  await prod.query('CREATE TABLE t (id int); INSERT INTO t VALUES (1)');
  emu = await startEmulator({ apps: [{ name: 'fault-pending', databaseUrl: prod.localhostUrl }, { name: 'fault-pg17', databaseUrl: pg17.url }] });
}, 120_000);

afterAll(async () => {
  await emu?.stop();
  await Promise.all([prod?.drop(), pg17?.stop()]);
});

describe('pulls that stop early', () => {
  it('gives up on a capture that stays pending past --transfer-timeout, changing nothing locally', async () => {
    emu.setTransferBehavior('fault-pending', { capture: 'pending' });
    const to = uniqueDbName('pending');
    const started = Date.now();
    const res = await runCli(['pull', '-a', 'fault-pending', '--capture', '--to', to, '--transfer-timeout', '4s'], { env: env() });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: .*still pending after 4 s/m);
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(await drydockDatabasesFor(to)).toEqual([]);
  });

  it('stops before any transfer when production runs a newer major than the local pg_dump', async () => {
    const to = uniqueDbName('pg17');
    const res = await runCli(['pull', '-a', 'fault-pg17', '--from', 'live', '--to', to], { env: env() });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: no pg_dump fits PostgreSQL 17: found pg_dump 15\.\d+.*older$/m);
    expect(res.stderr).toMatch(/^hint: install PostgreSQL 17 client tools/m);
    expect(res.stdout).not.toMatch(/Restore into a scratch database/);
    expect(await drydockDatabasesFor(to)).toEqual([]);
  });
});
