/**
 * The pull pipeline: preflight → source (live copy, or a cached/downloaded backup restored with
 * pg_restore --jobs) into a scratch database → verify → scrub → keep a pristine snapshot → swap in.
 *
 * The working database is only ever replaced by an atomic rename of a complete, verified copy.
 * A pull killed at any moment leaves the previous working database as it was; its leftovers (a
 * scratch copy tagged with the dead pid) are dropped by the next run.
 */
import { basename } from 'node:path';

import { damagedArchiveError, freeBytes, type CachedBackup } from '../backups/cache.js';
import type { Deps } from '../deps.js';
import { DrydockError, InterruptedError, interruptedBy } from '../errors.js';
import { mayLeave } from '../interrupt.js';
import { formatBytes, hoursSince } from '../format.js';
import type { BackupSummary, PgInfo } from '../heroku/cli.js';
import { resolveDatabase, type HerokuDatabase } from '../heroku/database.js';
import { resolveApp } from '../heroku/remote.js';
import { adminUrl, describeSession, drydockDbName, endingSessionsMessage, LocalServer, targetLockKey, type DbSession, type DrydockDbMeta } from '../local/server.js';
import type { DetachedProcess } from '../exec.js';
import { awaitSnapshotHandoff, closeConnections, openConnections, stopTaker, type HandoffOutcome } from '../local/background-snapshot.js';
import { scheduleSpare } from '../local/spare.js';
import { pausePoint, pausesAt } from '../pause.js';
import { cancelOnAbort, withClient, withTransaction } from '../pg/client.js';
import { withAdvisoryLock } from '../pg/lock.js';
import type { PgTools } from '../pg/pg-tools.js';
import { readServerVersion } from '../pg/queries/server-facts.js';
import { describeDb, parseDatabaseUrl, withDatabase, type DbUrl } from '../pg/url.js';
import { majorLabel, majorOrder, type PgVersion } from '../pg/version.js';
import type { TocTable } from '../backups/toc.js';
import type { ArchiveFacts } from '../pull/archive-facts.js';
import type { LiveCopyEvent, LiveCopyResult } from '../pull/copy-live.js';
import { copyShare, describeCopyProgress } from '../pull/copy-progress.js';
import { describeRestoreProgress } from '../pull/restore-backup.js';
import { validateCommand, type NotValidForeignKey } from '../pull/foreign-keys.js';
import { fetchBackup, loadBackupSource, preflightBackup, type FetchedBackup } from '../pull/sources/backup.js';
import { checkTablePatterns } from '../pull/table-patterns.js';
import { parsePgInfoConnections, planStreams, serverLimits, type ConnectionLimit, type StreamPlan } from '../pull/connection-budget.js';
import { inspectLiveSource, loadLiveSource, type SourceFacts } from '../pull/sources/live.js';
import { describeSource, sourceDatabase, type PullOptions, type PullResult, type PullSource } from '../pull/types.js';
import { scrubCopy } from '../pull/scrub.js';
import { verifyCopy } from '../pull/verify.js';
import { applyDatabaseSettings, type AppliedSettings } from '../local/database-settings.js';
import { assertReplaceableTarget } from '../local/target-guard.js';
import { resolvePullOptions, type PullRequest } from '../settings.js';
import { createPipeline, type PipelineTask } from './listr.js';
import { stepProgress, withStepProgress, type StepProgress } from './progress.js';

export type { PullOptions, PullRequest, PullResult, PullSource };


/** `drydock pull`: validate the request, run the pull, then start the background spare. */
export async function pull(deps: Deps, flags: PullRequest): Promise<PullResult> {
  const app = await resolveApp(deps.settings, { required: false });
  const options = resolvePullOptions(flags, app, deps.settings);
  const result = await runPull(deps, options);
  // A snapshot taken in the background comes with its own preparation (the same process).
  if (result.snapshot && !result.snapshotPending && options.dropInBackground) await scheduleSpare(deps, options.local, options.target, 'pristine', result.droppingInBackground);
  return result;
}

/** What the pull's steps hand each other. */
interface PullState {
  facts: SourceFacts;
  /** A live copy's parallel streams, sized by production's connection limits (connection-budget.ts). */
  streams?: StreamPlan;
  /** A backup pull's database: where its backups are listed. */
  db?: HerokuDatabase;
  backup?: BackupSummary;
  /** The chosen backup's download URL, asked for during preflight. */
  backupUrl?: Promise<string> | undefined;
  /** Rejects when the URL asked for without an id turned out not to be the chosen backup's. */
  confirmUrl?: Promise<void> | undefined;
  fetched?: FetchedBackup;
  /** The pristine snapshot is being taken by a background process (handed over after the swap). */
  snapshotPending?: boolean;
  /** The scratch database the copy goes into (dropped on any failure). */
  scratch?: string;
  live?: LiveCopyResult;
  archiveFacts?: ArchiveFacts;
  /** The tables the copy must hold. */
  tables?: TocTable[];
  notValidForeignKeys?: NotValidForeignKey[];
  schemaVersion?: string;
  settings?: AppliedSettings;
  /** The copy has production's encoding and locale. */
  localeMatched?: boolean;
  snapshot?: string;
  /** The new snapshot before the swap: dropped if the swap does not happen (the previous one is kept). */
  pendingSnapshot?: string;
  previous?: string;
  /** Replaced copies, tagged 'previous', for the background preparation to drop. */
  replaced: string[];
  /** Other sessions on the working database: ended by the swap (a dry run: connected now). */
  sessions: DbSession[];
  plan: string[];
}

/** Run a pull. */
export async function runPull(deps: Deps, options: PullOptions): Promise<PullResult> {
  const started = deps.clock.now();
  const { source } = options;
  const state: PullState = { facts: {}, plan: [], replaced: [], sessions: [] };
  const cache = deps.settings.cacheDir;
  const pause = { testPauseAt: deps.settings.testPauseAt, output: deps.output, signal: deps.signal };
  // The heroku CLI takes over a second to start: ask it while the local server is checked and cleaned.
  const early = askHerokuEarly(deps, source, options.dryRun);

  return LocalServer.with(options.local, async (server) => {
    // Before anything happens (no lock, no clean-up, no scratch copy): what must never be replaced.
    await assertReplaceableTarget(server.admin, options.target, { local: options.local, source: await sourceUrlOf(deps, source, early) });
    const localVersion = await readServerVersion(server.admin);
    const meta = (kind: DrydockDbMeta['drydock'], extra: Partial<DrydockDbMeta> = {}): DrydockDbMeta => ({
      drydock: kind,
      target: options.target,
      pid: process.pid,
      createdAt: new Date(deps.clock.now()).toISOString(),
      source: describeSource(source),
      ...extra,
    });
    const scratchUrl = async (): Promise<DbUrl> => {
      if (!state.scratch) {
        state.scratch = drydockDbName('scratch');
        leaveScratch = mayLeave(`scratch database ${state.scratch} on ${describeDb(options.local)} (the next pull into ${options.target} drops it)`);
        const locale = state.facts.locale;
        const made = await server.createWithLocale(state.scratch, meta('scratch'), locale);
        state.localeMatched = made.matched;
        if (locale && !made.matched) {
          deps.output.warn(
            `production's database uses ${locale.encoding} with collation ${locale.collate}, which this server cannot create (${made.reason}): the copy has the server's default, so text ordering and unique keys on text may behave differently; install that locale to match`,
          );
        }
      }
      return withDatabase(options.local, state.scratch);
    };
    /** A copy this pull replaced (tagged 'previous'): dropped now, or left for the background preparation. */
    const retire = async (datname: string): Promise<void> => {
      if (options.dropInBackground) state.replaced.push(datname);
      else await server.drop(datname);
    };
    /** What the pristine snapshot holds: a scrubbed pull's snapshot is the scrubbed copy, and says so. */
    const snapshotSource = (): string => `${describeSource(source)}${options.scrubFile ? `, scrubbed with ${basename(options.scrubFile)}` : ''}`;
    /**
     * After the swap (the working copy closed to connections): hand the pristine snapshot to a background
     * process (src/local/background-snapshot.ts), or take it here if the hand-off fails. The working copy is
     * open to connections again either way, and its snapshot is (or is being) made from exactly what was swapped in.
     */
    const snapshotInBackground = async (s: PullState): Promise<void> => {
      const take = { source: snapshotSource(), excludeTableData: options.excludeTableData.length ? options.excludeTableData : undefined };
      let child: DetachedProcess | undefined;
      let outcome: HandoffOutcome = { handedOff: false, why: 'the background process could not be started' };
      const closed = mayLeave(`${options.target} closed to new connections (the next pull, snapshot restore or rehearse of it opens it, as does \`ALTER DATABASE ${options.target} WITH ALLOW_CONNECTIONS true\`)`);
      try {
        child = await scheduleSpare(deps, options.local, options.target, 'pristine', s.replaced, take);
        if (child) outcome = await awaitSnapshotHandoff(server.admin, options.target, () => child!.alive(), { signal: deps.signal, timeoutMs: deps.settings.snapshotHandoffMs });
      } finally {
        if (!outcome.handedOff) {
          // Whatever the taker started is stopped before anyone may connect: a snapshot taken after a
          // client changed the copy would not be pristine.
          child?.kill();
          await stopTaker(server.admin, options.target).catch(() => undefined);
          if (interruptedBy(deps.signal)) await openConnections(server.admin, options.target).catch(() => undefined);
        }
        if (outcome.handedOff || interruptedBy(deps.signal)) closed();
      }
      if (outcome.handedOff) {
        s.snapshotPending = true;
        deps.output.debug(`handed the pristine snapshot of ${options.target} to a background process in ${outcome.ms} ms`);
        return;
      }
      deps.output.warn(`pull: taking the pristine snapshot here instead of in the background: ${outcome.why}`);
      const name = drydockDbName('snapshot');
      s.pendingSnapshot = name;
      try {
        await server.create(name, meta('scratch', { source: `${snapshotSource()} (pristine snapshot being made)` }), { template: options.target });
        await withTransaction(server.admin, async () => {
          await server.setMeta(name, meta('snapshot', { name: 'pristine', pid: undefined, source: take.source, excludeTableData: take.excludeTableData }));
          await server.makeTemplate(name);
        });
        s.snapshot = name;
        s.pendingSnapshot = undefined;
      } finally {
        // With or without its snapshot, the working copy is the user's.
        await openConnections(server.admin, options.target);
        closed();
      }
    };
    const archiveMajor = (): number => state.facts.major ?? localVersion.major;
    const unlessDryRun = () => (options.dryRun ? 'dry run' : false);

    let leaveScratch: (() => void) | undefined;
    /** The step running when an interruption came. */
    let step = '';
    /** Remembers each task's title as it starts, for the interruption message. */
    const tracked = (tasks: PipelineTask<PullState>[]): PipelineTask<PullState>[] =>
      tasks.map((t) => ({ ...t, task: (s, task) => ((step = typeof t.title === 'string' ? t.title : ''), t.task(s, task)) }));
    const pipeline = createPipeline<PullState>(
      tracked([
        {
          title: `Clean up leftovers of interrupted pulls into ${options.target}`,
          skip: unlessDryRun,
          task: async (_s, task) => {
            const dropped = await server.cleanupLeftovers(options.target);
            task.title = dropped.length ? `Dropped ${dropped.length} leftover(s) of interrupted pulls: ${dropped.join(', ')}` : 'No leftovers of interrupted pulls';
          },
        },
        {
          title: `Preflight: ${describeSource(source)}`,
          task: async (s, task) => {
            if (source.kind === 'backup') {
              const chosen = await preflightBackup(deps, source, { ...early, database: early.database! }, { dryRun: options.dryRun, cache });
              Object.assign(s, { facts: chosen.facts, backup: chosen.backup, backupUrl: chosen.backupUrl, confirmUrl: chosen.confirmUrl, db: await early.database });
            } else {
              const url = source.kind === 'url' ? parseDatabaseUrl(source.url, '--from-url', deps.settings.libpq) : await early.appUrl!;
              s.facts = await inspectLiveSource(url);
              s.streams = planStreams(options.jobs, [...(await planLimit(early.pgInfo)), ...(s.facts.connections ? serverLimits(s.facts.connections) : [])]);
              if (s.streams.note) deps.output.warn(s.streams.note);
            }
            await checkCompatibility(deps.pgTools, source, s.facts.major, localVersion);
            for (const index of s.facts.invalidIndexes ?? []) {
              deps.output.warn(`index ${index} is INVALID in production (a failed or unfinished CREATE INDEX CONCURRENTLY): pg_dump leaves it out, so the copy does not have it`);
            }
            const free = await freeBytes(cache);
            const need = source.kind === 'backup' ? (s.facts.bytes ?? s.backup?.sizeBytes ?? 0) : 0;
            if (free !== undefined && need > free) {
              throw new DrydockError(`not enough disk space for the backup: need ${formatBytes(need)}, ${formatBytes(free)} free in ${cache}`, { hint: 'free some space or set DRYDOCK_CACHE_DIR to a bigger disk' });
            }
            const tablesNote = await checkTablePatterns(deps.pgTools, options, { facts: s.facts, backup: s.backup, cache, archiveMajor: archiveMajor() });
            task.title = `Preflight passed: PostgreSQL ${s.facts.major ? majorLabel(s.facts.major) : '?'} → local ${localVersion.text}${s.facts.bytes ? `, ${formatBytes(s.facts.bytes)}` : ''}${s.streams ? `; ${describeStreams(s.streams)}` : ''}`;
            s.plan.push(...describePlan(options, s.backup, s.streams), ...(tablesNote ? [tablesNote] : []));
            if (options.dryRun) {
              s.sessions = await server.sessionsOn(options.target);
              s.plan.push(...describeSessionsPlan(options.target, s.sessions));
            }
          },
        },
        {
          title: `Capture a fresh backup of ${source.kind === 'backup' ? source.app : ''}`,
          enabled: () => source.kind === 'backup' && source.capture,
          skip: unlessDryRun,
          task: async (s, task) => {
            if (source.kind !== 'backup') return;
            s.backup = await withStepProgress(task, deps.output.mode, (progress) =>
              deps.heroku.captureBackup(source.app, {
                database: sourceDatabase(source),
                backupsApp: s.db?.backupsApp,
                onProgress: (line) => progress.line(line),
                onWait: (line) => progress.line(line),
                onWarning: (m) => deps.output.warn(m),
                timeoutMs: source.transferTimeoutMs,
              }),
            );
            task.title = `Captured backup ${s.backup.id} (${formatBytes(s.backup.sizeBytes)})`;
          },
        },
        {
          title: 'Download the backup',
          enabled: () => source.kind === 'backup',
          skip: unlessDryRun,
          task: async (s, task) => {
            if (source.kind !== 'backup' || !s.backup) return;
            const backup = s.backup;
            const backupsApp = s.db?.backupsApp ?? source.app;
            s.fetched = await withStepProgress(task, deps.output.mode, (progress) => fetchBackup(deps, {
              app: backupsApp,
              backup,
              backupUrl: s.backupUrl,
              confirmUrl: s.confirmUrl,
              cache,
              mode: deps.settings.streamRestore,
              archiveMajor: archiveMajor(),
              pgTools: deps.pgTools,
              excludeTableData: options.excludeTableData,
              extensions: s.facts.extensions,
              scratch: scratchUrl,
              afterFirstChunk: pausesAt(pause, 'during-download') ? () => pausePoint(pause, 'during-download') : undefined,
              onProgress: (text, fraction) => progress.update(text, fraction),
              onWarning: (message) => deps.output.warn(message),
            })).catch(async (error: unknown) => {
              // Loading while downloading reads the data as it arrives: damaged data shows here.
              throw await damagedArchiveError(error, cache, backupsApp, backup.id);
            });
            const { cached } = s.fetched;
            task.title = s.fetched.cacheHit
              ? `Backup ${s.backup.id} is in the cache (${formatBytes(cached.bytes)}): nothing to download`
              : `Downloaded backup ${s.backup.id}: ${formatBytes(cached.bytes)}, md5 ${cached.md5}${s.fetched.dataLoaded ? ` (schema and data loaded as it arrived${s.fetched.built?.size ? `, ${s.fetched.built.size} index(es) and key(s) built as their tables' data came in` : ''})` : ''}`;
          },
        },
        {
          title: 'Restore into a scratch database',
          skip: unlessDryRun,
          task: async (s, task) => {
            const scratch = await scratchUrl();
            await pausePoint(pause, 'during-restore');
            const progress = stepProgress(task, deps.output.mode);
            try {
              if (s.fetched) {
                const fetched = s.fetched;
                const loaded = await loadBackupSource(deps.pgTools, fetched, scratch, {
                  archiveMajor: archiveMajor(),
                  jobs: options.jobs,
                  excludeTableData: options.excludeTableData,
                  validateForeignKeys: options.validateForeignKeys,
                  extensions: s.facts.extensions,
                  onProgress: (p) => progress.update(describeRestoreProgress(p), p.total ? p.done / p.total : undefined),
                  onWarning: (message) => deps.output.warn(message),
                }).catch(async (error: unknown) => {
                  // Size and table of contents were right; the data may not be (S3's ETag cannot tell).
                  throw await damagedArchiveError(error, cache, fetched.cached.app, fetched.cached.id, () => deps.pgTools.archiveRowCounts(fetched.cached.file, archiveMajor()));
                });
                s.tables = loaded.tables;
                s.notValidForeignKeys = loaded.notValidForeignKeys;
                s.archiveFacts = loaded.archiveFacts;
              } else {
                s.live = await loadLiveSource(deps.pgTools, { ...s.facts, url: s.facts.url! }, scratch, {
                  jobs: options.jobs,
                  sourceStreams: s.streams?.streams,
                  excludeTableData: options.excludeTableData,
                  validateForeignKeys: options.validateForeignKeys,
                  onWarning: (message) => deps.output.warn(message),
                  onEvent: (event) => showLiveCopyEvent(progress, event),
                });
                s.tables = s.live.tables.map((t) => ({ label: `${t.schema}.${t.name}`, candidates: [{ schema: t.schema, name: t.name }] }));
                s.notValidForeignKeys = s.live.notValidForeignKeys;
              }
            } finally {
              progress.stop();
            }
            task.title = `Restored into scratch database ${s.scratch}${s.live ? ` (COPY ${s.live.format}${s.live.trustedForeignKeys.length ? `, ${s.live.trustedForeignKeys.length} foreign key(s) valid in production kept without a re-check` : ''})` : ''}`;
            for (const fk of s.notValidForeignKeys) {
              deps.output.warn(`foreign key ${fk.name} on ${fk.table} left NOT VALID: the data of ${fk.references} was excluded; once it is there, run ${validateCommand(fk)}`);
            }
          },
        },
        {
          title: 'Verify the copy',
          skip: unlessDryRun,
          task: async (s, task) => {
            const verified = await withClient(withDatabase(options.local, s.scratch!), (client) => verifyCopy(client, { tables: s.tables ?? [], live: s.live, archive: s.archiveFacts }, new Set([...(s.live?.analyzed ?? []), ...(s.fetched?.analyzed ?? [])])));
            s.schemaVersion = verified.schemaVersion;
            task.title = `Verified: ${verified.tables} table(s) present${verified.rows !== undefined ? `, ${verified.rows} rows copied and counted` : ''}, schema version ${verified.schemaVersion}`;
          },
        },
        {
          title: "Apply production's database settings",
          skip: unlessDryRun,
          task: async (s, task) => {
            if (!s.facts.settings) {
              task.skip("production's database settings are unknown (it could not be asked): the copy has none");
              return;
            }
            s.settings = await applyDatabaseSettings(server.admin, s.scratch!, s.facts.settings);
            for (const r of s.settings.refused) deps.output.warn(`production's database setting ${r.setting} could not be applied locally: ${r.reason}`);
            task.title = s.settings.applied.length ? `Applied production's database settings: ${s.settings.applied.join('; ')}` : 'Production has no database-level settings';
          },
        },
        {
          title: `Scrub the copy with ${options.scrubFile ? basename(options.scrubFile) : ''}`,
          enabled: () => Boolean(options.scrubFile),
          skip: unlessDryRun,
          task: async (s, task) => {
            // On the scratch copy, after verification (production's rows are what was checked) and before the
            // snapshot and the swap: neither the working database nor the snapshot ever holds unscrubbed data.
            await scrubCopy(deps.pgTools, withDatabase(options.local, s.scratch!), options.scrubFile!, options.target);
            task.title = `Scrubbed the copy with ${basename(options.scrubFile!)} (before the snapshot and the swap)`;
          },
        },
        {
          title: 'Keep a pristine snapshot',
          enabled: () => options.keepSnapshot && !options.snapshotInBackground,
          skip: unlessDryRun,
          task: async (s, task) => {
            // Made as a scratch copy of this process (a leftover if it dies), and only becomes the
            // "pristine" snapshot in the swap's transaction: the previous snapshot stays until then.
            const name = drydockDbName('snapshot');
            s.pendingSnapshot = name;
            await server.create(name, meta('scratch', { source: `${snapshotSource()} (pristine snapshot being made)` }), { template: s.scratch! });
            await server.makeTemplate(name);
            task.title = `Made snapshot "pristine" of ${options.target} (${name})${options.scrubFile ? ' from the scrubbed copy' : ''}: it replaces the previous one with the swap`;
          },
        },
        {
          title: `Swap the copy in as ${options.target}`,
          skip: unlessDryRun,
          task: async (s, task) => {
            await pausePoint(pause, 'before-swap');
            const pending = s.pendingSnapshot;
            const background = Boolean(options.keepSnapshot && options.snapshotInBackground && !options.dryRun);
            const old = pending || background ? (await server.snapshots(options.target)).filter((o) => o.meta.name === 'pristine') : [];
            s.previous = await server.swapIn(
              options.target,
              s.scratch!,
              { pid: process.pid, createdAt: new Date(deps.clock.now()).toISOString() },
              // In the same transaction: the new snapshot becomes "pristine" and the old ones stop being snapshots.
              pending
                ? async () => {
                    await server.setMeta(pending, meta('snapshot', { name: 'pristine', pid: undefined, source: snapshotSource(), ...(options.excludeTableData.length ? { excludeTableData: options.excludeTableData } : {}) }));
                    for (const o of old) await server.setMeta(o.datname, meta('previous'));
                  }
                : background
                  ? async () => {
                      // Closed until the background copy holds its lock (awaitSnapshotHandoff): nothing can
                      // change the new copy before its snapshot has it. The old snapshots no longer match it.
                      await closeConnections(server.admin, options.target);
                      for (const o of old) await server.setMeta(o.datname, meta('previous'));
                    }
                  : undefined,
              (sessions) => {
                s.sessions.push(...sessions);
                deps.output.warn(endingSessionsMessage(options.target, sessions, 'to swap the new copy in'));
              },
            );
            s.scratch = undefined;
            leaveScratch?.();
            swapped = true;
            if (pending) {
              s.snapshot = pending;
              s.pendingSnapshot = undefined;
              for (const o of old) await retire(o.datname);
            }
            if (s.previous) await retire(s.previous);
            if (background) for (const o of old) await retire(o.datname);
            task.title = `${options.target} now holds the new copy${s.previous ? (options.dropInBackground ? ' (the previous copy is dropped in the background)' : ' (the previous copy was dropped)') : ''}`;
            if (background) await snapshotInBackground(s);
          },
        },
      ]),
      deps.output,
      deps.signal,
    );
    let swapped = false;
    // An interruption cancels what the admin connection runs (CREATE DATABASE … TEMPLATE of a big copy).
    const stopCancelling = cancelOnAbort(adminUrl(options.local), server.admin, deps.signal);
    // One pull per working database at a time (two terminals, or a pull and a snapshot restore).
    await withAdvisoryLock(
      server.admin,
      targetLockKey(options.target),
      async () => {
        try {
          await pipeline.run(state);
        } catch (error) {
          await stopCancelling();
          // Only what this pull made: the previous working database and snapshot are untouched.
          if (state.pendingSnapshot) await server.drop(state.pendingSnapshot).catch(() => undefined);
          const scratch = state.scratch;
          let dropped = false;
          if (scratch) dropped = await server.drop(scratch).then(() => true, () => false);
          if (dropped) leaveScratch?.();
          const by = interruptedBy(deps.signal);
          if (by) {
            const copy = scratch ? (dropped ? `its scratch database ${scratch} was dropped` : `its scratch database ${scratch} could not be dropped (the next pull into ${options.target} drops it)`) : 'no copy had been made';
            // After the swap, the one thing that can be missing is the pristine snapshot (being handed to the background).
            const noSnapshot = swapped && options.keepSnapshot && !state.snapshot && !state.snapshotPending;
            const where = swapped
              ? `${options.target} already holds the new copy (the swap was done)${noSnapshot ? ', but its pristine snapshot was not taken' : ''}`
              : `${options.target} is unchanged; ${copy}`;
            throw new InterruptedError(by, `interrupted (${by}): pull into ${options.target} stopped${step ? ` during "${step}"` : ''}: ${where}`, {
              hint: swapped ? (noSnapshot ? `take it with \`drydock snapshot save pristine --force --to ${options.target}\` before changing ${options.target}, or pull again` : undefined) : `run the same pull again to get a fresh copy`,
              cause: error,
            });
          }
          throw error;
        } finally {
          await stopCancelling();
        }
      },
      {
        signal: deps.signal,
        waitMs: 60_000,
        purpose: `${options.target} work`,
        onWait: () => deps.output.info(`pull: waiting for other drydock work on ${options.target} (another pull, or a snapshot being prepared)`),
      },
    );
    return pullResult(options, state, localVersion, (deps.clock.now() - started) / 1000, deps.clock.now());
  });
}

/** A live copy's event in the restore step's output: phases and finished tables once each, progress within tables as it moves. */
function showLiveCopyEvent(progress: StepProgress, event: LiveCopyEvent): void {
  if (event.kind === 'phase') progress.line(event.message);
  else if (event.kind === 'progress') progress.update(describeCopyProgress(event.progress), copyShare(event.progress));
  else if (event.kind === 'items') progress.update(describeRestoreProgress(event.progress), event.progress.total ? event.progress.done / event.progress.total : undefined);
  else progress.line(`${event.done}/${event.total} tables (${formatBytes(event.bytesDone)} of ${formatBytes(event.bytesTotal)} on disk): ${event.table} ${event.rows} rows`);
}

/** The same rules as `drydock doctor`, before any byte moves: tools that can read production's major, a local server not older. */
async function checkCompatibility(pgTools: PgTools, source: PullSource, sourceMajor: number | undefined, localVersion: PgVersion): Promise<void> {
  if (sourceMajor === undefined) return;
  await pgTools.tool('pg_dump', sourceMajor).catch((error: DrydockError) => {
    // A backup pull runs no pg_dump.
    if (source.kind !== 'backup') throw error;
  });
  await pgTools.tool('pg_restore', sourceMajor);
  if (majorOrder(localVersion.major) < majorOrder(sourceMajor)) {
    throw new DrydockError(`the local server is PostgreSQL ${localVersion.text}, older than production's ${majorLabel(sourceMajor)}`, {
      hint: `a dump only loads reliably into the same or a newer major: run \`drydock doctor\` for how to install PostgreSQL ${majorLabel(sourceMajor)}`,
    });
  }
}

/** The plan lines a dry run prints. */
function describePlan(options: PullOptions, backup: BackupSummary | undefined, streams: StreamPlan | undefined): string[] {
  const plan = [
    `source: ${describeSource(options.source)}${backup ? ` (${backup.id}, ${backup.createdAt ?? 'unknown time'}, ${formatBytes(backup.sizeBytes)})` : ''}`,
    `target: ${options.target} on ${describeDb(options.local)} (replaced only after the copy is complete and verified)`,
    `jobs: ${options.jobs}${options.excludeTableData.length ? `; without data of: ${options.excludeTableData.join(', ')}` : ''}`,
  ];
  if (streams) plan.push(`production connections: ${describeStreams(streams)}`);
  if (options.keepSnapshot) plan.push(`snapshot: keep the restored copy as "${options.target}" pristine snapshot`);
  if (options.scrubFile) {
    plan.push(`scrub: run ${options.scrubFile} on the verified copy before the swap${options.keepSnapshot ? ' and before the pristine snapshot is taken (the snapshot is the scrubbed copy)' : ''}; if it fails, ${options.target} is not changed`);
  }
  return plan;
}

/** "2 parallel stream(s) (production: 11/20 connections in use, the Heroku plan (Essential 0))". */
function describeStreams(streams: StreamPlan): string {
  const t = streams.tightest;
  const limit = t ? ` (production: ${t.limit - t.free}/${t.limit} connections in use, ${t.what})` : '';
  return `${streams.streams} parallel stream(s)${streams.streams < streams.jobs ? ` of --jobs ${streams.jobs}` : ''}${limit}`;
}

/** The Heroku plan's connection limit and use, from `heroku pg:info` (none when it could not say). */
async function planLimit(info: Promise<PgInfo | undefined> | undefined): Promise<ConnectionLimit[]> {
  const pgInfo = await info?.catch(() => undefined);
  const connections = parsePgInfoConnections(pgInfo?.fields.Connections);
  if (!pgInfo || !connections) return [];
  return [{ what: `the Heroku plan${pgInfo.plan ? ` (${pgInfo.plan})` : ''}, heroku pg:info`, limit: connections.limit, used: connections.used }];
}

/** The dry run's plan lines about the sessions the swap would end. */
function describeSessionsPlan(target: string, sessions: readonly DbSession[]): string[] {
  if (!sessions.length) return [`sessions: none connected to ${target} now (the swap ends any that are then, naming each first)`];
  return [`sessions: the swap ends the ${sessions.length} session(s) connected to ${target} (as of now):`, ...sessions.map((x) => `  ${describeSession(x)}`)];
}

function pullResult(options: PullOptions, state: PullState, _local: PgVersion, seconds: number, now: number): PullResult {
  const { live, backup } = state;
  const cached: CachedBackup | undefined = state.fetched?.cached;
  return {
    target: options.target,
    database: describeDb(withDatabase(options.local, options.target)),
    source: describeSource(options.source),
    dryRun: options.dryRun,
    plan: options.dryRun ? state.plan : undefined,
    backup: backup ? { id: backup.id, createdAt: backup.createdAt, ageHours: hoursSince(backup.createdAt, now), bytes: cached?.bytes ?? backup.sizeBytes, cached: Boolean(state.fetched?.cacheHit) } : undefined,
    tables: state.tables?.length ?? 0,
    rows: live ? live.tables.reduce((a, t) => a + t.rowsCopied, 0) : undefined,
    schemaVersion: state.schemaVersion,
    snapshot: state.snapshot,
    ...(state.snapshotPending ? { snapshotPending: true } : {}),
    previousDropped: Boolean(state.previous),
    droppingInBackground: state.replaced,
    sessions: state.sessions,
    scrubbed: Boolean(options.scrubFile) && !options.dryRun,
    notValidForeignKeys: state.notValidForeignKeys ?? [],
    databaseSettings: state.settings ?? (options.dryRun ? undefined : { applied: [], refused: [], unknown: !state.facts.settings }),
    invalidIndexes: state.facts.invalidIndexes ?? [],
    locale: state.facts.locale ? { ...state.facts.locale, matched: Boolean(state.localeMatched) } : undefined,
    largeObjects: live?.largeObjects,
    connections: state.streams
      ? { streams: state.streams.streams, jobs: state.streams.jobs, ...(state.streams.tightest ? { limit: state.streams.tightest.limit, used: state.streams.tightest.limit - state.streams.tightest.free, by: state.streams.tightest.what } : {}) }
      : undefined,
    seconds: Math.round(seconds * 10) / 10,
  };
}

/**
 * Start the heroku CLI calls every pull of `source` needs (the app's database URL; a backup pull's list
 * of backups too). The answers are awaited in preflight; a failure surfaces there, and not at all if the
 * pull stops before.
 */
function askHerokuEarly(
  deps: Deps,
  source: PullSource,
  dryRun: boolean,
): { appUrl?: Promise<DbUrl>; backups?: Promise<BackupSummary[]>; backupUrl?: Promise<string>; askedAt?: number; database?: Promise<HerokuDatabase>; pgInfo?: Promise<PgInfo | undefined> } {
  const quiet = <T>(promise: Promise<T>): Promise<T> => (promise.catch(() => undefined), promise);
  if (source.kind === 'url') return {};
  const database = sourceDatabase(source);
  return {
    askedAt: deps.clock.now(),
    appUrl: quiet(resolveAppUrl(deps, source.app, database)),
    // A backup pull: which app lists the database's backups, its names there, its version. The app's own
    // list is asked for at the same time (it is the one, unless another app pays for the database).
    database: source.kind === 'backup' ? quiet(resolveDatabase(deps.heroku, source.app, database)) : undefined,
    backups: source.kind === 'backup' && !source.capture ? quiet(deps.heroku.listBackups(source.app)) : undefined,
    // Its download URL too, in the same round (preflight uses it only when it is the chosen backup's and
    // the backup is not in the cache): a second round of the CLI would cost another second.
    backupUrl: source.kind === 'backup' && !source.capture && !dryRun ? quiet(deps.heroku.backupUrl(source.app, source.id === 'latest' ? undefined : source.id)) : undefined,
    // The plan's connection limit and use, which size a live copy's streams; a failure only loses that.
    pgInfo: source.kind === 'live' ? deps.heroku.pgInfo(source.app, database).catch(() => undefined) : undefined,
  };
}

/**
 * The live database a pull reads (the app's DATABASE_URL for a backup pull too: that is the database the
 * backup was taken of), so the target can be checked not to be it. A Heroku failure surfaces in preflight.
 */
async function sourceUrlOf(deps: Deps, source: PullSource, early: { appUrl?: Promise<DbUrl> }): Promise<DbUrl | undefined> {
  if (source.kind === 'url') return parseDatabaseUrl(source.url, '--from-url', deps.settings.libpq);
  if (source.kind === 'live') return early.appUrl;
  return early.appUrl?.catch(() => undefined);
}

async function resolveAppUrl(deps: Deps, app: string, database: string): Promise<DbUrl> {
  return parseDatabaseUrl(await deps.heroku.databaseUrl(app, database), `${app}'s ${database}`, deps.settings.libpq);
}
