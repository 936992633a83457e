/**
 * The live source: a production database copied over a connection (an exported snapshot, COPY streams,
 * early index builds; see copy-live.ts).
 */
import { precreatedSchemas, prepareExtensions } from '../../local/extensions.js';
import { withClient } from '../../pg/client.js';
import type { PgTools } from '../../pg/pg-tools.js';
import type pg from 'pg';

import { readDataTables, readInvalidIndexes, type DataTable } from '../../pg/queries/catalog.js';
import { FACT_EXCLUDED_SCHEMAS } from '../../pg/queries/facts.js';
import { readDatabaseLocale, readDatabaseSettings, readDatabaseSize, type DatabaseLocale, readInstalledExtensions, readServerVersion, type InstalledExtension } from '../../pg/queries/server-facts.js';
import { readConnectionUse, type ConnectionUse } from '../../pg/queries/connections.js';
import type { DbUrl } from '../../pg/url.js';
import { copyLive, type LiveCopyEvent, type LiveCopyResult } from '../copy-live.js';

/** What preflight learns about a source database. */
export interface SourceFacts {
  /** Production, when it can be reached (always for live copies; for backups, when it answers). */
  url?: DbUrl | undefined;
  major?: number | undefined;
  extensions?: InstalledExtension[] | undefined;
  /** The database's size (live copies: what will move). */
  bytes?: number | undefined;
  /** Its database-level settings (`name=value`), when production could be asked. */
  settings?: string[] | undefined;
  /** Indexes INVALID in production (pg_dump leaves them out, so the copy cannot have them). */
  invalidIndexes?: string[] | undefined;
  /** Its encoding and locale: the copy is created with them where this server has them. */
  locale?: DatabaseLocale | undefined;
  /** The tables whose rows a copy moves (what --exclude-table-data patterns are checked against). */
  tables?: DataTable[] | undefined;
  /** Connection limits and use (live copies: what sizes the parallel streams). */
  connections?: ConnectionUse | undefined;
}

/** Version, extensions, size (when it is what will move), database settings and INVALID indexes of a source database. */
export async function readSourceFacts(client: pg.ClientBase, options: { size: boolean }): Promise<Omit<SourceFacts, 'url'>> {
  return {
    major: (await readServerVersion(client)).major,
    extensions: await readInstalledExtensions(client),
    bytes: options.size ? await readDatabaseSize(client) : undefined,
    settings: await readDatabaseSettings(client),
    invalidIndexes: await readInvalidIndexes(client),
    locale: await readDatabaseLocale(client),
    tables: await readDataTables(client, FACT_EXCLUDED_SCHEMAS),
  };
}

/** Connect to the live source and read its version, extensions, size and connection limits. */
export async function inspectLiveSource(url: DbUrl): Promise<SourceFacts> {
  return withClient(
    url,
    async (client) => ({ url, ...(await readSourceFacts(client, { size: true })), connections: await readConnectionUse(client).catch(() => undefined) }),
    { connectTimeoutMs: 15_000 },
  );
}

/** How to load a live copy. */
export interface LiveLoadOptions {
  jobs: number;
  /** Parallel streams from production (default `jobs`): sized by its connection limits. */
  sourceStreams?: number | undefined;
  excludeTableData: string[];
  validateForeignKeys: boolean;
  onEvent: (event: LiveCopyEvent) => void;
  onWarning: (message: string) => void;
}

/** Copy the live source into the (new, empty) scratch database. */
export async function loadLiveSource(pgTools: PgTools, source: SourceFacts & { url: DbUrl }, scratch: DbUrl, options: LiveLoadOptions): Promise<LiveCopyResult> {
  await prepareExtensions(scratch, source.extensions ?? [], options.onWarning);
  return copyLive({
    source: source.url,
    target: scratch,
    jobs: options.jobs,
    sourceStreams: options.sourceStreams,
    excludeTableData: options.excludeTableData,
    pgTools,
    precreatedSchemas: precreatedSchemas(source.extensions ?? []),
    validateForeignKeys: options.validateForeignKeys,
    onEvent: options.onEvent,
  });
}
