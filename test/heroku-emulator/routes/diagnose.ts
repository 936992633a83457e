/**
 * `heroku pg:diagnose`'s service (pgdiagnose.herokai.com, or PGDIAGNOSE_URL: a host name the CLI
 * reaches on HEROKU_HOST's scheme and port, so it arrives at this server, as the Data API does).
 *
 * What the CLI sends (heroku 11.10, commands/pg/diagnose.js): for a database that is not Essential it
 * first reads `GET /client/v11/databases/{id}/metrics` and `/burst_status` from the Data API, then
 * `POST /reports` with `{app, database, plan, url, metrics?, burst_data_present?, burst_status?}`;
 * `GET /reports/{uuid}` shows an earlier report. A report is `{id, app, database, created_at,
 * checks: [{name, status, results}]}`, status red/yellow/green/skipped; `results` an array of rows
 * or an object whose first key the CLI prints ("Count 12").
 *
 * The checks are computed here on the real backing database, modelled on Heroku's open-source
 * pgdiagnose (will/pgdiagnose, whose checks and thresholds these follow where it has them): long
 * queries and idle-in-transaction sessions over a minute, blocking queries, never-used indexes, table
 * bloat over 10x wasting over 10 MB (a simpler estimate than pgdiagnose's), cache hit rates under 0.99,
 * integer sequences past 75 % of 2^31. The connection count against the plan's limit (yellow from 70 %,
 * red from 90 %) uses the emulator's own thresholds. Load needs Heroku's metrics: skipped.
 */
import { randomUUID } from 'node:crypto';

import pg from 'pg';

import { notFound, ApiError, type Route, type RouteDeps } from '../http.js';
import { planFacts } from '../plans.js';
import { backingUrl } from '../tls-databases.js';

/** One check of a report. */
interface DiagnoseCheck {
  name: string;
  status: 'red' | 'yellow' | 'green' | 'skipped';
  results: unknown;
}

/** A stored report. */
interface DiagnoseReport {
  id: string;
  app: string;
  database: string;
  created_at: string;
  checks: DiagnoseCheck[];
}

const LONG_QUERIES = `
  SELECT pid, (now() - query_start)::text AS duration, query
  FROM pg_stat_activity
  WHERE now() - query_start > '1 minute'::interval AND state = 'active' AND pid <> pg_backend_pid()`;

const IDLE_IN_TRANSACTION = `
  SELECT pid, (now() - query_start)::text AS duration, query
  FROM pg_stat_activity
  WHERE now() - query_start > '1 minute'::interval AND state LIKE 'idle in trans%'`;

const BLOCKING = `
  SELECT a.pid AS blocked_pid, ka.query AS blocking_statement, (now() - ka.query_start)::text AS blocking_duration,
         ka.pid AS blocking_pid, a.query AS blocked_statement, (now() - a.query_start)::text AS blocked_duration
  FROM pg_stat_activity a
  CROSS JOIN LATERAL unnest(pg_blocking_pids(a.pid)) AS b(pid)
  JOIN pg_stat_activity ka ON ka.pid = b.pid`;

/** pgdiagnose's "never used" group of its unused-index query: non-unique btree indexes never scanned. */
const UNUSED_INDEXES = `
  SELECT 'Never Used Indexes' AS reason, s.schemaname, s.relname AS tablename, s.indexrelname AS indexname,
         pg_size_pretty(pg_relation_size(s.indexrelid)) AS index_size, pg_size_pretty(pg_relation_size(s.relid)) AS table_size
  FROM pg_stat_user_indexes s JOIN pg_index i USING (indexrelid) JOIN pg_class c ON c.oid = s.indexrelid JOIN pg_am am ON am.oid = c.relam
  WHERE NOT i.indisunique AND s.idx_scan = 0 AND am.amname = 'btree'
  ORDER BY pg_relation_size(s.indexrelid) DESC`;

/** Tables whose pages are more than 10 times what their rows need, wasting more than 10 MB (pgdiagnose's bloat, tables only). */
const BLOAT = `
  WITH t AS (
    SELECT n.nspname || '.' || c.relname AS object, c.relpages::numeric AS pages,
           ceil(c.reltuples * (23 + coalesce((SELECT sum((1 - s.null_frac) * s.avg_width) FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname), 0) + 4)
                / (current_setting('block_size')::numeric - 20))::numeric AS needed
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
  )
  SELECT 'table' AS type, object, round(CASE WHEN needed = 0 THEN 0 ELSE pages / needed END, 1)::float8 AS bloat,
         pg_size_pretty(((pages - needed) * current_setting('block_size')::numeric)::bigint) AS waste
  FROM t WHERE needed > 0 AND pages / needed > 10 AND (pages - needed) * current_setting('block_size')::numeric > 10 * 1024 * 1024`;

const HIT_RATE = `
  WITH rates AS (
    SELECT 'index hit rate' AS name, (sum(idx_blks_hit) / nullif(sum(idx_blks_hit + idx_blks_read), 0))::float8 AS ratio FROM pg_statio_user_indexes
    UNION ALL
    SELECT 'table hit rate' AS name, (sum(heap_blks_hit) / nullif(sum(heap_blks_hit) + sum(heap_blks_read), 0))::float8 AS ratio FROM pg_statio_user_tables
  )
  SELECT * FROM rates WHERE ratio < 0.99`;

/** Integer sequences past 75 % of 2^31 (pgdiagnose: "int4 columns with sequences near intmax"). */
const SEQUENCES = `
  SELECT schemaname || '.' || sequencename AS sequence, last_value::text AS last_value, round(100.0 * last_value / 2147483647, 1)::float8 AS percent
  FROM pg_sequences
  WHERE data_type = 'integer'::regtype AND last_value IS NOT NULL AND last_value > 0.75 * 2147483647`;

const CONNECTIONS = `SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;

function rowsStatus(rows: readonly unknown[], red = true): DiagnoseCheck['status'] {
  return rows.length === 0 ? 'green' : red ? 'red' : 'yellow';
}

/** Run every check on the database behind `url`. */
async function runChecks(url: string, plan: string): Promise<DiagnoseCheck[]> {
  const client = new pg.Client({ connectionString: backingUrl(url), connectionTimeoutMillis: 5_000, ssl: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw new ApiError(422, 'connection_failed', `could not connect to the database: ${(error as Error).message.replace(/postgres(ql)?:\/\/[^@\s]*@/g, 'postgres://***@')}`);
  }
  try {
    const q = async (sql: string) => (await client.query(sql)).rows as Array<Record<string, unknown>>;
    const count = ((await q(CONNECTIONS))[0]?.count as number | undefined) ?? 0;
    const limit = planFacts(plan).connectionLimit;
    const long = await q(LONG_QUERIES);
    const idle = await q(IDLE_IN_TRANSACTION);
    const unused = await q(UNUSED_INDEXES);
    const bloat = await q(BLOAT);
    const hit = await q(HIT_RATE);
    const blocking = await q(BLOCKING);
    const sequences = await q(SEQUENCES);
    return [
      { name: 'Connection Count', status: count >= limit * 0.9 ? 'red' : count >= limit * 0.7 ? 'yellow' : 'green', results: { count } },
      { name: 'Long Queries', status: rowsStatus(long), results: long },
      { name: 'Idle in Transaction', status: rowsStatus(idle), results: idle },
      { name: 'Indexes', status: rowsStatus(unused, false), results: unused },
      { name: 'Bloat', status: rowsStatus(bloat), results: bloat },
      { name: 'Hit Rate', status: rowsStatus(hit), results: hit },
      { name: 'Blocking Queries', status: rowsStatus(blocking), results: blocking },
      { name: 'Sequences', status: rowsStatus(sequences), results: sequences },
      { name: 'Load', status: 'skipped', results: { error: 'Load check not supported on this plan' } },
    ];
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The pgdiagnose service's routes, and the Data API's metrics and burst status the CLI reads first. */
export function diagnoseRoutes(deps: RouteDeps): Route[] {
  const reports = new Map<string, DiagnoseReport>();
  return [
    {
      method: 'GET',
      pattern: /^\/client\/v11\/databases\/(?<id>[^/]+)\/(?<what>metrics|burst_status)$/,
      handle: (ctx) => {
        if (!deps.state.findAddon(ctx.params.id ?? '')) throw notFound("Couldn't find that addon.");
        // No metrics gathered by this emulator: an empty series, and no burst data.
        return { body: ctx.params.what === 'metrics' ? [] : {} };
      },
    },
    {
      method: 'POST',
      pattern: /^\/reports$/,
      handle: async (ctx) => {
        const body = (ctx.body ?? {}) as Record<string, unknown>;
        const url = typeof body.url === 'string' ? body.url : '';
        if (!/^postgres(ql)?:\/\//.test(url)) throw new ApiError(422, 'invalid_params', 'url is required');
        const plan = typeof body.plan === 'string' ? body.plan : 'standard-0';
        const checks = await runChecks(url, plan);
        const report: DiagnoseReport = {
          id: randomUUID(),
          app: typeof body.app === 'string' ? body.app : '',
          database: typeof body.database === 'string' ? body.database : '',
          created_at: new Date().toISOString().replace('T', ' ').replace('Z', '+00'),
          checks,
        };
        reports.set(report.id, report);
        return { status: 201, body: report };
      },
    },
    {
      method: 'GET',
      pattern: /^\/reports\/(?<id>[0-9a-f-]{36})$/,
      handle: (ctx) => {
        const report = reports.get(ctx.params.id ?? '');
        if (!report) throw notFound('Report not found.');
        return { body: report };
      },
    },
  ];
}
