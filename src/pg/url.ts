/**
 * Postgres connection URLs: parse with clear errors, describe without secrets,
 * and turn into libpq environment variables for child processes.
 */
import { ConfigError } from '../errors.js';
import { MASK, registerSecret } from '../redact.js';

/** libpq's sslmode values. */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** A parsed Postgres URL. */
export interface DbUrl {
  /** The URL as given (contains the password: never print it, use `redacted`). */
  readonly href: string;
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** Host name, or a socket directory (from `?host=/path`), or undefined for libpq defaults. */
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly database: string | undefined;
  /** The sslmode from the URL, else undefined (see `effectiveSslMode`). */
  readonly sslmode: SslMode | undefined;
  /** Other query parameters, kept as given. */
  readonly params: Readonly<Record<string, string>>;
  /** The URL with the password masked: safe for any output. */
  readonly redacted: string;
}

const EXPECTED = 'expected postgres://USER:PASSWORD@HOST:PORT/DATABASE';

/** True for hosts on this machine, where SSL is not expected. */
export function isLocalHost(host: string | undefined): boolean {
  return !host || host === 'localhost' || host === '127.0.0.1' || host === '::1' || host === '[::1]' || host.startsWith('/');
}

/** Parse a postgres:// or postgresql:// URL. Throws ConfigError with a hint for anything malformed. */
export function parseDatabaseUrl(input: string, what = 'database URL'): DbUrl {
  const raw = (input ?? '').trim();
  if (!raw) throw new ConfigError(`the ${what} is empty`, { hint: EXPECTED });
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase();
  if (!scheme || !raw.includes('://')) {
    throw new ConfigError(`the ${what} is not a URL: ${describeUnparsable(raw)}`, { hint: EXPECTED });
  }
  if (scheme !== 'postgres' && scheme !== 'postgresql') {
    throw new ConfigError(`the ${what} has scheme "${scheme}:", not postgres:`, { hint: EXPECTED });
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`the ${what} is malformed: ${describeUnparsable(raw)}`, {
      hint: `${EXPECTED}; percent-encode special characters in the password (for example @ as %40)`,
    });
  }
  let password: string | undefined;
  let user: string | undefined;
  try {
    password = url.password ? decodeURIComponent(url.password) : undefined;
    user = url.username ? decodeURIComponent(url.username) : undefined;
  } catch {
    throw new ConfigError(`the ${what} has a badly percent-encoded user or password`, { hint: EXPECTED });
  }
  registerSecret(password);
  registerSecret(url.password);

  let port: number | undefined;
  if (url.port) {
    port = Number(url.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError(`the ${what} has an invalid port "${url.port}"`, { hint: EXPECTED });
    }
  }
  const params: Record<string, string> = {};
  for (const [k, v] of url.searchParams) params[k] = v;
  const sslmodeRaw = params.sslmode;
  delete params.sslmode;
  if (sslmodeRaw !== undefined && !(SSL_MODES as readonly string[]).includes(sslmodeRaw)) {
    throw new ConfigError(`the ${what} has an unknown sslmode "${sslmodeRaw}"`, {
      hint: `use one of ${SSL_MODES.join(', ')}`,
    });
  }
  let database: string | undefined;
  try {
    database = url.pathname && url.pathname !== '/' ? decodeURIComponent(url.pathname.slice(1)) : undefined;
  } catch {
    throw new ConfigError(`the ${what} has a badly percent-encoded database name`, { hint: EXPECTED });
  }
  if (database?.includes('/')) {
    throw new ConfigError(`the ${what} has a database name with "/" in it`, { hint: EXPECTED });
  }
  let host: string | undefined = url.hostname ? decodeURIComponent(url.hostname) : undefined;
  if (params.host) {
    host = params.host;
    delete params.host;
  }
  if (host?.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (params.port && port === undefined) {
    port = Number(params.port);
    delete params.port;
  }

  return {
    href: raw,
    user,
    password,
    host,
    port,
    database,
    sslmode: sslmodeRaw as SslMode | undefined,
    params,
    redacted: redactUrl(raw),
  };
}

/** Show what could not be parsed without leaking a password that may be in it. */
function describeUnparsable(raw: string): string {
  const shown = redactUrl(raw);
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}

/** The URL with its password replaced by the mask (works on malformed input too). */
export function redactUrl(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^/\s]*)(@)/i, (_m, head: string, _pw: string, at: string) => `${head}${MASK}${at}`);
}

/** The sslmode drydock uses: the URL's, else PGSSLMODE, else none for local hosts and `require` for remote ones (Heroku needs SSL). */
export function effectiveSslMode(url: DbUrl, env: NodeJS.ProcessEnv = process.env): SslMode {
  if (url.sslmode) return url.sslmode;
  const fromEnv = env.PGSSLMODE as SslMode | undefined;
  if (fromEnv && (SSL_MODES as readonly string[]).includes(fromEnv)) return fromEnv;
  return isLocalHost(url.host) ? 'disable' : 'require';
}

/** libpq environment variables for a child process (pg_dump, psql …): the password never goes in argv. */
export function toPgEnv(url: DbUrl, env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  return {
    PGHOST: url.host ?? env.PGHOST,
    PGPORT: url.port !== undefined ? String(url.port) : env.PGPORT,
    PGUSER: url.user ?? env.PGUSER,
    PGPASSWORD: url.password ?? (url.user ? undefined : env.PGPASSWORD),
    PGDATABASE: url.database ?? env.PGDATABASE,
    PGSSLMODE: effectiveSslMode(url, env),
    PGAPPNAME: 'drydock',
    // A URL in the environment would override nothing in libpq, but keep it out of children anyway.
    DATABASE_URL: undefined,
  };
}

/** The same server and credentials, another database. */
export function withDatabase(url: DbUrl, database: string): DbUrl {
  const u = new URL(url.href);
  u.pathname = '/' + encodeURIComponent(database);
  return parseDatabaseUrl(u.toString());
}

/** A short label for messages: user@host:port/db, no password. */
export function describeDb(url: DbUrl): string {
  const host = url.host ?? 'local socket';
  const port = url.port ? `:${url.port}` : '';
  const user = url.user ? `${url.user}@` : '';
  return `${user}${host}${port}/${url.database ?? '(default database)'}`;
}
