/**
 * Whole-database operations on the local server: scratch databases, the atomic swap, templates
 * (snapshots) and the clean-up of what an interrupted pull left behind.
 *
 * Every database drydock creates carries a COMMENT with JSON metadata ({"drydock": kind, target, pid, …}),
 * so leftovers can be recognised without guessing from names, and nothing else is ever touched.
 */
import { randomBytes } from 'node:crypto';

import type pg from 'pg';

import { DrydockError } from '../errors.js';
import { withClient, withTransaction } from '../pg/client.js';
import { readDatabaseSettingsOf, type DatabaseLocale } from '../pg/queries/server-facts.js';
import { openConnections, snapshotTakerName } from './background-snapshot.js';
import { applyDatabaseSettings } from './database-settings.js';
import { quoteIdent, quoteLiteral } from '../pg/ident.js';
import { withDatabase, type DbUrl } from '../pg/url.js';

/** What a drydock-made database is for. */
export type DrydockDbKind = 'scratch' | 'previous' | 'snapshot' | 'spare';

/** Metadata stored in COMMENT ON DATABASE. */
export interface DrydockDbMeta {
  drydock: DrydockDbKind;
  /** The working database this belongs to. */
  target: string;
  /** Process that created it (scratch/previous): a live pid means "in use". */
  pid?: number | undefined;
  host?: string | undefined;
  createdAt: string;
  /** Snapshots: the user-facing name ("pristine" for the one pull keeps). */
  name?: string | undefined;
  /** Where the data came from: "live myapp", "backup myapp b012", "url …". */
  source?: string | undefined;
  /** Spares: the snapshot database this is an untouched copy of. */
  snapshotDb?: string | undefined;
  /** Snapshots a pull kept: its --exclude-table-data patterns (those tables hold no rows). */
  excludeTableData?: string[] | undefined;
}

/** A client session connected to a database (pg_stat_activity). */
export interface DbSession {
  pid: number;
  user: string | undefined;
  applicationName: string | undefined;
  /** The client's address; undefined for a Unix-socket connection. */
  clientAddress: string | undefined;
  /** active, idle, idle in transaction… */
  state: string | undefined;
  /** When the session connected (ISO 8601). */
  since: string | undefined;
  /** How long ago that was, by the server's clock. */
  seconds: number | undefined;
}

/** The other client sessions on database $1, oldest first. */
const SESSIONS_ON = `
  SELECT pid, usename AS user, application_name AS application, host(client_addr) AS client, state,
    backend_start AS since, floor(extract(epoch FROM now() - backend_start))::bigint AS seconds
  FROM pg_catalog.pg_stat_activity
  WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
  ORDER BY backend_start, pid`;

/** One line per session, for the messages that name the sessions about to be ended. Pure. */
export function describeSession(x: DbSession): string {
  const age = x.seconds === undefined ? '' : `, connected ${formatAgo(x.seconds)} ago`;
  return `pid ${x.pid} ${x.user ?? '?'}${x.applicationName ? ` (${x.applicationName})` : ''} from ${x.clientAddress ?? 'a local socket'}, ${x.state ?? 'state unknown'}${age}${x.since ? ` (since ${x.since})` : ''}`;
}

/** The warning before ending `sessions` on `database`: what, why, and each session on its own line. Pure. */
export function endingSessionsMessage(database: string, sessions: readonly DbSession[], why: string): string {
  return [`ending ${sessions.length} session(s) connected to ${database} ${why}:`, ...sessions.map((x) => `  ${describeSession(x)}`)].join('\n');
}

function formatAgo(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}

/** A drydock-made database found on the server. */
export interface DrydockDb {
  datname: string;
  meta: DrydockDbMeta;
  sizeBytes: number;
  isTemplate: boolean;
}

/** Parse a database comment; undefined unless it is drydock's JSON. */
export function parseMeta(comment: string | null | undefined): DrydockDbMeta | undefined {
  if (!comment || !comment.startsWith('{')) return undefined;
  try {
    const meta = JSON.parse(comment) as DrydockDbMeta;
    return meta && typeof meta.drydock === 'string' && typeof meta.target === 'string' ? meta : undefined;
  } catch {
    return undefined;
  }
}

const NAME_PREFIX: Record<DrydockDbKind, string> = { snapshot: 'drydock_snap', previous: 'drydock_prev', scratch: 'drydock_pull', spare: 'drydock_spare' };

/**
 * A fresh name for a database drydock makes (short: names are limited to 63 bytes):
 * `<prefix>_<pid>_<hex>`. The creating process's pid is in the name because CREATE DATABASE cannot run
 * in a transaction with its COMMENT: a copy killed between the two is untagged, and the next clean-up
 * recognises it by name and dead pid (`parseDrydockDbName`).
 */
export function drydockDbName(kind: DrydockDbKind, pid = process.pid): string {
  return `${NAME_PREFIX[kind]}_${pid}_${randomBytes(5).toString('hex')}`;
}

/** The kind and creating pid of a name `drydockDbName` made; undefined for any other name. */
export function parseDrydockDbName(name: string): { kind: DrydockDbKind; pid: number } | undefined {
  const m = /^(drydock_(?:snap|prev|pull|spare))_(\d+)_[0-9a-f]{10}$/.exec(name);
  if (!m) return undefined;
  const kind = (Object.keys(NAME_PREFIX) as DrydockDbKind[]).find((k) => NAME_PREFIX[k] === m[1]);
  return kind ? { kind, pid: Number(m[2]) } : undefined;
}

/** The target `backups verify` tags its scratch database with (never a real database name: it has a dash). */
export function verifyTarget(app: string): string {
  return `verify-${app}`;
}

/** The maintenance URL of the local server (database `postgres`). */
export function adminUrl(local: DbUrl): DbUrl {
  return withDatabase(local, 'postgres');
}

/** Whether process `pid` runs on this host (EPERM: it does, as another user). */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Local-server operations, all through one admin connection. */
export class LocalServer {
  constructor(readonly admin: pg.Client) {}

  /** Open an admin connection to the local server and run `fn`. */
  static async with<T>(local: DbUrl, fn: (server: LocalServer) => Promise<T>, applicationName = 'drydock pull'): Promise<T> {
    return withClient(adminUrl(local), (client) => fn(new LocalServer(client)), { applicationName });
  }

  async exists(name: string): Promise<boolean> {
    const { rows } = await this.admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rows.length > 0;
  }

  /** Every database drydock made on this server. */
  async drydockDatabases(): Promise<DrydockDb[]> {
    const { rows } = await this.admin.query<{ datname: string; comment: string | null; size: string; datistemplate: boolean }>(
      `SELECT d.datname, shobj_description(d.oid, 'pg_database') AS comment, pg_database_size(d.oid) AS size, d.datistemplate
       FROM pg_database d WHERE d.datname LIKE 'drydock\\_%' ORDER BY d.datname`,
    );
    return rows.flatMap((r) => {
      const meta = parseMeta(r.comment);
      return meta ? [{ datname: r.datname, meta, sizeBytes: Number(r.size), isTemplate: r.datistemplate }] : [];
    });
  }

  /** Create an empty database tagged with metadata. */
  async create(name: string, meta: DrydockDbMeta, options: { template?: string; fileCopy?: boolean; locale?: DatabaseLocale | undefined } = {}): Promise<void> {
    const template = (options.template ? ` TEMPLATE ${quoteIdent(options.template)}` : ' TEMPLATE template0') + localeClause(options.locale);
    // FILE_COPY copies the files after a checkpoint: much faster than WAL_LOG for a big template (PG15+).
    const strategy = options.template && options.fileCopy !== false && (await this.serverMajor()) >= 15 ? ' STRATEGY FILE_COPY' : '';
    await this.admin.query(`CREATE DATABASE ${quoteIdent(name)}${template}${strategy}`);
    await this.setMeta(name, meta);
    // A template copy does not carry the template's database-level settings (production's, on a pulled copy).
    if (options.template) await applyDatabaseSettings(this.admin, name, await readDatabaseSettingsOf(this.admin, options.template));
  }

  /**
   * Create an empty database with production's encoding and locale when this server has that locale, else
   * with the server's default. Says which, and why not.
   */
  async createWithLocale(name: string, meta: DrydockDbMeta, locale: DatabaseLocale | undefined): Promise<{ matched: boolean; reason?: string }> {
    if (!locale) {
      await this.create(name, meta);
      return { matched: false, reason: "production's locale is not known" };
    }
    try {
      await this.create(name, meta, { locale });
      return { matched: true };
    } catch (error) {
      // 22023: invalid_parameter_value (a locale this machine lacks, or one the encoding does not fit).
      if ((error as { code?: string }).code !== '22023') throw error;
      await this.drop(name).catch(() => undefined);
      await this.create(name, meta);
      return { matched: false, reason: (error as Error).message };
    }
  }

  async setMeta(name: string, meta: DrydockDbMeta): Promise<void> {
    await this.admin.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(JSON.stringify(meta))}`);
  }

  /** Drop a database, first making sure no session or template flag keeps it alive. */
  async drop(name: string): Promise<void> {
    // A DROP DATABASE that was interrupted leaves the database "invalid" (datconnlimit -2, PostgreSQL
    // 15.4+): ALTER DATABASE on it is a FATAL error that ends this session, and DROP is all it allows.
    const { rows } = await this.admin.query<{ invalid: boolean }>(
      'SELECT datconnlimit = -2 AS invalid FROM pg_catalog.pg_database WHERE datname = $1',
      [name],
    );
    if (!rows[0]) return;
    if (!rows[0].invalid) await this.admin.query(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE false ALLOW_CONNECTIONS true`).catch(() => undefined);
    await this.admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  }

  /** The other client sessions connected to a database (what a swap or a snapshot of it would end). */
  async sessionsOn(name: string): Promise<DbSession[]> {
    const { rows } = await this.admin.query<{ pid: number; user: string | null; application: string | null; client: string | null; state: string | null; since: Date | null; seconds: string | null }>(SESSIONS_ON, [name]);
    return rows.map((r) => ({
      pid: r.pid,
      user: r.user ?? undefined,
      applicationName: r.application || undefined,
      clientAddress: r.client ?? undefined,
      state: r.state ?? undefined,
      since: r.since ? r.since.toISOString() : undefined,
      seconds: r.seconds === null ? undefined : Number(r.seconds),
    }));
  }

  /**
   * End every other session on a database (a swap or template copy needs it alone). The client sessions
   * are handed to `announce` before they are ended, and only those are ended (with the server's own
   * workers there, such as autovacuum): one that connects meanwhile is left for the next attempt, so every
   * session ended was named first. Returns the client sessions ended.
   */
  async terminateConnections(name: string, announce?: (sessions: DbSession[]) => void): Promise<DbSession[]> {
    const sessions = await this.sessionsOn(name);
    if (sessions.length) announce?.(sessions);
    await this.admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = $1 AND pid <> pg_backend_pid() AND (pid = ANY($2::int[]) OR backend_type IS DISTINCT FROM 'client backend')`,
      [name, sessions.map((x) => x.pid)],
    );
    return sessions;
  }

  /** Make a database a protected template (no connections: CREATE DATABASE … TEMPLATE needs it idle). */
  async makeTemplate(name: string): Promise<void> {
    await this.admin.query(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
  }

  /**
   * Put `replacement` in place of `target` in one transaction: both renames commit together or not at all,
   * so the working database is never missing. `alsoInTransaction` runs in the same transaction (catalog
   * changes that must commit with the swap, or not at all). Returns the name the previous copy now has (or undefined).
   */
  async swapIn(
    target: string,
    replacement: string,
    previousMeta: Omit<DrydockDbMeta, 'drydock' | 'target'>,
    alsoInTransaction?: () => Promise<void>,
    onEndingSessions?: (sessions: DbSession[]) => void,
  ): Promise<string | undefined> {
    const hadTarget = await this.exists(target);
    const previous = hadTarget ? drydockDbName('previous') : undefined;
    // Each session is named once, before it is ended (a retry names only the ones that came since).
    const named = new Set<number>();
    const announce = (sessions: DbSession[]): void => {
      const fresh = sessions.filter((x) => !named.has(x.pid));
      for (const x of fresh) named.add(x.pid);
      if (fresh.length) onEndingSessions?.(fresh);
    };
    for (let attempt = 1; ; attempt++) {
      await this.terminateConnections(target, announce);
      await this.terminateConnections(replacement);
      try {
        await withTransaction(this.admin, async () => {
          if (previous) {
            await this.admin.query(`ALTER DATABASE ${quoteIdent(target)} RENAME TO ${quoteIdent(previous)}`);
            await this.admin.query(`COMMENT ON DATABASE ${quoteIdent(previous)} IS ${quoteLiteral(JSON.stringify({ drydock: 'previous', target, ...previousMeta }))}`);
          }
          await this.admin.query(`ALTER DATABASE ${quoteIdent(replacement)} RENAME TO ${quoteIdent(target)}`);
          await this.admin.query(`COMMENT ON DATABASE ${quoteIdent(target)} IS NULL`);
          // A spare is kept closed to connections so nothing touches it before it is used.
          await this.admin.query(`ALTER DATABASE ${quoteIdent(target)} WITH ALLOW_CONNECTIONS true`);
          await alsoInTransaction?.();
        });
        return previous;
      } catch (error) {
        // 55006: object_in_use: a client reconnected between terminate and rename.
        if ((error as { code?: string }).code === '55006' && attempt < 5) {
          await new Promise((r) => setTimeout(r, 200 * attempt));
          continue;
        }
        throw new DrydockError(`could not swap the new copy into ${target}: ${(error as Error).message}`, {
          hint: `close applications connected to ${target} and run again; the previous ${target} is untouched`,
          cause: error,
        });
      }
    }
  }

  /**
   * Remove what killed runs left whatever their target: `backups verify` scratch databases of a process
   * that is gone, and copies killed between CREATE DATABASE and their COMMENT (untagged, recognised by
   * name and dead pid). Returns the names dropped.
   */
  async cleanupOrphans(): Promise<string[]> {
    const dropped: string[] = [];
    const { rows } = await this.admin.query<{ datname: string; comment: string | null }>(
      `SELECT d.datname, shobj_description(d.oid, 'pg_database') AS comment FROM pg_database d WHERE d.datname LIKE 'drydock\\_%' ORDER BY d.datname`,
    );
    for (const row of rows) {
      const meta = parseMeta(row.comment);
      const named = parseDrydockDbName(row.datname);
      const verifyScratch = meta?.drydock === 'scratch' && meta.target.startsWith('verify-') && !isAlive(meta.pid);
      const untagged = !meta && named !== undefined && named.pid !== process.pid && !isAlive(named.pid);
      if (!verifyScratch && !untagged) continue;
      await this.drop(row.datname);
      dropped.push(row.datname);
    }
    return dropped;
  }

  /**
   * Remove what interrupted runs left for `target`: scratch copies and previous copies whose process is
   * gone (and the orphans of any target, `cleanupOrphans`). Returns the names dropped. A previous copy
   * is only ever dropped when `target` exists (a swap commits both renames at once, so the working
   * database cannot be missing because of drydock).
   */
  async cleanupLeftovers(target: string): Promise<string[]> {
    const dropped: string[] = await this.cleanupOrphans();
    const targetExists = await this.exists(target);
    if (targetExists) await this.reopenIfStranded(target);
    const all = await this.drydockDatabases();
    const snapshotDbs = new Set(all.filter((d) => d.meta.drydock === 'snapshot').map((d) => d.datname));
    for (const db of all) {
      if (db.meta.target !== target || db.meta.drydock === 'snapshot') continue;
      // A spare stays while its snapshot exists (and no process is still making it).
      if (db.meta.drydock === 'spare' && (isAlive(db.meta.pid) || snapshotDbs.has(db.meta.snapshotDb ?? ''))) continue;
      if (isAlive(db.meta.pid) && db.meta.pid !== process.pid) continue;
      if (db.meta.drydock === 'previous' && !targetExists) continue;
      await this.drop(db.datname);
      dropped.push(db.datname);
    }
    return dropped;
  }

  /**
   * A pull closes the working database to connections between its swap and the hand-off of the pristine
   * snapshot to a background process (background-snapshot.ts); one killed in that moment (SIGKILL, a lost
   * terminal) leaves it closed. Open it again when no snapshot taker is at work on it.
   */
  async reopenIfStranded(target: string): Promise<boolean> {
    const { rows } = await this.admin.query<{ closed: boolean; taking: boolean }>(
      `SELECT NOT d.datallowconn AND NOT d.datistemplate AS closed,
         EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.application_name = $2) AS taking
       FROM pg_catalog.pg_database d WHERE d.datname = $1`,
      [target, snapshotTakerName(target)],
    );
    if (!rows[0]?.closed || rows[0].taking) return false;
    await openConnections(this.admin, target);
    return true;
  }

  /** The ready spare copy of snapshot database `snapshotDb` for `target`, if any (complete: made by a finished process). */
  async spareOf(target: string, snapshotDb: string): Promise<DrydockDb | undefined> {
    return (await this.drydockDatabases()).find((d) => d.meta.drydock === 'spare' && d.meta.target === target && d.meta.snapshotDb === snapshotDb && !isAlive(d.meta.pid));
  }

  /**
   * Make sure `target` has exactly one spare, an untouched copy of `snapshot`, so the next
   * `snapshot restore` is a rename instead of a copy. Other spares of `target` are dropped.
   */
  async prepareSpare(target: string, snapshot: DrydockDb): Promise<string> {
    for (const d of await this.drydockDatabases()) {
      if (d.meta.drydock === 'spare' && d.meta.target === target && d.meta.snapshotDb !== snapshot.datname) await this.drop(d.datname);
    }
    const ready = await this.spareOf(target, snapshot.datname);
    if (ready) return ready.datname;
    const name = drydockDbName('spare');
    const meta: DrydockDbMeta = { drydock: 'spare', target, name: snapshot.meta.name, snapshotDb: snapshot.datname, pid: process.pid, createdAt: new Date().toISOString() };
    await this.create(name, meta, { template: snapshot.datname });
    await this.admin.query(`ALTER DATABASE ${quoteIdent(name)} WITH ALLOW_CONNECTIONS false`);
    // Ready: clear the pid, so restores know no process is still writing it.
    await this.setMeta(name, { ...meta, pid: undefined });
    return name;
  }

  /** Snapshots of `target` (all when undefined). */
  async snapshots(target?: string): Promise<DrydockDb[]> {
    return (await this.drydockDatabases()).filter((d) => d.meta.drydock === 'snapshot' && (target === undefined || d.meta.target === target));
  }

  async serverMajor(): Promise<number> {
    const { rows } = await this.admin.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    return Math.floor(Number(rows[0]?.v ?? 0) / 10000);
  }

  /** Size of one database in bytes. */
  async sizeOf(name: string): Promise<number> {
    const { rows } = await this.admin.query<{ s: string }>('SELECT pg_database_size($1) AS s', [name]);
    return Number(rows[0]?.s ?? 0);
  }
}

/** The advisory lock key for work on one working database (pull, snapshot restore, spare preparation). */
export function targetLockKey(target: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(`drydock:${target}`)) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0x7fffffffffffffffn;
  return hash;
}

/** ENCODING / LC_COLLATE / LC_CTYPE for a new database (libc locales only; ICU and builtin ones keep the server's default). */
export function localeClause(locale: DatabaseLocale | undefined): string {
  if (!locale || (locale.provider !== undefined && locale.provider !== 'c')) return '';
  return ` ENCODING ${quoteLiteral(locale.encoding)} LC_COLLATE ${quoteLiteral(locale.collate)} LC_CTYPE ${quoteLiteral(locale.ctype)}`;
}
