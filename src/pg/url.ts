/**
 * Postgres connection URLs: parse with clear errors, describe without secrets,
 * and turn into libpq environment variables for child processes.
 */
import { ConfigError } from '../errors.js';
import { MASK, mask, registerSecret } from '../redact.js';

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
  /** libpq's PG* defaults for the parts the URL leaves out (from settings; none for complete URLs). */
  readonly libpq?: LibpqDefaults | undefined;
}

/** The environment variables libpq reads that drydock's own connections follow too. */
export const LIBPQ_ENV_KEYS = ['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSSLMODE', 'PGSSLROOTCERT', 'PGSSLCERT', 'PGSSLKEY', 'USER', 'HOME'] as const;

/**
 * libpq's defaults for URLs that leave parts out (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE,
 * USER), the certificate files it would use (PGSSLROOTCERT, PGSSLCERT, PGSSLKEY) and HOME, where it looks
 * for ~/.postgresql/root.crt.
 */
export type LibpqDefaults = Readonly<Partial<Record<(typeof LIBPQ_ENV_KEYS)[number], string>>>;

const EXPECTED = 'expected postgres://USER:PASSWORD@HOST:PORT/DATABASE';

/** True for hosts on this machine, where SSL is not expected. */
export function isLocalHost(host: string | undefined): boolean {
  return !host || host === 'localhost' || host === '127.0.0.1' || host === '::1' || host === '[::1]' || host.startsWith('/');
}

/** Parse a postgres:// or postgresql:// URL. Throws ConfigError with a hint for anything malformed. */
export function parseDatabaseUrl(input: string, what = 'database URL', libpq?: LibpqDefaults): DbUrl {
  const raw = (input ?? '').trim();
  if (!raw) throw new ConfigError(`the ${what} is empty`, { hint: EXPECTED });
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase();
  if (!scheme || !raw.includes('://')) {
    throw new ConfigError(`the ${what} is not a URL: ${describeUnparsable(raw)}`, { hint: EXPECTED });
  }
  if (scheme !== 'postgres' && scheme !== 'postgresql') {
    throw new ConfigError(`the ${what} has scheme "${scheme}:", not postgres:`, { hint: EXPECTED });
  }
  const { head, authority } = splitUrl(raw);
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const portText = (hostPort.startsWith('[') ? /^\[[^\]]*\]:(.*)$/ : /^[^:]*:(.*)$/).exec(hostPort)?.[1];
  const badPort = Boolean(portText && !(/^\d+$/.test(portText) && Number(portText) >= 1 && Number(portText) <= 65535));
  // An '@' after the authority, not inside a query value: the user info ended early, at a '/', '?' or '#'
  // in the password (libpq then reads the rest as host, port or path). Never echo any of it.
  const after = raw.slice(head.length + authority.length);
  const atAfter = after.indexOf('@');
  if (atAfter >= 0 && !/[=&]/.test(after.slice(0, atAfter)) && (!authority.includes('@') || badPort)) {
    throw new ConfigError(`the ${what} has a password with an unencoded special character (@, /, ? or #): it must be percent-encoded`, {
      hint: `${EXPECTED}, with the password percent-encoded: @ as %40, / as %2F, ? as %3F, # as %23 (encodeURIComponent does it)`,
    });
  }
  if (badPort && portText) {
    const shown = /^\d{1,10}$/.test(portText) ? ` "${portText}"` : '';
    throw new ConfigError(`the ${what} has an invalid port${shown}`, { hint: `${EXPECTED}, with PORT between 1 and 65535` });
  }
  // libpq accepts an empty host (postgres://user@/db?host=/var/run/postgresql, postgres://user@:5433/db);
  // WHATWG URL does not once there is a user or port, so parse with a placeholder and drop it again.
  const emptyHost = hostPort === '' || hostPort.startsWith(':');
  let url: URL;
  try {
    url = new URL(emptyHost ? withAuthority(raw, authority.slice(0, authority.length - hostPort.length) + EMPTY_HOST + hostPort) : raw);
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
  let host: string | undefined = url.hostname && !emptyHost ? decodeURIComponent(url.hostname) : undefined;
  if (params.host) {
    host = params.host;
    delete params.host;
  }
  if (host?.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (params.port !== undefined) {
    const fromParam = Number(params.port);
    if (!/^\d+$/.test(params.port) || fromParam < 1 || fromParam > 65535) {
      throw new ConfigError(`the ${what} has an invalid port parameter`, { hint: `${EXPECTED}, with PORT between 1 and 65535` });
    }
    port ??= fromParam;
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
    libpq,
  };
}

/** Stands in for an empty host while WHATWG URL parses (never a real name: .invalid is reserved). */
const EMPTY_HOST = 'drydock-empty-host.invalid';

/** scheme://authority, the path, and ?query#fragment of a URL-shaped string, without validating it. */
function splitUrl(raw: string): { head: string; authority: string; path: string; rest: string } {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(.*)$/is.exec(raw);
  return m ? { head: m[1]!, authority: m[2]!, path: m[3]!, rest: m[4]! } : { head: '', authority: '', path: raw, rest: '' };
}

function withAuthority(raw: string, authority: string): string {
  const parts = splitUrl(raw);
  return `${parts.head}${authority}${parts.path}${parts.rest}`;
}

/**
 * Show what could not be parsed without leaking a password that may be in it. Malformed input has no
 * reliable structure, so everything before the last '@' (after any scheme://) is masked.
 */
function describeUnparsable(raw: string): string {
  let shown = mask(raw);
  const scheme = shown.indexOf('://');
  const start = scheme >= 0 ? scheme + 3 : 0;
  const at = shown.lastIndexOf('@');
  if (at >= start) shown = `${shown.slice(0, start)}${MASK}${shown.slice(at)}`;
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}

/** The URL with its password replaced by the mask (works on malformed input too). */
export function redactUrl(raw: string): string {
  // By structure first: the password is between the first ':' of the user info and the last '@'
  // before the path (it may hold spaces or '@'). Then by pattern, for shapes that have no clear structure.
  const { head, authority, path, rest } = splitUrl(raw);
  const at = authority.lastIndexOf('@');
  const colon = authority.indexOf(':');
  if (head && at >= 0 && colon >= 0 && colon < at) {
    return `${head}${authority.slice(0, colon)}:${MASK}${authority.slice(at)}${path}${rest}`;
  }
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^/\s]*)(@)/i, (_m, head: string, _pw: string, at: string) => `${head}${MASK}${at}`);
}

/** The sslmode drydock uses: the URL's, else PGSSLMODE, else none for local hosts and `require` for remote ones (Heroku needs SSL). */
export function effectiveSslMode(url: DbUrl, env: LibpqDefaults = url.libpq ?? {}): SslMode {
  if (url.sslmode) return url.sslmode;
  const fromEnv = env.PGSSLMODE as SslMode | undefined;
  if (fromEnv && (SSL_MODES as readonly string[]).includes(fromEnv)) return fromEnv;
  return isLocalHost(url.host) ? 'disable' : 'require';
}

/**
 * The sslrootcert that keeps sslmode=require (and prefer, allow) from verifying anything: a path that
 * cannot exist, since nothing can be under /dev/null.
 *
 * libpq verifies the server's certificate under require whenever a root CA file exists: "if a root CA file
 * exists, the behavior of sslmode=require will be the same as that of verify-ca"
 * (https://www.postgresql.org/docs/current/libpq-ssl.html). Heroku's servers present certificates no CA a
 * user keeps vouches for, so a ~/.postgresql/root.crt kept for another server made every pg_dump and psql
 * run against Heroku fail with "certificate verify failed", while drydock's own connections (node-pg, which
 * never reads that file) worked. With a root CA file that is not there libpq encrypts without verifying,
 * as it does for everyone without a root.crt. `sslrootcert=system` is no way out: libpq 16+ refuses it
 * with any mode weaker than verify-full; and /dev/null itself exists, so libpq tries to load it and fails.
 */
export const NO_ROOT_CERT = '/dev/null/drydock-no-root-cert';

/** The certificate files a connection uses, as libpq picks them: the URL's parameters, then PG* variables. */
export interface SslFiles {
  /** Root CA file the user gave (or `system`); NO_ROOT_CERT when sslmode asks for encryption without verification. */
  rootCert: string | undefined;
  /** verify-ca and verify-full without a root CA file given: libpq's default, ~/.postgresql/root.crt (may not exist). */
  defaultRootCert: string | undefined;
  /** Client certificate and key (mutual TLS). */
  cert: string | undefined;
  key: string | undefined;
}

/** Which certificate files libpq tools and node-pg should use for `url` (pure). */
export function sslFiles(url: DbUrl, env: LibpqDefaults = url.libpq ?? {}): SslFiles {
  const mode = effectiveSslMode(url, env);
  const verifies = mode === 'verify-ca' || mode === 'verify-full';
  const rootCert = libpqRootCert(url, env, mode);
  return {
    rootCert,
    defaultRootCert: verifies && rootCert === undefined && env.HOME ? `${env.HOME.replace(/\/+$/, '')}/.postgresql/root.crt` : undefined,
    cert: url.params.sslcert ?? env.PGSSLCERT,
    key: url.params.sslkey ?? env.PGSSLKEY,
  };
}

/**
 * The sslrootcert libpq tools get: the one the user gave (the URL's, else PGSSLROOTCERT: it asks for
 * verification), else NO_ROOT_CERT when sslmode asks for encryption without verification (require,
 * prefer, allow), else none (disable; verify-* find ~/.postgresql/root.crt themselves).
 */
function libpqRootCert(url: DbUrl, env: LibpqDefaults, mode: SslMode): string | undefined {
  const given = url.params.sslrootcert ?? env.PGSSLROOTCERT;
  if (given !== undefined) return given;
  return mode === 'require' || mode === 'prefer' || mode === 'allow' ? NO_ROOT_CERT : undefined;
}

/** URL parameters libpq reads from PG* variables too: a child given only the variables still gets them. */
const PARAM_ENV: Readonly<Record<string, string>> = {
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
  sslcrldir: 'PGSSLCRLDIR',
  sslsni: 'PGSSLSNI',
  sslnegotiation: 'PGSSLNEGOTIATION',
  sslcompression: 'PGSSLCOMPRESSION',
  ssl_min_protocol_version: 'PGSSLMINPROTOCOLVERSION',
  ssl_max_protocol_version: 'PGSSLMAXPROTOCOLVERSION',
  channel_binding: 'PGCHANNELBINDING',
  gssencmode: 'PGGSSENCMODE',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
};

/** libpq environment variables for a child process (pg_dump, psql …): the password never goes in argv. */
export function toPgEnv(url: DbUrl, env: LibpqDefaults = url.libpq ?? {}): Record<string, string | undefined> {
  const sslmode = effectiveSslMode(url, env);
  const rootCert = libpqRootCert(url, env, sslmode);
  const fromParams = Object.fromEntries(
    Object.entries(PARAM_ENV)
      .filter(([param]) => url.params[param] !== undefined)
      .map(([param, variable]) => [variable, url.params[param]]),
  );
  return {
    PGHOST: url.host ?? env.PGHOST,
    PGPORT: url.port !== undefined ? String(url.port) : env.PGPORT,
    PGUSER: url.user ?? env.PGUSER,
    PGPASSWORD: url.password ?? (url.user ? undefined : env.PGPASSWORD),
    PGDATABASE: url.database ?? env.PGDATABASE,
    PGSSLMODE: sslmode,
    // Set only when there is one: an undefined here would remove the user's PGSSLROOTCERT from the child.
    ...(rootCert !== undefined ? { PGSSLROOTCERT: rootCert } : {}),
    ...fromParams,
    PGAPPNAME: 'drydock',
    // A URL in the environment would override nothing in libpq, but keep it out of children anyway.
    DATABASE_URL: undefined,
  };
}

/** The same server and credentials, another database. */
export function withDatabase(url: DbUrl, database: string): DbUrl {
  // Edit the text rather than round-trip through URL, which rejects libpq's empty-host form.
  const parts = splitUrl(url.href);
  return parseDatabaseUrl(`${parts.head}${parts.authority}/${encodeURIComponent(database)}${parts.rest}`, undefined, url.libpq);
}

/** A short label for messages: user@host:port/db, no password. */
export function describeDb(url: DbUrl): string {
  const host = url.host ?? 'local socket';
  const port = url.port ? `:${url.port}` : '';
  const user = url.user ? `${url.user}@` : '';
  return `${user}${host}${port}/${url.database ?? '(default database)'}`;
}
