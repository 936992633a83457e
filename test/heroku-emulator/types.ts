/**
 * The public shapes of the Heroku emulator. Other code (tests, the demo) depends on these names:
 * extend them, don't rename them.
 */
import type { EmulatedTls } from './tls-databases.js';

export type { EmulatedTls };

/** One emulated Heroku app. Its database is a real Postgres database named by `databaseUrl`. */
export interface EmulatedAppSpec {
  /** Heroku app name: lowercase letters, digits and dashes, starting with a letter. */
  name: string;
  /**
   * The backing database of a heroku-postgresql add-on billed to this app and attached as DATABASE
   * (config var DATABASE_URL).
   */
  databaseUrl?: string;
  /**
   * Also attach that add-on under its colour, HEROKU_POSTGRESQL_<colour> (e.g. COBALT), as Heroku does
   * when it provisions a database: that config var comes first, and transfers name the database by it.
   */
  colour?: string;
  /** Extra config vars (DATABASE_URL here counts as `databaseUrl` when that is not given). */
  configVars?: Record<string, string>;
  /** The add-on plan, 'heroku-postgresql:essential-0' or just 'essential-0' (default 'heroku-postgresql:standard-0'): plans.ts. */
  plan?: string;
  /** Process types and their quantities (default {web: 1}). */
  formation?: Record<string, number>;
}

/** Attach a database to an app (Emulator.attach). */
export interface AttachSpec {
  /** The app that gets the attachment. */
  app: string;
  /** Attachment name: DATABASE, or a colour such as HEROKU_POSTGRESQL_AMBER; owns the config var `<name>_URL`. */
  name: string;
  /** A new database (add-on) backed by this URL. Give either `url` or `from`. */
  url?: string;
  /**
   * Share the database behind another attachment instead: "APP" (its DATABASE) or "APP:NAME". It stays
   * billed to its owner, so its backups are the owner's transfers.
   */
  from?: string;
  /**
   * For a new add-on: the app that owns and pays for it (default `app`). Its backups are that app's
   * transfers; it gets its own colour attachment too.
   */
  billingApp?: string;
}

/**
 * Heroku's API rate limit (Emulator.setRateLimit): a budget of requests per account, refilled
 * continuously; a request with nothing left gets 429 {"id":"rate_limit"}. Real Heroku: 4,500, about 75
 * a minute.
 */
export interface RateLimitSpec {
  /** Requests available now (and at most). */
  budget: number;
  /** Requests added back per minute. */
  refillPerMinute: number;
  /** Only requests whose path matches count and can be refused (default: every authenticated request). */
  path?: RegExp;
}

/** A canned failure or delay for requests that match `method` and `path`. */
export interface FaultSpec {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Exact pathname (query excluded), or a RegExp tested against the pathname. */
  path: string | RegExp;
  /** Answer with this status instead of the real handler (with `body`, default an error JSON). */
  status?: number;
  /** Response body for `status` (JSON-encoded). */
  body?: unknown;
  /** Wait this long before answering (then fail with `status`, or answer normally). */
  delayMs?: number;
  /** How many matching requests this applies to (default: forever). */
  times?: number;
}

/** One request the emulator answered. */
export interface LoggedRequest {
  method: string;
  /** Pathname without the query string. */
  path: string;
  status: number;
}

/** A release as the test sets it up. */
export interface ReleaseSpec {
  description?: string;
  status?: 'succeeded' | 'pending' | 'failed';
  /** Release-phase output; when given (or the release is pending) the release gets an output stream URL. */
  output?: string;
}

/**
 * How an app's transfers behave (Emulator.setTransferBehavior):
 * - ok: runs for real and is finished before the POST is answered (the CLI's first poll sees it done);
 * - fail: finishes at once with succeeded:false and logs that explain; a failed restore never
 *   touches the database;
 * - pending: never starts (started_at stays null; the CLI polls forever);
 * - slow: runs for real but reports "running" with growing processed_bytes for `delayMs`;
 * - hold: runs for real but reports "running" until Emulator.releaseTransfers (then finishes as ok);
 * - noop (restore only): reports a normal success without restoring anything.
 */
export type TransferMode = 'ok' | 'fail' | 'pending' | 'slow' | 'hold';

/** Per-app transfer behaviour; unset fields keep their current value (default ok, ok, 5000 ms). */
export interface TransferBehavior {
  capture?: TransferMode;
  restore?: TransferMode | 'noop';
  /** How long a 'slow' transfer reports running. */
  delayMs?: number;
}

/**
 * A fault of the HTTPS backup download (Emulator.setDownloadFault), for `times` GETs (default: until cleared):
 * - truncate: the full Content-Length, then the socket closes after about half the bytes;
 * - corrupt: the full length with some bytes flipped, under the original ETag;
 * - status: this HTTP status with an S3-style XML error body.
 */
export interface DownloadFault {
  kind: 'truncate' | 'corrupt' | 'status';
  /** For kind 'status' (default 500). */
  status?: number;
  times?: number;
}

/** What download ETags look like (Emulator.setEtagStyle). */
export type EtagStyle = 'multipart' | 'opaque' | 'md5';

/** A backup in the emulator's file store (Emulator.backups, Emulator.addBackup). */
export interface EmulatedBackup {
  /** The CLI's name: 'b001' ('a001' for scheduled ones). */
  id: string;
  num: number;
  uuid: string;
  /** Path of the stored dump; '' when the backup failed or never ran. */
  file: string;
  /** md5 hex of the dump; '' without a file. */
  md5: string;
  /**
   * The download's ETag without quotes: S3's multipart form `<hex>-<parts>` (what real backups, uploaded
   * in parts, have; not an MD5 of the file), or what Emulator.setEtagStyle chose; '' without a file.
   */
  etag: string;
  /** The database it is a backup of, as transfers name it: the colour (COBALT), else DATABASE. */
  database: string;
  /** Bytes of the dump; 0 without a file. */
  size: number;
  succeeded: boolean;
  /** ISO 8601. */
  createdAt: string;
  /** A signed public HTTPS URL, valid for the public URL lifetime from now (what `heroku pg:backups:url` prints); '' without a file. */
  url: string;
}

/** Options of Emulator.addBackup. */
export interface AddBackupOptions {
  /** Dump this database instead of the app's DATABASE_URL. */
  fromDatabaseUrl?: string;
  /**
   * Back up the app's attachment of this name (HEROKU_POSTGRESQL_AMBER, DATABASE_URL): the backup is a
   * transfer of that add-on's billing app, named after it. Default DATABASE.
   */
  database?: string;
  /** Backdate created_at, started_at and finished_at by this much. */
  ageMs?: number;
}

/** What `Emulator.app(name)` returns: a snapshot of the state tests assert on. */
export interface AppSnapshot {
  maintenance: boolean;
  formation: Record<string, number>;
  configVars: Record<string, string>;
}

/** A running emulator. */
export interface Emulator {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The only accepted bearer token; anything else gets 401. */
  apiKey: string;
  /** Everything the real heroku CLI needs to talk to this emulator (sandboxed HOME included). */
  env: Record<string, string>;
  addApp(spec: EmulatedAppSpec): void;
  removeApp(name: string): void;
  /** Attach a database (a new add-on, or another app's to share) to an app. */
  attach(spec: AttachSpec): void;
  /** Remove an app's attachment (the add-on goes when it has none left). */
  detach(app: string, name: string): void;
  /** Set (or with null, remove) a config var directly, without creating a release. */
  setConfigVar(app: string, key: string, value: string | null): void;
  /** Append a release; returns its version. */
  addRelease(app: string, release: ReleaseSpec): number;
  /** A snapshot of an app's state, for assertions. */
  app(name: string): AppSnapshot;
  injectFault(fault: FaultSpec): void;
  clearFaults(): void;
  /** Every request answered so far, oldest first. */
  requests: LoggedRequest[];
  /**
   * Awaited before each API request is handled (null: none): a test makes something happen at an exact
   * moment, e.g. a backup that finishes while a URL is being asked for.
   */
  setRequestHook(hook: ((method: string, path: string) => Promise<void>) | null): void;
  /** https://127.0.0.1:PORT: where backup downloads (public URLs) are served. */
  publicUrl: string;
  /** The self-signed certificate of `publicUrl` (also NODE_EXTRA_CA_CERTS in `env`). */
  caCertPath: string;
  /**
   * Change how an app's captures and restores behave (fields not given are kept). Transfers belong to
   * the billing app of the database: a shared database's behaviour is set on the app that owns it.
   */
  setTransferBehavior(app: string, behavior: TransferBehavior): void;
  /** Let an app's transfers in mode 'hold' finish: as they would have (default), or failing at the end ('fail'). */
  releaseTransfers(app: string, outcome?: 'ok' | 'fail'): void;
  /** Turn Heroku's API rate limit on (null: off, the default). */
  setRateLimit(limit: RateLimitSpec | null): void;
  /** How long public (download) URLs stay valid; an expired one gets S3's 403 "Request has expired". Default 1 h. */
  setPublicUrlTtl(ms: number): void;
  /**
   * The ETag downloads carry: 'multipart' (default, `<hex>-<parts>` as real backups have), 'opaque' (32
   * hex digits that are not the file's MD5, as an encrypted single-part object has) or 'md5'.
   */
  setEtagStyle(style: EtagStyle): void;
  /** Make backup downloads misbehave (null clears). */
  setDownloadFault(fault: DownloadFault | null): void;
  /** The app's backups (captures), oldest first, with their stored files. */
  backups(app: string): EmulatedBackup[];
  /** Create a completed backup directly with a real pg_dump (optionally backdated). */
  addBackup(app: string, options?: AddBackupOptions): Promise<EmulatedBackup>;
  /** The TLS front end of the app databases (the `tls` option), else undefined. */
  tls: EmulatedTls | undefined;
  /** Answer every request about `app` with 403 forbidden ("You do not have access to the app"). */
  denyAccess(app: string): void;
  allowAccess(app: string): void;
  /** Close the servers, stop running transfers and remove the sandboxed HOME and the backup store. */
  stop(): Promise<void>;
}

/** Options of `startEmulator`. */
export interface EmulatorOptions {
  /** Port on 127.0.0.1 (default 0: a random free port). */
  port?: number;
  /** The accepted API key (default 'drydock-emulator-key'). */
  apiKey?: string;
  /** Apps to create at start. */
  apps?: EmulatedAppSpec[];
  /** Attachments to make at start, after the apps. */
  attachments?: AttachSpec[];
  /**
   * Publish every app database over TLS under a host name that is not localhost (tls-databases.ts):
   * config vars then hold that URL, and connections without SSL are refused, as on Heroku. `host`
   * must resolve to a loopback address (default: this machine's name when it does, else 127.0.0.2).
   */
  tls?: boolean | { host?: string };
  /** Apps whose every request is answered 403 forbidden. */
  deny?: string[];
}
