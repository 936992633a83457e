import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ConfigError } from '../../../src/errors.js';
import { createMigrationFile, normalizeMigrationName, versionOf } from '../../../src/migrate/create.js';
import { loadMigrations, parseMigrationFile } from '../../../src/migrate/files.js';
import { migrationStatus, planUp } from '../../../src/migrate/plan.js';
import { validateSteps } from '../../../src/migrate/runner.js';

const NOW = new Date('2026-01-21T09:30:00.750Z');

describe('createMigrationFile', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drydock-create-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes <UTC timestamp>_<name>.sql from the template', async () => {
    const created = await createMigrationFile(dir, 'add_users', NOW);
    expect(created).toEqual({ path: join(dir, '20260121093000_add_users.sql'), version: '20260121093000' });
    const content = await readFile(created.path, 'utf8');
    expect(content).toBe(await readFile(new URL('../../../templates/migration.sql', import.meta.url), 'utf8'));
  });

  it('writes a template with up and down sections and the safe-pattern reminders', async () => {
    const { path } = await createMigrationFile(dir, 'add_users', NOW);
    const content = await readFile(path, 'utf8');
    expect(content.startsWith('-- migrate:up\n')).toBe(true);
    expect(content).toMatch(/^-- migrate:down$/m);
    for (const reminder of ['CONCURRENTLY', 'transaction:false', 'NOT VALID', 'VALIDATE', 'SET NOT NULL', 'batches', 'lock_timeout', 'irreversible']) {
      expect(content).toContain(reminder);
    }
  });

  it('writes a file the loader reads (pending, nothing to apply yet) until the author adds SQL to the up section', async () => {
    const { path } = await createMigrationFile(dir, 'add_users', NOW);
    const content = await readFile(path, 'utf8');
    const fresh = parseMigrationFile(path, content);
    const [row, ...rest] = migrationStatus([fresh], []);
    expect(rest).toEqual([]);
    expect(row).toMatchObject({ version: '20260121093000', name: 'add_users', state: 'pending' });
    expect(row!.warning).toContain('20260121093000_add_users.sql: the up section has no statements yet');
    await expect(validateSteps(planUp([fresh], []))).rejects.toThrow('refusing to apply 20260121093000_add_users.sql: its up section has no statements');
    const edited = content.replace('-- migrate:up\n', '-- migrate:up\nCREATE TABLE users (id int);\n');
    const file = parseMigrationFile(path, edited);
    expect(file.irreversible).toBe(false);
    expect(file.down?.transaction).toBe(true);
  });

  it('turns spaces and dashes into underscores', async () => {
    const { path } = await createMigrationFile(dir, '  add users-email  index ', NOW);
    expect(path).toBe(join(dir, '20260121093000_add_users_email_index.sql'));
  });

  it('creates the directory when it is missing', async () => {
    const nested = join(dir, 'db', 'migrations');
    const { path } = await createMigrationFile(nested, 'first', NOW);
    expect(await readdir(nested)).toEqual(['20260121093000_first.sql']);
    expect(path.startsWith(nested)).toBe(true);
  });

  it('moves the version on by a second while it is taken, whatever the other name', async () => {
    await writeFile(join(dir, '20260121093000_other.sql'), '');
    await writeFile(join(dir, '20260121093001_again.sql'), '');
    const created = await createMigrationFile(dir, 'add_users', NOW);
    expect(created.version).toBe('20260121093002');
    expect(await readdir(dir)).toContain('20260121093002_add_users.sql');
  });

  it('never overwrites: a second call in the same second gets the next version', async () => {
    const first = await createMigrationFile(dir, 'same', NOW);
    const second = await createMigrationFile(dir, 'same', NOW);
    expect([first.version, second.version]).toEqual(['20260121093000', '20260121093001']);
    expect((await loadMigrations(dir)).map((m) => m.fileName)).toEqual(['20260121093000_same.sql', '20260121093001_same.sql']);
  });

  it.each([
    ['', 'the migration name is empty'],
    ['   ', 'the migration name is empty'],
    ['AddUsers', 'the migration name "AddUsers" may only use lowercase letters, digits and underscores'],
    ['add.users', 'the migration name "add.users" may only use lowercase letters, digits and underscores'],
    ['../escape', 'the migration name "../escape" may only use lowercase letters, digits and underscores'],
    ["o'reilly;drop", `the migration name "o'reilly;drop" may only use lowercase letters, digits and underscores`],
    ['café', 'the migration name "café" may only use lowercase letters, digits and underscores'],
    ['x'.repeat(101), 'the migration name is longer than 100 characters'],
  ])('rejects the name %j with a hint, writing nothing', async (name, message) => {
    const error = await createMigrationFile(dir, name, NOW).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(message);
    expect((error as ConfigError).hint).toBeTruthy();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('normalizeMigrationName', () => {
  it('suggests a lowercase name in the hint', () => {
    try {
      normalizeMigrationName('AddUsers.Email');
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).hint).toBe('try `drydock migrate create addusers_email`');
    }
  });
});

describe('versionOf', () => {
  it('formats the UTC time as YYYYMMDDHHMMSS', () => {
    expect(versionOf(new Date('2026-03-04T05:06:07.999+02:00'))).toBe('20260304030607');
  });

  it('rejects an invalid date', () => {
    expect(() => versionOf(new Date('nope'))).toThrow(ConfigError);
  });
});
