/**
 * `drydock verify`: prove a database holds what its schema says and is in good health after a
 * migration. Three parts (verify/checks.ts lists every check and its level):
 *
 * 1. The schema contract (verify/contract.ts): the database's normalised dump against the schema file,
 *    or against the schema built on a scratch database from the file and the migrations it does not
 *    list (postdeploy's buildSchema), compared object by object (schema/compare.ts).
 * 2. What a migration can leave half-done: INVALID indexes, NOT VALID constraints, sequences close to
 *    their limit, foreign keys without an index.
 * 3. Health: SSL, connections against the plan's limit and the app's pools (heroku pg:info, ps:scale,
 *    config with -a APP), long-running and idle-in-transaction sessions, blocked queries, cache hit
 *    rates, the largest tables and their bloat.
 *
 * It only reads: the database is never changed. The one thing it creates, a scratch database on the
 * local server when the contract needs one, is dropped at the end (also on failure and Ctrl-C).
 */
import { readFile, stat } from 'node:fs/promises';
import { relative, resolve } from 'node:path';

import type { Deps } from '../deps.js';
import { ChecksFailed, ConfigError, ConnectionError, DrydockError, interruptedBy } from '../errors.js';
import type { DiagnoseReport, PgInfo } from '../heroku/cli.js';
import { resolveApp } from '../heroku/remote.js';
import { mayLeave } from '../interrupt.js';
import { createScratch, dropScratch } from '../local/fresh-scratch.js';
import { loadMigrations } from '../migrate/files.js';
import { isEncrypted, withClient } from '../pg/client.js';
import { readAppliedVersions } from '../pg/queries/catalog.js';
import { readConnectionUse } from '../pg/queries/connections.js';
import { readInvalidIndexDetails } from '../pg/queries/indexes.js';
import {
  readCacheHit,
  readLargestTables,
  readNotValidConstraintRows,
  readSequenceUse,
  readSessions,
  readUnindexedForeignKeys,
  type CacheHitRow,
} from '../pg/queries/verify.js';
import { describeDb, effectiveSslMode, isLocalHost, parseDatabaseUrl, type DbUrl } from '../pg/url.js';
import { compareSchemas } from '../schema/compare.js';
import { dumpSchema, DEFAULT_SCHEMA_FILE } from '../schema/dump.js';
import { parseAppliedVersions } from '../schema/normalize.js';
import { resolveDatabaseUrl, resolveLocalUrl, type MigrateSettings, type ValueSource } from '../settings.js';
import {
  applyLevels,
  bloatFindings,
  cacheHitFindings,
  deadShare,
  diagnoseFindings,
  invalidIndexFindings,
  notValidFindings,
  partEnabled,
  sequenceFindings,
  sessionFindings,
  THRESHOLDS,
  unindexedForeignKeyFindings,
  type CheckLevels,
  type CheckPart,
  type RawFinding,
} from '../verify/checks.js';
import { connectionFindings, pgInfoConnections, poolDemand, sslFinding, usesPooler } from '../verify/connections.js';
import { contractFindings, describePlan, planContract, type ContractPlan } from '../verify/contract.js';
import type { ContractReport, VerifyFacts, VerifyReport } from '../verify/report.js';
import { buildSchema, type SchemaSource } from './postdeploy.js';
import { quiet } from './rehearse.js';

/** What to verify and how. */
export interface VerifyRequest {
  /** The database itself (release and postdeploy): no -a/--url resolution. */
  target?: DbUrl | undefined;
  /** --url (or DATABASE_URL) as given, and where it came from ('cli', 'env'). Ignored from the environment when -a APP names an app. */
  url?: string | undefined;
  urlSource?: ValueSource | undefined;
  /** The app's attachment or config var (--database, default DATABASE_URL), and whether it was named on the command line. */
  database?: string | undefined;
  databaseNamed?: boolean | undefined;
  /** --schema (DRYDOCK_SCHEMA_FILE) and whether it was named on the command line (then it must be usable). */
  schema?: string | undefined;
  schemaRequired?: boolean | undefined;
  /** The local server for a scratch database when the database is not local (--local). */
  local?: string | undefined;
  localSource?: ValueSource | undefined;
  levels: CheckLevels;
  /** The parts to run (default all): release --verify and postdeploy run contract and leftovers. */
  parts?: readonly CheckPart[] | undefined;
}

const APPLICATION_NAME = 'drydock verify';
/** pg_dump --lock-wait-timeout: a table locked this long by another session fails the dump instead of hanging it. */
const DUMP_LOCK_WAIT_MS = 10_000;
const ALL_PARTS: readonly CheckPart[] = ['contract', 'leftovers', 'health'];

/** Whether `path` exists. */
async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Heroku's facts about the app, each read on its own (one failing leaves the others). */
interface HerokuFacts {
  pgInfo?: PgInfo | undefined;
  diagnose?: DiagnoseReport | undefined;
  formation?: Record<string, number> | undefined;
  config?: Record<string, string> | undefined;
  notes: string[];
}

async function readHerokuFacts(deps: Deps, app: string, database: string): Promise<HerokuFacts> {
  const notes: string[] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (error) {
      notes.push(`could not read ${what}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const [pgInfo, formation, config, diagnose] = await Promise.all([
    attempt(`heroku pg:info ${database}`, () => deps.heroku.pgInfo(app, database)),
    attempt('the formation (heroku ps:scale)', () => deps.heroku.formation(app)),
    attempt('the config vars (heroku config)', () => deps.heroku.configVars(app)),
    attempt(`heroku pg:diagnose ${database}`, () => deps.heroku.pgDiagnose(app, database)),
  ]);
  return { pgInfo, formation, config, diagnose, notes };
}

/**
 * The database: the app's (-a APP, -r REMOTE or HEROKU_APP) through the heroku CLI, else --url or
 * DATABASE_URL. Both --url and an app on the command line is a usage error; DATABASE_URL from the
 * environment gives way to an app.
 */
async function resolveTarget(deps: Deps, request: VerifyRequest): Promise<{ url: DbUrl; app: string | undefined }> {
  if (request.target) return { url: request.target, app: undefined };
  const app = await resolveApp(deps.settings, { required: false });
  if (app && request.url !== undefined && request.urlSource === 'cli') {
    throw new ConfigError('give --url or -a APP, not both', { hint: 'drydock verify --url postgres://… , or drydock verify -a my-app' });
  }
  if (!app && request.databaseNamed) throw new ConfigError('--database needs -a APP', { hint: 'drydock verify -a my-app --database HEROKU_POSTGRESQL_AMBER' });
  if (!app) return { url: resolveDatabaseUrl(request.url, deps.settings.libpq, request.urlSource), app };
  const database = request.database ?? 'DATABASE_URL';
  return { url: parseDatabaseUrl(await deps.heroku.databaseUrl(app, database), `${app}'s ${database}`, deps.settings.libpq), app };
}

/** What the database side of verify reads in one session. */
interface DatabaseReads {
  encrypted: boolean;
  versions: string[];
  leftovers: RawFinding[];
  sessions?: Awaited<ReturnType<typeof readSessions>> | undefined;
  cacheHit?: CacheHitRow | undefined;
  largest?: Awaited<ReturnType<typeof readLargestTables>> | undefined;
  serverConnections?: { used: number; limit: number } | undefined;
}

/** How long verify's reads wait for a lock before giving up on that read (a migration's ACCESS EXCLUSIVE lock must not hang it). */
export const VERIFY_LOCK_TIMEOUT_MS = 2_000;
const VERIFY_STATEMENT_TIMEOUT_MS = 60_000;

/** SQLSTATE 55P03 lock_not_available: lock_timeout ran out. */
function isLockTimeout(error: unknown): boolean {
  return (error as { code?: string }).code === '55P03';
}

async function readDatabase(url: DbUrl, parts: ReadonlySet<CheckPart>, notes: string[]): Promise<DatabaseReads> {
  return withClient(
    url,
    async (client) => {
      // Reads of sizes take a lock on each table; a session holding ACCESS EXCLUSIVE (a running migration) would hold verify up.
      await client.query(`SET lock_timeout = ${VERIFY_LOCK_TIMEOUT_MS}; SET statement_timeout = ${VERIFY_STATEMENT_TIMEOUT_MS}`);
      const reads: DatabaseReads = { encrypted: isEncrypted(client), versions: await readAppliedVersions(client), leftovers: [] };
      if (parts.has('leftovers')) {
        reads.leftovers = [
          ...invalidIndexFindings(await readInvalidIndexDetails(client)),
          ...notValidFindings(await readNotValidConstraintRows(client)),
          ...sequenceFindings(await readSequenceUse(client)),
          ...unindexedForeignKeyFindings(await readUnindexedForeignKeys(client)),
        ];
      }
      if (parts.has('health')) {
        reads.sessions = await readSessions(client);
        reads.cacheHit = await readCacheHit(client);
        try {
          reads.largest = await readLargestTables(client, THRESHOLDS.largestTables);
        } catch (error) {
          if (!isLockTimeout(error)) throw error;
          notes.push(`table sizes not read: another session holds a lock on a table (waited ${VERIFY_LOCK_TIMEOUT_MS / 1000} s): see the sessions above`);
        }
        const use = await readConnectionUse(client).catch(() => undefined);
        // This session is verify's own: not the app's.
        if (use) reads.serverConnections = { used: Math.max(0, use.server.used - 1), limit: use.server.limit };
      }
      return reads;
    },
    { applicationName: APPLICATION_NAME },
  );
}

/** Where the scratch database for a built contract goes: the database's own server when it is local, else the local server. */
function scratchServer(deps: Deps, url: DbUrl, request: Pick<VerifyRequest, 'local' | 'localSource'>): DbUrl {
  if (isLocalHost(url.host) && !request.local) return url;
  return resolveLocalUrl(request.local, deps.settings.libpq, request.localSource ?? 'cli');
}

/** A path as the user would write it (relative to the working folder when inside it). */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/** The contract's plan: what the database is compared with. */
async function planFor(settings: Pick<MigrateSettings, 'dir' | 'schemaFile'>, request: Pick<VerifyRequest, 'schema' | 'schemaRequired'>, dbVersions: string[]): Promise<{ plan: ContractPlan; fileText?: string | undefined }> {
  const file = resolve(request.schema ?? settings.schemaFile ?? DEFAULT_SCHEMA_FILE);
  let fileText: string | undefined;
  if (await exists(file)) {
    try {
      fileText = await readFile(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read schema file ${shown(file)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { hint: 'pass --schema FILE with a readable SQL file', cause: error });
    }
  } else if (request.schemaRequired) {
    throw new ConfigError(`schema file ${shown(file)} not found`, { hint: 'write it with `drydock schema dump`, or leave --schema out to compare with the migrations' });
  }
  const migrationVersions = (await exists(settings.dir)) ? (await loadMigrations(settings.dir)).map((m) => m.version) : undefined;
  const plan = planContract({ schemaFile: fileText !== undefined ? shown(file) : undefined, fileVersions: fileText ? parseAppliedVersions(fileText) : [], dbVersions, migrationVersions });
  return { plan, fileText };
}

/** What the database should hold, as a normalised dump: the file itself, or the schema built on a scratch database. */
async function expectedSchema(deps: Deps, settings: MigrateSettings, url: DbUrl, request: VerifyRequest, plan: Extract<ContractPlan, { kind: 'build' }>): Promise<string> {
  const server = scratchServer(deps, url, request);
  // Named after the database verified, as rehearse names its own: `<database>_drydock_fresh_<random>`.
  const scratch = await createScratch(server, url.database ?? 'verify', deps.clock.now());
  const done = mayLeave(`scratch database ${describeDb(scratch)} (the next \`drydock rehearse\` drops it)`);
  try {
    const source: SchemaSource = { schemaFile: plan.schemaFile ? resolve(plan.schemaFile) : undefined, lookedFor: resolve(plan.schemaFile ?? DEFAULT_SCHEMA_FILE), migrationsAfterSchema: plan.migrations > 0 };
    deps.output.info(`verify: building the expected schema (${describePlan(plan)}) in ${describeDb(scratch)}`);
    await buildSchema(quiet(deps), settings, scratch, source, { say: (line) => deps.output.debug(`verify: scratch: ${line}`), to: plan.to });
    return await dumpSchema(deps.pgTools, scratch);
  } finally {
    await dropScratch(scratch).then(done, (error: unknown) => deps.output.warn(`could not drop the scratch database ${describeDb(scratch)}: ${(error as Error).message}; the next \`drydock rehearse\` drops it`));
  }
}

/** Run the contract: the findings and the report's contract part. */
async function checkContract(deps: Deps, settings: MigrateSettings, url: DbUrl, request: VerifyRequest, dbVersions: string[]): Promise<{ findings: RawFinding[]; report: ContractReport }> {
  const { plan, fileText } = await planFor(settings, request, dbVersions);
  if (plan.kind === 'skip') {
    if (request.schemaRequired) throw new DrydockError(`cannot check the schema contract: ${plan.reason}`, { hint: 'dump the schema again with `drydock schema dump`, or check the migrations folder (--dir)' });
    return { findings: [], report: { checked: false, note: `schema contract not checked: ${plan.reason}`, notes: [] } };
  }
  const against = describePlan(plan);
  deps.output.info(`verify: comparing ${describeDb(url)} with ${against}`);
  const actual = await dumpSchema(deps.pgTools, url, { lockWaitTimeoutMs: DUMP_LOCK_WAIT_MS });
  let expected: string;
  if (plan.kind === 'file') {
    expected = fileText!;
  } else {
    try {
      expected = await expectedSchema(deps, settings, url, request, plan);
    } catch (error) {
      if (interruptedBy(deps.signal) || !(error instanceof DrydockError) || error instanceof ConfigError) throw error;
      const why = error instanceof ConnectionError ? `no local server for a scratch database (${error.message})` : `building it failed: ${error.message}`;
      if (request.schemaRequired) throw error;
      return { findings: [], report: { checked: false, note: `schema contract not checked: the schema file is behind the database, and ${why}`, notes: [] } };
    }
  }
  // How the other side is named in each line: the file, or what the scratch database was built from.
  const b = plan.kind === 'file' ? plan.file : plan.schemaFile ? `${plan.schemaFile} + the newer migrations` : 'the migrations';
  const { differences, notes } = compareSchemas(actual, expected, { a: 'the database', b, aAt: 'in', bAt: 'in' });
  return { findings: contractFindings(differences, b), report: { checked: true, against, notes } };
}

/** The health part's findings and facts. */
function checkHealth(url: DbUrl, reads: DatabaseReads, heroku: (HerokuFacts & { app: string }) | undefined): { findings: RawFinding[]; facts: VerifyFacts; notes: string[] } {
  const findings: RawFinding[] = [];
  const notes: string[] = [];
  const facts: VerifyFacts = {};
  const sslmode = effectiveSslMode(url);
  const local = isLocalHost(url.host);
  facts.ssl = { encrypted: reads.encrypted, sslmode, checked: !local, note: local ? 'a local connection: SSL not required' : undefined };
  if (!local) findings.push(...sslFinding(reads.encrypted, sslmode, describeDb(url)));

  const pg = pgInfoConnections(heroku?.pgInfo?.fields.Connections);
  const connections: VerifyFacts['connections'] = pg
    ? { used: pg.used, limit: pg.limit, source: `heroku pg:info (Connections, plan ${heroku?.pgInfo?.plan ?? 'unknown'})` }
    : { used: reads.serverConnections?.used, limit: reads.serverConnections?.limit, source: 'the server (pg_stat_activity, max_connections less reserved slots)' };
  if (heroku) {
    if (!pg && heroku.pgInfo) notes.push('heroku pg:info printed no Connections line: connections compared with the server\'s max_connections');
    if (heroku.formation && heroku.config) {
      const pooler = usesPooler(heroku.config);
      const demand = poolDemand(heroku.formation, heroku.config);
      if (pooler) connections.demandNote = `the app connects through a pooler (config var ${pooler}): its pools do not map to server connections, not compared`;
      else if ('unknown' in demand) connections.demandNote = `pools not compared: ${demand.unknown}`;
      else {
        connections.demand = demand;
        connections.demandSource = `heroku ps:scale (formation), heroku config (${demand.poolFrom.replace('config var ', '')}, WEB_CONCURRENCY)`;
      }
      if (connections.demandNote) notes.push(connections.demandNote);
    }
  }
  facts.connections = connections;
  findings.push(...connectionFindings(connections, { formation: 'heroku ps:scale (formation)' }));

  const sessions = reads.sessions ?? [];
  facts.sessions = {
    active: sessions.filter((s) => s.state === 'active').length,
    idleInTransaction: sessions.filter((s) => s.state?.startsWith('idle in transaction')).length,
    blocked: sessions.filter((s) => s.blocked_by.length).length,
    source: 'pg_stat_activity (other sessions on this database)',
  };
  findings.push(...sessionFindings(sessions));
  if (reads.cacheHit) {
    facts.cacheHit = { tables: reads.cacheHit.tables, indexes: reads.cacheHit.indexes, source: 'pg_statio_user_tables / pg_statio_user_indexes since the last statistics reset' };
    findings.push(...cacheHitFindings(reads.cacheHit));
  }
  if (heroku?.diagnose) {
    const report = heroku.diagnose;
    facts.diagnose = { report: report.id, checks: report.checks.map(({ name, status }) => ({ name, status })), source: `heroku pg:diagnose (report ${report.id})` };
    findings.push(...diagnoseFindings(report, heroku.app));
  }
  const largest = reads.largest ?? [];
  facts.largestTables = {
    tables: largest.map((t) => ({ table: t.table_name, totalBytes: t.total_bytes, liveRows: t.live_rows, deadRows: t.dead_rows, deadShare: Number(deadShare(t).toFixed(4)) })),
    source: 'pg_total_relation_size and pg_stat_user_tables (dead rows: the bloat estimate)',
  };
  findings.push(...bloatFindings(largest));
  return { findings, facts, notes };
}

/** Verify a database (see the module comment). Reads only; throws DrydockError (exit 2) when it cannot check. */
export async function verify(deps: Deps, settings: MigrateSettings, request: VerifyRequest): Promise<VerifyReport> {
  const parts = new Set((request.parts ?? ALL_PARTS).filter((p) => partEnabled(p, request.levels)));
  // A schema file named on the command line must be there before anything is read.
  if (parts.has('contract') && request.schemaRequired && request.schema !== undefined && !(await exists(resolve(request.schema)))) {
    throw new ConfigError(`schema file ${request.schema} not found`, { hint: 'write it with `drydock schema dump`, or leave --schema out to compare with the migrations' });
  }
  const { url, app } = await resolveTarget(deps, request);
  const database = app ? `${app}'s ${request.database ?? 'DATABASE_URL'} (${describeDb(url)})` : describeDb(url);
  deps.output.info(`verify: reading ${database}`);
  const herokuFacts = app && parts.has('health') ? readHerokuFacts(deps, app, request.database ?? 'DATABASE_URL') : undefined;
  const notes: string[] = [];
  const reads = await readDatabase(url, parts, notes);
  const raw: RawFinding[] = [];
  let contract: ContractReport = { checked: false, note: 'schema contract not checked: turned off', notes: [] };
  if (parts.has('contract')) {
    const checked = await checkContract(deps, settings, url, request, reads.versions);
    raw.push(...checked.findings);
    contract = checked.report;
    if (contract.note) notes.push(contract.note);
  }
  raw.push(...reads.leftovers);
  let facts: VerifyFacts = {};
  if (parts.has('health')) {
    const heroku = herokuFacts ? await herokuFacts : undefined;
    notes.push(...(heroku?.notes ?? []));
    const health = checkHealth(url, reads, heroku && app ? { ...heroku, app } : undefined);
    raw.push(...health.findings);
    facts = health.facts;
    notes.push(...health.notes);
  }
  const findings = applyLevels(raw, request.levels);
  const errors = findings.filter((f) => f.level === 'error').length;
  return { database, app, ok: errors === 0, exitCode: errors ? 1 : 0, errors, warnings: findings.length - errors, findings, contract, facts, notes };
}

/** The parts `release --verify` and postdeploy run: what a migration (or a schema load) leaves behind. */
export const AFTER_MIGRATING: readonly CheckPart[] = ['contract', 'leftovers'];

/**
 * The contract and leftovers of a database just migrated (release --verify) or set up (postdeploy):
 * throws ChecksFailed (exit 1) naming each error finding and its exact fix; returns the report otherwise.
 * `who` prefixes the messages ("release", "postdeploy").
 */
export async function verifyAfterMigrating(deps: Deps, settings: MigrateSettings, url: DbUrl, options: { who: string; levels: CheckLevels; schema?: string | undefined; schemaRequired?: boolean | undefined }): Promise<VerifyReport> {
  deps.output.info(`${options.who}: verifying the schema contract and what migrations can leave half-done`);
  const report = await verify(quiet(deps), settings, { target: url, levels: options.levels, parts: AFTER_MIGRATING, schema: options.schema, schemaRequired: options.schemaRequired });
  for (const f of report.findings.filter((x) => x.level === 'warn')) deps.output.warn(`${options.who}: verify: ${f.message}${f.fix ? `. Fix: ${f.fix}` : ''}`);
  for (const note of report.notes) deps.output.info(`${options.who}: verify: ${note}`);
  const errors = report.findings.filter((f) => f.level === 'error');
  if (errors.length) {
    throw new ChecksFailed(`${options.who} --verify: ${errors.length} error(s) in ${report.database}: ${errors.map((f) => f.message).join('; ')}`, report, {
      hint: errors.map((f) => `${f.object}: ${f.fix ?? 'see drydock verify'}`).join('; '),
    });
  }
  const contract = report.contract.checked ? `the schema matches ${report.contract.against}` : 'the schema contract was not checked (see above)';
  deps.output.info(`${options.who}: verify: no errors (${contract}; nothing half-done${report.warnings ? `; ${report.warnings} warning(s)` : ''})`);
  return report;
}
