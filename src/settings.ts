/**
 * Settings, resolved once: flags, then the environment (declared on each commander option with
 * `Option.env`, or read here for the variables that have no flag), then drydock.json, then defaults.
 * The result is typed, frozen values per area (global, local server, migrate, transfers, pull, lint).
 *
 * This is the only module that reads `process.env`: `readEnvironment()` takes one snapshot of it (after
 * loading `.env`), and everything else receives values derived from that snapshot.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';


import { ConfigError } from './errors.js';
import { assertIdentifier } from './pg/ident.js';
import { DEFAULT_RUNNER_SETTINGS, type RunnerSettings } from './migrate/runner.js';
import type { PullOptions, PullSource } from './pull/types.js';
import { parseDatabaseUrl, type DbUrl, type LibpqDefaults } from './pg/url.js';
import { majorOrder, parseVersion } from './pg/version.js';
import { DEFAULT_PG_VERSION, LINT_FORMATS, type LintFormat } from './lint/settings.js';
import { registerSecret } from './redact.js';

// ---------------------------------------------------------------------------------------------------
// The environment

/** A frozen snapshot of the process environment, taken once at start-up. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Load `.env` from `cwd` without overriding what is already set, then snapshot the environment. */
export function readEnvironment(cwd = process.cwd()): Environment {
  const path = resolve(cwd, '.env');
  // dotenv (CommonJS) is required only when there is a .env to read: most runs have none.
  if (existsSync(path)) (createRequire(import.meta.url)('dotenv') as typeof import('dotenv')).config({ path, override: false, quiet: true });
  return currentEnvironment();
}

/** The process environment as it is now, frozen (exec.ts hands it to children through its allowlist). */
export function currentEnvironment(): Environment {
  return Object.freeze({ ...process.env });
}

// ---------------------------------------------------------------------------------------------------
// Durations and counts: one parser for every duration flag, variable and drydock.json value

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration unit. */
export type DurationUnit = keyof typeof UNIT_MS;

/** The most lock_timeout and statement_timeout PostgreSQL accepts: INT_MAX milliseconds (about 24.8 days). */
export const PG_MAX_TIMEOUT_MS = 2_147_483_647;

/** The range a duration setting accepts (inclusive, in ms), and what 0 means when it is allowed. */
export interface DurationRange {
  min: number;
  max: number;
  /** Said in the hint when 0 is allowed, e.g. "0 turns it off". */
  zero?: string;
}

/** The documented range of each duration setting (README, "Settings"). */
export const DURATION_RANGES = {
  /** PostgreSQL's own limit; 0 turns the timeout off. */
  lockTimeout: { min: 0, max: PG_MAX_TIMEOUT_MS, zero: '0 turns it off' },
  statementTimeout: { min: 0, max: PG_MAX_TIMEOUT_MS, zero: '0 turns it off' },
  /** release's first-connection retry: 0 tries once. */
  connectTimeout: { min: 0, max: 3_600_000, zero: '0 tries once' },
  /** A Heroku transfer wait: from 1 s to 30 days (0 would wait forever). */
  transferTimeout: { min: 1_000, max: 30 * 86_400_000 },
  /** The newest backup's age limit: from 1 minute to 100000 h. */
  maxAge: { min: 60_000, max: 100_000 * 3_600_000 },
  /** Base delay of lock retries (a test hook). */
  lockRetryBase: { min: 0, max: 3_600_000 },
} as const satisfies Record<string, DurationRange>;

/**
 * A duration ("5s", "500ms", "90m", "24h", "2d"; a bare number is in `defaultUnit`) in milliseconds.
 * Undefined in, undefined out; anything else, or a value outside `range`, is a ConfigError naming
 * `source` (a flag or variable).
 */
export function parseDuration(value: string | undefined, source: string, defaultUnit: DurationUnit, range?: DurationRange): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(value.trim());
  if (!m) {
    throw new ConfigError(`${source} must be a duration like 500ms, 5s, 90m, 24h or 2d, not "${value.slice(0, 30)}"`, { hint: `for example ${source} 5${defaultUnit}` });
  }
  const ms = Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? defaultUnit).toLowerCase() as DurationUnit]);
  if (range && !(Number.isFinite(ms) && ms >= range.min && ms <= range.max)) {
    const low = range.min === 0 ? '0' : formatMs(range.min);
    throw new ConfigError(`${source} must be from ${low} to ${formatMs(range.max)}, not "${value.slice(0, 30)}"`, {
      hint: `${range.zero ? `${range.zero}; ` : ''}for example ${source} 5${defaultUnit}`,
    });
  }
  return ms;
}

/** A limit as people read it: whole days, hours, minutes or seconds when it is one, else milliseconds. */
function formatMs(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return ms === PG_MAX_TIMEOUT_MS ? `${ms}ms (PostgreSQL's limit, about 24.8 days)` : `${ms}ms`;
}

/** A whole number flag ("3"). Undefined in, undefined out. */
export function parseCount(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new ConfigError(`${flag} must be a whole number, not "${value}"`, { hint: `for example ${flag} 3` });
  return Number(value);
}

/**
 * Collects every settings problem of one resolution, so a user sees them all at once. One problem is
 * thrown as it is (its message and hint unchanged); several become one ConfigError listing them.
 */
export class Problems {
  private readonly errors: ConfigError[] = [];

  /** Run `fn`; a ConfigError it throws is recorded and `undefined` returned. */
  take<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.errors.push(error);
      return undefined;
    }
  }

  /** Record a problem found without throwing. */
  add(error: ConfigError): void {
    this.errors.push(error);
  }

  /** Throw what was recorded, if anything. */
  throwIfAny(): void {
    const [first, ...rest] = this.errors;
    if (!first) return;
    if (!rest.length) throw first;
    throw new ConfigError(this.errors.map((e) => e.message).join('; '), { hint: first.hint });
  }
}

/** The source of an option value as commander reports it ('cli', 'env', 'default', …). */
export type ValueSource = string | undefined;

/** How a value is named in messages: the flag when it came from the command line, else the variable. */
export function sourceName(flag: string, variable: string, source: ValueSource): string {
  return source === 'env' ? variable : flag;
}

// ---------------------------------------------------------------------------------------------------
// Global settings

/** Global flags every command accepts. */
export interface GlobalFlags {
  app?: string | undefined;
  remote?: string | undefined;
  json?: boolean | undefined;
  verbose?: boolean | undefined;
}

/** What a pull of a backup does while the backup downloads (DRYDOCK_STREAM_RESTORE). */
export type StreamRestoreMode = 'off' | 'always' | 'auto';


/** Settings shared by every command. */
export interface GlobalSettings {
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
  /** Where downloaded backups are kept: DRYDOCK_CACHE_DIR, else $XDG_CACHE_HOME/drydock, else ~/.cache/drydock. */
  readonly cacheDir: string;
  /** Background hot spares after pulls and resets (DRYDOCK_SNAPSHOT_SPARE=0 turns them off). */
  readonly spares: boolean;
  /** Load a backup while it downloads: DRYDOCK_STREAM_RESTORE=0 never, 1 always, else auto. */
  readonly streamRestore: StreamRestoreMode;
  /** Base delay of the retries after lock_timeout (DRYDOCK_LOCK_RETRY_BASE; tests shorten it). */
  readonly lockRetryBaseMs: number | undefined;
  /** Test hook: the named pause point (DRYDOCK_TEST_PAUSE_AT); inert unless a test sets it. */
  readonly testPauseAt: string | undefined;
  /** Production's Postgres major for lint verdicts, as DRYDOCK_PG_VERSION gives it (unparsed). */
  readonly lintPgVersion: string | undefined;
  /** The Heroku dyno this runs in (DYNO), e.g. release.1. */
  readonly dyno: string;
  /** libpq's PG* defaults, for URLs that leave parts out (travels with each parsed URL). */
  readonly libpq: LibpqDefaults;
  /** The environment handed to child processes (exec.ts filters it through its allowlist). */
  readonly childEnv: Environment;
}

/** Resolve global settings from the global flags and the environment. */
export function resolveGlobalSettings(flags: GlobalFlags, env: Environment): GlobalSettings {
  const app = nonEmpty(flags.app) ?? nonEmpty(env.HEROKU_APP);
  if (app !== undefined) assertAppName(app);
  registerSecret(env.HEROKU_API_KEY);
  registerSecret(env.PGPASSWORD);
  const debug = (env.DEBUG ?? '').split(/[,\s]+/).some((d) => d === 'drydock' || d === 'drydock:*' || d === '*');
  const stream = env.DRYDOCK_STREAM_RESTORE;
  const libpq: Record<string, string> = {};
  for (const key of ['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSSLMODE', 'USER'] as const) {
    const value = env[key];
    if (value !== undefined) libpq[key] = value;
  }
  return Object.freeze({
    app,
    remote: nonEmpty(flags.remote),
    json: Boolean(flags.json),
    verbose: Boolean(flags.verbose) || debug,
    ci: isTruthy(env.CI),
    herokuBin: nonEmpty(env.DRYDOCK_HEROKU_BIN) ?? 'heroku',
    pgBin: nonEmpty(env.PG_BIN),
    cacheDir: nonEmpty(env.DRYDOCK_CACHE_DIR) ?? join(nonEmpty(env.XDG_CACHE_HOME) ?? join(homedir(), '.cache'), 'drydock'),
    spares: env.DRYDOCK_SNAPSHOT_SPARE !== '0' && env.DRYDOCK_SNAPSHOT_SPARE !== 'false',
    streamRestore: stream === '0' ? 'off' : stream === '1' ? 'always' : 'auto',
    lockRetryBaseMs: parseDuration(nonEmpty(env.DRYDOCK_LOCK_RETRY_BASE), 'DRYDOCK_LOCK_RETRY_BASE', 'ms', DURATION_RANGES.lockRetryBase),
    testPauseAt: nonEmpty(env.DRYDOCK_TEST_PAUSE_AT),
    lintPgVersion: nonEmpty(env.DRYDOCK_PG_VERSION),
    dyno: env.DYNO ?? '',
    libpq: Object.freeze(libpq),
    childEnv: env,
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

// ---------------------------------------------------------------------------------------------------
// Connections

/**
 * The local server's URL: --local (or DRYDOCK_LOCAL_DATABASE_URL, declared on the option), else libpq's
 * usual PG* defaults (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE; localhost:5432 as the current user).
 */
export function resolveLocalUrl(flag: string | undefined, libpq: LibpqDefaults, source: ValueSource = 'cli'): DbUrl {
  const explicit = nonEmpty(flag);
  if (explicit) return parseDatabaseUrl(explicit, source === 'env' ? 'DRYDOCK_LOCAL_DATABASE_URL' : '--local URL', libpq);
  const host = nonEmpty(libpq.PGHOST) ?? 'localhost';
  const port = nonEmpty(libpq.PGPORT) ?? '5432';
  const user = nonEmpty(libpq.PGUSER) ?? safeUsername();
  const database = nonEmpty(libpq.PGDATABASE) ?? 'postgres';
  const hostPart = host.startsWith('/') ? '' : encodeURIComponent(host);
  const query = host.startsWith('/') ? `?host=${encodeURIComponent(host)}` : '';
  const password = nonEmpty(libpq.PGPASSWORD);
  const auth = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user);
  return parseDatabaseUrl(`postgres://${auth}@${hostPart}:${port}/${encodeURIComponent(database)}${query}`, 'local database (from PG* variables)', libpq);
}

/** The app database: --url (or DATABASE_URL, declared on the option). ConfigError when neither is set. */
export function resolveDatabaseUrl(flag: string | undefined, libpq: LibpqDefaults, source: ValueSource = 'cli'): DbUrl {
  const value = flag?.trim();
  if (value) return namedDatabaseUrl(value, source === 'env' ? 'DATABASE_URL' : '--url', libpq);
  throw new ConfigError('no database given: DATABASE_URL is not set', {
    hint: 'set DATABASE_URL (Heroku sets it when Heroku Postgres is attached; locally in .env) or pass --url postgres://…',
  });
}

/**
 * A URL that names the database it means: `postgres://` alone would mean libpq's defaults (the local
 * socket, a database named after the user), which is never what a --url, DATABASE_URL or --from-url
 * given to drydock means. PGDATABASE counts as naming it.
 */
export function namedDatabaseUrl(value: string, what: string, libpq: LibpqDefaults): DbUrl {
  const url = parseDatabaseUrl(value, what, libpq);
  if (!url.database && !libpq.PGDATABASE) {
    throw new ConfigError(`the ${what} names no database`, { hint: 'name it in the URL, for example postgres://user@host:5432/myapp' });
  }
  return url;
}

// ---------------------------------------------------------------------------------------------------
// The working database (pull, snapshot)

/** --local as given, and where its value came from (the flag or DRYDOCK_LOCAL_DATABASE_URL). */
export interface LocalFlag {
  value: string | undefined;
  source?: ValueSource;
}

/** The default working database of an app: its name with _ for -. */
export function defaultTarget(app: string | undefined): string | undefined {
  return app?.replace(/-/g, '_');
}

/** The working database: `--to NAME` on the local server, or `--to URL` (its database is the name). */
export function resolveTarget(to: string | undefined, fallback: string | undefined, local: LocalFlag, libpq: LibpqDefaults): { local: DbUrl; target: string } {
  if (to && /^postgres(ql)?:\/\//i.test(to)) {
    const url = parseDatabaseUrl(to, '--to URL', libpq);
    if (!url.database) throw new ConfigError('--to URL names no database', { hint: 'for example --to postgres://localhost:5432/myapp_development' });
    assertIdentifier(url.database, 'target database name');
    assertNotSystemDatabase(url.database);
    return { local: url, target: url.database };
  }
  const target = to ?? fallback;
  if (!target) throw new ConfigError('pull needs a target database: --to NAME', { hint: 'for example --to myapp_development' });
  if (!/^[A-Za-z_][A-Za-z0-9_$-]*$/.test(target)) {
    throw new ConfigError(`"${target.slice(0, 40)}" is not a usable database name`, { hint: 'use letters, digits and underscores, e.g. myapp_development' });
  }
  assertIdentifier(target, 'target database name');
  if (/^drydock_(pull|prev|snap|spare)_/.test(target)) throw new ConfigError(`"${target}" looks like one of drydock's own copies (drydock_pull_, drydock_prev_, drydock_snap_, drydock_spare_): those names are reserved`, { hint: 'choose another name' });
  assertNotSystemDatabase(target);
  const localUrl = resolveLocalUrl(local.value, libpq, local.source);
  // drydock connects to the --local URL's database: a working database is replaced, so it cannot be that one.
  if (localUrl.database === target) {
    throw new ConfigError(`refusing to use ${target} as a working database: it is the database the local URL (${localUrl.redacted}) connects to`, {
      hint: `choose another name for --to, or point --local at another database (e.g. postgres); nothing was changed`,
    });
  }
  return { local: localUrl, target };
}

/** Databases a pull or a snapshot restore must never replace: the templates every database is made from, and the maintenance database. */
export const SYSTEM_DATABASES: readonly string[] = ['template0', 'template1', 'postgres'];

/** Refuse a system database as a working database (pull, snapshot, restore --to-local replace it). */
export function assertNotSystemDatabase(target: string): void {
  if (!SYSTEM_DATABASES.includes(target)) return;
  const what = target === 'postgres' ? "the server's maintenance database, which drydock and other tools connect to" : 'a template PostgreSQL copies every new database from';
  throw new ConfigError(`refusing to use ${target} as a working database: it is ${what}`, {
    hint: 'choose your own working database, e.g. --to myapp_development; nothing was changed',
  });
}

// ---------------------------------------------------------------------------------------------------
// drydock.json

/** What to do with lint findings in pending migrations. */
export type LintMode = 'error' | 'warn' | 'off';

/** The lint modes, for validation and help. */
export const LINT_MODES: readonly LintMode[] = ['error', 'warn', 'off'];

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

/** Every drydock.json key and its JSON type (unknown keys are errors; the README documents each). */
export const PROJECT_SCHEMA: Record<keyof ProjectConfig, 'string' | 'number'> = {
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
    const type = PROJECT_SCHEMA[key as keyof ProjectConfig];
    if (!type) problems.push(`unknown key "${key}"`);
    else if (typeof value !== type) problems.push(`"${key}" must be a ${type}`);
    else if (type === 'number' && (!Number.isFinite(value as number) || (value as number) < 0)) problems.push(`"${key}" must be a non-negative number`);
    else if (type === 'string' && !(value as string).trim()) problems.push(`"${key}" must not be empty`);
    else if ((key === 'lockTimeoutMs' || key === 'statementTimeoutMs') && (value as number) > PG_MAX_TIMEOUT_MS) problems.push(`"${key}" must be at most ${PG_MAX_TIMEOUT_MS} (PostgreSQL's limit)`);
    else if (key === 'lint' && !LINT_MODES.includes(value as LintMode)) problems.push(`"lint" must be one of ${LINT_MODES.map((m) => `"${m}"`).join(', ')}`);
  }
  if (problems.length) {
    throw new ConfigError(`${PROJECT_CONFIG_FILE}: ${problems.join('; ')}`, { hint: `known keys: ${Object.keys(PROJECT_SCHEMA).join(', ')}` });
  }
  return Object.freeze(raw as ProjectConfig);
}

// ---------------------------------------------------------------------------------------------------
// Migrate, release, postdeploy

export type { RunnerSettings };

/** Flags shared by the migrate subcommands, release and postdeploy (env values arrive through commander). */
export interface MigrateFlags {
  url?: string | undefined;
  dir?: string | undefined;
  lockTimeout?: string | undefined;
  statementTimeout?: string | undefined;
  lockRetries?: string | undefined;
  /** What to do with lint findings in pending migrations: error, warn or off. */
  lint?: string | undefined;
}

/** Where and how migrations run. */
export interface MigrateSettings {
  /** The database (undefined only when it was not needed). */
  readonly url: DbUrl | undefined;
  /** The migrations folder, absolute. */
  readonly dir: string;
  readonly runner: Readonly<RunnerSettings>;
  /** Lint pending migrations before applying them: refuse unsafe ones (error), only show them (warn), or skip (off). */
  readonly lint: LintMode;
  /** The app's own migrate / rollback / seed commands (drydock.json), when set. */
  readonly migrateCommand: string | undefined;
  readonly rollbackCommand: string | undefined;
  readonly seedCommand: string | undefined;
  /** The schema file postdeploy loads and `schema dump` writes (relative paths as given). */
  readonly schemaFile: string | undefined;
  readonly seedFile: string | undefined;
  /** Production's Postgres major for lint verdicts without a database (drydock.json pgVersion). */
  readonly pgVersion: number | undefined;
}

/** Where each value came from, as commander reports it (so messages name the flag or the variable). */
export type Sources = (key: string) => ValueSource;

/** Resolve where and how to migrate, reporting every problem at once; reads no database. */
export function resolveMigrateSettings(
  flags: MigrateFlags,
  project: ProjectConfig,
  global: Pick<GlobalSettings, 'lockRetryBaseMs' | 'libpq'>,
  options: { needUrl?: boolean; sources?: Sources } = {},
): MigrateSettings {
  const source = options.sources ?? (() => 'cli');
  const problems = new Problems();
  const lockTimeoutMs = problems.take(() => parseDuration(flags.lockTimeout, sourceName('--lock-timeout', 'DRYDOCK_LOCK_TIMEOUT', source('lockTimeout')), 'ms', DURATION_RANGES.lockTimeout));
  const statementTimeoutMs = problems.take(() => parseDuration(flags.statementTimeout, sourceName('--statement-timeout', 'DRYDOCK_STATEMENT_TIMEOUT', source('statementTimeout')), 'ms', DURATION_RANGES.statementTimeout));
  const lockRetries = problems.take(() => parseCount(flags.lockRetries, '--lock-retries'));
  const lint = problems.take(() => parseLintMode(flags.lint, sourceName('--lint', 'DRYDOCK_LINT', source('lint'))));
  const url = options.needUrl === false ? undefined : problems.take(() => resolveDatabaseUrl(flags.url, global.libpq, source('url')));
  problems.throwIfAny();
  return Object.freeze({
    url,
    dir: resolve(flags.dir ?? project.migrationsDir ?? 'migrations'),
    runner: Object.freeze({
      lockTimeoutMs: lockTimeoutMs ?? project.lockTimeoutMs ?? DEFAULT_RUNNER_SETTINGS.lockTimeoutMs,
      statementTimeoutMs: statementTimeoutMs ?? project.statementTimeoutMs ?? DEFAULT_RUNNER_SETTINGS.statementTimeoutMs,
      lockRetries: lockRetries ?? project.lockRetries ?? DEFAULT_RUNNER_SETTINGS.lockRetries,
      retryBaseMs: global.lockRetryBaseMs ?? DEFAULT_RUNNER_SETTINGS.retryBaseMs,
    }),
    lint: lint ?? project.lint ?? 'error',
    migrateCommand: project.migrateCommand,
    rollbackCommand: project.rollbackCommand,
    seedCommand: project.seedCommand,
    schemaFile: project.schemaFile,
    seedFile: project.seedFile,
    pgVersion: project.pgVersion,
  });
}

function parseLintMode(value: string | undefined, source: string): LintMode | undefined {
  if (value === undefined) return undefined;
  const mode = value.trim().toLowerCase();
  if (!LINT_MODES.includes(mode as LintMode)) {
    throw new ConfigError(`${source} must be one of ${LINT_MODES.join(', ')}, not "${value}"`, { hint: `for example ${source.startsWith('--') ? `${source} warn` : `${source}=warn`}` });
  }
  return mode as LintMode;
}

// ---------------------------------------------------------------------------------------------------
// Lint

/** Flags of `drydock lint` that settings resolve. */
export interface LintFlags {
  pgVersion?: string | undefined;
  url?: string | undefined;
  format?: string | undefined;
  dir?: string | undefined;
  startAfter?: string | undefined;
}

/** How `drydock lint` runs. */
export interface LintSettings {
  /** --pg-version, when given: it wins over everything. */
  readonly pgVersion: number | undefined;
  /** --url: read production's version from this server (after --pg-version, before the fallbacks). */
  readonly url: DbUrl | undefined;
  /** DRYDOCK_PG_VERSION, else drydock.json pgVersion, else 15. */
  readonly fallbackPgVersion: number;
  readonly format: LintFormat;
  /** The migrations folder linted when no paths are given, absolute. */
  readonly dir: string;
  readonly startAfter: string | undefined;
}

/** Resolve lint's settings, reporting every problem at once. */
export function resolveLintSettings(flags: LintFlags, project: ProjectConfig, global: Pick<GlobalSettings, 'json' | 'lintPgVersion' | 'libpq'>): LintSettings {
  const problems = new Problems();
  const pgVersion = flags.pgVersion === undefined ? undefined : problems.take(() => parsePgVersion(flags.pgVersion!, '--pg-version'));
  const url = flags.url === undefined ? undefined : problems.take(() => resolveDatabaseUrl(flags.url, global.libpq));
  const fromEnv = global.lintPgVersion === undefined ? undefined : problems.take(() => parsePgVersion(global.lintPgVersion!, 'DRYDOCK_PG_VERSION'));
  const fromProject = project.pgVersion === undefined ? undefined : problems.take(() => parsePgVersion(project.pgVersion!, 'drydock.json "pgVersion"'));
  const format = problems.take(() => parseLintFormat(flags.format, global.json));
  if (flags.startAfter !== undefined && !/^\d{1,14}$/.test(flags.startAfter)) {
    problems.take(() => {
      throw new ConfigError(`--start-after must be a migration version (digits), not "${flags.startAfter}"`, { hint: 'for example --start-after 20260101000000' });
    });
  }
  problems.throwIfAny();
  return Object.freeze({
    pgVersion,
    url,
    fallbackPgVersion: fromEnv ?? fromProject ?? DEFAULT_PG_VERSION,
    format: format!,
    dir: resolve(flags.dir ?? project.migrationsDir ?? 'migrations'),
    startAfter: flags.startAfter,
  });
}

/** The newest PostgreSQL major drydock knows (lint verdicts); 9.6 is the oldest. */
export const LATEST_PG_MAJOR = 18;

/** Parse a Postgres version as given by a person ("15", "15.4", "9.6") into a release-ordered major. */
export function parsePgVersion(value: string | number, source: string): number {
  const parsed = parseVersion(String(value));
  const order = parsed ? majorOrder(parsed.major) : Number.NaN;
  if (!parsed || !(order === 9.6 || (Number.isInteger(order) && order >= 10 && order <= LATEST_PG_MAJOR))) {
    throw new ConfigError(`${source} must be a PostgreSQL major version like 15 or 9.6, not "${String(value).slice(0, 30)}"`, {
      hint: `drydock knows 9.6 and 10 to ${LATEST_PG_MAJOR}: for example ${source.startsWith('--') ? `${source} 16` : '16'}`,
    });
  }
  return order;
}

function parseLintFormat(value: string | undefined, json: boolean): LintFormat {
  if (json) return 'json';
  if (value === undefined) return 'text';
  if (!(LINT_FORMATS as readonly string[]).includes(value)) {
    throw new ConfigError(`--format must be one of ${LINT_FORMATS.join(', ')}, not "${value}"`, { hint: 'for example --format github in GitHub Actions' });
  }
  return value as LintFormat;
}

// ---------------------------------------------------------------------------------------------------
// Transfers (Heroku captures and restores)

/** The default --transfer-timeout. */
export const DEFAULT_TRANSFER_TIMEOUT_MS = 2 * 3_600_000;

/** --transfer-timeout (or DRYDOCK_TRANSFER_TIMEOUT, declared on the option): how long to wait for a Heroku transfer. */
export function resolveTransferTimeout(flag: string | undefined, source: ValueSource = 'cli'): number {
  return parseDuration(flag, sourceName('--transfer-timeout', 'DRYDOCK_TRANSFER_TIMEOUT', source), 's', DURATION_RANGES.transferTimeout) ?? DEFAULT_TRANSFER_TIMEOUT_MS;
}

/** The default --connect-timeout of release. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

/** --connect-timeout (or DRYDOCK_CONNECT_TIMEOUT): how long release keeps retrying its first connection. */
export function resolveConnectTimeout(flag: string | undefined, source: ValueSource = 'cli'): number {
  return parseDuration(flag, sourceName('--connect-timeout', 'DRYDOCK_CONNECT_TIMEOUT', source), 's', DURATION_RANGES.connectTimeout) ?? DEFAULT_CONNECT_TIMEOUT_MS;
}

/** --jobs: parallel streams and restore jobs (default: the number of CPUs, at least 2). */
export function resolveJobs(flag: string | undefined): number {
  const jobs = flag === undefined ? Math.max(2, availableParallelism()) : Number(flag);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new ConfigError(`--jobs must be a whole number from 1 to 64, not "${flag}"`, { hint: 'for example --jobs 4' });
  return jobs;
}

// ---------------------------------------------------------------------------------------------------
// Pull

/** What `drydock pull` was asked (its flags, and where the values with a variable came from). */
export interface PullRequest {
  to?: string | undefined;
  from?: string | undefined;
  fromUrl?: string | undefined;
  capture?: boolean | undefined;
  excludeTableData?: string | undefined;
  jobs?: string | undefined;
  scrub?: string | undefined;
  dryRun?: boolean | undefined;
  maxAge?: string | undefined;
  transferTimeout?: string | undefined;
  transferTimeoutSource?: ValueSource;
  local?: string | undefined;
  localSource?: ValueSource;
  snapshot?: boolean | undefined;
  validateForeignKeys?: boolean | undefined;
}

/** Resolve a pull's options from its flags (and the app, when one was given), reporting every problem at once. */
export function resolvePullOptions(flags: PullRequest, app: string | undefined, global: Pick<GlobalSettings, 'libpq' | 'spares'>): PullOptions {
  const problems = new Problems();
  let source: PullSource | undefined;
  if (flags.fromUrl) {
    if (flags.from && flags.from !== 'live') problems.add(new ConfigError('--from-url copies a live database: it cannot be combined with --from backup', { hint: 'drop --from' }));
    problems.take(() => namedDatabaseUrl(flags.fromUrl!, '--from-url', global.libpq));
    source = { kind: 'url', url: flags.fromUrl };
  } else if (!app) {
    problems.add(new ConfigError('pull needs the production app (-a APP) or --from-url URL', { hint: 'drydock pull -a my-app --to my_app_development' }));
  } else {
    const from = flags.capture ? 'backup' : (flags.from ?? 'live');
    const id = from === 'backup' ? 'latest' : from;
    if (from === 'live') source = { kind: 'live', app };
    else if (id !== 'latest' && !/^[abr]\d{3,}$/i.test(id)) problems.add(new ConfigError(`--from must be live, backup or a backup id like b012, not "${from}"`, { hint: 'list backups with `drydock backups list`' }));
    else {
      const maxAgeMs = problems.take(() => parseDuration(flags.maxAge ?? '24h', '--max-age', 'h', DURATION_RANGES.maxAge));
      const transferTimeoutMs = problems.take(() => resolveTransferTimeout(flags.transferTimeout, flags.transferTimeoutSource));
      source = { kind: 'backup', app, id, capture: Boolean(flags.capture), maxAgeMs: maxAgeMs ?? 0, transferTimeoutMs: transferTimeoutMs ?? 0 };
    }
  }
  const where = problems.take(() => resolveTarget(flags.to, defaultTarget(app), { value: flags.local, source: flags.localSource }, global.libpq));
  const jobs = problems.take(() => resolveJobs(flags.jobs));
  const scrubFile = flags.scrub ? resolve(flags.scrub) : undefined;
  if (scrubFile && !existsSync(scrubFile)) problems.add(new ConfigError(`scrub file ${scrubFile} not found`, { hint: 'pass the path of an SQL file that anonymises the copy' }));
  problems.throwIfAny();
  const keepSnapshot = flags.snapshot !== false;
  return {
    source: source!,
    local: where!.local,
    target: where!.target,
    jobs: jobs!,
    excludeTableData: (flags.excludeTableData ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    scrubFile,
    keepSnapshot,
    validateForeignKeys: Boolean(flags.validateForeignKeys),
    dryRun: Boolean(flags.dryRun),
    // With a background preparation coming anyway, it also drops the copies this pull replaced.
    dropInBackground: keepSnapshot && global.spares,
  };
}

// ---------------------------------------------------------------------------------------------------

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
