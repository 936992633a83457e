/**
 * What a test file creates (databases, migration folders), cleaned up after its tests, newest first.
 * Call testScope() at the top level of a test file: it registers the afterAll that cleans up.
 */
import { afterAll } from 'vitest';

import { runCli } from './cli.js';
import { createTestDb, type TestDb } from './db.js';
import { makeMigrationDir, type MigrationDir, type MigrationSpec } from './migrations.js';

type Cleanup = () => Promise<void> | void;

/** A database and a migrations folder for it, and the built CLI run with both (--dir, --url). */
export interface MigrationSetup {
  d: TestDb;
  m: MigrationDir;
  cli: (...args: string[]) => ReturnType<typeof runCli>;
}

export interface TestScope {
  /** Cleanups run after the file's tests, newest first. */
  cleanups: Cleanup[];
  /** A new database of this file's, dropped afterwards. */
  db: (label: string) => Promise<TestDb>;
  /** A new database and a migrations folder holding `specs`, both removed afterwards. */
  setup: (label: string, specs: MigrationSpec[]) => Promise<MigrationSetup>;
}

export function testScope(): TestScope {
  const cleanups: Cleanup[] = [];
  afterAll(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  const db = async (label: string): Promise<TestDb> => {
    const d = await createTestDb(label);
    cleanups.push(() => d.drop());
    return d;
  };
  const setup = async (label: string, specs: MigrationSpec[]): Promise<MigrationSetup> => {
    const d = await db(label);
    const m = makeMigrationDir(specs);
    cleanups.push(() => m.cleanup());
    const cli = (...args: string[]) => runCli([...args, '--dir', m.dir, '--url', d.url], { cwd: m.root });
    return { d, m, cli };
  };
  return { cleanups, db, setup };
}

/** The versions in a database's schema_migrations, in order. */
export async function appliedVersions(d: TestDb): Promise<string[]> {
  const { rows } = await d.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
  return rows.map((r) => r.version);
}
