/**
 * The working database a pull closes to connections while it hands its pristine snapshot to a background
 * process (src/local/background-snapshot.ts): reopened by the next drydock work on it when the pull died in
 * that moment, and left alone while a snapshot taker is at work.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

import { LocalServer } from '../../src/local/server.js';
import { parseDatabaseUrl } from '../../src/pg/url.js';
import { adminQuery, testServerUrl, uniqueDbName } from '../helpers/db.js';

const made: string[] = [];
afterAll(async () => {
  for (const name of made) await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
});

async function closedDatabase(): Promise<string> {
  const name = uniqueDbName('bgsnap');
  made.push(name);
  await adminQuery(`CREATE DATABASE "${name}"`);
  await adminQuery(`ALTER DATABASE "${name}" WITH ALLOW_CONNECTIONS false`);
  return name;
}

async function allowsConnections(name: string): Promise<boolean> {
  return (await adminQuery<{ ok: boolean }>('SELECT datallowconn AS ok FROM pg_database WHERE datname = $1', [name])).rows[0]!.ok;
}

describe('a working database left closed by a pull killed during the hand-off', () => {
  const local = parseDatabaseUrl(testServerUrl(), 'test server');

  it('is opened again by the next drydock work on it (cleanupLeftovers)', async () => {
    const name = await closedDatabase();
    await LocalServer.with(local, (server) => server.cleanupLeftovers(name));
    expect(await allowsConnections(name)).toBe(true);
  });

  it('stays closed while a snapshot taker is at work on it', async () => {
    const name = await closedDatabase();
    const taker = new pg.Client({ connectionString: testServerUrl(), application_name: `drydock snapshot take ${name}`.slice(0, 63) });
    await taker.connect();
    try {
      expect(await LocalServer.with(local, (server) => server.reopenIfStranded(name))).toBe(false);
      expect(await allowsConnections(name)).toBe(false);
    } finally {
      await taker.end();
    }
    expect(await LocalServer.with(local, (server) => server.reopenIfStranded(name))).toBe(true);
    expect(await allowsConnections(name)).toBe(true);
  });

  it('leaves templates (snapshots, spares) closed', async () => {
    const name = await closedDatabase();
    await adminQuery(`ALTER DATABASE "${name}" WITH IS_TEMPLATE true`);
    expect(await LocalServer.with(local, (server) => server.reopenIfStranded(name))).toBe(false);
    await adminQuery(`ALTER DATABASE "${name}" WITH IS_TEMPLATE false`);
  });
});
