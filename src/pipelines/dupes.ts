/**
 * `drydock dupes TABLE KEY`: find the rows a unique index on KEY would refuse, say which survives
 * under --keep and what points at them, and with --generate write the migrations that re-point every
 * reference to the survivors, delete the surplus rows (recorded, reversible) and build the index.
 *
 * Read-only on the database: one REPEATABLE READ, READ ONLY transaction (one snapshot for every query).
 * Everything the user typed is checked before the first query (KEY, --where, --keep parse) and by an
 * EXPLAIN before the first scan (their columns exist); --generate writes nothing until every file's
 * text is built.
 */
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

import type pg from 'pg';

import type { Deps } from '../deps.js';
import { directReferences, buildGraph, foreignKeySuggestion, lookalikePattern, nameOf, rowIdentity } from '../dupes/graph.js';
import { generateMigrations } from '../dupes/migrations.js';
import type { DupesReport, GroupSample, ReferenceReport } from '../dupes/report.js';
import { describeKeep, isTotalOrder, keepExpressions, parseKeep, parseKey, parseWhere, uniqueIndexName } from '../dupes/spec.js';
import { explainSql, rankedSql, summarySql, unresolvedCountSql, lookalikeEvidenceSql, type DupesSpec } from '../dupes/sql.js';
import type { ForeignKeyFact, LookalikeFact, Reference, TableFact, TableName } from '../dupes/types.js';
import { ChecksFailed, ConfigError, DrydockError, fsError, interruptedBy, InterruptedError } from '../errors.js';
import { migrationsFolder, normalizeMigrationName, versionOf } from '../migrate/create.js';
import { cancelOnAbort, connect } from '../pg/client.js';
import { quoteIdent, quoteQualified } from '../pg/ident.js';
import { readForeignKeysTo, readLookalikeColumns, readTableFact, resolveTable, runDupesQuery, runDupesQuerySerial } from '../pg/queries/dupes.js';
import { describeDb, withDatabase, type DbUrl } from '../pg/url.js';
import { resolveApp } from '../heroku/remote.js';
import { defaultTarget, resolveDatabaseUrl, resolveTarget } from '../settings.js';
import { ensureParser } from '../sql/parse.js';
import { MAX_LEVELS } from '../dupes/graph.js';

/** What `drydock dupes` was asked. */
export interface DupesRequest {
  url: DbUrl;
  table: string;
  key: string[];
  where?: string | undefined;
  keep?: string | undefined;
  nullsNotDistinct: boolean;
  /** How many of the largest groups to show (with their rows). */
  limit: number;
  /** --generate NAME: write the migrations into `dir`. */
  generate?: string | undefined;
  dir: string;
  constraint: boolean;
  addForeignKeys: boolean;
  batchSize: number;
  lockTimeoutMs: number;
  /** The command line, for the generated files' header. */
  commandLine: string;
}

/** The request checked before any query: key, predicate and migration name parse. */
export interface CheckedRequest {
  key: ReturnType<typeof parseKey>;
  where: string | undefined;
  name: string | undefined;
}

/** Check what needs no database; throws ConfigError (exit 2). */
export async function checkRequest(request: Pick<DupesRequest, 'key' | 'where' | 'generate' | 'table' | 'constraint'>): Promise<CheckedRequest> {
  await ensureParser();
  if (!request.table.trim()) throw new ConfigError('TABLE is empty', { hint: 'for example drydock dupes users email' });
  const key = parseKey(request.key);
  const where = parseWhere(request.where);
  const name = request.generate === undefined ? undefined : normalizeMigrationName(request.generate);
  if (request.constraint && (where !== undefined || key.some((k) => k.column === undefined))) {
    throw new ConfigError(`--constraint needs a KEY of plain columns and no --where: a UNIQUE constraint cannot be ${where !== undefined ? 'partial' : 'on an expression'}`, { hint: 'drop --constraint: the unique index alone enforces the key' });
  }
  return { key, where, name };
}

function pgMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Find the duplicates, describe them and their references, and with --generate write the migrations. */
export async function dupes(deps: Pick<Deps, 'output' | 'signal' | 'clock'>, request: DupesRequest): Promise<DupesReport> {
  const checked = await checkRequest(request);
  const started = performance.now();
  const clients: pg.Client[] = [];
  const stops: Array<() => Promise<void>> = [];
  const open = async (name: string): Promise<pg.Client> => {
    const client = await connect(request.url, { applicationName: name });
    clients.push(client);
    stops.push(cancelOnAbort(request.url, client, deps.signal));
    // Read-only, one snapshot per session: dupes never changes the database.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    return client;
  };
  // The GROUP BY runs on the main session while a second one reads the reference graph (catalog queries,
  // bounded look-ups of look-alike columns): the report costs the GROUP BY, not the GROUP BY plus them.
  let sideOpening: Promise<pg.Client> | undefined;
  try {
    const main = await open('drydock dupes');
    sideOpening = open('drydock dupes (references)');
    sideOpening.catch(() => undefined);
    const head = await readHead(main, request, checked);
    const side = await sideOpening;
    deps.output.info(`dupes: grouping ${nameOf(head.table)} by (${checked.key.map((k) => k.text).join(', ')}) in one pass (about ${head.estimate.toLocaleString('en-US')} rows)`);
    const [summary, graph] = await Promise.all([readSummary(main, head.spec, request.limit), readReferences(side, head)]);
    const report = await finish(deps, main, request, checked, head, summary, graph, started);
    for (const client of clients) await client.query('COMMIT');
    return report;
  } catch (error) {
    const by = interruptedBy(deps.signal);
    if (by) throw new InterruptedError(by, `interrupted (${by}): drydock dupes stopped; it only reads, nothing was changed and no file was written`, { cause: error });
    throw error;
  } finally {
    await sideOpening?.catch(() => undefined);
    for (const stop of stops) await stop();
    for (const client of clients) await client.end().catch(() => undefined);
  }
}

/** What the first queries establish: the table, its key, the rule, and that KEY, --where and --keep fit it. */
interface Head {
  table: TableName;
  root: TableFact;
  pk: string[];
  version: number;
  estimate: number;
  /** The request as SQL, references not read yet. */
  spec: DupesSpec;
}

async function readHead(client: pg.Client, request: DupesRequest, checked: CheckedRequest): Promise<Head> {
  const { version, table: found } = await resolveTable(client, request.table);
  if (request.nullsNotDistinct && version < 150000) {
    throw new ConfigError(`--nulls-not-distinct needs PostgreSQL 15 or later; ${describeDb(request.url)} runs ${Math.floor(version / 10000)}`, { hint: 'drop --nulls-not-distinct: NULL keys then never collide, as in a unique index' });
  }
  if (!found) throw new ConfigError(`no table ${request.table} in ${describeDb(request.url)}`, { hint: 'name a table (schema.table when it is not on the search_path); nothing was changed' });
  if (found.kind !== 'r' && found.kind !== 'p') throw new ConfigError(`${request.table} is not a table`, { hint: 'name a table: a unique index goes on a table' });
  const table: TableName = { schema: found.schema, name: found.name };
  const root = await readTableFact(client, table, version);
  const pk = rowIdentity(root) ?? [];
  const keep = parseKeep(request.keep, root.columns);
  if (!pk.length && (keep.kind !== 'order-by' || request.generate)) {
    throw new ConfigError(`${nameOf(table)} has no primary key (nor a unique key over NOT NULL columns): drydock cannot say which rows survive`, { hint: 'add a primary key first' });
  }
  const spec: DupesSpec = { table, key: checked.key, where: checked.where, nullsNotDistinct: request.nullsNotDistinct, keep, pk, references: [] };
  // The columns KEY, --where and --keep name exist (EXPLAIN plans, it does not scan).
  try {
    await client.query(explainSql(spec));
  } catch (error) {
    throw new ConfigError(`KEY, --where or --keep does not fit ${nameOf(table)}: ${pgMessage(error)}`, { hint: `use columns of ${nameOf(table)} (see \\d ${nameOf(table)} in psql); nothing was changed`, cause: error });
  }
  return { table, root, pk, version, estimate: found.estimate, spec };
}

interface Summary {
  groups: string;
  surplus: string;
  inGroups: string;
  largest: Array<{ key: unknown[]; text: Array<string | null>; types: string[]; rows: number }>;
}

async function readSummary(client: pg.Client, spec: DupesSpec, limit: number): Promise<Summary> {
  return (await runDupesQuery<Summary & pg.QueryResultRow>(client, summarySql(spec, limit)))[0]!;
}

/** The reference graph, level by level, and the look-alike columns whose values are the table's keys. */
async function readReferences(client: pg.Client, head: Head): Promise<{ graph: Reference[]; facts: Map<string, TableFact> }> {
  const { table, root, pk, version } = head;
  const facts = new Map<string, TableFact>([[nameOf(table), root]]);
  const foreignKeys: ForeignKeyFact[] = [];
  let frontier: TableName[] = [table];
  const walked = new Set([nameOf(table)]);
  for (let level = 1; level <= MAX_LEVELS && frontier.length; level++) {
    const fks = await readForeignKeysTo(client, frontier);
    foreignKeys.push(...fks);
    const next: TableName[] = [];
    for (const fk of fks) {
      if (!facts.has(nameOf(fk.table))) facts.set(nameOf(fk.table), await readTableFact(client, fk.table, version));
      if (!walked.has(nameOf(fk.table))) {
        walked.add(nameOf(fk.table));
        next.push(fk.table);
      }
    }
    frontier = next;
  }
  const lookalikes: LookalikeFact[] = [];
  const pkType = pk.length === 1 ? root.columns.find((c) => c.name === pk[0])?.type : undefined;
  if (pkType) {
    for (const c of await readLookalikeColumns(client, table, lookalikePattern(table.name), pkType)) {
      const [row] = await runDupesQuery<{ found: boolean }>(client, lookalikeEvidenceSql({ table, pk }, c));
      if (!row?.found) continue;
      lookalikes.push(c);
      if (!facts.has(nameOf(c.table))) facts.set(nameOf(c.table), await readTableFact(client, c.table, version));
    }
  }
  return { graph: buildGraph(table, foreignKeys, lookalikes, facts, pk), facts };
}

async function finish(
  deps: Pick<Deps, 'clock'>,
  client: pg.Client,
  request: DupesRequest,
  checked: CheckedRequest,
  head: Head,
  summary: Summary,
  { graph, facts }: { graph: Reference[]; facts: Map<string, TableFact> },
  started: number,
): Promise<DupesReport> {
  const { table, root, pk } = head;
  const keep = head.spec.keep;
  const spec: DupesSpec = { ...head.spec, references: directReferences(graph, table) };
  const groups = Number(summary.groups);
  const largest: GroupSample[] = [];
  if (summary.largest.length) {
    const why = keepExpressions(keep, pk);
    // Serial: the scan can stop at the groups' last row.
    const rows = await runDupesQuerySerial<Record<string, unknown>>(client, `SELECT * FROM (${rankedSql(spec, { kind: 'keys', keys: summary.largest.map((g) => g.text), types: summary.largest[0]!.types, rows: summary.largest.reduce((n, g) => n + Number(g.rows), 0) }, { why })}) AS s ORDER BY drydock_group, drydock_rn`);
    for (const [index, g] of summary.largest.entries()) {
      const members = rows.filter((r) => Number(r.drydock_group) === index);
      const survivor = members.find((m) => Number(m.drydock_rn) === 1);
      const tied = members.filter((m) => Number(m.drydock_rk) === 1).length > 1;
      largest.push({
        key: g.key,
        rows: g.rows,
        members: members.map((m) => ({
          key: Object.fromEntries(pk.map((c) => [c, m[`old_${c}`]])),
          survives: Number(m.drydock_rn) === 1,
          why: (m.drydock_why as unknown[]) ?? [],
          tied: Number(m.drydock_rk) === 1 && Number(m.drydock_rn) > 1,
        })),
        reason: tied ? 'UNRESOLVED: rows tie for first under the rule' : survivor ? reasonFor(keep.kind, survivor.drydock_why as unknown[], pk.map((c) => survivor[`old_${c}`])) : 'rows changed while drydock read them',
      });
    }
  }
  const unresolved = isTotalOrder(keep) || groups === 0 ? null : Number((await runDupesQuery<{ unresolved: string }>(client, unresolvedCountSql(spec)))[0]!.unresolved);
  const seconds = (performance.now() - started) / 1000;

  const references: ReferenceReport[] = graph.map((r) => {
    const base: ReferenceReport = {
      table: nameOf(r.table).replace(/^public\./, ''),
      columns: r.columns,
      references: nameOf(r.references).replace(/^public\./, ''),
      refColumns: r.refColumns,
      level: r.level,
      foreignKey: r.foreignKey ?? null,
      onDelete: r.onDelete ?? null,
      mergeKey: r.mergeKey?.columns ?? null,
    };
    if (r.foreignKey) return base;
    const s = foreignKeySuggestion(r, (t) => quoteQualified(t.schema, t.name), quoteIdent);
    return {
      ...base,
      note: `no foreign key: its values are ${nameOf(table)} ${pk[0]}s, so rows pointing at a removed duplicate would be stranded (the generated migration re-points them too). Add the foreign key first, as the recipe advises (--generate --add-foreign-keys writes it):`,
      suggestion: [s.add, s.validate],
    };
  });

  const indexName = uniqueIndexName(table.name, checked.key);
  const report: DupesReport = {
    database: describeDb(request.url),
    table: nameOf(table).replace(/^public\./, ''),
    key: checked.key.map((k) => k.text),
    where: checked.where ?? null,
    nullsNotDistinct: request.nullsNotDistinct,
    keep: { rule: keep.kind === 'order-by' ? `ORDER BY ${keep.orderBy}` : keep.kind, description: describeKeep(keep, pk) },
    groups,
    surplus: Number(summary.surplus),
    rowsInGroups: Number(summary.inGroups),
    unresolved,
    largest,
    references,
    seconds: Math.round(seconds * 1000) / 1000,
    generated: [],
    indexName,
  };

  if (checked.name !== undefined) {
    if (unresolved) {
      throw new ChecksFailed(`dupes: ${unresolved} group(s) of duplicates have rows that tie for first under --keep ${report.keep.rule}: the rule cannot resolve them, so no migration was written`, report, { hint: 'add a tie-breaker to --keep (e.g. `, id`) and run again' });
    }
    const migrations = generateMigrations({
      spec,
      root,
      graph,
      tables: facts,
      name: checked.name,
      indexName,
      constraint: request.constraint,
      addForeignKeys: request.addForeignKeys,
      batchSize: request.batchSize,
      lockTimeoutMs: request.lockTimeoutMs,
      command: request.commandLine,
      generatedAt: new Date(deps.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z'),
    });
    report.generated = await writeMigrations(request.dir, migrations, deps.clock.now());
  }
  return report;
}

function reasonFor(kind: string, why: unknown[], pk: unknown[]): string {
  const key = pk.length === 1 ? String(pk[0]) : `(${pk.map(String).join(', ')})`;
  switch (kind) {
    case 'oldest':
      return why.length ? `${key} survives: the earliest (${String(why[0])})` : `${key} survives: the lowest key`;
    case 'newest':
      return why.length ? `${key} survives: the latest (${String(why[0])})` : `${key} survives: the highest key`;
    case 'most-referenced':
      return `${key} survives: the most references (${String(why[0])})`;
    default:
      return `${key} survives: first under the ORDER BY${why.length ? ` (${why.map((w) => JSON.stringify(w)).join(', ')})` : ''}`;
  }
}

/** Write the files with consecutive free versions from `now`; nothing is written when a name is taken. */
async function writeMigrations(dir: string, migrations: ReturnType<typeof generateMigrations>, now: number): Promise<DupesReport['generated']> {
  const { root, entries, taken } = await migrationsFolder(dir);
  const clash = migrations.find((m) => entries.some((e) => e.replace(/^\d{14}_/, '') === `${m.name}.sql`));
  if (clash) throw new ConfigError(`the migrations folder already has a migration named ${clash.name}`, { hint: 'choose another --generate NAME, or delete the earlier files if they were never applied; nothing was written' });
  const newest = [...taken].sort().pop();
  let time = Math.floor(now / 1000) * 1000;
  const files: Array<{ path: string; text: string; summary: string }> = [];
  for (const m of migrations) {
    let version = versionOf(new Date(time));
    while (taken.has(version) || (newest !== undefined && version <= newest)) {
      time += 1000;
      version = versionOf(new Date(time));
    }
    taken.add(version);
    time += 1000;
    files.push({ path: join(root, `${version}_${m.name}.sql`), text: m.text, summary: m.summary });
  }
  for (const f of files) {
    try {
      await writeFile(f.path, f.text, { flag: 'wx' });
    } catch (error) {
      throw error instanceof DrydockError ? error : fsError(error, 'write', f.path);
    }
  }
  return files.map((f) => ({ file: relative(process.cwd(), f.path) || f.path, summary: f.summary }));
}

/** The database to look in: --url, else the working database (--to NAME or URL, else the app's), as snapshot and rehearse resolve it. */
export async function resolveDupesUrl(deps: Pick<Deps, 'settings'>, flags: { url?: string | undefined; to?: string | undefined; local?: string | undefined; localSource?: string | undefined }): Promise<DbUrl> {
  if (flags.url) return resolveDatabaseUrl(flags.url, deps.settings.libpq, 'cli');
  const app = await resolveApp(deps.settings, { required: false });
  const { local, target } = resolveTarget('dupes', flags.to, defaultTarget(app), { value: flags.local, source: flags.localSource }, deps.settings.libpq);
  return withDatabase(local, target);
}
