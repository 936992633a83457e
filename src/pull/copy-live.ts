/**
 * Copy a live database into an empty local one, faster than `pg_dump | pg_restore`:
 *
 * 1. One source session opens a REPEATABLE READ transaction and exports its snapshot; every other
 *    source session (and pg_dump) imports it, so the copy is consistent, as pg_dump -j does.
 * 2. The schema goes through a small schema-only archive: pre-data (tables, types, functions) first.
 * 3. Table data streams straight from `COPY … TO STDOUT` into `COPY … FROM STDIN` on `jobs` connection
 *    pairs, largest tables first: no intermediate files, and dump and load overlap (copy-pipe.ts moves
 *    the bytes without unpacking rows). When both servers
 *    run the same major and every column type has a portable binary form, the stream is COPY's binary
 *    format (no text formatting and parsing on either side). Each table is truncated and loaded in one
 *    transaction with FREEZE, so later readers (index builds, ANALYZE, the snapshot) find the rows
 *    frozen instead of setting hint bits on every page.
 * 4. A large table's indexes and primary/unique keys are built as soon as its data is in, while other
 *    tables are still copying. A stream with no table left to copy analyzes the finished ones.
 * 5. Sequence values are set from the snapshot.
 * 6. The rest of post-data (small tables' indexes, triggers, …) is restored with pg_restore --jobs;
 *    foreign keys that were valid in production are added without re-checking every row (see
 *    foreign-keys.ts).
 *
 * Row counts read from the source equal the rows written locally (COPY reports both), which
 * verification checks per table.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

import type pg from 'pg';

import { DrydockError } from '../errors.js';
import { detectSchemaVersion } from '../migrate/detect.js';
import { connect, withTransaction } from '../pg/client.js';
import { quoteQualified } from '../pg/ident.js';
import type { PgTools } from '../pg/pg-tools.js';
import { FACT_EXCLUDED_SCHEMAS, readCatalogFacts, readSequenceStates, type CatalogFacts, type SequenceState } from '../pg/queries/facts.js';
import { PARTITIONED_ANCESTORS_SQL } from '../pg/queries/catalog.js';
import { readServerVersion } from '../pg/queries/server-facts.js';
import type { DbUrl } from '../pg/url.js';
import { copyIn, copyOut, type CopyOut } from './copy-pipe.js';
import type { LiveCopyProgress } from './copy-progress.js';
import { planForeignKeys, SOURCE_FOREIGN_KEYS_SQL, sourceForeignKeys, type NotValidForeignKey } from './foreign-keys.js';
import { runPool } from './pool.js';
import { listRestorer, restoreAroundForeignKeys, type RestoreItemsProgress } from './restore-backup.js';
import { RestoreItemCounter } from '../pg/restore-progress.js';
import { matchesTable, tocEntries, tocWith, withoutPrecreated } from '../backups/toc.js';

/** Schemas never copied: Heroku's own. */
export const EXCLUDED_SCHEMAS = FACT_EXCLUDED_SCHEMAS;

/** A table to copy, with what the source said about it. */
export interface SourceTable {
  /** The table's OID in the source (matches the schema archive's entries). */
  oid: number;
  schema: string;
  name: string;
  /** Bytes on disk (ordering: largest first). */
  bytes: number;
  /** The planner's estimate. */
  estimatedRows: number;
  /** Data left out with --exclude-table-data. */
  excluded: boolean;
  /** Every column has a portable binary form (built-in types, enums, domains over built-ins; no reg* OIDs). */
  binarySafe: boolean;
  /** The columns COPY moves, quoted, in the source's order (generated columns are computed locally). */
  columns: string[];
  /** The table has extended statistics (CREATE STATISTICS): it is analyzed after post-data creates them. */
  hasExtendedStats: boolean;
}

/** Progress events. */
export type LiveCopyEvent =
  | { kind: 'phase'; message: string }
  | { kind: 'table-done'; table: string; rows: number; done: number; total: number; bytesDone: number; bytesTotal: number }
  /** While table data copies, every `progressIntervalMs`: bytes and rows within each running table. */
  | { kind: 'progress'; progress: LiveCopyProgress }
  /** While post-data restores: each item pg_restore finishes. */
  | { kind: 'items'; progress: RestoreItemsProgress };

/** How often a running copy reports its progress (a reading costs a few additions). */
export const PROGRESS_INTERVAL_MS = 500;

/** Options of one live copy. */
export interface LiveCopyOptions {
  source: DbUrl;
  target: DbUrl;
  /** Local parallelism (post-data pg_restore --jobs), and the source streams unless `sourceStreams` says. */
  jobs: number;
  /** Parallel COPY streams from the source (connection-budget.ts sizes them by production's limits). */
  sourceStreams?: number | undefined;
  /** Table names (`name` or `schema.name`, `*` wildcards) whose data is not copied. */
  excludeTableData: string[];
  pgTools: PgTools;
  /** Schemas (and all extensions) already created in the target: skipped in the schema restore. */
  precreatedSchemas?: ReadonlySet<string>;
  /** Check every foreign key row by row instead of trusting production's (--validate-foreign-keys). */
  validateForeignKeys?: boolean;
  /** Tables at least this large get their indexes as soon as their data is in (default EARLY_INDEX_MIN_BYTES). */
  earlyIndexMinBytes?: number;
  onEvent?: (event: LiveCopyEvent) => void;
  /** How often 'progress' events come while data copies (default PROGRESS_INTERVAL_MS). */
  progressIntervalMs?: number;
}

/** What was copied. */
export interface LiveCopyResult {
  sourceVersion: string;
  schemaVersion: string;
  tables: Array<SourceTable & { rowsCopied: number }>;
  sequences: number;
  bytes: number;
  /** COPY format used: binary for every table, text for every table, or mixed. */
  format: 'binary' | 'text' | 'mixed';
  /** Foreign keys left NOT VALID because the data they point to was excluded. */
  notValidForeignKeys: NotValidForeignKey[];
  /** Foreign keys added without a re-check (valid in production, see foreign-keys.ts). */
  trustedForeignKeys: string[];
  /** Tables (schema.name) already analyzed, with all their indexes in place. */
  analyzed: string[];
  /** Large objects copied. */
  largeObjects: number;
  /** Production's catalog facts in the copy's snapshot. */
  sourceFacts: CatalogFacts;
}

/**
 * The tables to copy. A column's binary form is portable when its type is built in (or an enum, or a
 * domain over one) and is not one of the reg* types, whose binary form is the OID of an object in the
 * source (the text form names it). COPY names its columns in the source's order: a table can have
 * another column order locally (pg_dump recreates an inheritance child with its parent's columns first).
 * Generated columns are left out, as pg_dump does: the copy computes them.
 */
const tablesSql = (major: number): string => `
  SELECT c.oid::bigint AS oid, n.nspname AS schema, c.relname AS name, pg_relation_size(c.oid) AS bytes, greatest(c.reltuples, 0)::bigint AS rows,
    NOT EXISTS (
      SELECT 1 FROM pg_attribute a
      JOIN pg_type t ON t.oid = a.atttypid
      JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
      LEFT JOIN pg_type e ON e.oid = b.typelem
      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        AND (NOT (t.typtype = 'e' OR (b.oid < 16384 AND b.typsend::oid <> 0 AND b.typreceive::oid <> 0))
             OR b.typname ~ '^reg' OR coalesce(e.typname, '') ~ '^reg')
    ) AS binary_safe,
    ARRAY(
      SELECT quote_ident(a.attname) FROM pg_attribute a
      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped${major >= 12 ? " AND a.attgenerated = ''" : ''}
      ORDER BY a.attnum
    ) AS columns,
    EXISTS (SELECT 1 FROM pg_statistic_ext x WHERE x.stxrelid = c.oid) AS has_ext_stats,
    ${PARTITIONED_ANCESTORS_SQL} AS partition_of
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r'
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
    AND n.nspname <> ALL($1::text[])
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY pg_relation_size(c.oid) DESC, 1, 2`;

/**
 * Indexes and primary/unique/exclusion keys per table (an index that backs a key is listed as the key,
 * which is how the schema archive names it): built early for large tables.
 */
const TABLE_INDEXES_SQL = `
  SELECT indexrelid::bigint AS oid, indrelid::bigint AS rel FROM pg_index
  WHERE indrelid = ANY($1::oid[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid AND contype IN ('p', 'u', 'x'))
  UNION ALL
  SELECT oid::bigint, conrelid::bigint FROM pg_constraint WHERE contype IN ('p', 'u', 'x') AND conrelid = ANY($1::oid[])`;

/** Tables at least this large get their indexes built as soon as their data is in (one pg_restore each). */
export const EARLY_INDEX_MIN_BYTES = 16 * 1024 * 1024;

/** The sequences whose state is copied (pg_sequences shows no state for one reset with setval(…, false): read each one). */
const SEQUENCES_SQL = `
  SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_' AND n.nspname <> ALL($1::text[])
  ORDER BY 1, 2`;

/** Large objects' contents move in pieces of this size (lo_get / lo_put). */
const LARGE_OBJECT_CHUNK = 1024 * 1024;

/**
 * What every session of the copy pins on both sides, as pg_dump pins its own: text forms that do not
 * depend on the database's settings (a DateStyle of `SQL, DMY` would swap days and months, an IntervalStyle
 * of sql_standard would flip signs), names always schema-qualified (reg* columns in text form), row-level
 * security that fails loudly instead of hiding rows, and no timeouts inherited from production.
 */
export const COPY_SESSION_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  DateStyle: 'ISO',
  IntervalStyle: 'postgres',
  extra_float_digits: '3',
  TimeZone: 'UTC',
  search_path: 'pg_catalog',
  row_security: 'off',
  statement_timeout: '0',
  lock_timeout: '0',
  idle_in_transaction_session_timeout: '0',
});

/** A read-only transaction that can export or import a snapshot. */
const SNAPSHOT_BEGIN = 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY';

/** Open a source session inside the exported snapshot. */
async function snapshotSession(url: DbUrl, snapshot: string): Promise<pg.Client> {
  const client = await connect(url, { applicationName: 'drydock pull (copy)', settings: COPY_SESSION_SETTINGS });
  // The session's transaction lives as long as the session (closed by copyLive's finally).
  await client.query(SNAPSHOT_BEGIN);
  await client.query(`SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, "''")}'`);
  return client;
}

/** Copy `source` into the (empty) `target` database. */
export async function copyLive(options: LiveCopyOptions): Promise<LiveCopyResult> {
  const emit = options.onEvent ?? (() => undefined);
  const workDir = await mkdtemp(join(tmpdir(), 'drydock-pull-'));
  const clients: pg.Client[] = [];
  const track = (c: pg.Client) => (clients.push(c), c);
  let stopTicker = (): void => undefined;
  try {
    // The leader reads the schema version with the database's own search_path (schema_migrations may be
    // anywhere on it); everything else it reads is qualified.
    const { search_path: _qualified, ...leaderSettings } = COPY_SESSION_SETTINGS;
    const leader = track(await connect(options.source, { applicationName: 'drydock pull (snapshot)', settings: leaderSettings }));
    // The leader's transaction holds the exported snapshot for the whole copy: it spans the steps below
    // and is committed as soon as the data is in (before the local post-data work), or ends with the
    // session in the finally below.
    await leader.query(SNAPSHOT_BEGIN);
    const { rows: snap } = await leader.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const snapshot = snap[0]!.id;
    const version = await readServerVersion(leader);
    const schemaVersion = (await detectSchemaVersion(leader)).version;
    const { rows: tableRows } = await leader.query<{
      oid: string;
      schema: string;
      name: string;
      bytes: string;
      rows: string;
      binary_safe: boolean;
      columns: string[];
      has_ext_stats: boolean;
      partition_of: Array<{ schema: string; name: string }>;
    }>(
      tablesSql(version.major),
      [EXCLUDED_SCHEMAS],
    );
    const tables: SourceTable[] = tableRows.map((r) => ({
      oid: Number(r.oid),
      schema: r.schema,
      name: r.name,
      bytes: Number(r.bytes),
      estimatedRows: Number(r.rows),
      // A pattern naming a partitioned table stands for its partitions (the parent holds no rows).
      excluded: options.excludeTableData.some((p) => [r, ...r.partition_of].some((t) => matchesTable(p, t.schema, t.name))),
      binarySafe: r.binary_safe,
      columns: r.columns,
      hasExtendedStats: r.has_ext_stats,
    }));
    const { rows: keyRows } = await leader.query(SOURCE_FOREIGN_KEYS_SQL);
    const sequences = await readSequences(leader);
    // What the copy must share with production, read in the same snapshot (checked before the swap).
    const sourceFacts = await readCatalogFacts(leader);
    const toCopy = tables.filter((t) => !t.excluded);
    const early = toCopy.filter((t) => t.bytes >= (options.earlyIndexMinBytes ?? EARLY_INDEX_MIN_BYTES));
    const { rows: indexRows } = toCopy.length
      ? await leader.query<{ oid: string; rel: string }>(TABLE_INDEXES_SQL, [toCopy.map((t) => t.oid)])
      : { rows: [] };

    emit({ kind: 'phase', message: `schema: pg_dump of pre-data and post-data in snapshot ${snapshot}` });
    const archive = join(workDir, 'schema.dump');
    const dumpTool = await options.pgTools.dumpSchemaArchive(options.source, archive, { snapshot, excludeSchemas: EXCLUDED_SCHEMAS, serverMajor: version.major });
    const archiveMajor = dumpTool.version.major;
    const toc = withoutPrecreated(await options.pgTools.listArchive(archive, archiveMajor), options.precreatedSchemas ?? new Set());
    // Post-data (index builds, mostly) reports pg_restore's items as counts.
    const postData = { counter: new RestoreItemCounter(), total: 0, counting: false, startedAt: 0 };
    const countItem = (line: string): void => {
      if (!postData.counting || !postData.counter.line(line).counted) return;
      emit({ kind: 'items', progress: { done: Math.min(postData.counter.done, postData.total), total: postData.total, item: postData.counter.current, startedAt: postData.startedAt } });
    };
    const restore = listRestorer({ pgTools: options.pgTools, target: options.target, archive, archiveMajor, workDir, onStderrLine: options.onEvent ? countItem : undefined });
    await restore('pre-data', toc, { section: 'pre-data' });

    // Which post-data entries are built early (per large table), and which foreign keys drydock adds itself.
    const earlyByTable = new Map<number, number[]>();
    const earlyRels = new Set(early.map((t) => t.oid));
    const objectTable = new Map(indexRows.filter((r) => earlyRels.has(Number(r.rel))).map((r) => [Number(r.oid), Number(r.rel)]));
    const earlyIds = new Set<number>();
    const earlyObjects = new Set<number>();
    for (const entry of tocEntries(toc)) {
      const isIndex = entry.classOid === 1259 && entry.desc.startsWith('INDEX ');
      const isKey = entry.classOid === 2606 && entry.desc.startsWith('CONSTRAINT ');
      const rel = objectTable.get(entry.objOid);
      if (!(isIndex || isKey) || rel === undefined) continue;
      earlyByTable.set(rel, [...(earlyByTable.get(rel) ?? []), entry.id]);
      earlyIds.add(entry.id);
      earlyObjects.add(entry.objOid);
    }
    const setupTarget = track(await connect(options.target, { applicationName: 'drydock pull (schema)', settings: COPY_SESSION_SETTINGS }));
    const foreignKeys = await planForeignKeys({
      toc,
      archive,
      archiveMajor,
      pgTools: options.pgTools,
      target: setupTarget,
      excludedData: (schema, name) => tables.some((t) => t.excluded && t.schema === schema && t.name === name),
      validate: options.validateForeignKeys ?? false,
      sourceKeys: sourceForeignKeys(keyRows),
    });
    const localMajor = (await readServerVersion(setupTarget)).major;
    const binary = localMajor === version.major;

    const bytesTotal = toCopy.reduce((a, t) => a + t.bytes, 0);
    let bytesDone = 0;
    let done = 0;
    // Progress within tables: each running table's COPY counts the bytes and rows it moves.
    const running = new Map<SourceTable, CopyOut>();
    let bytesCopied = 0;
    const dataStarted = Date.now();
    const reading = (): LiveCopyProgress => ({
      startedAt: dataStarted,
      now: Date.now(),
      tablesDone: done,
      tablesTotal: toCopy.length,
      sizeDone: bytesDone,
      sizeTotal: bytesTotal,
      bytesCopied: bytesCopied + [...running.values()].reduce((a, out) => a + out.bytesRead, 0),
      running: [...running].map(([t, out]) => ({ table: `${t.schema}.${t.name}`, bytes: out.bytesRead, rows: out.messagesRead, sizeOnDisk: t.bytes, estimatedRows: t.estimatedRows })),
    });
    const ticker = setInterval(() => {
      if (running.size) emit({ kind: 'progress', progress: reading() });
    }, options.progressIntervalMs ?? PROGRESS_INTERVAL_MS);
    ticker.unref();
    stopTicker = () => clearInterval(ticker);
    const formats = new Set<string>();
    const streams = options.sourceStreams ?? options.jobs;
    emit({ kind: 'phase', message: `data: ${toCopy.length} table(s), ${streams} parallel stream(s)` });
    const copied = new Map<string, number>();
    const jobs = Math.max(1, Math.min(streams, toCopy.length || 1));
    const pairs = await Promise.all(
      Array.from({ length: jobs }, async () => {
        const src = track(await snapshotSession(options.source, snapshot));
        const dst = track(await connect(options.target, { applicationName: 'drydock pull (load)', settings: COPY_SESSION_SETTINGS }));
        await dst.query('SET synchronous_commit = off');
        return { src, dst };
      }),
    );
    // A copied table whose indexes are all in place is analyzed by a stream that has nothing left to
    // copy, while the others finish: the statistics are then ready sooner than after the whole copy.
    const indexesOf = new Map<number, number[]>();
    for (const r of indexRows) indexesOf.set(Number(r.rel), [...(indexesOf.get(Number(r.rel)) ?? []), Number(r.oid)]);
    const toAnalyze: SourceTable[] = [];
    const analyzed: string[] = [];
    const analyzeNext = async ({ dst }: { dst: pg.Client }): Promise<boolean> => {
      const table = toAnalyze.shift();
      if (!table) return false;
      await dst.query(`ANALYZE ${quoteQualified(table.schema, table.name)}`);
      analyzed.push(`${table.schema}.${table.name}`);
      return true;
    };
    await runPool(toCopy, pairs, async (table, { src, dst }) => {
      const name = quoteQualified(table.schema, table.name);
      const format = binary && table.binarySafe ? 'binary' : 'text';
      formats.add(format);
      // Truncated in the loading transaction so COPY can FREEZE the rows (ONLY: never an inheritance child).
      // The column list names the same columns in the same order on both sides.
      const target = table.columns.length ? `${name} (${table.columns.join(', ')})` : name;
      const { out, into } = await withTransaction(dst, async () => {
        await dst.query(`TRUNCATE ONLY ${name}`);
        const streams = { out: src.query(copyOut(`COPY ${target} TO STDOUT (FORMAT ${format})`)), into: dst.query(copyIn(`COPY ${target} FROM STDIN (FORMAT ${format}, FREEZE)`)) };
        running.set(table, streams.out);
        try {
          await pipeline(streams.out, streams.into).catch((error: unknown) => {
            throw copyError(error, table) ?? error;
          });
        } finally {
          running.delete(table);
          bytesCopied += streams.out.bytesRead;
        }
        return streams;
      });
      const rowsOut = Number(out.rowCount ?? 0);
      const rowsIn = Number(into.rowCount ?? 0);
      if (rowsOut !== rowsIn) {
        throw new DrydockError(`copying ${table.schema}.${table.name} lost rows: read ${rowsOut}, wrote ${rowsIn}`, { hint: 'run the pull again; the working database was not touched' });
      }
      copied.set(`${table.schema}.${table.name}`, rowsIn);
      const ids = new Set(earlyByTable.get(table.oid) ?? []);
      if (ids.size) await restore(`early-${table.oid}`, tocWith(toc, (e) => ids.has(e.id)));
      // Extended statistics are created in post-data: ANALYZE before them would leave them empty.
      if (!table.hasExtendedStats && (indexesOf.get(table.oid) ?? []).every((oid) => earlyObjects.has(oid))) toAnalyze.push(table);
      bytesDone += table.bytes;
      done += 1;
      emit({ kind: 'table-done', table: `${table.schema}.${table.name}`, rows: rowsIn, done, total: toCopy.length, bytesDone, bytesTotal });
    }, analyzeNext);
    stopTicker();

    // Sequence values are data: set them from the snapshot, is_called included (setval(s, n, false) means
    // the next value is n itself).
    for (const seq of sequences) {
      await setupTarget.query('SELECT pg_catalog.setval($1::regclass, $2::bigint, $3)', [quoteQualified(seq.schema, seq.name), seq.lastValue, seq.isCalled]);
    }
    // Large objects are data too (their metadata and comments came with pre-data).
    const largeObjects = await copyLargeObjects(leader, setupTarget);
    // The snapshot is no longer needed: release the source before the remaining local work.
    for (const { src } of pairs) await src.query('COMMIT').catch(() => undefined);
    await leader.query('COMMIT');

    emit({ kind: 'phase', message: `indexes and constraints: pg_restore --section=post-data --jobs=${options.jobs}` });
    if (options.onEvent) {
      // The post-data items pg_restore runs: not those built early, nor the keys drydock adds itself.
      const planned = new Set(foreignKeys.map((fk) => fk.id));
      const ids = new Set(tocEntries(toc).map((e) => e.id));
      const listed = tocEntries(await options.pgTools.listArchive(archive, archiveMajor, { section: 'post-data' }));
      postData.total = listed.filter((e) => ids.has(e.id) && !earlyIds.has(e.id) && !planned.has(e.id)).length;
      postData.counting = true;
      postData.startedAt = Date.now();
    }
    const notValidForeignKeys = await restoreAroundForeignKeys({
      restore,
      client: setupTarget,
      planned: foreignKeys,
      toc,
      skip: (e) => earlyIds.has(e.id),
      section: 'post-data',
      jobs: options.jobs,
    });
    return {
      sourceVersion: version.text,
      schemaVersion,
      tables: tables.map((t) => ({ ...t, rowsCopied: copied.get(`${t.schema}.${t.name}`) ?? 0 })),
      sequences: sequences.length,
      largeObjects,
      sourceFacts,
      bytes: bytesTotal,
      format: formats.size === 1 ? (formats.has('binary') ? 'binary' : 'text') : formats.size ? 'mixed' : 'text',
      notValidForeignKeys,
      trustedForeignKeys: foreignKeys.filter((fk) => fk.mode === 'trust').map((fk) => fk.name),
      analyzed,
    };
  } finally {
    stopTicker();
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Every sequence whose state is copied, with that state in the snapshot. */
async function readSequences(client: pg.Client): Promise<SequenceState[]> {
  const { rows: names } = await client.query<{ schema: string; name: string }>(SEQUENCES_SQL, [EXCLUDED_SCHEMAS]);
  return readSequenceStates(client, names);
}

/**
 * Copy every large object's contents from the snapshot, in pieces (a large object can be up to 4 TB).
 * pg_dump's pre-data created them (with their comments); one missing locally is created with its OID,
 * which the oid columns that point at it already hold.
 */
async function copyLargeObjects(source: pg.Client, target: pg.Client): Promise<number> {
  const { rows } = await source.query<{ oid: string }>('SELECT oid::text FROM pg_catalog.pg_largeobject_metadata ORDER BY oid');
  for (const { oid } of rows) {
    await target.query('SELECT pg_catalog.lo_create($1::oid) WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_largeobject_metadata WHERE oid = $1::oid)', [oid]);
    for (let offset = 0; ; offset += LARGE_OBJECT_CHUNK) {
      const { rows: piece } = await source.query<{ data: Buffer }>('SELECT pg_catalog.lo_get($1::oid, $2, $3) AS data', [oid, offset, LARGE_OBJECT_CHUNK]);
      const data = piece[0]?.data;
      if (!data?.length) break;
      await target.query('SELECT pg_catalog.lo_put($1::oid, $2, $3)', [oid, offset, data]);
      if (data.length < LARGE_OBJECT_CHUNK) break;
    }
  }
  return rows.length;
}

/**
 * A COPY refused because row-level security would filter it (row_security = off, as pg_dump sets):
 * one line naming the table, instead of a copy with rows missing.
 */
function rowSecurityError(error: unknown, table: Pick<SourceTable, 'schema' | 'name'>): DrydockError | undefined {
  const message = (error as { message?: string }).message ?? '';
  if (!/row-level security/i.test(message)) return undefined;
  return new DrydockError(`cannot copy ${table.schema}.${table.name}: its row-level security policies would hide rows from this role (${message})`, {
    hint: 'connect as a role that bypasses row-level security (a superuser or BYPASSRLS, or the owner when the table does not FORCE it), as pg_dump would need; the working database was not touched',
    cause: error,
  });
}

/**
 * A failed COPY of one table as a one-line error naming it, where the cause is known: row-level
 * security, or the source role lacking SELECT (insufficient_privilege, 42501). Undefined otherwise.
 */
export function copyError(error: unknown, table: Pick<SourceTable, 'schema' | 'name'>): DrydockError | undefined {
  const rls = rowSecurityError(error, table);
  if (rls) return rls;
  const { code, message } = error as { code?: string; message?: string };
  if (code !== '42501') return undefined;
  return new DrydockError(`cannot copy ${table.schema}.${table.name}: the source role lacks the SELECT privilege on it (${message ?? 'permission denied'})`, {
    hint: `grant it on production (GRANT SELECT ON ${table.schema}.${table.name} TO <role>), or pull with a role that can read every table; the working database was not touched`,
    cause: error,
  });
}
