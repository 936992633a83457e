/**
 * Connections against the plan's limit (pure): what is in use now (heroku pg:info), and what the app's
 * configured pools can open at once: every web dyno runs WEB_CONCURRENCY processes with a pool each,
 * every other dyno of the formation one process, and the release phase and one one-off dyno (`heroku
 * run`, Scheduler) one process each. The pool size comes from the first of POOL_VARIABLES the app sets.
 * Through Heroku's connection pooling or PgBouncer the app's pools do not reach the server one to one,
 * so the sum is not compared then, only noted.
 */
import { parsePgInfoConnections } from '../pull/connection-budget.js';
import { percent, THRESHOLDS, type RawFinding } from './checks.js';

/** Config vars that set a process's database pool size, in the order they are read. */
export const POOL_VARIABLES = ['DB_POOL', 'DATABASE_POOL', 'DB_POOL_SIZE', 'DATABASE_POOL_SIZE', 'PG_POOL_MAX', 'RAILS_MAX_THREADS'] as const;

/** Config vars that say the app connects through a pooler. */
const POOLER_VARIABLES = ['DATABASE_CONNECTION_POOL_URL', 'PGBOUNCER_URLS', 'PGBOUNCER_DEFAULT_POOL_SIZE'];

/** What the app's pools can open at once, term by term. */
export interface PoolDemand {
  /** Connections each process's pool can open. */
  pool: number;
  /** Where the pool size came from ("config var DB_POOL"). */
  poolFrom: string;
  /** Processes per web dyno (WEB_CONCURRENCY, default 1). */
  webProcesses: number;
  /** "web 2 dynos × 2 processes × 5", "worker 1 dyno × 5", "release 5", "one-off 5". */
  terms: string[];
  total: number;
}

/** The app's pool demand, or why it cannot be worked out. */
export function poolDemand(formation: Readonly<Record<string, number>>, config: Readonly<Record<string, string>>): PoolDemand | { unknown: string } {
  const found = POOL_VARIABLES.find((name) => /^\s*\d+\s*$/.test(config[name] ?? ''));
  if (!found) return { unknown: `the app sets none of ${POOL_VARIABLES.join(', ')}, so its pool size is not known` };
  const pool = Number(config[found]);
  const webProcesses = /^\s*\d+\s*$/.test(config.WEB_CONCURRENCY ?? '') ? Math.max(1, Number(config.WEB_CONCURRENCY)) : 1;
  const terms: string[] = [];
  let total = 0;
  for (const [type, quantity] of Object.entries(formation).sort(([a], [b]) => (a === 'web' ? -1 : b === 'web' ? 1 : a.localeCompare(b)))) {
    if (quantity <= 0) continue;
    const processes = type === 'web' ? webProcesses : 1;
    total += quantity * processes * pool;
    terms.push(`${type} ${quantity} dyno${quantity === 1 ? '' : 's'}${processes > 1 ? ` × ${processes} processes` : ''} × ${pool}`);
  }
  terms.push(`release ${pool}`, `one-off ${pool}`);
  total += 2 * pool;
  return { pool, poolFrom: `config var ${found}`, webProcesses, terms, total };
}

/** Whether the app reaches the database through a connection pooler (then pools do not map to server connections). */
export function usesPooler(config: Readonly<Record<string, string>>): string | undefined {
  return POOLER_VARIABLES.find((name) => config[name]);
}

/** What verify knows about connections: in use and the limit, with where each came from. */
export interface ConnectionFacts {
  used?: number | undefined;
  limit?: number | undefined;
  /** "heroku pg:info (Connections)" or "the server (max_connections)". */
  source: string;
  demand?: PoolDemand | undefined;
  /** Why the pools were not compared. */
  demandNote?: string | undefined;
}

/** pg:info's Connections ("12/120") as facts, when it says. */
export function pgInfoConnections(value: string | undefined): { used: number; limit: number } | undefined {
  return parsePgInfoConnections(value);
}

/** Connections in use past 80 % of the limit, and pools that can open more than the limit. */
export function connectionFindings(facts: ConnectionFacts, sources: { formation: string }): RawFinding[] {
  const findings: RawFinding[] = [];
  if (facts.used !== undefined && facts.limit !== undefined && facts.limit > 0 && facts.used / facts.limit >= THRESHOLDS.connectionShare) {
    findings.push({
      check: 'connections-near-limit',
      object: 'connections',
      message: `${facts.used} of ${facts.limit} connections are in use (${percent(facts.used / facts.limit)}): new connections fail with "too many connections" once none are left`,
      fix: 'find idle ones with heroku pg:ps; lower the pools, or put Heroku connection pooling (PgBouncer) in front, or move to a plan with more connections',
      source: facts.source,
    });
  }
  const d = facts.demand;
  if (d && facts.limit !== undefined && d.total > facts.limit) {
    findings.push({
      check: 'pool-over-limit',
      object: 'connection pools',
      message: `the app's pools can open ${d.total} connections (${d.terms.join(' + ')}) but the plan allows ${facts.limit}`,
      fix: `lower ${d.poolFrom.replace('config var ', '')} or WEB_CONCURRENCY, scale down, use Heroku connection pooling, or move to a plan with more connections`,
      source: `${sources.formation}; heroku config (${d.poolFrom.replace('config var ', '')}, WEB_CONCURRENCY); ${facts.source}`,
    });
  }
  return findings;
}

/** A connection to a database on another host that is not encrypted. */
export function sslFinding(encrypted: boolean, sslmode: string, where: string): RawFinding[] {
  if (encrypted) return [];
  return [
    {
      check: 'ssl',
      object: 'connection',
      message: `the connection to ${where} is not encrypted (sslmode ${sslmode}): Heroku Postgres requires SSL, and anything between here and the database can read it`,
      fix: 'connect with sslmode=require (the default for remote hosts; remove sslmode=disable/allow/prefer from the URL or PGSSLMODE)',
      source: "this connection's socket (TLS or not)",
    },
  ];
}
