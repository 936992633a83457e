/**
 * Heroku Postgres backups: list, capture, inspect, download and verify. A backup nobody has restored is
 * not yet a backup: `verify` restores one into a scratch database and checks it against the backup's
 * own row counts.
 *
 * Every subcommand is about one database (`--database`, DATABASE_URL by default): its backups are
 * listed under the app that pays for it, and 'the newest' means the newest of that database's.
 */
import { copyFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

import { damagedArchiveError, downloadToCache, findCached, type CachedBackup } from '../backups/cache.js';
import { chooseBackup } from '../backups/choose.js';
import { describeSafety, findSafetyBackups, readSafetyRecords } from '../backups/safety.js';
import { extensionsInToc, tocEntries, withoutPrecreated } from '../backups/toc.js';
import { compareRowCounts } from '../backups/verify.js';
import { readCatalogFacts } from '../pg/queries/facts.js';
import { compareArchiveFacts, readArchiveFacts } from '../pull/archive-facts.js';
import { describeRestoreProgress } from '../pull/restore-backup.js';
import { RestoreItemCounter } from '../pg/restore-progress.js';
import type { Deps } from '../deps.js';
import { DrydockError, fsError } from '../errors.js';
import { formatEta } from '../format.js';
import { ReportThrottle, describeTransfer, measure } from '../progress.js';
import type { BackupInfo, BackupSummary } from '../heroku/cli.js';
import { describeDatabase, isOfDatabase, resolveDatabase, type HerokuDatabase } from '../heroku/database.js';
import { precreatedSchemas, prepareExtensions } from '../local/extensions.js';
import { adminUrl, drydockDbName, LocalServer, verifyTarget } from '../local/server.js';
import { InterruptedError, interruptedBy } from '../errors.js';
import { mayLeave } from '../interrupt.js';
import { pausePoint } from '../pause.js';
import { detectSchemaVersion } from '../migrate/detect.js';
import { cancelOnAbort, withClient } from '../pg/client.js';
import { describeDb, withDatabase } from '../pg/url.js';
import { parseVersion } from '../pg/version.js';
import { resolveLocalUrl, type ValueSource } from '../settings.js';

/** Download a backup of `app` (the app it is listed under) into the cache (or use the cached copy). */
export async function fetchBackup(deps: Pick<Deps, 'heroku' | 'settings' | 'pgTools'>, app: string, backup: BackupSummary, archiveMajor: number, onProgress?: (text: string) => void): Promise<CachedBackup & { fromCache: boolean }> {
  const cache = deps.settings.cacheDir;
  const hit = await findCached(cache, app, backup.id, backup.createdAt);
  if (hit) return { ...hit, fromCache: true };
  const url = await deps.heroku.backupUrl(app, backup.id);
  // These lines are a log, not a redrawn line: one every 10 % (or 30 s), with the rate and the time left.
  const throttle = new ReportThrottle();
  const startedAt = Date.now();
  const entry = await downloadToCache(cache, app, backup.id, url, {
    createdAt: backup.createdAt,
    expectedBytes: backup.sizeBytes,
    // Signed URLs expire: a download that starts late asks for a fresh one.
    freshUrl: () => deps.heroku.backupUrl(app, backup.id),
    verifyArchive: (file) => deps.pgTools.listArchive(file, archiveMajor),
    onProgress: (p) => {
      const view = measure({ done: p.bytes, total: p.total, startedAt, now: Date.now() });
      const complete = p.total !== undefined && p.bytes >= p.total;
      if (complete || throttle.due(Date.now(), view.fraction)) onProgress?.(`${describeTransfer(p.bytes, p.total, view)} · ${formatEta(view.elapsedMs)} elapsed`);
    },
  });
  return { ...entry, fromCache: false };
}

/** The backup a `backups` subcommand means: `id`, or the newest completed one of the database. */
export async function pickBackup(deps: Pick<Deps, 'heroku'>, db: HerokuDatabase, id: string | undefined): Promise<BackupSummary> {
  const flag = db.database === 'DATABASE_URL' ? '' : ` --database ${db.database}`;
  return chooseBackup(
    await deps.heroku.listBackups(db.backupsApp),
    id,
    db.backupsApp,
    {
      notFound: `see \`drydock backups list -a ${db.app}${flag}\``,
      notCompleted: 'choose a completed backup',
      none: `capture one with \`drydock backups capture -a ${db.app}${flag}\``,
    },
    { label: describeDatabase(db), isOf: (b) => isOfDatabase(b, db) },
  );
}

/** PostgreSQL's major of a database (what its backups' archives are read with), 15 when pg:info did not say. */
function archiveMajorOf(db: HerokuDatabase): number {
  return (db.version ? parseVersion(db.version)?.major : undefined) ?? 15;
}

/** What `backups verify` found. */
export interface VerifyResult {
  backup: string;
  ok: boolean;
  tables: number;
  rows: number;
  schemaVersion: string;
  problems: string[];
  seconds: number;
}

/** Restore a backup into a scratch database, compare every table's rows with the archive, drop it. */
export async function verifyBackup(
  deps: Deps,
  app: string,
  id: string | undefined,
  options: { local?: string | undefined; localSource?: ValueSource; jobs?: number; database?: string | undefined } = {},
): Promise<VerifyResult> {
  const started = Date.now();
  const db = await resolveDatabase(deps.heroku, app, options.database);
  const backup = await pickBackup(deps, db, id);
  const major = archiveMajorOf(db);
  const file = await fetchBackup(deps, db.backupsApp, backup, major, (t) => deps.output.info(`backups verify: downloading ${t}`));
  const pgTools = deps.pgTools;
  const local = resolveLocalUrl(options.local, deps.settings.libpq, options.localSource);
  deps.output.info(`backups verify: counting the rows in ${backup.id}`);
  const expected = await pgTools.archiveRowCounts(file.file, major).catch(async (error: unknown) => {
    throw await damagedArchiveError(error, deps.settings.cacheDir, db.backupsApp, backup.id);
  });
  return LocalServer.with(local, async (server) => {
    // The backstop for killed runs: their verify scratch databases (and untagged copies) go first.
    const orphans = await server.cleanupOrphans();
    if (orphans.length) deps.output.info(`backups verify: dropped ${orphans.length} leftover(s) of interrupted runs: ${orphans.join(', ')}`);
    const scratch = drydockDbName('scratch');
    const leave = mayLeave(`scratch database ${scratch} on ${describeDb(local)} (the next backups verify, pull or snapshot restore drops it)`);
    const stopCancelling = cancelOnAbort(adminUrl(local), server.admin, deps.signal);
    let work: string | undefined;
    try {
      await server.create(scratch, { drydock: 'scratch', target: verifyTarget(app), pid: process.pid, createdAt: new Date().toISOString(), source: `backup ${backup.id} of ${app}` });
      const scratchUrl = withDatabase(local, scratch);
      const toc = await pgTools.listArchive(file.file, major);
      const archiveFacts = await readArchiveFacts(pgTools, file.file, major, toc);
      const extensions = extensionsInToc(toc);
      await prepareExtensions(scratchUrl, extensions);
      work = await mkdtemp(resolve(tmpdir(), 'drydock-verify-'));
      const list = resolve(work, 'toc.list');
      const listed = withoutPrecreated(toc, precreatedSchemas(extensions));
      await writeFile(list, listed);
      deps.output.info(`backups verify: restoring ${backup.id} into scratch database ${scratch}`);
      await pausePoint({ testPauseAt: deps.settings.testPauseAt, output: deps.output, signal: deps.signal }, 'during-restore');
      // pg_restore's items as counts (every 10 %, or 30 s), not its raw lines.
      const items = tocEntries(listed).length;
      const counter = new RestoreItemCounter();
      const throttle = new ReportThrottle();
      const restoreStarted = Date.now();
      await pgTools.restoreArchive(scratchUrl, file.file, {
        archiveMajor: major,
        jobs: options.jobs ?? Math.max(2, availableParallelism()),
        useList: list,
        onStderrLine: (line) => {
          if (!counter.line(line).counted) return;
          const done = Math.min(counter.done, items);
          if (done === items || throttle.due(Date.now(), done / items)) {
            deps.output.info(`backups verify: ${describeRestoreProgress({ done, total: items, item: counter.current, startedAt: restoreStarted })} · ${formatEta(Date.now() - restoreStarted)} elapsed`);
          }
        },
      });
      await rm(work, { recursive: true, force: true });
      work = undefined;
      deps.signal.throwIfAborted();
      return await withClient(scratchUrl, async (client) => {
        const check = await compareRowCounts(client, expected);
        const problems = check.mismatches.map((m) => `${m.table}: ${m.actual < 0 ? 'missing after restore' : `${m.actual} rows`}, backup has ${m.expected}`);
        // Beyond rows: indexes, populated materialized views and sequences as the archive records them.
        problems.push(...compareArchiveFacts(archiveFacts, await readCatalogFacts(client)));
        const schemaVersion = (await detectSchemaVersion(client)).version;
        return { backup: backup.id, ok: problems.length === 0, tables: check.tables, rows: check.rows, schemaVersion, problems, seconds: Math.round((Date.now() - started) / 100) / 10 };
      });
    } catch (error) {
      const by = interruptedBy(deps.signal);
      if (!by) throw error;
      await stopCancelling();
      const dropped = await server.drop(scratch).then(() => true, () => false);
      if (work) await rm(work, { recursive: true, force: true }).catch(() => undefined);
      throw new InterruptedError(by, `interrupted (${by}): verification of backup ${backup.id} stopped before it finished (nothing was verified); ${dropped ? `the scratch database ${scratch} was dropped` : `the scratch database ${scratch} could not be dropped (the next backups verify drops it)`}`, {
        hint: `run \`drydock backups verify ${backup.id} -a ${app}\` again`,
        cause: error,
      });
    } finally {
      await stopCancelling();
      if (work) await rm(work, { recursive: true, force: true }).catch(() => undefined);
      await server.drop(scratch).catch(() => undefined);
      leave();
    }
  });
}

/** One line of `backups list`: a backup, and what it is when it is a safety backup. */
export interface ListedBackup extends BackupSummary {
  /** "safety backup before restore of b001 at …" (drydock captured it, or Heroku's history shows a restore right after it). */
  safety: string | undefined;
}

/**
 * `backups list`: the backups (not restores or copies) of one database, safety backups marked. Those
 * are listed under the app that pays for the database, next to its other databases' (which are left out).
 */
export async function listBackups(deps: Pick<Deps, 'heroku' | 'settings'>, app: string, database?: string): Promise<{ database: HerokuDatabase; backups: ListedBackup[] }> {
  const db = await resolveDatabase(deps.heroku, app, database);
  const [transfers, records] = await Promise.all([deps.heroku.listBackups(db.backupsApp), readSafetyRecords(deps.settings.cacheDir, db.backupsApp)]);
  const safety = findSafetyBackups(transfers, records);
  const backups = transfers.filter((b) => b.kind === 'backup' && isOfDatabase(b, db)).map((b) => {
    const note = safety.get(b.id);
    return { ...b, safety: note ? describeSafety(note) : undefined };
  });
  return { database: db, backups };
}

/** `backups info [id]`: a transfer of the database's billing app, or the newest backup of the database. */
export async function backupInfo(deps: Pick<Deps, 'heroku'>, app: string, id: string | undefined, database?: string): Promise<BackupInfo> {
  const db = await resolveDatabase(deps.heroku, app, database);
  if (id) return deps.heroku.backupInfo(db.backupsApp, id);
  const newest = (await deps.heroku.listBackups(db.backupsApp)).find((b) => b.kind === 'backup' && isOfDatabase(b, db));
  if (!newest) {
    throw new DrydockError(`${describeDatabase(db)} has no backups`, { hint: `capture one with \`drydock backups capture -a ${app}${db.database === 'DATABASE_URL' ? '' : ` --database ${db.database}`}\`` });
  }
  return deps.heroku.backupInfo(db.backupsApp, newest.id);
}

/** Without a log line for this long, `backups capture` says it is still waiting, with the time elapsed. */
export const CAPTURE_HEARTBEAT_MS = 30_000;

/**
 * `backups capture`: capture a backup and wait for it, showing each of the transfer's own lines once
 * as it arrives (the result then leaves them out), the time elapsed while Heroku is quiet, and at the end.
 */
export async function captureBackup(deps: Pick<Deps, 'heroku' | 'output'>, app: string, options: { database: string; timeoutMs: number }): Promise<BackupInfo> {
  deps.output.info(`backups: capturing a backup of ${app}'s ${options.database}`);
  const startedAt = Date.now();
  let lastLineAt = startedAt;
  const heartbeat = setInterval(() => {
    if (Date.now() - lastLineAt < CAPTURE_HEARTBEAT_MS) return;
    lastLineAt = Date.now();
    deps.output.info(`backups: still capturing · ${formatEta(Date.now() - startedAt)} elapsed`);
  }, 1_000);
  heartbeat.unref();
  try {
    const info = await deps.heroku.captureBackup(app, {
      database: options.database,
      // pg_dump's catalog-reading chatter says nothing to a person; table and transfer lines do.
      onProgress: (line) => {
        if (/^pg_dump: (reading|saving|finding|flagging|identifying|last built-in)/.test(line)) return;
        lastLineAt = Date.now();
        deps.output.info(line);
      },
      timeoutMs: options.timeoutMs,
      onWarning: (message) => deps.output.warn(message),
      onWait: (message) => {
        lastLineAt = Date.now();
        deps.output.info(`backups: ${message}`);
      },
    });
    deps.output.info(`backups: captured ${info.id} in ${formatEta(Date.now() - startedAt)}`);
    return info;
  } finally {
    clearInterval(heartbeat);
  }
}

/** `backups download`: into the cache, and to `output` when given. */
export async function downloadBackup(deps: Pick<Deps, 'heroku' | 'output' | 'settings' | 'pgTools'>, app: string, id: string | undefined, output: string | undefined, database?: string) {
  // Where the copy goes is checked before the download, so a wrong path costs nothing.
  if (output) await assertFileTarget(resolve(output), output);
  const db = await resolveDatabase(deps.heroku, app, database);
  const backup = await pickBackup(deps, db, id);
  const entry = await fetchBackup(deps, db.backupsApp, backup, archiveMajorOf(db), (t) => deps.output.info(`downloading ${backup.id}: ${t}`));
  if (output) {
    try {
      await copyFile(entry.file, resolve(output));
    } catch (error) {
      throw fsError(error, 'write the backup to', output);
    }
  }
  return { backup, entry: { ...entry, output: output ? resolve(output) : undefined } };
}

/** `path` can take a new file: it is not a folder, and its folder exists. */
async function assertFileTarget(path: string, shown: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) {
    throw new DrydockError(`cannot write the backup to ${shown}: it is a folder`, { hint: `give a file path, e.g. -o ${join(shown, 'latest.dump')}` });
  }
  const folder = await stat(dirname(path)).catch((error: unknown) => error as NodeJS.ErrnoException);
  if (!(folder instanceof Error) && folder.isDirectory()) return;
  throw folder instanceof Error && folder.code !== 'ENOENT'
    ? fsError(folder, 'write the backup to', shown)
    : new DrydockError(`cannot write the backup to ${shown}: the folder ${dirname(shown)} does not exist`, { hint: `create it first (mkdir -p ${dirname(shown)}), or choose another path` });
}
