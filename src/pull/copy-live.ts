/**
 * Copy a live database into an empty local one, faster than `pg_dump | pg_restore`:
 *
 * 1. One source session opens a REPEATABLE READ transaction and exports its snapshot; every other
 *    source session (and pg_dump) imports it, so the copy is consistent, as pg_dump -j does.
 * 2. The schema goes through a small schema-only archive: pre-data (tables, types, functions) first.
 * 3. Table data streams straight from `COPY … TO STDOUT` into `COPY … FROM STDIN` on `jobs` connection
 *    pairs, largest tables first: no intermediate files, and dump and load overlap.
 * 4. Sequence values are set from the snapshot.
 * 5. post-data (indexes, constraints, foreign keys, triggers) is restored with pg_restore --jobs.
 *
 * Row counts read from the source equal the rows written locally (COPY reports both), which
 * verification checks per table.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

import { DrydockError } from '../errors.js';
import { detectSchemaVersion } from '../migrate/detect.js';
import { connect } from '../pg/client.js';
import { quoteQualified } from '../pg/ident.js';
import type { PgTools } from '../pg/pg-tools.js';
import { readServerVersion } from '../pg/server-facts.js';
import type { DbUrl } from '../pg/url.js';
import { runPool } from './pool.js';
import { matchesTable, withoutPrecreated } from './toc.js';

/** Schemas never copied: Heroku's own. */
export const EXCLUDED_SCHEMAS = ['_heroku'];

/** A table to copy, with what the source said about it. */
export interface SourceTable {
  schema: string;
  name: string;
  /** Bytes on disk (ordering: largest first). */
  bytes: number;
  /** The planner's estimate. */
  estimatedRows: number;
  /** Data left out with --exclude-table-data. */
  excluded: boolean;
}

/** Progress events. */
export type LiveCopyEvent =
  | { kind: 'phase'; message: string }
  | { kind: 'table-done'; table: string; rows: number; done: number; total: number; bytesDone: number; bytesTotal: number };

/** Options of one live copy. */
export interface LiveCopyOptions {
  source: DbUrl;
  target: DbUrl;
  jobs: number;
  /** Table names (`name` or `schema.name`, `*` wildcards) whose data is not copied. */
  excludeTableData: string[];
  pgTools: PgTools;
  /** Schemas (and all extensions) already created in the target: skipped in the schema restore. */
  precreatedSchemas?: ReadonlySet<string>;
  onEvent?: (event: LiveCopyEvent) => void;
}

/** What was copied. */
export interface LiveCopyResult {
  sourceVersion: string;
  schemaVersion: string;
  tables: Array<SourceTable & { rowsCopied: number }>;
  sequences: number;
  bytes: number;
}

const TABLES_SQL = `
  SELECT n.nspname AS schema, c.relname AS name, pg_relation_size(c.oid) AS bytes, greatest(c.reltuples, 0)::bigint AS rows
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r'
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
    AND n.nspname <> ALL($1::text[])
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY pg_relation_size(c.oid) DESC, 1, 2`;

const SEQUENCES_SQL = `
  SELECT schemaname AS schema, sequencename AS name, last_value::text AS last_value
  FROM pg_sequences
  WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname <> ALL($1::text[])`;

/** Open a source session inside the exported snapshot. */
async function snapshotSession(url: DbUrl, snapshot: string): Promise<pg.Client> {
  const client = await connect(url, { applicationName: 'drydock pull (copy)' });
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
  await client.query(`SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, "''")}'`);
  return client;
}

/** Copy `source` into the (empty) `target` database. */
export async function copyLive(options: LiveCopyOptions): Promise<LiveCopyResult> {
  const emit = options.onEvent ?? (() => undefined);
  const workDir = await mkdtemp(join(tmpdir(), 'drydock-pull-'));
  const clients: pg.Client[] = [];
  const track = (c: pg.Client) => (clients.push(c), c);
  try {
    const leader = track(await connect(options.source, { applicationName: 'drydock pull (snapshot)' }));
    await leader.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const { rows: snap } = await leader.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const snapshot = snap[0]!.id;
    const version = await readServerVersion(leader);
    const schemaVersion = (await detectSchemaVersion(leader)).version;
    const { rows: tableRows } = await leader.query<{ schema: string; name: string; bytes: string; rows: string }>(TABLES_SQL, [EXCLUDED_SCHEMAS]);
    const tables: SourceTable[] = tableRows.map((r) => ({
      schema: r.schema,
      name: r.name,
      bytes: Number(r.bytes),
      estimatedRows: Number(r.rows),
      excluded: options.excludeTableData.some((p) => matchesTable(p, r.schema, r.name)),
    }));
    const { rows: sequences } = await leader.query<{ schema: string; name: string; last_value: string | null }>(SEQUENCES_SQL, [EXCLUDED_SCHEMAS]);

    emit({ kind: 'phase', message: `schema: pg_dump --schema-only in snapshot ${snapshot}` });
    const archive = join(workDir, 'schema.dump');
    const dumpTool = await options.pgTools.dumpSchemaArchive(options.source, archive, { snapshot, excludeSchemas: EXCLUDED_SCHEMAS, serverMajor: version.major });
    const list = join(workDir, 'toc.list');
    const toc = await options.pgTools.listArchive(archive, dumpTool.version.major);
    await writeFile(list, withoutPrecreated(toc, options.precreatedSchemas ?? new Set()));
    await options.pgTools.restoreArchive(options.target, archive, { archiveMajor: dumpTool.version.major, section: 'pre-data', useList: list });

    const toCopy = tables.filter((t) => !t.excluded);
    const bytesTotal = toCopy.reduce((a, t) => a + t.bytes, 0);
    let bytesDone = 0;
    let done = 0;
    emit({ kind: 'phase', message: `data: ${toCopy.length} table(s), ${options.jobs} parallel stream(s)` });
    const copied = new Map<string, number>();
    const jobs = Math.max(1, Math.min(options.jobs, toCopy.length || 1));
    const pairs = await Promise.all(
      Array.from({ length: jobs }, async () => {
        const src = track(await snapshotSession(options.source, snapshot));
        const dst = track(await connect(options.target, { applicationName: 'drydock pull (load)' }));
        await dst.query('SET synchronous_commit = off');
        return { src, dst };
      }),
    );
    await runPool(toCopy, pairs, async (table, { src, dst }) => {
      const name = quoteQualified(table.schema, table.name);
      const out = src.query(copyTo(`COPY ${name} TO STDOUT`));
      const into = dst.query(copyFrom(`COPY ${name} FROM STDIN`));
      await pipeline(out, into);
      const rowsOut = Number(out.rowCount ?? 0);
      const rowsIn = Number(into.rowCount ?? 0);
      if (rowsOut !== rowsIn) {
        throw new DrydockError(`copying ${table.schema}.${table.name} lost rows: read ${rowsOut}, wrote ${rowsIn}`, { hint: 'run the pull again; the working database was not touched' });
      }
      copied.set(`${table.schema}.${table.name}`, rowsIn);
      bytesDone += table.bytes;
      done += 1;
      emit({ kind: 'table-done', table: `${table.schema}.${table.name}`, rows: rowsIn, done, total: toCopy.length, bytesDone, bytesTotal });
    });

    // Sequence values are data: set them from the snapshot (pg_sequences shows NULL for never-used ones).
    const target = pairs[0]?.dst ?? track(await connect(options.target));
    for (const seq of sequences) {
      if (seq.last_value === null) continue;
      await target.query('SELECT setval($1::regclass, $2::bigint, true)', [quoteQualified(seq.schema, seq.name), seq.last_value]);
    }
    // The snapshot is no longer needed: release the source before the long local index builds.
    for (const { src } of pairs) await src.query('COMMIT').catch(() => undefined);
    await leader.query('COMMIT');

    emit({ kind: 'phase', message: `indexes and constraints: pg_restore --section=post-data --jobs=${options.jobs}` });
    await options.pgTools.restoreArchive(options.target, archive, { archiveMajor: dumpTool.version.major, section: 'post-data', jobs: options.jobs, useList: list });
    return {
      sourceVersion: version.text,
      schemaVersion,
      tables: tables.map((t) => ({ ...t, rowsCopied: copied.get(`${t.schema}.${t.name}`) ?? 0 })),
      sequences: sequences.length,
      bytes: bytesTotal,
    };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await rm(workDir, { recursive: true, force: true });
  }
}
