/**
 * How many connections a live pull may open to production. A live copy holds one snapshot session
 * plus one per parallel stream (--jobs, by default the number of CPUs, up to 64); on a small plan that
 * can take every free slot and starve the running app ("FATAL: too many connections"). So the streams
 * are sized by the tightest limit known (the Heroku plan's from `heroku pg:info`, the server's
 * max_connections, the role's and the database's CONNECTION LIMIT) and what is in use: the pull takes
 * at most a quarter of the free connections, snapshot session included, and always at least one stream.
 * Pure: the numbers come from pg:info and the server.
 */
import type { ConnectionUse } from '../pg/queries/connections.js';

/** Share of the free connections a pull may take. */
export const FREE_SHARE = 4;

/** One connection limit and its use. */
export interface ConnectionLimit {
  /** Whose limit, for messages: "the Heroku plan (essential-0)", "max_connections", "role u's CONNECTION LIMIT". */
  what: string;
  limit: number;
  used: number;
}

/** How many parallel streams to open, and why. */
export interface StreamPlan {
  /** Parallel COPY streams (source sessions besides the snapshot leader). */
  streams: number;
  /** What was asked (--jobs). */
  jobs: number;
  /** The tightest limit, when any is known. */
  tightest?: (ConnectionLimit & { free: number }) | undefined;
  /** One line for the output when the streams were reduced, or the limit is nearly reached. */
  note?: string | undefined;
}

/** pg:info's "Connections" value ("5/20") → used and limit; undefined when it does not say. */
export function parsePgInfoConnections(value: string | undefined): { used: number; limit: number } | undefined {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value ?? '');
  if (!m) return undefined;
  const used = Number(m[1]);
  const limit = Number(m[2]);
  return limit > 0 ? { used, limit } : undefined;
}

/**
 * The server's own limits as ConnectionLimits (the role's and the database's only where they are set).
 * The session that read them counts itself, and ends before the copy opens its own: it is left out.
 */
export function serverLimits(use: ConnectionUse): ConnectionLimit[] {
  const others = (n: number): number => Math.max(0, n - 1);
  const limits: ConnectionLimit[] = [{ what: 'the server (max_connections)', limit: use.server.limit, used: others(use.server.used) }];
  if (use.role.limit !== undefined) limits.push({ what: `role ${use.role.name}'s CONNECTION LIMIT`, limit: use.role.limit, used: others(use.role.used) });
  if (use.database.limit !== undefined) limits.push({ what: `database ${use.database.name}'s CONNECTION LIMIT`, limit: use.database.limit, used: others(use.database.used) });
  return limits;
}

/** The streams for `jobs` under `limits` (none known: `jobs`). */
export function planStreams(jobs: number, limits: readonly ConnectionLimit[]): StreamPlan {
  const known = limits.filter((l) => Number.isFinite(l.limit) && l.limit > 0);
  if (!known.length) return { streams: jobs, jobs };
  const tightest = known.map((l) => ({ ...l, free: Math.max(0, l.limit - l.used) })).sort((a, b) => a.free - b.free)[0]!;
  // A quarter of the free connections, the snapshot session included: streams = share − 1.
  const share = Math.floor(tightest.free / FREE_SHARE);
  const streams = Math.max(1, Math.min(jobs, share - 1));
  const inUse = `${tightest.limit - tightest.free}/${tightest.limit} connections in use`;
  let note: string | undefined;
  if (tightest.free < 2) {
    note = `production has ${tightest.free} free connection(s) (${tightest.what}: ${inUse}): the pull needs 2 and may fail, or make the app fail to connect while it runs`;
  } else if (streams < jobs) {
    note = `production allows ${tightest.limit} connections and ${tightest.limit - tightest.free} are in use (${tightest.what}): copying with ${streams} parallel stream(s) instead of ${jobs}, to take at most a quarter of the ${tightest.free} free`;
  }
  return { streams, jobs, tightest, note };
}
