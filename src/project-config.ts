/**
 * drydock.json: project settings checked into the app's repo. Validated in one pass; every problem
 * (unknown keys included) is reported together.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { ConfigError } from './errors.js';

/** The settings drydock.json may hold. Flags and environment variables override each of them. */
export interface ProjectConfig {
  /** Folder of migration files (default "migrations"). */
  migrationsDir?: string;
  /** Schema file written by `schema dump` and loaded by postdeploy (default "db/schema.sql"). */
  schemaFile?: string;
  /** Seed SQL run by postdeploy (default "db/seeds.sql"). */
  seedFile?: string;
  /** lock_timeout for migrations, in ms (default 5000). */
  lockTimeoutMs?: number;
  /** statement_timeout for migrations, in ms (default 0: none). */
  statementTimeoutMs?: number;
  /** Retries of a migration that hit lock_timeout (default 3). */
  lockRetries?: number;
  /** Run this instead of drydock's runner to migrate (e.g. "bin/rails db:migrate"). */
  migrateCommand?: string;
  /** Run this to roll back one step when migrateCommand is used. */
  rollbackCommand?: string;
  /** Seed command for postdeploy instead of the seed file. */
  seedCommand?: string;
  /** What release and `migrate up` do when pending migrations have lint errors: "error" refuses them (default), "warn" applies them anyway, "off" skips linting. */
  lint?: LintMode;
  /** Production's Postgres major for `drydock lint` verdicts when no database is given (default 15). */
  pgVersion?: number;
}

/** What to do with lint findings in pending migrations. */
export type LintMode = 'error' | 'warn' | 'off';

/** The lint modes, for validation and help. */
export const LINT_MODES: readonly LintMode[] = ['error', 'warn', 'off'];

const SCHEMA: Record<keyof ProjectConfig, 'string' | 'number'> = {
  migrationsDir: 'string',
  schemaFile: 'string',
  seedFile: 'string',
  lockTimeoutMs: 'number',
  statementTimeoutMs: 'number',
  lockRetries: 'number',
  migrateCommand: 'string',
  rollbackCommand: 'string',
  seedCommand: 'string',
  lint: 'string',
  pgVersion: 'number',
};

/** The config file's name. */
export const PROJECT_CONFIG_FILE = 'drydock.json';

/** Read and validate drydock.json in `cwd` ({} when there is none). */
export function loadProjectConfig(cwd = process.cwd()): ProjectConfig {
  const path = resolve(cwd, PROJECT_CONFIG_FILE);
  if (!existsSync(path)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${PROJECT_CONFIG_FILE} is not valid JSON: ${(error as Error).message}`, { hint: `fix ${path}` });
  }
  return validateProjectConfig(raw);
}

/** Check types and keys; throws one ConfigError listing every problem. */
export function validateProjectConfig(raw: unknown): ProjectConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${PROJECT_CONFIG_FILE} must hold a JSON object`, { hint: 'for example {"migrationsDir": "migrations"}' });
  }
  const problems: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (key === '$schema') continue;
    const type = SCHEMA[key as keyof ProjectConfig];
    if (!type) problems.push(`unknown key "${key}"`);
    else if (typeof value !== type) problems.push(`"${key}" must be a ${type}`);
    else if (type === 'number' && (!Number.isFinite(value as number) || (value as number) < 0)) problems.push(`"${key}" must be a non-negative number`);
    else if (type === 'string' && !(value as string).trim()) problems.push(`"${key}" must not be empty`);
    else if (key === 'lint' && !LINT_MODES.includes(value as LintMode)) problems.push(`"lint" must be one of ${LINT_MODES.map((m) => `"${m}"`).join(', ')}`);
  }
  if (problems.length) {
    throw new ConfigError(`${PROJECT_CONFIG_FILE}: ${problems.join('; ')}`, { hint: `known keys: ${Object.keys(SCHEMA).join(', ')}` });
  }
  return raw as ProjectConfig;
}
