/**
 * What a pull is asked to do and what it reports: shared by the pull pipeline and its sources.
 */
import type { NotValidForeignKey } from './foreign-keys.js';
import type { DbUrl } from '../pg/url.js';
import type { DbSession } from '../local/server.js';

/** Where the data comes from. */
export type PullSource =
  | { kind: 'live'; app: string; /** The app's database to copy (default DATABASE_URL): a follower spares the primary. */ database?: string | undefined }
  | { kind: 'url'; url: string }
  | {
      kind: 'backup';
      app: string;
      /** The app's database whose backup is pulled (default DATABASE_URL). */
      database?: string | undefined;
      /** A backup id, or 'latest' (the newest of that database). */
      id: string;
      capture: boolean;
      maxAgeMs: number;
      transferTimeoutMs: number;
    };

/** The database of a Heroku source (DATABASE_URL unless told otherwise). */
export function sourceDatabase(source: Exclude<PullSource, { kind: 'url' }>): string {
  return source.database ?? 'DATABASE_URL';
}

/** Options of one pull. */
export interface PullOptions {
  source: PullSource;
  /** The local server (admin) and the working database name. */
  local: DbUrl;
  target: string;
  jobs: number;
  excludeTableData: string[];
  scrubFile?: string | undefined;
  /** Keep a pristine snapshot of the restored copy (default true). */
  keepSnapshot: boolean;
  /** Check every foreign key row by row instead of trusting production's (--validate-foreign-keys). */
  validateForeignKeys: boolean;
  dryRun: boolean;
  /**
   * Leave the replaced copies (the previous working database, the previous pristine snapshot) tagged
   * for a background process to drop, instead of dropping gigabytes before returning.
   */
  dropInBackground?: boolean;
  /**
   * Take the pristine snapshot in a background process after the swap (src/local/background-snapshot.ts):
   * the working database is handed over closed to new connections until the copy holds its lock, so the
   * two never differ; connections made during the copy wait for it.
   */
  snapshotInBackground?: boolean;
}

/** What a pull did (the --json result). */
export interface PullResult {
  target: string;
  database: string;
  source: string;
  dryRun: boolean;
  plan?: string[] | undefined;
  backup?: { id: string; createdAt: string | undefined; ageHours: number | undefined; bytes: number | undefined; cached: boolean } | undefined;
  tables: number;
  rows: number | undefined;
  schemaVersion: string | undefined;
  snapshot: string | undefined;
  /**
   * The pristine snapshot is being taken by a background process (snapshot is then undefined): connections
   * to the working database wait until it is done; `snapshot restore` and the next pull wait for it too.
   */
  snapshotPending?: boolean | undefined;
  /** The previous working database was replaced (and dropped, now or by the background preparation). */
  previousDropped: boolean;
  /** Replaced copies left for the background preparation to drop. */
  droppingInBackground: string[];
  /** Other sessions on the working database that the swap ended, each named before (a dry run: those connected now, which it would end). */
  sessions: DbSession[];
  scrubbed: boolean;
  /** Foreign keys left NOT VALID because the data they point to was excluded. */
  notValidForeignKeys: NotValidForeignKey[];
  /** Production's database-level settings put on the copy (`unknown` when production could not be asked). */
  databaseSettings: { applied: string[]; refused: Array<{ setting: string; reason: string }>; unknown?: boolean } | undefined;
  /**
   * A live copy's parallel streams (what --jobs asked) and the tightest connection limit of production
   * they were sized by, with the connections in use then (connection-budget.ts).
   */
  connections?: { streams: number; jobs: number; limit?: number; used?: number; by?: string } | undefined;
  /** Indexes INVALID in production: pg_dump leaves them out, so the copy cannot have them. */
  invalidIndexes: string[];
  /** Production's encoding and locale, and whether the copy has them (undefined when production could not be asked). */
  locale: { encoding: string; collate: string; ctype: string; matched: boolean } | undefined;
  /** Large objects copied (live copies). */
  largeObjects: number | undefined;
  seconds: number;
}

/** How a source is named in plans, titles and database tags. */
export function describeSource(source: PullSource): string {
  if (source.kind === 'url') return 'a database URL';
  const database = sourceDatabase(source);
  const of = database === 'DATABASE_URL' ? source.app : `${source.app}'s ${database}`;
  if (source.kind === 'live') return `live database of ${of}`;
  return source.capture ? `a fresh backup of ${of}` : source.id === 'latest' ? `the newest backup of ${of}` : `backup ${source.id} of ${of}`;
}
