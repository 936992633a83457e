/**
 * `drydock migrate create NAME`: write a new migration file from templates/migration.sql.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { versionOf } from './version.js';
import { ConfigError, fsError, MigrationError } from '../errors.js';
import { ensureDir } from '../files.js';
import { packagePath } from '../package-root.js';

/** The template of a new migration, at the package root (it ships in the npm package, "files"). */
const TEMPLATE = 'templates/migration.sql';

/** Longest accepted name, so file names stay well under file system limits. */
const MAX_NAME_LENGTH = 100;

/** The file createMigrationFile wrote. */
export interface CreatedMigration {
  /** Absolute path of the new file. */
  path: string;
  /** Its 14-digit version. */
  version: string;
}

/**
 * Turn a human name into a file-name part: trims, turns runs of spaces and dashes into one
 * underscore, and rejects anything but lowercase letters, digits and underscores (ConfigError).
 */
export function normalizeMigrationName(input: string): string {
  const name = input.trim().replace(/[\s-]+/g, '_');
  if (name === '') {
    throw new ConfigError('the migration name is empty', { hint: 'name what it does, e.g. `drydock migrate create add_users_email`' });
  }
  if (!/^[a-z0-9_]+$/.test(name)) {
    const suggestion = name
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/^_+|_+$/g, '');
    throw new ConfigError(`the migration name ${JSON.stringify(input)} may only use lowercase letters, digits and underscores`, {
      hint: suggestion === '' ? 'name what it does, e.g. add_users_email' : `try \`drydock migrate create ${suggestion}\``,
    });
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new ConfigError(`the migration name is longer than ${MAX_NAME_LENGTH} characters`, {
      hint: 'use a shorter name; the SQL inside says the details',
    });
  }
  return name;
}

export { versionOf };

/** The migrations folder `dir` (created if missing): its absolute path, its entries and the versions they take. */
export async function migrationsFolder(dir: string): Promise<{ root: string; entries: string[]; taken: Set<string> }> {
  const root = resolve(dir);
  await ensureDir(root);
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (error) {
    throw fsError(error, 'read the migrations folder', root);
  }
  const taken = new Set(entries.map((entry) => /^(\d{14})_/.exec(entry)?.[1]).filter((v): v is string => v !== undefined));
  return { root, entries, taken };
}

/**
 * Write `<version>_<name>.sql` in `dir` (created if missing) from the template. The version is
 * `now` in UTC; if a file already has that version, it moves on one second at a time until free.
 * Never overwrites a file.
 */
export async function createMigrationFile(dir: string, name: string, now: Date = new Date()): Promise<CreatedMigration> {
  const normalized = normalizeMigrationName(name);
  const template = await readFile(packagePath(TEMPLATE), 'utf8');
  const { root, taken } = await migrationsFolder(dir);
  let time = Math.floor(now.getTime() / 1000) * 1000;
  while (taken.has(versionOf(new Date(time)))) time += 1000;
  const version = versionOf(new Date(time));

  const path = join(root, `${version}_${normalized}.sql`);
  try {
    // 'wx' fails rather than overwrite, even if another process wrote the file meanwhile.
    await writeFile(path, template, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new MigrationError(`${path} already exists`, { hint: 'run the command again to get a new version', cause: error });
    }
    throw fsError(error, 'write', path);
  }
  return { path, version };
}
