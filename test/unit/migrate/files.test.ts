import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { MigrationError } from '../../../src/errors.js';
import { loadMigrations, parseFileName, parseMigrationFile } from '../../../src/migrate/files.js';

const FILE = '20260121093000_create_users.sql';

function parse(content: string, fileName = FILE) {
  return parseMigrationFile(join('/migrations', fileName), content);
}

function errorOf(fn: () => unknown): MigrationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MigrationError);
    return error as MigrationError;
  }
  throw new Error('expected a MigrationError');
}

async function rejectionOf(promise: Promise<unknown>): Promise<MigrationError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MigrationError);
    return error as MigrationError;
  }
  throw new Error('expected a MigrationError');
}

describe('parseMigrationFile', () => {
  it('reads version, name, sections, their start lines and the checksum', () => {
    const content = '-- migrate:up\nCREATE TABLE users (id int);\n\n-- migrate:down\nDROP TABLE users;\n';
    const file = parse(content);
    expect(file).toEqual({
      version: '20260121093000',
      name: 'create_users',
      fileName: FILE,
      path: resolve('/migrations', FILE),
      checksum: createHash('sha256').update(content).digest('hex'),
      up: { sql: 'CREATE TABLE users (id int);\n\n', transaction: true, startLine: 2 },
      down: { sql: 'DROP TABLE users;\n', transaction: true, startLine: 5 },
      irreversible: false,
    });
  });

  it('hashes the raw bytes when given a Buffer, byte order mark included', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('-- migrate:up\nSELECT 1;\n')]);
    const file = parseMigrationFile(`/m/${FILE}`, bytes);
    expect(file.checksum).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(file.up.sql).toBe('SELECT 1;\n');
  });

  it('allows a file without a down section', () => {
    expect(parse('-- migrate:up\nSELECT 1;').down).toBeUndefined();
  });

  it('allows comments before the first marker and a down section before the up section', () => {
    const file = parse('-- Adds users.\n\n-- migrate:down\nDROP TABLE users;\n-- migrate:up\nCREATE TABLE users ();\n');
    expect(file.up).toEqual({ sql: 'CREATE TABLE users ();\n', transaction: true, startLine: 6 });
    expect(file.down?.sql).toBe('DROP TABLE users;\n');
  });

  it('reads transaction:false on either marker', () => {
    const file = parse(
      '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (c);\n-- migrate:down  transaction:false \nDROP INDEX CONCURRENTLY i;\n',
    );
    expect([file.up.transaction, file.down?.transaction]).toEqual([false, false]);
  });

  it('accepts no space between -- and migrate, as dbmate does', () => {
    expect(parse('--migrate:up\nSELECT 1;').up.sql).toBe('SELECT 1;');
  });

  it('handles CRLF line endings', () => {
    const file = parse('-- migrate:up transaction:false\r\nSELECT 1;\r\n-- migrate:down\r\nSELECT 2;\r\n');
    expect(file.up).toEqual({ sql: 'SELECT 1;\r\n', transaction: false, startLine: 2 });
    expect(file.down?.sql).toBe('SELECT 2;\r\n');
  });

  it('treats a marker that does not start its line as a comment', () => {
    const file = parse('-- migrate:up\nSELECT 1; -- migrate:down\n  -- migrate:down\nSELECT 2;\n');
    expect(file.down).toBeUndefined();
    expect(file.up.sql).toBe('SELECT 1; -- migrate:down\n  -- migrate:down\nSELECT 2;\n');
  });

  it.each([
    ['the word irreversible', '-- migrate:down\nirreversible\n'],
    ['the word with comments and a semicolon', '-- migrate:down\n-- data is dropped\nIRREVERSIBLE; -- sorry\n'],
    ['the marker option', '-- migrate:down irreversible\n'],
    ['the marker option with SQL after it', '-- migrate:down irreversible\n-- nothing to do\n'],
  ])('marks a migration irreversible by %s', (_label, down) => {
    expect(parse(`-- migrate:up\nDROP TABLE t;\n${down}`).irreversible).toBe(true);
  });

  it('does not mark a migration irreversible for the word inside a comment or a statement', () => {
    expect(parse('-- migrate:up\nSELECT 1;\n-- migrate:down\n-- irreversible\n').irreversible).toBe(false);
    expect(parse("-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 'irreversible';\n").irreversible).toBe(false);
  });

  it.each([
    ['an empty file', '', 'the file is empty'],
    ['a whitespace-only file', ' \n\n', 'the file is empty'],
    ['a file without an up section', 'CREATE TABLE t ();\n', 'has no `-- migrate:up` section'],
    ['a file with only a down section', '-- migrate:down\nSELECT 1;\n', 'has no `-- migrate:up` section'],
    ['two up sections', '-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n', 'has two `-- migrate:up` sections (lines 1 and 3)'],
    ['two down sections', '-- migrate:up\nSELECT 1;\n-- migrate:down\n-- migrate:down\n', 'has two `-- migrate:down` sections (lines 3 and 4)'],
    ['SQL before the first marker', 'SELECT 0;\n-- migrate:up\nSELECT 1;\n', 'has SQL before its first `-- migrate:` marker'],
    ['an unknown option', '-- migrate:up transaction:maybe\nSELECT 1;\n', 'line 1: unknown option "transaction:maybe" on `-- migrate:up`'],
    ['irreversible on the up marker', '-- migrate:up irreversible\nSELECT 1;\n', 'line 1: unknown option "irreversible" on `-- migrate:up`'],
    ['an unknown section marker', '-- migrate:up\nSELECT 1;\n-- migrate:dwon\nSELECT 2;\n', 'line 3: unknown section marker `-- migrate:dwon`'],
  ])('rejects %s', (_label, content, message) => {
    const error = errorOf(() => parse(content));
    expect(error.message).toBe(`${FILE}: ${message}`);
    expect(error.file).toBe(FILE);
    expect(error.hint).toBeTruthy();
    expect(error.hint).not.toContain('\n');
  });

  it.each([
    ['an up section with only comments', '-- migrate:up\n-- TODO\n\n-- migrate:down\nSELECT 1;\n'],
    ['an empty up section at the end of the file', '-- migrate:up'],
  ])('reads %s (status shows it pending, the runner refuses to apply it)', (_label, content) => {
    const file = parse(content);
    expect(file.version).toBe('20260121093000');
    expect(file.up.sql.trim().replace(/^--.*$/gm, '').trim()).toBe('');
  });

  it('points at the line of the problem', () => {
    expect(errorOf(() => parse('-- migrate:up\nSELECT 1;\n-- migrate:down foo\n')).line).toBe(3);
  });

  it('does not check SQL syntax (the runner does, before applying anything)', () => {
    expect(parse('-- migrate:up\nSELEC 1;\n').up.sql).toBe('SELEC 1;\n');
  });
});

describe('parseFileName', () => {
  it('splits version and name', () => {
    expect(parseFileName('20260121093000_add_users_2.sql')).toEqual({ version: '20260121093000', name: 'add_users_2' });
  });

  it.each([
    '2024_foo.sql',
    '20240101_foo.sql',
    '202401010000001_foo.sql',
    '20240101000000.sql',
    '20240101000000_.sql',
    '20240101000000-foo.sql',
    '20240101000000_Foo.sql',
    '20240101000000_foo.SQL',
    '20240101000000_with space.sql',
    "20240101000000_it's.sql",
    '20240101000000_a"b.sql',
    '20240101000000_a;drop.sql',
    '20240101000000_café.sql',
    '20240101000000_..sql',
    '20240101000000_../x.sql',
    '20240101000000_foo.sql.bak.sql',
    'foo.sql',
  ])('rejects %j with a hint showing the expected form', (name) => {
    const error = errorOf(() => parseFileName(name));
    expect(error.message).toBe(`migration file name ${JSON.stringify(name)} is not <14-digit version>_<name>.sql`);
    expect(error.hint).toContain('20260121093000_create_users.sql');
  });
});

describe('loadMigrations', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drydock-files-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const write = (name: string, content = '-- migrate:up\nSELECT 1;\n') => writeFile(join(dir, name), content);

  it('loads the fixture migrations in version order, ignoring other files', async () => {
    const files = await loadMigrations('test/fixtures/migrations/basic');
    expect(files.map((f) => [f.version, f.name, f.up.transaction, f.irreversible])).toEqual([
      ['20260101000000', 'create_users', true, false],
      ['20260101000100', 'index_users_email', false, false],
      ['20260101000200', 'drop_legacy', true, true],
    ]);
    expect(files[0]!.path).toBe(resolve('test/fixtures/migrations/basic/20260101000000_create_users.sql'));
  });

  it('sorts by version and ignores hidden files, other extensions and directories', async () => {
    await write('20260102000000_b.sql');
    await write('20260101000000_a.sql');
    await write('.20260103000000_hidden.sql', 'garbage');
    await write('notes.txt', 'garbage');
    await write('20260104000000_draft.sql.orig', 'garbage');
    await mkdir(join(dir, 'archive.sql'));
    const files = await loadMigrations(dir);
    expect(files.map((f) => f.fileName)).toEqual(['20260101000000_a.sql', '20260102000000_b.sql']);
  });

  it('returns [] for an empty directory', async () => {
    expect(await loadMigrations(dir)).toEqual([]);
  });

  it('checksums the bytes on disk', async () => {
    const content = "-- migrate:up\nSELECT 'é';\n";
    await write('20260101000000_a.sql', content);
    const [file] = await loadMigrations(dir);
    expect(file!.checksum).toBe(createHash('sha256').update(Buffer.from(content, 'utf8')).digest('hex'));
  });

  it('rejects a .sql file with a bad name', async () => {
    await write('2024_foo.sql');
    const error = await rejectionOf(loadMigrations(dir));
    expect(error.message).toContain('"2024_foo.sql"');
    expect(error.hint).toContain('20260121093000_create_users.sql');
  });

  it('rejects an upper-case .SQL extension rather than ignoring the file', async () => {
    await write('20260101000000_a.SQL');
    expect((await rejectionOf(loadMigrations(dir))).message).toContain('20260101000000_a.SQL');
  });

  it('rejects two files with the same version, naming both', async () => {
    await write('20260101000000_a.sql');
    await write('20260101000000_b.sql');
    const error = await rejectionOf(loadMigrations(dir));
    expect(error.message).toBe('two migrations have version 20260101000000: 20260101000000_a.sql and 20260101000000_b.sql');
    expect(error.hint).toBeTruthy();
  });

  it('rejects a file with a bad layout, naming it', async () => {
    await write('20260101000000_a.sql');
    await write('20260102000000_b.sql', '');
    const error = await rejectionOf(loadMigrations(dir));
    expect(error.message).toBe('20260102000000_b.sql: the file is empty');
  });

  it('rejects a broken symlink with a clear error', async () => {
    await symlink(join(dir, 'nowhere.sql'), join(dir, '20260101000000_a.sql'));
    const error = await rejectionOf(loadMigrations(dir));
    expect(error.message).toBe('cannot read migration 20260101000000_a.sql');
  });

  it('rejects a missing directory with a hint to create a migration', async () => {
    const error = await rejectionOf(loadMigrations(join(dir, 'db', 'migrations')));
    expect(error.message).toBe(`the migrations directory ${join(dir, 'db', 'migrations')} does not exist`);
    expect(error.hint).toContain('drydock migrate create NAME');
    expect(error.hint).toContain('drydock init');
  });
});
