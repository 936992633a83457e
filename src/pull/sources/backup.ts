/**
 * The backup source: a Heroku backup (the newest, a given id, or a fresh capture), downloaded into the
 * cache (loading while it downloads when that saves time) and restored with pg_restore --jobs.
 */
import { downloadToCache, findCached, type CachedBackup } from '../../backups/cache.js';
import { backupOfUrlWithoutId, chooseBackup } from '../../backups/choose.js';
import { extensionsInToc, matchesTable, namedEntries, tablesWithData, withoutPrecreated, withoutTableData, type TocTable } from '../../backups/toc.js';
import type { Deps } from '../../deps.js';
import { DrydockError } from '../../errors.js';
import { formatAge, formatDuration, hoursSince } from '../../format.js';
import { describeTransfer, measure } from '../../progress.js';
import type { BackupSummary } from '../../heroku/cli.js';
import { describeDatabase, isOfDatabase, type HerokuDatabase } from '../../heroku/database.js';
import { precreatedSchemas, prepareExtensions } from '../../local/extensions.js';
import { withClient } from '../../pg/client.js';
import type { PgTools } from '../../pg/pg-tools.js';
import type { InstalledExtension } from '../../pg/queries/server-facts.js';
import type { DbUrl } from '../../pg/url.js';
import { parseVersion } from '../../pg/version.js';
import type { StreamRestoreMode } from '../../settings.js';
import { readArchiveFacts, type ArchiveFacts } from '../archive-facts.js';
import { assertPatternsMatch } from '../table-patterns.js';
import type { NotValidForeignKey } from '../foreign-keys.js';
import { restoreBackupArchive, type RestoreItemsProgress } from '../restore-backup.js';
import { downloadWhileRestoring } from '../stream-restore.js';
import type { PullSource } from '../types.js';
import { readSourceFacts, type SourceFacts } from './live.js';

type BackupSource = Extract<PullSource, { kind: 'backup' }>;

/** What a backup pull's preflight decided. */
export interface BackupPreflight {
  /** The chosen backup (undefined when a fresh one is captured). */
  backup: BackupSummary | undefined;
  /** Its download URL, asked for during preflight when it is not in the cache. */
  backupUrl: Promise<string> | undefined;
  /**
   * When `backupUrl` was asked for without an id (in the same round as the list): rejects if a newer
   * backup has finished since, so the URL may be that one's. Awaited before the download is kept.
   */
  confirmUrl?: Promise<void> | undefined;
  facts: SourceFacts;
}

/**
 * Choose the backup of the source's database (refusing a newest one older than --max-age) and learn
 * production's major and extensions: over a direct connection when production answers, else from
 * `heroku pg:info`.
 */
export async function preflightBackup(
  deps: Pick<Deps, 'heroku' | 'clock'>,
  source: BackupSource,
  early: { backups?: Promise<BackupSummary[]> | undefined; backupUrl?: Promise<string> | undefined; askedAt?: number; appUrl?: Promise<DbUrl> | undefined; database: Promise<HerokuDatabase> },
  options: { dryRun: boolean; cache: string },
): Promise<BackupPreflight> {
  // The heroku CLI costs about a second a call: what is needed was asked for at once.
  const [db, listed, url] = await Promise.all([early.database, early.backups ?? Promise.resolve([]), early.appUrl?.catch(() => undefined)]);
  let backup: BackupSummary | undefined;
  let backupUrl: Promise<string> | undefined;
  let confirmUrl: Promise<void> | undefined;
  if (!source.capture) {
    // A database another app pays for has its backups listed there.
    const backups = db.backupsApp === source.app ? listed : await deps.heroku.listBackups(db.backupsApp);
    const flag = db.database === 'DATABASE_URL' ? '' : ` --database ${db.database}`;
    backup = chooseBackup(
      backups,
      source.id,
      db.backupsApp,
      {
        notFound: `list backups with \`drydock backups list -a ${source.app}${flag}\``,
        notCompleted: 'choose a completed backup',
        none: 'capture one with --capture, or pull the live database with --from live',
      },
      { label: describeDatabase(db), isOf: (b) => isOfDatabase(b, db) },
    );
    const age = hoursSince(backup.createdAt, deps.clock.now());
    if (source.id === 'latest' && age !== undefined && age * 3_600_000 > source.maxAgeMs) {
      throw new DrydockError(`the newest backup of ${source.app} (${backup.id}) is ${formatAge(age)} old, older than --max-age ${formatDuration(source.maxAgeMs)}`, {
        hint: 'use --capture for a fresh backup, --from live, or raise --max-age',
      });
    }
    // Not in the cache: its download URL, asked for with the list when it can be (same app; a given id,
    // or 'latest' when the app's newest backup is this database's), else now, while production is asked
    // for its version.
    if (!options.dryRun && !(await findCached(options.cache, db.backupsApp, backup.id, backup.createdAt))) {
      const chosen = backup;
      const asked = db.backupsApp === source.app && early.backupUrl ? earlyUrlFor(source.id, chosen, listed, early.askedAt ?? 0) : undefined;
      const explicit = (): Promise<string> => deps.heroku.backupUrl(db.backupsApp, chosen.id);
      backupUrl = asked && early.backupUrl ? early.backupUrl.catch(explicit) : explicit();
      backupUrl.catch(() => undefined);
      if (asked === 'latest') {
        // The URL is of the app's newest backup when the CLI asked. The chosen one had finished before the
        // CLI started (earlyUrlFor); one that finished after that would be newer, and a list read now,
        // after the CLI answered, shows it.
        confirmUrl = early.backupUrl!.then(
          () => confirmNewest(deps, source.app, chosen),
          () => undefined, // the URL was asked for again by id
        );
        confirmUrl.catch(() => undefined);
      }
    }
  }
  const facts: SourceFacts = {};
  if (url) {
    facts.url = url;
    try {
      await withClient(url, async (client) => Object.assign(facts, await readSourceFacts(client, { size: false })), { connectTimeoutMs: 10_000 });
    } catch {
      // A backup needs no connection to production; extensions then come from the archive itself.
    }
  }
  // pg:info of this very database (an app's first listed database may be a follower on another major).
  if (facts.major === undefined) facts.major = db.version ? parseVersion(db.version)?.major : undefined;
  return { backup, backupUrl, confirmUrl, facts };
}

/** How long before the CLI was started the chosen backup must have finished (Heroku's clock and ours may differ). */
export const EARLY_URL_FINISHED_BEFORE_MS = 60_000;

/**
 * Whether the URL asked for with the list (`askedAt`: when the CLI was started) is `chosen`'s: 'id' (it
 * was asked for by that id), 'latest' (asked for without an id; to be confirmed by a list read after it
 * came), or not. Without an id the CLI reads the list itself, maybe before or after `listed` was read:
 * the chosen backup must be the app's newest in `listed` and have finished well before the CLI started,
 * so that the CLI saw it too. Pure.
 */
export function earlyUrlFor(id: string, chosen: BackupSummary, listed: readonly BackupSummary[], askedAt: number): 'id' | 'latest' | undefined {
  if (id !== 'latest') return id.toLowerCase() === chosen.id.toLowerCase() ? 'id' : undefined;
  const finished = chosen.finishedAt ? Date.parse(chosen.finishedAt) : Number.NaN;
  if (!(finished < askedAt - EARLY_URL_FINISHED_BEFORE_MS)) return undefined;
  return backupOfUrlWithoutId(listed)?.id === chosen.id ? 'latest' : undefined;
}

/** Rejects when the app's newest backup (as `heroku pg:backups:url` picks it) is no longer `chosen`. */
async function confirmNewest(deps: Pick<Deps, 'heroku'>, app: string, chosen: BackupSummary): Promise<void> {
  const now = backupOfUrlWithoutId(await deps.heroku.listBackups(app));
  if (now?.id === chosen.id) return;
  throw new DrydockError(`backup ${now?.id ?? 'of another database'} of ${app} finished while this pull asked for ${chosen.id}'s download URL: the URL may be the newer backup's, so it was not used`, {
    hint: `nothing was changed; run again, or name the backup (--from ${chosen.id})`,
  });
}

/** The entries of a backup to restore, and the tables whose data it brings. */
export interface RestoreList {
  list: string;
  tables: TocTable[];
}

/**
 * From a backup's table of contents: check that every --exclude-table-data pattern names one of its
 * tables (before anything loads), pre-create its extensions in the scratch database, return the entries
 * to restore.
 */
export async function prepareBackupRestore(
  scratch: DbUrl,
  toc: string,
  known: InstalledExtension[] | undefined,
  excludeTableData: string[],
  backupLabel: string,
  onWarning?: (message: string) => void,
): Promise<RestoreList> {
  assertPatternsMatch('--exclude-table-data', excludeTableData, tablesWithData(toc), backupLabel, namedEntries(toc, 'TABLE'));
  const extensions = known ?? extensionsInToc(toc);
  await prepareExtensions(scratch, extensions, onWarning);
  return {
    tables: tablesWithData(withoutTableData(toc, excludeTableData)),
    list: withoutTableData(withoutPrecreated(toc, precreatedSchemas(extensions)), excludeTableData),
  };
}

/** A downloaded backup, and what of it is already loaded. */
export interface FetchedBackup {
  cached: CachedBackup;
  /** It was in the cache: nothing was downloaded. */
  cacheHit: boolean;
  /** Read during the download (the extensions are then in the scratch database). */
  restore?: RestoreList | undefined;
  /** Schema and data were loaded during the download. */
  dataLoaded: boolean;
  /** Post-data entries (tables' own indexes and keys) built during the download. */
  built?: ReadonlySet<number>;
  /** Tables (`schema.name`) analyzed during the download, their statistics complete. */
  analyzed?: ReadonlySet<string>;
}

/** How to fetch a backup. */
export interface FetchBackupOptions {
  /** The app the backup is listed under (its database's billing app). */
  app: string;
  backup: BackupSummary;
  backupUrl: Promise<string> | undefined;
  /** Rejects when `backupUrl` may not be the backup's (BackupPreflight.confirmUrl): awaited before the download is kept. */
  confirmUrl?: Promise<void> | undefined;
  cache: string;
  mode: StreamRestoreMode;
  archiveMajor: number;
  pgTools: PgTools;
  excludeTableData: string[];
  extensions: InstalledExtension[] | undefined;
  /** The scratch database, created on demand (only when loading while downloading). */
  scratch: () => Promise<DbUrl>;
  /** After the first chunk (a test pause point). */
  afterFirstChunk?: (() => Promise<void>) | undefined;
  /** The download's progress as a line, and its share done when the size is known. */
  onProgress: (text: string, fraction: number | undefined) => void;
  onWarning?: (message: string) => void;
}

/** Use the cached backup, or download it (with mode auto/always, loading schema and data as it arrives). */
export async function fetchBackup(deps: Pick<Deps, 'heroku'>, options: FetchBackupOptions): Promise<FetchedBackup> {
  const { app, backup } = options;
  const hit = await findCached(options.cache, app, backup.id, backup.createdAt);
  if (hit) return { cached: hit, cacheHit: true, dataLoaded: false };
  const url = await (options.backupUrl ?? deps.heroku.backupUrl(app, backup.id));
  let loading = false;
  const startedAt = Date.now();
  const download = (hooks: { onPartOpened?: (part: string) => void; onBytes?: (bytes: number, total: number | undefined) => void; signal?: AbortSignal } = {}) =>
    downloadToCache(options.cache, app, backup.id, url, {
      createdAt: backup.createdAt,
      expectedBytes: backup.sizeBytes,
      // The URL was signed during preflight: a download that starts after it expired asks again.
      freshUrl: () => deps.heroku.backupUrl(app, backup.id),
      verifyArchive: (file) => options.pgTools.listArchive(file, options.archiveMajor),
      ...(options.confirmUrl ? { beforeKeep: () => options.confirmUrl! } : {}),
      ...hooks,
      ...(options.afterFirstChunk ? { afterFirstChunk: options.afterFirstChunk } : {}),
      onProgress: (p) => {
        const view = measure({ done: p.bytes, total: p.total, startedAt, now: Date.now() });
        options.onProgress(`${describeTransfer(p.bytes, p.total, view)}${loading ? ', loading as it arrives' : ''}`, view.fraction);
      },
    });
  if (options.mode === 'off') return { cached: await download(), cacheHit: false, dataLoaded: false };
  // Load schema and data while the rest downloads; indexes and keys follow from the complete file.
  const scratch = await options.scratch();
  let restore: RestoreList | undefined;
  const streamed = await downloadWhileRestoring({
    download,
    mode: options.mode,
    archiveMajor: options.archiveMajor,
    pgTools: options.pgTools,
    target: scratch,
    prepare: async (toc) => (restore = await prepareBackupRestore(scratch, toc, options.extensions, options.excludeTableData, `backup ${backup.id} of ${app}`, options.onWarning)).list,
    onStreaming: () => (loading = true),
  });
  return { cached: streamed.cached, cacheHit: false, restore, dataLoaded: streamed.streamed, built: streamed.built, analyzed: streamed.analyzed };
}

/** Restore a fetched backup into the scratch database; returns the tables it brings and the keys left NOT VALID. */
export async function loadBackupSource(
  pgTools: PgTools,
  fetched: FetchedBackup,
  scratch: DbUrl,
  options: { archiveMajor: number; jobs: number; excludeTableData: string[]; validateForeignKeys: boolean; extensions: InstalledExtension[] | undefined; onProgress?: (progress: RestoreItemsProgress) => void; onWarning?: (message: string) => void },
): Promise<{ tables: TocTable[]; notValidForeignKeys: NotValidForeignKey[]; archiveFacts: ArchiveFacts }> {
  const { file, id, app } = fetched.cached;
  const restore = fetched.restore ?? (await prepareBackupRestore(scratch, await pgTools.listArchive(file, options.archiveMajor), options.extensions, options.excludeTableData, `backup ${id} of ${app}`, options.onWarning));
  const notValidForeignKeys = await restoreBackupArchive({
    archive: fetched.cached.file,
    archiveMajor: options.archiveMajor,
    toc: restore.list,
    target: scratch,
    jobs: options.jobs,
    pgTools,
    excludedData: (schema, name) => options.excludeTableData.some((p) => matchesTable(p, schema, name)),
    validateForeignKeys: options.validateForeignKeys,
    dataLoaded: fetched.dataLoaded,
    ...(fetched.built ? { built: fetched.built } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return { tables: restore.tables, notValidForeignKeys, archiveFacts: await readArchiveFacts(pgTools, fetched.cached.file, options.archiveMajor, restore.list) };
}
