/**
 * Configuration, resolved once: flags, then the environment (DRYDOCK_*, HEROKU_APP, DATABASE_URL, PG*),
 * then `.env` (loaded with dotenv; it never overrides a variable that is already set), then defaults.
 * Nothing else in drydock reads process.env for settings.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';

import dotenv from 'dotenv';

import { ConfigError } from './errors.js';
import { registerSecret } from './redact.js';
import { parseDatabaseUrl, type DbUrl } from './pg/url.js';

/** Global flags every command accepts. */
export interface GlobalFlags {
  app?: string | undefined;
  remote?: string | undefined;
  json?: boolean | undefined;
  verbose?: boolean | undefined;
}

/** Settings shared by every command. */
export interface ResolvedConfig {
  /** The Heroku app named by -a, HEROKU_APP or .env. */
  readonly app: string | undefined;
  /** The git remote named by -r (the app is read from it when -a is absent). */
  readonly remote: string | undefined;
  readonly json: boolean;
  /** --verbose or DEBUG=drydock: stack traces and debug lines. */
  readonly verbose: boolean;
  /** CI is set: plain output, never prompt. */
  readonly ci: boolean;
  /** The heroku executable (DRYDOCK_HEROKU_BIN, else `heroku` from PATH). */
  readonly herokuBin: string;
  /** Extra directory searched first for pg_dump/pg_restore/psql (PG_BIN). */
  readonly pgBin: string | undefined;
  /** The environment drydock and its children see (process env over .env). */
  readonly env: Readonly<NodeJS.ProcessEnv>;
}

/** Load `.env` from `cwd` into process.env without overriding what is already set. */
export function loadDotenv(cwd = process.cwd()): void {
  const path = resolve(cwd, '.env');
  if (existsSync(path)) dotenv.config({ path, override: false, quiet: true });
}

/** Resolve global settings from flags and the environment. */
export function resolveConfig(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const app = nonEmpty(flags.app) ?? nonEmpty(env.HEROKU_APP);
  if (app !== undefined) assertAppName(app);
  registerSecret(env.HEROKU_API_KEY);
  registerSecret(env.PGPASSWORD);
  const debug = (env.DEBUG ?? '').split(/[,\s]+/).some((d) => d === 'drydock' || d === 'drydock:*' || d === '*');
  return Object.freeze({
    app,
    remote: nonEmpty(flags.remote),
    json: Boolean(flags.json),
    verbose: Boolean(flags.verbose) || debug,
    ci: isTruthy(env.CI),
    herokuBin: nonEmpty(env.DRYDOCK_HEROKU_BIN) ?? 'heroku',
    pgBin: nonEmpty(env.PG_BIN),
    env,
  });
}

/** Heroku app names: lowercase letters, digits and dashes, starting with a letter and ending with a letter or digit, 3 to 30 characters. */
export function assertAppName(name: string): void {
  if (!/^[a-z][a-z0-9-]{1,28}[a-z0-9]$/.test(name)) {
    throw new ConfigError(`"${name.slice(0, 40)}" is not a valid Heroku app name`, {
      hint: 'app names use lowercase letters, digits and dashes, 3 to 30 of them, starting with a letter and ending with a letter or digit (see `heroku apps`)',
    });
  }
}

/**
 * The local server's URL: --local, else DRYDOCK_LOCAL_DATABASE_URL, else libpq's usual PG* defaults
 * (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE; localhost:5432 as the current user).
 */
export function resolveLocalUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): DbUrl {
  const explicit = nonEmpty(flag) ?? nonEmpty(env.DRYDOCK_LOCAL_DATABASE_URL);
  if (explicit) return parseDatabaseUrl(explicit, flag ? '--local URL' : 'DRYDOCK_LOCAL_DATABASE_URL');
  const host = nonEmpty(env.PGHOST) ?? 'localhost';
  const port = nonEmpty(env.PGPORT) ?? '5432';
  const user = nonEmpty(env.PGUSER) ?? safeUsername();
  const database = nonEmpty(env.PGDATABASE) ?? 'postgres';
  const hostPart = host.startsWith('/') ? '' : encodeURIComponent(host);
  const query = host.startsWith('/') ? `?host=${encodeURIComponent(host)}` : '';
  const password = nonEmpty(env.PGPASSWORD);
  const auth = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user);
  return parseDatabaseUrl(`postgres://${auth}@${hostPart}:${port}/${encodeURIComponent(database)}${query}`, 'local database (from PG* variables)');
}

function safeUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return 'postgres';
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** The app database: a --url flag (or an already parsed URL), else DATABASE_URL. ConfigError when neither is set. */
export function resolveDatabaseUrl(flag: string | DbUrl | undefined, env: Readonly<NodeJS.ProcessEnv> = process.env): DbUrl {
  if (flag !== undefined && typeof flag !== 'string') return flag;
  const fromFlag = flag?.trim();
  if (fromFlag) return parseDatabaseUrl(fromFlag, '--url');
  const fromEnv = env.DATABASE_URL?.trim();
  if (fromEnv) return parseDatabaseUrl(fromEnv, 'DATABASE_URL');
  throw new ConfigError('no database given: DATABASE_URL is not set', {
    hint: 'set DATABASE_URL (Heroku sets it when Heroku Postgres is attached; locally in .env) or pass --url postgres://…',
  });
}
