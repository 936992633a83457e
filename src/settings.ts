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


import type { BackfillSettings } from './backfill/engine.js';
import { ConfigError } from './errors.js';
import { assertIdentifier } from './pg/ident.js';
import { DEFAULT_RUNNER_SETTINGS, type RunnerSettings } from './migrate/runner-settings.js';
import type { PullOptions, PullSource } from './pull/types.js';
import { LIBPQ_ENV_KEYS, parseDatabaseUrl, withDatabase, type DbUrl, type LibpqDefaults } from './pg/url.js';
import { majorOrder, parseVersion } from './pg/version.js';
import { DEFAULT_PG_VERSION, DEFAULT_SMALL_TABLE, LINT_FORMATS, migrationVersion, parseRuleLevel, RULE_LEVELS, type LintFormat, type LintRuleConfig, type RuleLevel, type SmallTableLimits } from './lint/settings.js';
import { registerSecret } from './redact.js';
import { checkLevelProblems } from './verify/checks.js';

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

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration unit ("min" is "m" spelled out). */
export type DurationUnit = keyof typeof UNIT_MS;

/** The most lock_timeout and statement_timeout PostgreSQL accepts: INT_MAX milliseconds (about 24.8 days). */
export const PG_MAX_TIMEOUT_MS = 2_147_483_647;

/** The range a duration setting accepts (inclusive, in ms), what 0 means when it is allowed, and a typical value for hints. */
export interface DurationRange {
  min: number;
  max: number;
  /** Said in the hint when 0 is allowed, e.g. "0 turns it off". */
  zero?: string;
  /** A typical value, with its unit, that hints suggest ("5s"). */
  example: string;
}

/** The documented range of each duration setting (README, "Settings"). */
export const DURATION_RANGES = {
  /** PostgreSQL's own limit; 0 turns the timeout off. */
  lockTimeout: { min: 0, max: PG_MAX_TIMEOUT_MS, zero: '0 turns it off', example: '5s' },
  statementTimeout: { min: 0, max: PG_MAX_TIMEOUT_MS, zero: '0 turns it off', example: '60s' },
  /** release's first-connection retry: 0 tries once. */
  connectTimeout: { min: 0, max: 3_600_000, zero: '0 tries once', example: '30s' },
  /** A Heroku transfer wait: from 1 s to 30 days (0 would wait forever). */
  transferTimeout: { min: 1_000, max: 30 * 86_400_000, example: '2h' },
  /** The newest backup's age limit: from 1 minute to 100000 h. */
  maxAge: { min: 60_000, max: 100_000 * 3_600_000, example: '24h' },
  /** rehearse: a read or write that waits this long makes a migration `blocking`. */
  blockThreshold: { min: 1, max: 3_600_000, example: '1s' },
  /** Base delay of lock retries (a test hook). */
  lockRetryBase: { min: 0, max: 3_600_000, example: '200ms' },
  snapshotHandoff: { min: 100, max: 3_600_000, example: '20s' },
} as const satisfies Record<string, DurationRange>;

/** The unit forms every duration accepts, as hints list them. */
const UNIT_FORMS = '500ms, 5s, 4min (or 4m), 2h, 7d';

/** How a hint shows a value for `source`: `--flag 5s` for a flag, `VARIABLE=5s` for a variable. */
function exampleFor(source: string, value: string): string {
  return source.startsWith('-') ? `${source} ${value}` : /^[A-Z][A-Z0-9_]*$/.test(source) ? `${source}=${value}` : value;
}

/**
 * A duration in milliseconds. One rule for every duration flag and variable: the unit is required
 * ("500ms", "5s", "4min" or "4m", "2h", "7d"); only 0 may go without one. A bare number is a ConfigError
 * rather than a guess, because drydock's settings used to read it in different units (ms, s, h).
 * Undefined in, undefined out; anything else, or a value outside `range`, is a ConfigError naming
 * `source` (a flag or variable) with the setting's typical value as the example.
 */
export function parseDuration(value: string | undefined, source: string, range: DurationRange): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const shown = value.slice(0, 30);
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)?$/i.exec(text);
  if (!m) {
    throw new ConfigError(`${source} must be a duration with a unit (${UNIT_FORMS}), not "${shown}"`, { hint: `for example ${exampleFor(source, range.example)}` });
  }
  if (m[2] === undefined && Number(m[1]) !== 0) {
    throw new ConfigError(`${source} needs a unit: "${shown}" could be milliseconds, seconds or hours`, {
      hint: `write it with its unit (${UNIT_FORMS}), for example ${exampleFor(source, range.example)}`,
    });
  }
  const ms = Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? 'ms').toLowerCase() as DurationUnit]);
  if (!(Number.isFinite(ms) && ms >= range.min && ms <= range.max)) {
    const low = range.min === 0 ? '0' : formatLimit(range.min);
    throw new ConfigError(`${source} must be from ${low} to ${formatLimit(range.max)}, not "${shown}"`, {
      hint: `${range.zero ? `${range.zero}; ` : ''}for example ${exampleFor(source, range.example)}`,
    });
  }
  return ms;
}

/** A limit as people type it: whole days, hours, minutes or seconds when it is one, else milliseconds. */
function formatLimit(ms: number): string {
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
  /**
   * How long a pull waits for the background process it hands the pristine snapshot to before taking the
   * snapshot itself (DRYDOCK_SNAPSHOT_HANDOFF_TIMEOUT, default 20 s).
   */
  readonly snapshotHandoffMs: number;
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
  /** DRYDOCK_REVIEW_APP as given (unparsed: only release reads it, see resolveReviewApp). */
  readonly reviewAppVariable: string | undefined;
  /** The review-app config vars Heroku set on this app (REVIEW_APP_MARKERS that are non-empty). */
  readonly reviewAppMarkers: readonly string[];
  /** libpq's PG* defaults, for URLs that leave parts out (travels with each parsed URL). */
  readonly libpq: LibpqDefaults;
  /** The environment handed to child processes (exec.ts filters it through its allowlist). */
  readonly childEnv: Environment;
  /** GitHub Actions' job summary file (GITHUB_STEP_SUMMARY), which `rehearse` appends its Markdown report to. */
  readonly githubStepSummary: string | undefined;
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
  for (const key of LIBPQ_ENV_KEYS) {
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
    snapshotHandoffMs: parseDuration(nonEmpty(env.DRYDOCK_SNAPSHOT_HANDOFF_TIMEOUT), 'DRYDOCK_SNAPSHOT_HANDOFF_TIMEOUT', DURATION_RANGES.snapshotHandoff) ?? 20_000,
    streamRestore: stream === '0' ? 'off' : stream === '1' ? 'always' : 'auto',
    lockRetryBaseMs: parseDuration(nonEmpty(env.DRYDOCK_LOCK_RETRY_BASE), 'DRYDOCK_LOCK_RETRY_BASE', DURATION_RANGES.lockRetryBase),
    testPauseAt: nonEmpty(env.DRYDOCK_TEST_PAUSE_AT),
    lintPgVersion: nonEmpty(env.DRYDOCK_PG_VERSION),
    dyno: env.DYNO ?? '',
    reviewAppVariable: nonEmpty(env.DRYDOCK_REVIEW_APP),
    reviewAppMarkers: Object.freeze(REVIEW_APP_MARKERS.filter((name) => nonEmpty(env[name]) !== undefined)),
    libpq: Object.freeze(libpq),
    childEnv: env,
    githubStepSummary: nonEmpty(env.GITHUB_STEP_SUMMARY),
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

/**
 * The working database: `--to NAME` on the local server, or `--to URL` (its database is the name).
 * `command` is the command the user ran ("pull", "snapshot restore"), named when no target is given.
 */
export function resolveTarget(command: string, to: string | undefined, fallback: string | undefined, local: LocalFlag, libpq: LibpqDefaults): { local: DbUrl; target: string } {
  if (to && /^postgres(ql)?:\/\//i.test(to)) {
    const url = parseDatabaseUrl(to, '--to URL', libpq);
    if (!url.database) throw new ConfigError('--to URL names no database', { hint: 'for example --to postgres://localhost:5432/myapp_development' });
    assertIdentifier(url.database, 'target database name');
    assertNotSystemDatabase(url.database);
    return { local: url, target: url.database };
  }
  const target = to ?? fallback;
  if (!target) {
    throw new ConfigError(`${command} needs a target database: --to NAME, or -a APP for the app's own (its name with _ for -)`, {
      hint: `for example drydock ${command} --to myapp_development`,
    });
  }
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
  /** Lint rules turned off or given another severity, project-wide: { "ban-drop-column": "warn", "prefer-jsonb": "off" }. */
  lintRules?: Record<string, string>;
  /** The same, for files matching glob patterns (relative to the project folder); later entries win. */
  lintOverrides?: Array<{ paths: string[]; rules: Record<string, string> }>;
  /** With a database, tables at or below both limits are small: findings on them are notes (default 10000 rows, 10 MB). */
  lintSmallTable?: { rows?: number; bytes?: number | string };
  /** `drydock verify`'s checks given another level: { "unindexed-foreign-key": "error", "table-bloat": "off" } (levels error, warn, off). */
  verifyChecks?: Record<string, string>;
}

/** Every drydock.json key and its JSON type (unknown keys are errors; the README documents each). */
export const PROJECT_SCHEMA: Record<keyof ProjectConfig, 'string' | 'number' | 'object' | 'array'> = {
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
  lintRules: 'object',
  lintOverrides: 'array',
  lintSmallTable: 'object',
  verifyChecks: 'object',
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
    else if (type === 'array' ? !Array.isArray(value) : type === 'object' ? !isPlainObject(value) : typeof value !== type) problems.push(`"${key}" must be ${type === 'array' || type === 'object' ? 'an' : 'a'} ${type}`);
    else if (key === 'lintRules') problems.push(...ruleLevelProblems(value as Record<string, unknown>, '"lintRules"'));
    else if (key === 'lintOverrides') problems.push(...overrideProblems(value as unknown[]));
    else if (key === 'lintSmallTable') problems.push(...smallTableProblems(value as Record<string, unknown>));
    else if (key === 'verifyChecks') problems.push(...checkLevelProblems(value as Record<string, unknown>, '"verifyChecks"'));
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

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const RULE_ID = /^[a-z][a-z0-9-]*$/;

function ruleLevelProblems(rules: Record<string, unknown>, where: string): string[] {
  const problems: string[] = [];
  for (const [rule, level] of Object.entries(rules)) {
    if (!RULE_ID.test(rule)) problems.push(`${where}: "${rule}" is not a rule id (like "ban-drop-column")`);
    else if (!parseRuleLevel(level)) problems.push(`${where}: "${rule}" must be one of ${[...RULE_LEVELS, 'warn'].map((l) => `"${l}"`).join(', ')}`);
  }
  return problems;
}

function overrideProblems(overrides: unknown[]): string[] {
  const problems: string[] = [];
  overrides.forEach((o, i) => {
    const where = `"lintOverrides"[${i}]`;
    if (!isPlainObject(o)) return problems.push(`${where} must be an object like {"paths": ["migrations/old/**"], "rules": {"ban-drop-column": "off"}}`);
    for (const k of Object.keys(o)) if (k !== 'paths' && k !== 'rules') problems.push(`${where}: unknown key "${k}" (it takes "paths" and "rules")`);
    if (!Array.isArray(o.paths) || !o.paths.length || !o.paths.every((p) => typeof p === 'string' && p.trim())) problems.push(`${where}: "paths" must be a non-empty array of glob patterns`);
    if (!isPlainObject(o.rules)) problems.push(`${where}: "rules" must be an object of rule levels`);
    else problems.push(...ruleLevelProblems(o.rules, where));
    return undefined;
  });
  return problems;
}

function smallTableProblems(limits: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(limits)) {
    if (k === 'rows' && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) problems.push('"lintSmallTable": "rows" must be a non-negative number');
    else if (k === 'bytes' && parseByteSize(v) === undefined) problems.push('"lintSmallTable": "bytes" must be a non-negative number of bytes, or a size like "10MB"');
    else if (k !== 'rows' && k !== 'bytes') problems.push(`"lintSmallTable": unknown key "${k}" (it takes "rows" and "bytes")`);
  }
  return problems;
}

/** A size in bytes: a number, or "512kB", "10MB", "1GB" (powers of 1024). */
export function parseByteSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|bytes|kb|mb|gb|tb)?\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase();
  const factor = { b: 1, bytes: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 }[unit]!;
  return Math.round(Number(m[1]) * factor);
}

/** drydock.json's lint configuration, resolved: rule levels and overrides, and the small-table limits. */
export interface LintProjectSettings {
  /** undefined when drydock.json sets no rule level. */
  readonly ruleConfig: LintRuleConfig | undefined;
  readonly smallTable: SmallTableLimits;
}

function resolveLintProjectSettings(project: ProjectConfig): LintProjectSettings {
  const levels = (rules: Record<string, string>): Record<string, RuleLevel> => Object.fromEntries(Object.entries(rules).map(([id, level]) => [id, parseRuleLevel(level)!]));
  const ruleConfig =
    project.lintRules || project.lintOverrides
      ? Object.freeze({ rules: levels(project.lintRules ?? {}), overrides: (project.lintOverrides ?? []).map((o) => ({ paths: o.paths, rules: levels(o.rules) })) })
      : undefined;
  const bytes = project.lintSmallTable?.bytes === undefined ? undefined : parseByteSize(project.lintSmallTable.bytes);
  return {
    ruleConfig,
    smallTable: Object.freeze({ rows: project.lintSmallTable?.rows ?? DEFAULT_SMALL_TABLE.rows, bytes: bytes ?? DEFAULT_SMALL_TABLE.bytes }),
  };
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
  /** drydock.json's rule levels and small-table limits, for that lint. */
  readonly lintProject: LintProjectSettings;
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
  const lockTimeoutMs = problems.take(() => parseDuration(flags.lockTimeout, sourceName('--lock-timeout', 'DRYDOCK_LOCK_TIMEOUT', source('lockTimeout')), DURATION_RANGES.lockTimeout));
  const statementTimeoutMs = problems.take(() => parseDuration(flags.statementTimeout, sourceName('--statement-timeout', 'DRYDOCK_STATEMENT_TIMEOUT', source('statementTimeout')), DURATION_RANGES.statementTimeout));
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
    lintProject: resolveLintProjectSettings(project),
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
  /** drydock.json's rule levels and small-table limits. */
  readonly lintProject: LintProjectSettings;
}

/** Resolve lint's settings, reporting every problem at once. */
export function resolveLintSettings(flags: LintFlags, project: ProjectConfig, global: Pick<GlobalSettings, 'json' | 'lintPgVersion' | 'libpq'>): LintSettings {
  const problems = new Problems();
  const pgVersion = flags.pgVersion === undefined ? undefined : problems.take(() => parsePgVersion(flags.pgVersion!, '--pg-version'));
  const url = flags.url === undefined ? undefined : problems.take(() => resolveDatabaseUrl(flags.url, global.libpq));
  const fromEnv = global.lintPgVersion === undefined ? undefined : problems.take(() => parsePgVersion(global.lintPgVersion!, 'DRYDOCK_PG_VERSION'));
  const fromProject = project.pgVersion === undefined ? undefined : problems.take(() => parsePgVersion(project.pgVersion!, 'drydock.json "pgVersion"'));
  const format = problems.take(() => parseLintFormat(flags.format, global.json));
  if (flags.startAfter !== undefined && !migrationVersion(flags.startAfter.trim())) {
    problems.take(() => {
      throw new ConfigError(`--start-after must be a migration version or a migration's file or folder name, not "${flags.startAfter}"`, {
        hint: 'for example --start-after 20260101000000 (drydock, Prisma, golang-migrate), 2021-01-01-123456 (diesel), V12 (Flyway)',
      });
    });
  }
  problems.throwIfAny();
  return Object.freeze({
    pgVersion,
    url,
    fallbackPgVersion: fromEnv ?? fromProject ?? DEFAULT_PG_VERSION,
    format: format!,
    dir: resolve(flags.dir ?? project.migrationsDir ?? 'migrations'),
    startAfter: flags.startAfter?.trim(),
    lintProject: resolveLintProjectSettings(project),
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
  return parseDuration(flag, sourceName('--transfer-timeout', 'DRYDOCK_TRANSFER_TIMEOUT', source), DURATION_RANGES.transferTimeout) ?? DEFAULT_TRANSFER_TIMEOUT_MS;
}

/** The default --connect-timeout of release. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

/** --connect-timeout (or DRYDOCK_CONNECT_TIMEOUT): how long release keeps retrying its first connection. */
export function resolveConnectTimeout(flag: string | undefined, source: ValueSource = 'cli'): number {
  return parseDuration(flag, sourceName('--connect-timeout', 'DRYDOCK_CONNECT_TIMEOUT', source), DURATION_RANGES.connectTimeout) ?? DEFAULT_CONNECT_TIMEOUT_MS;
}

/** --jobs: parallel streams and restore jobs (default: the number of CPUs, at least 2). */
export function resolveJobs(flag: string | undefined): number {
  const jobs = flag === undefined ? Math.max(2, availableParallelism()) : Number(flag);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new ConfigError(`--jobs must be a whole number from 1 to 64, not "${flag}"`, { hint: 'for example --jobs 4' });
  return jobs;
}

/**
 * Config vars Heroku sets on review apps only: HEROKU_PR_NUMBER and HEROKU_BRANCH on every review app,
 * HEROKU_PARENT_APP_NAME when app.json asks for it. A production or staging app has none of them.
 */
export const REVIEW_APP_MARKERS: readonly string[] = ['HEROKU_PR_NUMBER', 'HEROKU_BRANCH', 'HEROKU_PARENT_APP_NAME'];

/** Whether release runs on a review app, and what said so (for its log line). */
export interface ReviewApp {
  readonly reviewApp: boolean;
  /** e.g. "HEROKU_PR_NUMBER is set", "--no-review-app", "DRYDOCK_REVIEW_APP=false", "no review-app marker". */
  readonly because: string;
}

/**
 * Is this a review app? `--review-app`/`--no-review-app`, else DRYDOCK_REVIEW_APP (true/false, 1/0,
 * yes/no), else Heroku's review-app markers. The explicit settings win over the markers either way.
 */
export function resolveReviewApp(flag: boolean | undefined, global: Pick<GlobalSettings, 'reviewAppVariable' | 'reviewAppMarkers'>): ReviewApp {
  if (flag !== undefined) return { reviewApp: flag, because: flag ? '--review-app' : '--no-review-app' };
  const variable = global.reviewAppVariable?.toLowerCase();
  if (variable !== undefined) {
    if (['true', '1', 'yes'].includes(variable)) return { reviewApp: true, because: `DRYDOCK_REVIEW_APP=${global.reviewAppVariable}` };
    if (['false', '0', 'no'].includes(variable)) return { reviewApp: false, because: `DRYDOCK_REVIEW_APP=${global.reviewAppVariable}` };
    throw new ConfigError(`DRYDOCK_REVIEW_APP must be true or false, not "${global.reviewAppVariable!.slice(0, 30)}"`, {
      hint: 'DRYDOCK_REVIEW_APP=true on review apps (app.json environments.review), false elsewhere; leave it unset to go by Heroku\'s HEROKU_PR_NUMBER/HEROKU_BRANCH',
    });
  }
  const [marker] = global.reviewAppMarkers;
  if (marker) return { reviewApp: true, because: `${marker} is set` };
  return { reviewApp: false, because: `none of ${REVIEW_APP_MARKERS.join(', ')} or DRYDOCK_REVIEW_APP is set` };
}

// ---------------------------------------------------------------------------------------------------
// Pull

/** What `drydock pull` was asked (its flags, and where the values with a variable came from). */
export interface PullRequest {
  to?: string | undefined;
  from?: string | undefined;
  fromUrl?: string | undefined;
  capture?: boolean | undefined;
  /** The app's database (--database; default DATABASE_URL). */
  database?: string | undefined;
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
  /** Where --database came from (commander's value source): given on the command line, it must apply. */
  databaseSource?: ValueSource;
  /** Take the pristine snapshot before returning, not in the background (rehearse uses it at once). */
  snapshotNow?: boolean | undefined;
  validateForeignKeys?: boolean | undefined;
}

/** Resolve a pull's options from its flags (and the app, when one was given), reporting every problem at once. */
export function resolvePullOptions(flags: PullRequest, app: string | undefined, global: Pick<GlobalSettings, 'libpq' | 'spares'>): PullOptions {
  const problems = new Problems();
  let source: PullSource | undefined;
  if (flags.fromUrl) {
    if (flags.from && flags.from !== 'live') problems.add(new ConfigError('--from-url copies a live database: it cannot be combined with --from backup', { hint: 'drop --from' }));
    // Flags that only mean something for a Heroku app are refused, not ignored.
    if (flags.capture) problems.add(new ConfigError('--capture makes a Heroku backup first: --from-url copies a live database', { hint: 'drop --capture, or pull the app with -a APP --capture' }));
    if (flags.databaseSource === 'cli') problems.add(new ConfigError("--database picks one of a Heroku app's databases: --from-url already names the database to copy", { hint: 'drop --database, or pull the app with -a APP --database ATTACHMENT' }));
    problems.take(() => namedDatabaseUrl(flags.fromUrl!, '--from-url', global.libpq));
    source = { kind: 'url', url: flags.fromUrl };
  } else if (!app) {
    problems.add(new ConfigError('pull needs the production app (-a APP) or --from-url URL', { hint: 'drydock pull -a my-app --to my_app_development' }));
  } else {
    const from = flags.capture ? 'backup' : (flags.from ?? 'live');
    const id = from === 'backup' ? 'latest' : from;
    const database = flags.database ?? 'DATABASE_URL';
    if (!/^[A-Za-z][\w:-]*$/.test(database)) problems.add(new ConfigError(`--database must name an attachment or its config var, such as HEROKU_POSTGRESQL_AMBER, not "${database.slice(0, 40)}"`, { hint: 'list the app\'s databases with `heroku pg:info -a APP`' }));
    if (from === 'live') source = { kind: 'live', app, database };
    else if (id !== 'latest' && !/^[abr]\d{3,}$/i.test(id)) problems.add(new ConfigError(`--from must be live, backup or a backup id like b012, not "${from}"`, { hint: 'list backups with `drydock backups list`' }));
    else {
      const maxAgeMs = problems.take(() => parseDuration(flags.maxAge ?? DURATION_RANGES.maxAge.example, '--max-age', DURATION_RANGES.maxAge));
      const transferTimeoutMs = problems.take(() => resolveTransferTimeout(flags.transferTimeout, flags.transferTimeoutSource));
      source = { kind: 'backup', app, database, id, capture: Boolean(flags.capture), maxAgeMs: maxAgeMs ?? 0, transferTimeoutMs: transferTimeoutMs ?? 0 };
    }
  }
  const where = problems.take(() => resolveTarget('pull', flags.to, defaultTarget(app), { value: flags.local, source: flags.localSource }, global.libpq));
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
    // Background work is allowed (spares): the snapshot is taken after the pull returns, unless the caller needs it at once.
    snapshotInBackground: keepSnapshot && global.spares && !flags.snapshotNow,
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

// ---------------------------------------------------------------------------------------------------
// backfill

/** `drydock backfill`'s pacing and timeout flags, as given (also a migration's `-- drydock:backfill` line). */
export interface BackfillFlags {
  batchSize?: string | undefined;
  batchTime?: string | undefined;
  sleep?: string | undefined;
  maxWalRate?: string | undefined;
  lockTimeout?: string | undefined;
  statementTimeout?: string | undefined;
  lockRetries?: string | undefined;
}

/** The documented defaults of a backfill's pacing. */
export const BACKFILL_DEFAULTS = Object.freeze({
  batchTimeMs: 200,
  sleepMs: 0,
  lockRetries: 10,
  /** lock_timeout with --batch-size (with --batch-time it is the batch time). */
  fixedLockTimeoutMs: 1_000,
  /** statement_timeout with --batch-size (with --batch-time it is 1.5 × the batch time: a batch that runs over is cancelled and retried smaller). */
  fixedStatementTimeoutMs: 60_000,
});

/** The most rows one batch may hold. */
export const MAX_BACKFILL_BATCH = 1_000_000;

/** `20MB/s`, `512kB/s`, `1GB/s` (the `/s` may be left out): bytes per second, more than 0. */
export function parseByteRate(value: string, source: string): number {
  const bytes = parseByteSize(value.trim().replace(/\s*\/\s*s(ec)?$/i, ''));
  if (bytes === undefined || bytes <= 0) {
    throw new ConfigError(`${source} must be a rate of WAL such as 20MB/s, not "${value.slice(0, 30)}"`, { hint: `for example ${source} 20MB/s (units: kB, MB, GB, powers of 1024)` });
  }
  return bytes;
}

/** Resolve a backfill's pacing and timeouts, every problem at once (ConfigError, exit 2). Pure. */
export function resolveBackfillSettings(flags: BackfillFlags): BackfillSettings {
  const problems = new Problems();
  const batchSize = problems.take(() => {
    const n = parseCount(flags.batchSize, '--batch-size');
    if (n !== undefined && (n < 1 || n > MAX_BACKFILL_BATCH)) throw new ConfigError(`--batch-size must be from 1 to ${MAX_BACKFILL_BATCH}, not ${n}`, { hint: 'for example --batch-size 5000, or leave it out and let --batch-time size the batches' });
    return n;
  });
  if (flags.batchSize !== undefined && flags.batchTime !== undefined) {
    problems.add(new ConfigError('--batch-size and --batch-time both given: a batch is either a fixed number of rows or sized to take a given time', { hint: 'keep one of them (--batch-time 200ms is the default)' }));
  }
  const batchTimeMs = problems.take(() => parseDuration(flags.batchTime, '--batch-time', BACKFILL_DURATION_RANGES.batchTime));
  const sleepMs = problems.take(() => parseDuration(flags.sleep, '--sleep', BACKFILL_DURATION_RANGES.sleep));
  const maxWalBytesPerSec = problems.take(() => (flags.maxWalRate === undefined ? undefined : parseByteRate(flags.maxWalRate, '--max-wal-rate')));
  const lockTimeoutMs = problems.take(() => parseDuration(flags.lockTimeout, '--lock-timeout', BACKFILL_DURATION_RANGES.lockTimeout));
  const statementTimeoutMs = problems.take(() => parseDuration(flags.statementTimeout, '--statement-timeout', BACKFILL_DURATION_RANGES.statementTimeout));
  const lockRetries = problems.take(() => parseCount(flags.lockRetries, '--lock-retries'));
  problems.throwIfAny();
  const fixed = batchSize !== undefined;
  const target = batchTimeMs ?? BACKFILL_DEFAULTS.batchTimeMs;
  return Object.freeze({
    pace: Object.freeze({ batchSize, batchTimeMs: target, sleepMs: sleepMs ?? BACKFILL_DEFAULTS.sleepMs, maxWalBytesPerSec }),
    lockTimeoutMs: lockTimeoutMs ?? (fixed ? BACKFILL_DEFAULTS.fixedLockTimeoutMs : target),
    statementTimeoutMs: statementTimeoutMs ?? (fixed ? BACKFILL_DEFAULTS.fixedStatementTimeoutMs : Math.round(1.5 * target)),
    lockRetries: lockRetries ?? BACKFILL_DEFAULTS.lockRetries,
  });
}

/** The ranges of a backfill's durations. */
export const BACKFILL_DURATION_RANGES = {
  batchTime: { min: 10, max: 60_000, example: '200ms' },
  sleep: { min: 0, max: 3_600_000, zero: '0 pauses only when the WAL cap or lock waits ask for it', example: '100ms' },
  /** A batch's own lock wait: 0 would wait forever while holding the batch's row locks. */
  lockTimeout: { min: 1, max: PG_MAX_TIMEOUT_MS, example: '200ms' },
  statementTimeout: { min: 1, max: PG_MAX_TIMEOUT_MS, example: '1s' },
} as const satisfies Record<string, DurationRange>;

/**
 * The database a backfill updates: `--to NAME` (a database on the local server, --local), else --url
 * (or DATABASE_URL). --to and a --url given on the command line together are a ConfigError.
 */
export function resolveBackfillUrl(flags: { url?: string | undefined; urlSource?: ValueSource; to?: string | undefined; local?: string | undefined; localSource?: ValueSource }, libpq: LibpqDefaults): DbUrl {
  if (flags.to !== undefined) {
    if (flags.url !== undefined && flags.urlSource === 'cli') throw new ConfigError('--to and --url both given', { hint: '--to NAME names a database on the local server, --url any database: keep one' });
    if (!/^[A-Za-z_][A-Za-z0-9_$-]*$/.test(flags.to)) throw new ConfigError(`"${flags.to.slice(0, 40)}" is not a usable database name`, { hint: 'for example --to myapp_development' });
    assertIdentifier(flags.to, 'database name');
    return withDatabase(resolveLocalUrl(flags.local, libpq, flags.localSource), flags.to);
  }
  return resolveDatabaseUrl(flags.url, libpq, flags.urlSource);
}
