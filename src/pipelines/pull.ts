/**
 * The pull pipeline: preflight → source (live copy, or a cached/downloaded backup restored with
 * pg_restore --jobs) into a scratch database → verify → keep a pristine snapshot → swap in → scrub.
 *
 * The working database is only ever replaced by an atomic rename of a complete, verified copy.
 * A pull killed at any moment leaves the previous working database as it was; its leftovers (a
 * scratch copy tagged with the dead pid) are dropped by the next run.
 */

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import type pg from 'pg';

import { chooseBackup } from '../backups/choose.js';
import type { Deps } from '../deps.js';
import { ConfigError, DrydockError } from '../errors.js';
import { formatBytes, hoursSince } from '../format.js';
import type { BackupSummary } from '../heroku/cli.js';
import { resolveApp } from '../heroku/remote.js';
import { scheduleSpare } from '../local/spare.js';
import { defaultTarget, resolveTarget } from '../local/target.js';
import { pausePoint, pausesAt } from '../pause.js';
import { parseDuration, resolveJobs, resolveTransferTimeout, type ValueSource } from '../settings.js';
import { detectSchemaVersion } from '../migrate/detect.js';
import { withClient } from '../pg/client.js';
import { quoteQualified } from '../pg/ident.js';
import { readInstalledExtensions, readServerVersion, type InstalledExtension } from '../pg/queries/server-facts.js';
import { describeDb, parseDatabaseUrl, withDatabase, type DbUrl } from '../pg/url.js';
import { majorLabel, majorOrder, parseVersion } from '../pg/version.js';
import { downloadToCache, findCached, freeBytes, type CachedBackup } from '../backups/cache.js';
import { copyLive, type LiveCopyResult } from '../pull/copy-live.js';
import { acquireAdvisoryLock, releaseAdvisoryLock } from '../pg/lock.js';
import { drydockDbName, LocalServer, targetLockKey, type DrydockDbMeta } from '../local/server.js';
import { precreatedSchemas, prepareExtensions } from '../local/extensions.js';
import { validateCommand, type NotValidForeignKey } from '../pull/foreign-keys.js';
import { restoreBackupArchive } from '../pull/restore-backup.js';
import { downloadWhileRestoring, type StreamMode } from '../pull/stream-restore.js';
import { extensionsInToc, matchesTable, tablesWithData, withoutPrecreated, withoutTableData } from '../backups/toc.js';
import { createPipeline } from './listr.js';

/** Where the data comes from. */
export type PullSource =
  | { kind: 'live'; app: string }
  | { kind: 'url'; url: string }
  | { kind: 'backup'; app: string; id: string | 'latest'; capture: boolean; maxAgeMs: number; transferTimeoutMs: number };

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
  /** The previous working database was replaced (and dropped, now or by the background preparation). */
  previousDropped: boolean;
  /** Replaced copies left for the background preparation to drop. */
  droppingInBackground: string[];
  scrubbed: boolean;
  /** Foreign keys left NOT VALID because the data they point to was excluded. */
  notValidForeignKeys: NotValidForeignKey[];
  seconds: number;
}

interface Ctx {
  sourceUrl?: DbUrl;
  sourceMajor?: number;
  sourceExtensions?: InstalledExtension[];
  sourceBytes?: number;
  backup?: BackupSummary;
  /** The chosen backup's download URL, asked for during preflight. */
  backupUrl?: Promise<string>;
  cached?: CachedBackup;
  /** The backup was already in the cache: nothing was downloaded. */
  cacheHit?: boolean;
  scratch?: string;
  live?: LiveCopyResult;
  restoredTables?: string[];
  notValidForeignKeys?: NotValidForeignKey[];
  /** The entries of the backup to restore, when read during the download (the extensions are then in). */
  restoreList?: string;
  /** The backup's schema and data were loaded during the download. */
  dataLoaded?: boolean;
  dataLoading?: boolean;
  schemaVersion?: string;
  snapshot?: string;
  previous?: string;
  /** Replaced copies, tagged 'previous', for the background preparation to drop. */
  replaced: string[];
  plan: string[];
}

function describeSource(source: PullSource): string {
  switch (source.kind) {
    case 'live':
      return `live database of ${source.app}`;
    case 'url':
      return 'a database URL';
    default:
      return source.capture ? `a fresh backup of ${source.app}` : source.id === 'latest' ? `the newest backup of ${source.app}` : `backup ${source.id} of ${source.app}`;
  }
}

/** What `drydock pull` was asked (its flags, and where the values with a variable came from). */
export interface PullRequest {
  to?: string | undefined;
  from?: string | undefined;
  fromUrl?: string | undefined;
  capture?: boolean | undefined;
  excludeTableData?: string | undefined;
  jobs?: string | undefined;
  scrub?: string | undefined;
  dryRun?: boolean | undefined;
  maxAge?: string | undefined;
  transferTimeout?: string | undefined;
  transferTimeoutSource?: ValueSource;
  local?: string | undefined;
  localSource?: ValueSource;
  snapshot?: boolean | undefined;
  validateForeignKeys?: boolean | undefined;
}

/** `drydock pull`: validate the request, run the pull, then start the background spare. */
export async function pull(deps: Deps, flags: PullRequest): Promise<PullResult> {
  const app = await resolveApp(deps.settings, { required: false });
  let source: PullSource;
  if (flags.fromUrl) {
    if (flags.from && flags.from !== 'live') throw new ConfigError('--from-url copies a live database: it cannot be combined with --from backup', { hint: 'drop --from' });
    source = { kind: 'url', url: flags.fromUrl };
  } else {
    if (!app) throw new ConfigError('pull needs the production app (-a APP) or --from-url URL', { hint: 'drydock pull -a my-app --to my_app_development' });
    const from = flags.capture ? 'backup' : (flags.from ?? 'live');
    if (from === 'live') {
      source = { kind: 'live', app };
    } else {
      const id = from === 'backup' ? 'latest' : from;
      if (id !== 'latest' && !/^[abr]\d{3,}$/i.test(id)) throw new ConfigError(`--from must be live, backup or a backup id like b012, not "${from}"`, { hint: 'list backups with `drydock backups list`' });
      source = { kind: 'backup', app, id, capture: Boolean(flags.capture), maxAgeMs: parseDuration(flags.maxAge ?? '24h', '--max-age', 'h')!, transferTimeoutMs: resolveTransferTimeout(flags.transferTimeout, flags.transferTimeoutSource) };
    }
  }
  const { local, target } = resolveTarget(flags.to, defaultTarget(app), { value: flags.local, source: flags.localSource }, deps.settings.libpq);
  const jobs = resolveJobs(flags.jobs);
  const scrubFile = flags.scrub ? resolve(flags.scrub) : undefined;
  if (scrubFile && !existsSync(scrubFile)) throw new ConfigError(`scrub file ${scrubFile} not found`, { hint: 'pass the path of an SQL file that anonymises the copy' });
  const excludeTableData = (flags.excludeTableData ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const keepSnapshot = flags.snapshot !== false;
  // With a background preparation coming anyway, it also drops the copies this pull replaced.
  const background = keepSnapshot && deps.settings.spares;
  const result = await runPull(deps, { source, local, target, jobs, excludeTableData, scrubFile, keepSnapshot, validateForeignKeys: Boolean(flags.validateForeignKeys), dryRun: Boolean(flags.dryRun), dropInBackground: background });
  if (result.snapshot && background) await scheduleSpare(deps, local, target, 'pristine', result.droppingInBackground);
  return result;
}


/** Run a pull. */
export async function runPull(deps: Deps, options: PullOptions): Promise<PullResult> {
  const started = Date.now();
  const pgTools = deps.pgTools;
  const source = options.source;
  const ctx: Ctx = { plan: [], replaced: [] };
  const cache = deps.settings.cacheDir;
  const meta = (kind: DrydockDbMeta['drydock'], extra: Partial<DrydockDbMeta> = {}): DrydockDbMeta => ({
    drydock: kind,
    target: options.target,
    pid: process.pid,
    createdAt: new Date().toISOString(),
    source: describeSource(source),
    ...extra,
  });

  const pause = { testPauseAt: deps.settings.testPauseAt, output: deps.output };

  // The heroku CLI takes over a second to start: ask it while the local server is checked and cleaned.
  const early = askHerokuEarly(deps, source);

  return LocalServer.with(options.local, async (server) => {
    const localVersion = await readServerVersion(server.admin);
    // One pull per working database at a time (two terminals, or a pull and a snapshot restore).
    const lockKey = targetLockKey(options.target);
    await acquireAdvisoryLock(server.admin, lockKey, {
      waitMs: 60_000,
      purpose: `${options.target} work`,
      onWait: () => deps.output.info(`pull: waiting for other drydock work on ${options.target} (another pull, or a snapshot being prepared)`),
    });

    /** The scratch database the copy goes into (dropped on any failure). */
    const createScratch = async (c: Ctx): Promise<DbUrl> => {
      c.scratch = drydockDbName('scratch');
      await server.create(c.scratch, meta('scratch'));
      return withDatabase(options.local, c.scratch);
    };
    /** A copy this pull replaced (tagged 'previous'): dropped now, or left for the background preparation. */
    const retire = async (c: Ctx, datname: string): Promise<void> => {
      if (options.dropInBackground) c.replaced.push(datname);
      else await server.drop(datname);
    };
    /** From a backup's table of contents: pre-create its extensions in the scratch database, return the entries to restore. */
    const prepareBackupRestore = async (c: Ctx, scratchUrl: DbUrl, toc: string): Promise<string> => {
      c.restoredTables = tablesWithData(withoutTableData(toc, options.excludeTableData));
      const extensions = c.sourceExtensions ?? extensionsInToc(toc);
      await prepareExtensions(scratchUrl, extensions);
      return withoutTableData(withoutPrecreated(toc, precreatedSchemas(extensions)), options.excludeTableData);
    };

    const pipeline = createPipeline<Ctx>(
      [
        {
          title: `Clean up leftovers of interrupted pulls into ${options.target}`,
          task: async (_c, task) => {
            const dropped = await server.cleanupLeftovers(options.target);
            task.title = dropped.length ? `Dropped ${dropped.length} leftover(s) of interrupted pulls: ${dropped.join(', ')}` : 'No leftovers of interrupted pulls';
          },
        },
        {
          title: `Preflight: ${describeSource(source)}`,
          task: async (c, task) => {
            if (source.kind === 'backup') {
              // The heroku CLI costs about a second a call: ask for what is needed at once, and pg:info only
              // when production cannot be asked directly.
              const [backups, url] = await Promise.all([early.backups ?? Promise.resolve([]), early.appUrl?.catch(() => undefined)]);
              if (!source.capture) {
                const chosen = chooseBackup(backups, source.id, source.app, {
                  notFound: `list backups with \`drydock backups list -a ${source.app}\``,
                  notCompleted: 'choose a completed backup',
                  none: 'capture one with --capture, or pull the live database with --from live',
                });
                c.backup = chosen;
                const age = hoursSince(chosen.createdAt, deps.clock.now());
                if (source.id === 'latest' && age !== undefined && age * 3_600_000 > source.maxAgeMs) {
                  throw new DrydockError(`the newest backup of ${source.app} (${chosen.id}) is ${age.toFixed(1)} h old, older than --max-age ${Math.round(source.maxAgeMs / 3_600_000)} h`, {
                    hint: 'use --capture for a fresh backup, --from live, or raise --max-age',
                  });
                }
                // Not in the cache: fetch its download URL while production is asked for its version.
                if (!options.dryRun && !(await findCached(cache, source.app, chosen.id, chosen.createdAt))) {
                  c.backupUrl = deps.heroku.backupUrl(source.app, chosen.id);
                  c.backupUrl.catch(() => undefined);
                }
              }
              if (url) {
                c.sourceUrl = url;
                try {
                  await withClient(url, async (client) => {
                    c.sourceExtensions = await readInstalledExtensions(client);
                    c.sourceMajor = (await readServerVersion(client)).major;
                  }, { connectTimeoutMs: 10_000 });
                } catch {
                  // A backup needs no connection to production; extensions then come from the archive itself.
                }
              }
              if (c.sourceMajor === undefined) {
                const info = await deps.heroku.pgInfo(source.app);
                c.sourceMajor = info.version ? parseVersion(info.version)?.major : undefined;
              }
            } else {
              c.sourceUrl = source.kind === 'url' ? parseDatabaseUrl(source.url, '--from-url', deps.settings.libpq) : await early.appUrl!;
              await withClient(c.sourceUrl, async (client) => {
                c.sourceMajor = (await readServerVersion(client)).major;
                c.sourceExtensions = await readInstalledExtensions(client);
                const { rows: size } = await client.query<{ s: string }>('SELECT pg_database_size(current_database()) AS s');
                c.sourceBytes = Number(size[0]?.s ?? 0);
              }, { connectTimeoutMs: 15_000 });
            }
            if (c.sourceMajor !== undefined) {
              // The same rules as `drydock doctor`: stop before any byte moves.
              await pgTools.tool('pg_dump', c.sourceMajor).catch((error: DrydockError) => {
                if (source.kind !== 'backup') throw error;
              });
              await pgTools.tool('pg_restore', c.sourceMajor);
              if (majorOrder(localVersion.major) < majorOrder(c.sourceMajor)) {
                throw new DrydockError(`the local server is PostgreSQL ${localVersion.text}, older than production's ${majorLabel(c.sourceMajor)}`, {
                  hint: `a dump only loads reliably into the same or a newer major: run \`drydock doctor\` for how to install PostgreSQL ${majorLabel(c.sourceMajor)}`,
                });
              }
            }
            const free = await freeBytes(cache);
            const need = (c.sourceBytes ?? c.backup?.sizeBytes ?? 0) * (source.kind === 'backup' ? 1 : 0);
            if (free !== undefined && need > free) {
              throw new DrydockError(`not enough disk space for the backup: need ${formatBytes(need)}, ${formatBytes(free)} free in ${cache}`, { hint: 'free some space or set DRYDOCK_CACHE_DIR to a bigger disk' });
            }
            task.title = `Preflight passed: PostgreSQL ${c.sourceMajor ? majorLabel(c.sourceMajor) : '?'} → local ${localVersion.text}${c.sourceBytes ? `, ${formatBytes(c.sourceBytes)}` : ''}`;
            c.plan.push(`source: ${describeSource(source)}${c.backup ? ` (${c.backup.id}, ${c.backup.createdAt ?? 'unknown time'}, ${formatBytes(c.backup.sizeBytes)})` : ''}`);
            c.plan.push(`target: ${options.target} on ${describeDb(options.local)} (replaced only after the copy is complete and verified)`);
            c.plan.push(`jobs: ${options.jobs}${options.excludeTableData.length ? `; without data of: ${options.excludeTableData.join(', ')}` : ''}`);
            if (options.keepSnapshot) c.plan.push(`snapshot: keep the restored copy as "${options.target}" pristine snapshot`);
            if (options.scrubFile) c.plan.push(`scrub: run ${options.scrubFile} on the working copy after the swap`);
          },
        },
        {
          title: `Capture a fresh backup of ${source.kind === 'backup' ? source.app : ''}`,
          enabled: () => source.kind === 'backup' && source.capture,
          skip: () => (options.dryRun ? 'dry run' : false),
          task: async (c, task) => {
            if (source.kind !== 'backup') return;
            const info = await deps.heroku.captureBackup(source.app, { onProgress: (line) => (task.output = line), timeoutMs: source.transferTimeoutMs });
            c.backup = info;
            task.title = `Captured backup ${info.id} (${formatBytes(info.sizeBytes)})`;
          },
        },
        {
          title: 'Download the backup',
          enabled: () => source.kind === 'backup',
          skip: () => (options.dryRun ? 'dry run' : false),
          task: async (c, task) => {
            if (source.kind !== 'backup' || !c.backup) return;
            const hit = await findCached(cache, source.app, c.backup.id, c.backup.createdAt);
            if (hit) {
              c.cached = hit;
              c.cacheHit = true;
              task.title = `Backup ${c.backup.id} is in the cache (${formatBytes(hit.bytes)}): nothing to download`;
              return;
            }
            const url = await (c.backupUrl ?? deps.heroku.backupUrl(source.app, c.backup.id));
            const backupId = c.backup.id;
            const download = (hooks: { onPartOpened?: (part: string) => void; onBytes?: (bytes: number, total: number | undefined) => void; signal?: AbortSignal } = {}) =>
              downloadToCache(cache, source.app, backupId, url, {
                createdAt: c.backup?.createdAt,
                ...hooks,
                ...(pausesAt(pause, 'during-download') ? { afterFirstChunk: () => pausePoint(pause, 'during-download') } : {}),
                onProgress: (p) => {
                  task.output = `${formatBytes(p.bytes)}${p.total ? ` of ${formatBytes(p.total)} (${Math.round((100 * p.bytes) / p.total)} %)` : ''}${c.dataLoading ? ', loading as it arrives' : ''}`;
                },
              });
            const mode = deps.settings.streamRestore;
            if (mode === 'off') {
              c.cached = await download();
            } else {
              // Load schema and data while the rest downloads; indexes and keys follow from the complete file.
              const scratchUrl = await createScratch(c);
              const streamed = await downloadWhileRestoring({
                download,
                mode,
                archiveMajor: c.sourceMajor ?? localVersion.major,
                pgTools,
                target: scratchUrl,
                prepare: (toc) => prepareBackupRestore(c, scratchUrl, toc),
                onStreaming: () => (c.dataLoading = true),
              });
              c.cached = streamed.cached;
              c.restoreList = streamed.list;
              c.dataLoaded = streamed.streamed;
              c.dataLoading = false;
            }
            task.title = `Downloaded backup ${c.backup.id}: ${formatBytes(c.cached.bytes)}, md5 ${c.cached.md5}${c.dataLoaded ? ' (schema and data loaded as it arrived)' : ''}`;
          },
        },
        {
          title: 'Restore into a scratch database',
          skip: () => (options.dryRun ? 'dry run' : false),
          task: async (c, task) => {
            const scratchUrl = c.scratch ? withDatabase(options.local, c.scratch) : await createScratch(c);
            await pausePoint(pause, 'during-restore');
            if (source.kind === 'backup') {
              const archiveMajor = c.sourceMajor ?? localVersion.major;
              const dataLoaded = c.dataLoaded === true;
              const list = c.restoreList ?? (await prepareBackupRestore(c, scratchUrl, await pgTools.listArchive(c.cached!.file, archiveMajor)));
              c.notValidForeignKeys = await restoreBackupArchive({
                archive: c.cached!.file,
                archiveMajor,
                toc: list,
                target: scratchUrl,
                jobs: options.jobs,
                pgTools,
                excludedData: (schema, name) => options.excludeTableData.some((p) => matchesTable(p, schema, name)),
                validateForeignKeys: options.validateForeignKeys,
                dataLoaded,
                onStderrLine: (line) => (task.output = line.replace(/^pg_restore: /, '')),
              });
            } else {
              await prepareExtensions(scratchUrl, c.sourceExtensions ?? []);
              c.live = await copyLive({
                source: c.sourceUrl!,
                target: scratchUrl,
                jobs: options.jobs,
                excludeTableData: options.excludeTableData,
                pgTools,
                precreatedSchemas: precreatedSchemas(c.sourceExtensions ?? []),
                validateForeignKeys: options.validateForeignKeys,
                onEvent: (event) => {
                  task.output = event.kind === 'phase' ? event.message : `${event.done}/${event.total} tables (${formatBytes(event.bytesDone)} of ${formatBytes(event.bytesTotal)}): ${event.table} ${event.rows} rows`;
                },
              });
            }
            if (c.live) c.notValidForeignKeys = c.live.notValidForeignKeys;
            task.title = `Restored into scratch database ${c.scratch}${c.live ? ` (COPY ${c.live.format}${c.live.trustedForeignKeys.length ? `, ${c.live.trustedForeignKeys.length} foreign key(s) valid in production kept without a re-check` : ''})` : ''}`;
            for (const fk of c.notValidForeignKeys ?? []) {
              deps.output.warn(`foreign key ${fk.name} on ${fk.table} left NOT VALID: the data of ${fk.references} was excluded; once it is there, run ${validateCommand(fk)}`);
            }
          },
        },
        {
          title: 'Verify the copy',
          skip: () => (options.dryRun ? 'dry run' : false),
          task: async (c, task) => {
            const scratchUrl = withDatabase(options.local, c.scratch!);
            await withClient(scratchUrl, async (client) => {
              await analyzeRemaining(client, new Set(c.live?.analyzed ?? []));
              const { rows: present } = await client.query<{ t: string }>(
                `SELECT n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')`,
              );
              const have = new Set(present.map((r) => r.t));
              const expected = c.live ? c.live.tables.map((t) => `${t.schema}.${t.name}`) : (c.restoredTables ?? []);
              const missing = expected.filter((t) => !have.has(t));
              if (missing.length) throw new DrydockError(`the restored copy lacks ${missing.length} table(s): ${missing.slice(0, 5).join(', ')}`, { hint: 'the working database was not touched; run `drydock doctor` and try again' });
              c.schemaVersion = (await detectSchemaVersion(client)).version;
              if (c.live && c.schemaVersion !== c.live.schemaVersion) {
                throw new DrydockError(`schema version differs: production ${c.live.schemaVersion}, copy ${c.schemaVersion}`, { hint: 'the working database was not touched' });
              }
              if (c.live) {
                const { rows: counts } = await client.query<{ t: string; n: string }>(
                  `SELECT n.nspname || '.' || c.relname AS t, greatest(c.reltuples, 0)::bigint AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'`,
                );
                const estimate = new Map(counts.map((r) => [r.t, Number(r.n)]));
                for (const t of c.live.tables) {
                  const local = estimate.get(`${t.schema}.${t.name}`) ?? 0;
                  if (!t.excluded && t.rowsCopied > 1000 && Math.abs(local - t.rowsCopied) > t.rowsCopied * 0.5) {
                    throw new DrydockError(`${t.schema}.${t.name}: ${t.rowsCopied} rows copied but about ${local} present`, { hint: 'the working database was not touched' });
                  }
                }
              }
              task.title = `Verified: ${expected.length} table(s) present${c.live ? `, ${c.live.tables.reduce((a, t) => a + t.rowsCopied, 0)} rows copied and counted` : ''}, schema version ${c.schemaVersion}`;
            });
          },
        },
        {
          title: 'Keep a pristine snapshot',
          enabled: () => options.keepSnapshot,
          skip: () => (options.dryRun ? 'dry run' : false),
          task: async (c, task) => {
            const name = drydockDbName('snapshot');
            const old = (await server.snapshots(options.target)).filter((s) => s.meta.name === 'pristine');
            await server.create(name, meta('snapshot', { name: 'pristine', pid: undefined }), { template: c.scratch! });
            await server.makeTemplate(name);
            for (const o of old) {
              // No longer a snapshot from here on.
              await server.setMeta(o.datname, meta('previous'));
              await retire(c, o.datname);
            }
            c.snapshot = name;
            task.title = `Kept snapshot "pristine" of ${options.target} (${name})`;
          },
        },
        {
          title: `Swap the copy in as ${options.target}`,
          skip: () => (options.dryRun ? 'dry run' : false),
          task: async (c, task) => {
            await pausePoint(pause, 'before-swap');
            c.previous = await server.swapIn(options.target, c.scratch!, { pid: process.pid, createdAt: new Date().toISOString() });
            c.scratch = undefined;
            if (c.previous) await retire(c, c.previous);
            task.title = `${options.target} now holds the new copy${c.previous ? (options.dropInBackground ? ' (the previous copy is dropped in the background)' : ' (the previous copy was dropped)') : ''}`;
          },
        },
        {
          title: 'Scrub the working copy',
          enabled: () => Boolean(options.scrubFile),
          skip: () => (options.dryRun ? 'dry run' : false),
          task: async () => {
            await pgTools.psqlFile(withDatabase(options.local, options.target), options.scrubFile!, { singleTransaction: true });
          },
        },
      ],
      deps.output,
    );
    try {
      await pipeline.run(ctx);
    } catch (error) {
      if (ctx.scratch) await server.drop(ctx.scratch).catch(() => undefined);
      throw error;
    } finally {
      await releaseAdvisoryLock(server.admin, lockKey);
    }
    const live = ctx.live;
    return {
      target: options.target,
      database: describeDb(withDatabase(options.local, options.target)),
      source: describeSource(source),
      dryRun: options.dryRun,
      plan: options.dryRun ? ctx.plan : undefined,
      backup: ctx.backup
        ? { id: ctx.backup.id, createdAt: ctx.backup.createdAt, ageHours: hoursSince(ctx.backup.createdAt, deps.clock.now()), bytes: ctx.cached?.bytes ?? ctx.backup.sizeBytes, cached: Boolean(ctx.cacheHit) }
        : undefined,
      tables: live ? live.tables.length : (ctx.restoredTables?.length ?? 0),
      rows: live ? live.tables.reduce((a, t) => a + t.rowsCopied, 0) : undefined,
      schemaVersion: ctx.schemaVersion,
      snapshot: ctx.snapshot,
      previousDropped: Boolean(ctx.previous),
      droppingInBackground: ctx.replaced,
      scrubbed: Boolean(options.scrubFile) && !options.dryRun,
      notValidForeignKeys: ctx.notValidForeignKeys ?? [],
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  });
}

/** User tables, partitioned tables and materialized views, as ANALYZE without a list would take them. */
const ANALYZABLE_SQL = `
  SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  ORDER BY 1, 2`;

/** ANALYZE the copy's relations but those already analyzed (schema.name) during the copy. */
async function analyzeRemaining(client: pg.Client, done: ReadonlySet<string>): Promise<void> {
  const { rows } = await client.query<{ schema: string; name: string }>(ANALYZABLE_SQL);
  const rest = rows.filter((r) => !done.has(`${r.schema}.${r.name}`)).map((r) => quoteQualified(r.schema, r.name));
  if (rest.length) await client.query(`ANALYZE ${rest.join(', ')}`);
}

/**
 * Start the heroku CLI calls every pull of `source` needs (the app's database URL; a backup pull's list
 * of backups too). The answers are awaited in preflight; a failure surfaces there, and not at all if the
 * pull stops before.
 */
function askHerokuEarly(deps: Deps, source: PullSource): { appUrl?: Promise<DbUrl>; backups?: Promise<BackupSummary[]> } {
  const quiet = <T>(promise: Promise<T>): Promise<T> => (promise.catch(() => undefined), promise);
  if (source.kind === 'url') return {};
  return {
    appUrl: quiet(resolveAppUrl(deps, source.app)),
    backups: source.kind === 'backup' && !source.capture ? quiet(deps.heroku.listBackups(source.app)) : undefined,
  };
}

async function resolveAppUrl(deps: Deps, app: string): Promise<DbUrl> {
  return parseDatabaseUrl(await deps.heroku.databaseUrl(app), `${app}'s DATABASE_URL`, deps.settings.libpq);
}
