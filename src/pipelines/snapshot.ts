/**
 * Snapshots: instant resets for rehearsals. A snapshot is a template database (CREATE DATABASE …
 * TEMPLATE … STRATEGY FILE_COPY copies files, not rows). `pull` keeps one named "pristine" for its
 * working database; a background process keeps a spare copy of it so a reset is a rename.
 */
import type { Deps } from '../deps.js';
import { ConfigError, DrydockError, InterruptedError, interruptedBy } from '../errors.js';
import { mayLeave } from '../interrupt.js';
import { pausePoint } from '../pause.js';
import { cancelOnAbort, withClient, withTransaction } from '../pg/client.js';
import { hoursSince, roundHours } from '../format.js';
import { resolveApp } from '../heroku/remote.js';
import { adminUrl, drydockDbName, endingSessionsMessage, LocalServer, targetLockKey, type DrydockDb } from '../local/server.js';
import { snapshotTakerName } from '../local/background-snapshot.js';
import { scheduleSpare } from '../local/spare.js';
import { assertReplaceableTarget } from '../local/target-guard.js';
import { withAdvisoryLock } from '../pg/lock.js';
import { describeDb, type DbUrl } from '../pg/url.js';
import { defaultTarget, resolveLocalUrl, resolveTarget, type ValueSource } from '../settings.js';

/** Flags shared by the snapshot subcommands. */
export interface SnapshotFlags {
  to?: string | undefined;
  local?: string | undefined;
  localSource?: ValueSource;
  force?: boolean | undefined;
}

/** One snapshot, for list and --json. */
export interface SnapshotInfo {
  name: string;
  target: string;
  database: string;
  bytes: number;
  createdAt: string;
  ageHours: number;
  source: string | undefined;
  /** The pull that made it copied these tables (--exclude-table-data patterns) without their rows. */
  excludeTableData?: string[] | undefined;
}

export function assertSnapshotName(name: string): void {
  if (!/^[a-z0-9][a-z0-9_-]{0,39}$/.test(name)) {
    throw new ConfigError(`"${name.slice(0, 40)}" is not a valid snapshot name`, { hint: 'use lowercase letters, digits, _ and -, e.g. before-migration' });
  }
}

function info(db: DrydockDb, now: number): SnapshotInfo {
  return {
    name: db.meta.name ?? db.datname,
    target: db.meta.target,
    database: db.datname,
    bytes: db.sizeBytes,
    createdAt: db.meta.createdAt,
    ageHours: roundHours(hoursSince(db.meta.createdAt, now)) ?? 0,
    source: db.meta.source,
    ...(db.meta.excludeTableData?.length ? { excludeTableData: db.meta.excludeTableData } : {}),
  };
}

/** The local server and working database of `drydock snapshot <subcommand>` (named in the error when there is none). */
async function where(deps: Deps, subcommand: string, flags: SnapshotFlags): Promise<{ local: DbUrl; target: string }> {
  const app = await resolveApp(deps.settings, { required: false });
  return resolveTarget(`snapshot ${subcommand}`, flags.to, defaultTarget(app), { value: flags.local, source: flags.localSource }, deps.settings.libpq);
}

/** The local server's admin connection, named `drydock snapshot` in pg_stat_activity. */
function withSnapshotServer<T>(local: DbUrl, fn: (server: LocalServer) => Promise<T>): Promise<T> {
  return LocalServer.with(local, fn, 'drydock snapshot');
}

/** The target's lock: one piece of drydock work (pull, reset, spare preparation) per working database. */
function withTargetLock<T>(server: LocalServer, target: string, fn: () => Promise<T>, onWait?: () => void, signal?: AbortSignal): Promise<T> {
  return withAdvisoryLock(server.admin, targetLockKey(target), fn, { waitMs: 10 * 60_000, purpose: `${target} work`, signal, ...(onWait ? { onWait } : {}) });
}

/** Save the working database as snapshot `name` (replacing an older one with --force). */
export async function saveSnapshot(deps: Deps, name: string, flags: SnapshotFlags): Promise<SnapshotInfo> {
  assertSnapshotName(name);
  const { local, target } = await where(deps, 'save', flags);
  return withSnapshotServer(local, async (server) => {
    // Saving ends the sessions on the working database: never a template's or the admin database's.
    await assertReplaceableTarget(server.admin, target, { local });
    if (!(await server.exists(target))) throw new ConfigError(`database ${target} does not exist on ${describeDb(local)}`, { hint: 'pull it first with `drydock pull`' });
    const existing = (await server.snapshots(target)).filter((s) => s.meta.name === name);
    if (existing.length && !flags.force) throw new ConfigError(`snapshot "${name}" of ${target} already exists`, { hint: 'pass --force to replace it, or choose another name' });
    const dbName = drydockDbName('snapshot');
    // CREATE DATABASE … TEMPLATE needs the source to itself: sessions on the working database end here.
    await server.terminateConnections(target, (sessions) => deps.output.warn(endingSessionsMessage(target, sessions, 'to copy it')));
    await server.create(dbName, { drydock: 'snapshot', target, name, createdAt: new Date().toISOString(), source: `saved from ${target}` }, { template: target });
    await server.makeTemplate(dbName);
    for (const old of existing) await server.drop(old.datname);
    const saved = (await server.snapshots(target)).find((s) => s.datname === dbName)!;
    return info(saved, deps.clock.now());
  });
}

/** Replace the working database with a fresh copy of snapshot `name`. */
export async function restoreSnapshot(deps: Deps, name: string, flags: SnapshotFlags): Promise<SnapshotInfo & { seconds: number; prepared: boolean }> {
  assertSnapshotName(name);
  const started = Date.now();
  const { local, target } = await where(deps, 'restore', flags);
  const spares = deps.settings.spares;
  const outcome = await withSnapshotServer(local, async (server) => {
    // Before the lock and the clean-up: what must never be replaced.
    await assertReplaceableTarget(server.admin, target, { local });
    return withTargetLock(server, target, async () => {
      const snapshot = (await server.snapshots(target)).find((s) => s.meta.name === name);
      if (!snapshot) {
        const names = (await server.snapshots(target)).map((s) => s.meta.name);
        throw new ConfigError(`no snapshot "${name}" of ${target}`, { hint: names.length ? `snapshots of ${target}: ${names.join(', ')}` : 'create one with `drydock pull` or `drydock snapshot save NAME`' });
      }
      await server.cleanupLeftovers(target);
      const spare = spares ? await server.spareOf(target, snapshot.datname) : undefined;
      let replacement = spare?.datname;
      let made: string | undefined;
      let swapped = false;
      let leave: (() => void) | undefined;
      // An interruption cancels the copy (CREATE DATABASE … TEMPLATE of a big snapshot) on the server.
      const stopCancelling = cancelOnAbort(adminUrl(local), server.admin, deps.signal);
      try {
        if (!replacement) {
          // Named with this pid and tagged right after CREATE: a kill between the two is still recognised (cleanupOrphans).
          made = replacement = drydockDbName('scratch');
          leave = mayLeave(`copy ${made} of snapshot "${name}" on ${describeDb(local)} (the next pull or snapshot restore of ${target} drops it)`);
          await server.create(replacement, { drydock: 'scratch', target, pid: process.pid, createdAt: new Date().toISOString(), source: `snapshot ${name}` }, { template: snapshot.datname });
        }
        await pausePoint({ testPauseAt: deps.settings.testPauseAt, output: deps.output, signal: deps.signal }, 'before-swap');
        deps.signal.throwIfAborted();
        const previous = await server.swapIn(target, replacement, { pid: process.pid, createdAt: new Date().toISOString() }, undefined, (sessions) =>
          deps.output.warn(endingSessionsMessage(target, sessions, `to put snapshot "${name}" in its place`)),
        );
        made = undefined;
        swapped = true;
        leave?.();
        if (previous && !spares) await server.drop(previous);
        return { snapshot, previous: spares ? previous : undefined, prepared: Boolean(spare) };
      } catch (error) {
        await stopCancelling();
        const dropped = made ? await server.drop(made).then(() => true, () => false) : false;
        if (dropped) leave?.();
        const by = interruptedBy(deps.signal);
        if (by) {
          const copy = made ? (dropped ? `the copy ${made} was dropped` : `the copy ${made} could not be dropped (the next pull or snapshot restore of ${target} drops it)`) : spare ? `the prepared spare ${spare.datname} was kept for the next restore` : 'no copy had been made';
          if (swapped) throw new InterruptedError(by, `interrupted (${by}): snapshot "${name}" was restored into ${target}; the copy it replaced may be left (the next pull or snapshot restore of ${target} drops it)`, { cause: error });
          throw new InterruptedError(by, `interrupted (${by}): snapshot restore of "${name}" into ${target} stopped: ${target} is unchanged; ${copy}`, { hint: `run \`drydock snapshot restore ${name}\` again`, cause: error });
        }
        if (error instanceof DrydockError) throw error;
        throw new DrydockError(`restoring snapshot "${name}" failed: ${(error as Error).message}`, { hint: `${target} was not changed`, cause: error });
      } finally {
        await stopCancelling();
      }
    }, () => deps.output.info(`snapshot: waiting for other drydock work on ${target} to finish`), deps.signal);
  });
  if (spares) await scheduleSpare(deps, local, target, name, outcome.previous ? [outcome.previous] : []);
  return { ...info(outcome.snapshot, deps.clock.now()), seconds: Math.round((Date.now() - started) / 100) / 10, prepared: outcome.prepared };
}

/** Flags of the background `snapshot prepare`. */
export interface PrepareFlags extends SnapshotFlags {
  /** Replaced copies to drop (tagged 'previous' for this target). */
  drop?: string[] | undefined;
  /** First take snapshot `name` of the working database, which the pull handed over closed to connections. */
  take?: boolean | undefined;
  /** With take: where the data came from, and the tables copied without rows. */
  source?: string | undefined;
  excludedTableData?: string[] | undefined;
}

/** Background half of a pull or a reset: (take the pull's snapshot,) drop the replaced copies, prepare the next spare. */
export async function prepareSpare(deps: Deps, name: string, flags: PrepareFlags): Promise<string> {
  assertSnapshotName(name);
  const { local, target } = await where(deps, 'prepare', flags);
  const prepare = (server: LocalServer) => async (): Promise<string> => {
    // Only copies this work replaced: tagged 'previous' for this target.
    const replaced = (await server.drydockDatabases()).filter((d) => flags.drop?.includes(d.datname) && d.meta.drydock === 'previous' && d.meta.target === target);
    for (const old of replaced) await server.drop(old.datname);
    const snapshot = (await server.snapshots(target)).find((s) => s.meta.name === name);
    if (!snapshot) return '';
    return await server.prepareSpare(target, snapshot);
  };
  if (!flags.take) return withSnapshotServer(local, (server) => withTargetLock(server, target, prepare(server)));
  // Both sessions carry the taker's name: the pull waits until one copies and the other queues for the lock.
  const taker = snapshotTakerName(target);
  return LocalServer.with(
    local,
    (server) =>
      withClient(
        adminUrl(local),
        async (lock) => {
          const lockPid = (await lock.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
          // A real waiter (not pg_try_advisory_lock's polling): granted the moment the pull releases it, before any later pull or reset.
          const locked = lock.query('SELECT pg_advisory_lock($1::bigint)', [targetLockKey(target).toString()]);
          locked.catch(() => undefined);
          const dbName = drydockDbName('snapshot');
          const meta = { drydock: 'scratch' as const, target, pid: process.pid, createdAt: new Date().toISOString(), source: `${flags.source ?? target} (pristine snapshot being made)` };
          try {
            await pausePoint({ testPauseAt: deps.settings.testPauseAt, output: deps.output, signal: deps.signal }, 'before-snapshot-take');
            // Connections to the working database wait while this copy holds its lock.
            await server.create(dbName, meta, { template: target });
          } catch (error) {
            await server.drop(dbName).catch(() => undefined);
            await server.admin.query('SELECT pg_cancel_backend($1)', [lockPid]).catch(() => undefined);
            throw error;
          }
          await locked;
          try {
            // The pull has released the lock: the working database is still the one it handed over.
            const old = (await server.snapshots(target)).filter((s) => s.meta.name === name);
            await withTransaction(server.admin, async () => {
              await server.setMeta(dbName, { drydock: 'snapshot', target, name, createdAt: meta.createdAt, source: flags.source, ...(flags.excludedTableData?.length ? { excludeTableData: flags.excludedTableData } : {}) });
              await server.makeTemplate(dbName);
              for (const o of old) await server.setMeta(o.datname, { drydock: 'previous', target, createdAt: meta.createdAt });
            });
            for (const o of old) await server.drop(o.datname);
            return await prepare(server)();
          } finally {
            await lock.query('SELECT pg_advisory_unlock($1::bigint)', [targetLockKey(target).toString()]).catch(() => undefined);
          }
        },
        { applicationName: taker },
      ),
    taker,
  );
}

/**
 * Snapshots of the working database (--to, or -a APP's), or of every working database on the local server
 * (--all, or when neither names one), ordered by working database.
 */
export async function listSnapshots(deps: Deps, flags: SnapshotFlags & { all?: boolean | undefined }): Promise<SnapshotInfo[]> {
  const app = await resolveApp(deps.settings, { required: false });
  const localFlag = { value: flags.local, source: flags.localSource };
  const fallback = defaultTarget(app);
  const target = flags.all || (!flags.to && !fallback) ? undefined : resolveTarget('snapshot list', flags.to, fallback, localFlag, deps.settings.libpq);
  const local = target?.local ?? resolveLocalUrl(flags.local, deps.settings.libpq, flags.localSource);
  const now = deps.clock.now();
  const list = await withSnapshotServer(local, async (server) => (await server.snapshots(target?.target)).map((db) => info(db, now)));
  return list.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : a.createdAt.localeCompare(b.createdAt)));
}

/** Delete snapshot `name` of the working database (and the spare made from it); returns how many were removed. */
export async function removeSnapshot(deps: Deps, name: string, flags: SnapshotFlags): Promise<{ name: string; target: string; removed: number }> {
  assertSnapshotName(name);
  const { local, target } = await where(deps, 'rm', flags);
  // Waits for a background spare being made from it.
  const removed = await withSnapshotServer(local, (server) =>
    withTargetLock(server, target, async () => {
      const found = (await server.snapshots(target)).filter((s) => s.meta.name === name);
      if (!found.length) throw new ConfigError(`no snapshot "${name}" of ${target}`, { hint: 'see `drydock snapshot list`' });
      const spares = (await server.drydockDatabases()).filter((d) => d.meta.drydock === 'spare' && found.some((f) => f.datname === d.meta.snapshotDb));
      for (const s of [...spares, ...found]) await server.drop(s.datname);
      return found.length;
    }),
  );
  return { name, target, removed };
}
