/**
 * What a pull, a snapshot restore or `restore --to-local` may replace. The names that are never a working
 * database are refused by settings (`resolveTarget`); the checks here need the server: a template
 * database that is not drydock's own, the database drydock is connected to, and the source itself.
 *
 * Every check runs before anything happens (no lock, no scratch database, no clean-up), and a refusal
 * says that nothing was changed.
 */
import type pg from 'pg';

import { ConfigError } from '../errors.js';
import { withClient } from '../pg/client.js';
import { describeDb, isLocalHost, type DbUrl } from '../pg/url.js';
import { parseMeta } from './server.js';

/** Which server process and which database a connection is on. */
interface DatabaseIdentity {
  /** pg_control_system().system_identifier and the postmaster's start time: one running server. */
  server: string | undefined;
  oid: string;
}

const NOTHING_CHANGED = 'nothing was changed';

/**
 * Refuse `target` on the server `admin` is connected to when it is a template (not drydock's own), the
 * database `admin` is connected to, or the same database as `source` (the live database a pull copies).
 */
export async function assertReplaceableTarget(
  admin: pg.Client,
  target: string,
  options: { local: DbUrl; source?: DbUrl | undefined; what?: string },
): Promise<void> {
  const { rows } = await admin.query<{ oid: string; datistemplate: boolean; comment: string | null; current: boolean }>(
    `SELECT d.oid::text AS oid, d.datistemplate, shobj_description(d.oid, 'pg_database') AS comment, d.datname = current_database() AS current
     FROM pg_database d WHERE d.datname = $1`,
    [target],
  );
  const row = rows[0];
  // A database that does not exist yet is only ever created: nothing of it can be lost.
  if (!row) return;
  if (row.current) {
    throw new ConfigError(`refusing to use ${target} as a working database: it is the database drydock connects to on ${describeDb(options.local)} to manage the others`, {
      hint: `choose another name for --to; ${NOTHING_CHANGED}`,
    });
  }
  if (row.datistemplate && !parseMeta(row.comment)) {
    throw new ConfigError(`refusing to use ${target} as a working database: it is a template database (datistemplate), which new databases are copied from`, {
      hint: `choose your own working database for --to (or clear the flag with ALTER DATABASE ${target} IS_TEMPLATE false if it really is one); ${NOTHING_CHANGED}`,
    });
  }
  if (options.source && (await isSameDatabase(admin, row.oid, target, options.local, options.source))) {
    throw new ConfigError(`refusing to pull ${describeDb(options.source)} into ${target}: they are the same database`, {
      hint: `a pull replaces ${target}, so it cannot be its own source: choose another --to; ${NOTHING_CHANGED}`,
    });
  }
}

/**
 * Whether `source` is database `target` (oid `targetOid`) of the local server. Both servers are asked who
 * they are when they answer (system identifier, start time, database oid: any spelling of the host, a
 * socket or a port forward is recognised); otherwise host, port and database name are compared.
 */
async function isSameDatabase(admin: pg.Client, targetOid: string, target: string, local: DbUrl, source: DbUrl): Promise<boolean> {
  const here = await serverIdentity(admin);
  const there = await withClient(source, (client) => identityOf(client), { connectTimeoutMs: 10_000, applicationName: 'drydock pull' }).catch(() => undefined);
  if (here && there?.server) return here === there.server && there.oid === targetOid;
  return sameServerByUrl(local, source) && (source.database ?? source.libpq?.PGDATABASE ?? source.user ?? source.libpq?.PGUSER) === target;
}

async function identityOf(client: pg.Client): Promise<DatabaseIdentity> {
  const { rows } = await client.query<{ oid: string }>(`SELECT oid::text AS oid FROM pg_database WHERE datname = current_database()`);
  return { server: await serverIdentity(client), oid: rows[0]!.oid };
}

/** The server's system identifier and start time, or undefined when this role may not ask. */
async function serverIdentity(client: pg.Client): Promise<string | undefined> {
  try {
    const { rows } = await client.query<{ id: string }>(
      `SELECT (SELECT system_identifier FROM pg_control_system())::text || '@' || pg_postmaster_start_time()::text AS id`,
    );
    return rows[0]?.id ?? undefined;
  } catch {
    return undefined;
  }
}

/** Same host (every spelling of this machine counts as one) and port. */
function sameServerByUrl(a: DbUrl, b: DbUrl): boolean {
  const host = (url: DbUrl): string => {
    const h = url.host ?? url.libpq?.PGHOST;
    return isLocalHost(h) ? 'this machine' : h!.toLowerCase();
  };
  const port = (url: DbUrl): number => url.port ?? (Number(url.libpq?.PGPORT) || 5432);
  return host(a) === host(b) && port(a) === port(b);
}
