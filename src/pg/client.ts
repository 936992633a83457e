/**
 * Connections on `pg`, always scoped: withClient opens, runs, and closes in `finally`.
 * Connection failures become ConnectionError with a hint; passwords never reach a message.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

import type pg from 'pg';

import { ConnectionError, DrydockError } from '../errors.js';
import { mask } from '../redact.js';
import { describeDb, effectiveSslMode, NO_ROOT_CERT, sslFiles, type DbUrl, type SslFiles } from './url.js';

/** How to connect. */
export interface ConnectOptions {
  /** Give up on one attempt after this long (default 10 s). */
  connectTimeoutMs?: number;
  /** Keep retrying transient failures (refused, starting up) for this long (default 0: one attempt). */
  retryForMs?: number;
  /** application_name seen in pg_stat_activity. */
  applicationName?: string;
  /** Session settings sent at connection start (the startup packet's `options`, as `-c name=value`). */
  settings?: Readonly<Record<string, string>>;
}

/**
 * The `ssl` option for pg from a libpq sslmode and the certificate files libpq would use (url.ts
 * `sslFiles`). Heroku needs SSL without certificate verification: prefer and require encrypt and verify
 * nothing, as libpq does once drydock keeps ~/.postgresql/root.crt out of it. verify-ca and verify-full
 * check the chain against the given root CA file (Node's own CAs for `system` or without one); only
 * verify-full checks the host name. A client certificate and key are sent when given.
 */
export function sslOption(mode: string, files: Partial<SslFiles> = {}): pg.ClientConfig['ssl'] {
  if (mode === 'disable' || mode === 'allow') return false;
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ConnectionError(`could not read the SSL ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
        hint: `check the path (sslrootcert, sslcert and sslkey in the URL, or PGSSLROOTCERT, PGSSLCERT and PGSSLKEY)`,
        cause: error,
      });
    }
  };
  const ssl: ConnectionOptions = {};
  if (files.cert) ssl.cert = read(files.cert, 'client certificate');
  if (files.key) ssl.key = read(files.key, 'client key');
  if (mode !== 'verify-ca' && mode !== 'verify-full') return { ...ssl, rejectUnauthorized: false };
  ssl.rejectUnauthorized = true;
  // A file the user named must be there; libpq's default root.crt may not be (Node's CAs then).
  const root = files.rootCert ?? (files.defaultRootCert && existsSync(files.defaultRootCert) ? files.defaultRootCert : undefined);
  if (root && root !== 'system' && root !== NO_ROOT_CERT) ssl.ca = read(root, 'root certificate');
  if (mode === 'verify-ca') ssl.checkServerIdentity = () => undefined;
  return ssl;
}

function clientConfig(url: DbUrl, sslmode: string, options: ConnectOptions): pg.ClientConfig {
  // The URL carries libpq's PG* defaults from settings for the parts it leaves out.
  const env = url.libpq ?? {};
  return {
    host: url.host ?? env.PGHOST ?? 'localhost',
    port: url.port ?? (env.PGPORT ? Number(env.PGPORT) : 5432),
    user: url.user ?? env.PGUSER ?? env.USER ?? 'postgres',
    password: url.password ?? (url.user ? undefined : env.PGPASSWORD),
    database: url.database ?? env.PGDATABASE ?? url.user ?? env.PGUSER ?? env.USER ?? 'postgres',
    ssl: sslOption(sslmode, sslFiles(url)),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: options.applicationName ?? 'drydock',
    ...startupOptionsFor(url, options.settings),
  };
}

/**
 * The startup packet's `options`: the URL's own `options` parameter (`-c search_path=app`, as pg_dump
 * and psql honour it), then drydock's settings, which win where both set the same name.
 */
function startupOptionsFor(url: DbUrl, settings: ConnectOptions['settings']): { options?: string } {
  const parts = [url.params.options?.trim(), settings ? startupOptions(settings) : undefined].filter((p): p is string => Boolean(p));
  return parts.length ? { options: parts.join(' ') } : {};
}

/** `-c name=value …` for the startup packet; spaces and backslashes in values are backslash-escaped, as libpq's PGOPTIONS wants. */
export function startupOptions(settings: Readonly<Record<string, string>>): string {
  return Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value.replace(/[\\ ]/g, (c) => `\\${c}`)}`)
    .join(' ');
}

const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', '57P03' /* cannot_connect_now: starting up */, 'ETIMEDOUT']);

/** Open a connected client. Prefer `withClient`, which always closes it. */
export async function connect(url: DbUrl, options: ConnectOptions = {}): Promise<pg.Client> {
  const sslmode = effectiveSslMode(url);
  const deadline = Date.now() + (options.retryForMs ?? 0);
  let delay = 250;
  for (;;) {
    try {
      return await connectOnce(url, sslmode, options);
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (TRANSIENT.has(code) && Date.now() + delay < deadline) {
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
        continue;
      }
      throw connectionError(url, error);
    }
  }
}

async function connectOnce(url: DbUrl, sslmode: string, options: ConnectOptions): Promise<pg.Client> {
  const attempt = async (mode: string): Promise<pg.Client> => {
    // Imported on first connection: commands that never connect (lint without --url) do not load pg.
    const { default: driver } = await import('pg');
    const client = new driver.Client(clientConfig(url, mode, options));
    client.on('error', () => {
      /* a dropped idle connection must not crash the process; the next query reports it */
    });
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  };
  if (sslmode !== 'prefer') return attempt(sslmode);
  // libpq's prefer: try SSL, fall back to a plain connection when the server has no SSL.
  try {
    return await attempt('require');
  } catch (error) {
    if (/does not support SSL/i.test(String((error as Error).message))) return attempt('disable');
    throw error;
  }
}

/** Turn a pg/network error into a one-line ConnectionError with a hint. */
export function connectionError(url: DbUrl, error: unknown): DrydockError {
  if (error instanceof DrydockError) return error;
  const err = error as { code?: string; message?: string };
  const where = describeDb(url);
  const msg = mask(String(err.message ?? error));
  switch (err.code) {
    case 'ECONNREFUSED':
      return new ConnectionError(`could not connect to ${where}: connection refused`, {
        hint: 'is PostgreSQL running and listening on that host and port?',
        cause: error,
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConnectionError(`could not connect to ${where}: host "${url.host}" not found`, {
        hint: 'check the host name in the URL',
        cause: error,
      });
    case 'ETIMEDOUT':
      return new ConnectionError(`could not connect to ${where}: timed out`, {
        hint: 'check the network path to the server (firewall, VPN) and that it is up',
        cause: error,
      });
    case '3D000':
      return new ConnectionError(`database "${url.database}" does not exist on ${url.host ?? 'the local server'}`, {
        hint: 'create it first, or check the database name in the URL',
        cause: error,
      });
    case '28P01':
    case '28000':
      return new ConnectionError(`authentication failed for ${where}`, {
        hint: 'check the user and password (credentials may have been rotated: fetch the URL again)',
        cause: error,
      });
    case '57P03':
      return new ConnectionError(`${where} is starting up and not accepting connections yet`, {
        hint: 'wait a moment and try again',
        cause: error,
      });
    default:
      if (/timeout/i.test(msg)) {
        return new ConnectionError(`could not connect to ${where}: timed out`, {
          hint: 'check the network path to the server and that it is up',
          cause: error,
        });
      }
      if (/certificate|self[- ]signed|CERT_|unable to verify|hostname\/IP does not match/i.test(msg) || /CERT|SELF_SIGNED/.test(err.code ?? '')) {
        return new ConnectionError(`could not connect to ${where}: the server's certificate did not verify (${msg})`, {
          hint: 'with sslmode=verify-ca or verify-full, sslrootcert (or PGSSLROOTCERT) must name the CA that signed it; Heroku Postgres needs sslmode=require (encrypted, not verified)',
          cause: error,
        });
      }
      if (/does not support SSL/i.test(msg)) {
        return new ConnectionError(`could not connect to ${where}: the server does not support SSL`, {
          hint: 'add ?sslmode=disable to the URL (or set PGSSLMODE=disable) for a server without SSL',
          cause: error,
        });
      }
      return new ConnectionError(`could not connect to ${where}: ${msg}`, {
        hint: 'check the URL and that the server accepts connections from this machine',
        cause: error,
      });
  }
}

/** Run `fn` with a connected client and always close it. */
export async function withClient<T>(url: DbUrl, fn: (client: pg.Client) => Promise<T>, options: ConnectOptions = {}): Promise<T> {
  const client = await connect(url, options);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Options of `withTransaction`. */
export interface TransactionOptions {
  /**
   * The statement that opens the transaction (default BEGIN): for example
   * `BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY`, or `BEGIN; SET LOCAL lock_timeout = 5000` to set
   * the transaction's settings in the same round trip (the simple protocol runs them in order).
   */
  begin?: string;
}

/** Run `fn` inside BEGIN … COMMIT, rolling back on any error (a failed ROLLBACK is ignored: the session is gone). */
export async function withTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  await client.query(options.begin ?? 'BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Until the returned function is called, cancel `client`'s running statement when `signal` aborts
 * (Ctrl-C, SIGTERM): pg_cancel_backend from a second connection to `url`, so the server stops the
 * statement and the caller's ROLLBACK, DROP or unlock run on the same session. A client busy on the
 * server would otherwise keep its statement, locks and transaction running after drydock exits.
 * The returned function stops listening and waits for a cancel already sent, so clean-up statements
 * that follow it cannot be cancelled by mistake.
 */
export function cancelOnAbort(url: DbUrl, client: pg.Client, signal: AbortSignal | undefined, options: ConnectOptions = {}): () => Promise<void> {
  if (!signal) return () => Promise.resolve();
  const pid = (client as unknown as { processID?: number }).processID;
  let sent: Promise<unknown> = Promise.resolve();
  const onAbort = (): void => {
    if (!pid) return;
    sent = withClient(url, (admin) => admin.query('SELECT pg_cancel_backend($1)', [pid]), { applicationName: 'drydock cancel', ...options }).catch(() => undefined);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return async () => {
    signal.removeEventListener('abort', onAbort);
    await sent;
  };
}

/**
 * Whether this client's session is encrypted: its socket is a TLS socket (node-postgres replaces the
 * plain one after the server accepted SSLRequest). What the client sees is what matters: a TLS front
 * end may talk to the server in the clear on its side, where pg_stat_ssl would say false.
 */
export function isEncrypted(client: pg.ClientBase): boolean {
  const stream = (client as unknown as { connection?: { stream?: { encrypted?: boolean } } }).connection?.stream;
  return stream?.encrypted === true;
}
