/**
 * `drydock snapshot save|restore|list|rm`: instant resets for rehearsals.
 *
 * A snapshot is a template database (CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY copies files, not
 * rows). `pull` keeps one named "pristine" for its working database.
 */
import type { Command } from 'commander';

import type { Deps } from '../deps.js';
import { ConfigError, DrydockError } from '../errors.js';
import { scheduleSpare, sparesEnabled } from '../local/spare.js';
import { acquireAdvisoryLock, releaseAdvisoryLock } from '../pg/lock.js';
import { drydockDbName, LocalServer, targetLockKey, type DrydockDb } from '../local/server.js';
import { describeDb } from '../pg/url.js';
import { resolveLocalUrl } from '../config.js';
import { resolveTarget } from './pull.js';
import { resolveApp } from './shared.js';

/** Flags shared by the snapshot subcommands. */
interface SnapshotFlags {
  to?: string | undefined;
  local?: string | undefined;
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
}

function assertSnapshotName(name: string): void {
  if (!/^[a-z0-9][a-z0-9_-]{0,39}$/.test(name)) {
    throw new ConfigError(`"${name.slice(0, 40)}" is not a valid snapshot name`, { hint: 'use lowercase letters, digits, _ and -, e.g. before-migration' });
  }
}

function info(db: DrydockDb): SnapshotInfo {
  return {
    name: db.meta.name ?? db.datname,
    target: db.meta.target,
    database: db.datname,
    bytes: db.sizeBytes,
    createdAt: db.meta.createdAt,
    ageHours: Math.round((Date.now() - Date.parse(db.meta.createdAt)) / 360_000) / 10,
    source: db.meta.source,
  };
}

async function where(deps: Deps, flags: SnapshotFlags): Promise<{ local: ReturnType<typeof resolveTarget>['local']; target: string }> {
  const app = await resolveApp(deps.config, { required: false });
  return resolveTarget(flags.to, app?.replace(/-/g, '_'), flags.local, deps.config.env as NodeJS.ProcessEnv);
}

/** Save the working database as snapshot `name` (replacing an older one with --force). */
export async function saveSnapshot(deps: Deps, name: string, flags: SnapshotFlags): Promise<SnapshotInfo> {
  assertSnapshotName(name);
  const { local, target } = await where(deps, flags);
  return LocalServer.with(local, async (server) => {
    if (!(await server.exists(target))) throw new ConfigError(`database ${target} does not exist on ${describeDb(local)}`, { hint: 'pull it first with `drydock pull`' });
    const existing = (await server.snapshots(target)).filter((s) => s.meta.name === name);
    if (existing.length && !flags.force) throw new ConfigError(`snapshot "${name}" of ${target} already exists`, { hint: 'pass --force to replace it, or choose another name' });
    const dbName = drydockDbName('snapshot');
    // CREATE DATABASE … TEMPLATE needs the source to itself: sessions on the working database end here.
    const ended = await server.terminateConnections(target);
    if (ended) deps.output.warn(`ended ${ended} session(s) connected to ${target} to copy it`);
    await server.create(dbName, { drydock: 'snapshot', target, name, createdAt: new Date().toISOString(), source: `saved from ${target}` }, { template: target });
    await server.makeTemplate(dbName);
    for (const old of existing) await server.drop(old.datname);
    const saved = (await server.snapshots(target)).find((s) => s.datname === dbName)!;
    return info(saved);
  });
}

/** Replace the working database with a fresh copy of snapshot `name`. */
export async function restoreSnapshot(deps: Deps, name: string, flags: SnapshotFlags): Promise<SnapshotInfo & { seconds: number; prepared: boolean }> {
  assertSnapshotName(name);
  const started = Date.now();
  const { local, target } = await where(deps, flags);
  const spares = sparesEnabled(deps.config.env as NodeJS.ProcessEnv);
  const outcome = await LocalServer.with(local, async (server) => {
    await acquireAdvisoryLock(server.admin, targetLockKey(target), {
      waitMs: 10 * 60_000,
      purpose: `${target} work`,
      onWait: () => deps.output.info(`snapshot: waiting for other drydock work on ${target} to finish`),
    });
    try {
      const snapshot = (await server.snapshots(target)).find((s) => s.meta.name === name);
      if (!snapshot) {
        const names = (await server.snapshots(target)).map((s) => s.meta.name);
        throw new ConfigError(`no snapshot "${name}" of ${target}`, { hint: names.length ? `snapshots of ${target}: ${names.join(', ')}` : 'create one with `drydock pull` or `drydock snapshot save NAME`' });
      }
      await server.cleanupLeftovers(target);
      const spare = spares ? await server.spareOf(target, snapshot.datname) : undefined;
      let replacement = spare?.datname;
      if (!replacement) {
        replacement = drydockDbName('scratch');
        await server.create(replacement, { drydock: 'scratch', target, pid: process.pid, createdAt: new Date().toISOString(), source: `snapshot ${name}` }, { template: snapshot.datname });
      }
      try {
        const previous = await server.swapIn(target, replacement, { pid: process.pid, createdAt: new Date().toISOString() });
        if (previous && !spares) await server.drop(previous);
        return { snapshot, previous: spares ? previous : undefined, prepared: Boolean(spare) };
      } catch (error) {
        if (!spare) await server.drop(replacement).catch(() => undefined);
        if (error instanceof DrydockError) throw error;
        throw new DrydockError(`restoring snapshot "${name}" failed: ${(error as Error).message}`, { hint: `${target} was not changed`, cause: error });
      }
    } finally {
      await releaseAdvisoryLock(server.admin, targetLockKey(target));
    }
  });
  if (spares) await scheduleSpare(deps, local, target, name, outcome.previous ? [outcome.previous] : []);
  return { ...info(outcome.snapshot), seconds: Math.round((Date.now() - started) / 100) / 10, prepared: outcome.prepared };
}

/** Background half of a reset: drop the replaced copy, prepare the next spare. */
export async function prepareSpare(deps: Deps, name: string, flags: SnapshotFlags & { drop?: string[] }): Promise<string> {
  const { local, target } = await where(deps, flags);
  return LocalServer.with(local, async (server) => {
    await acquireAdvisoryLock(server.admin, targetLockKey(target), { waitMs: 10 * 60_000, purpose: `${target} work` });
    try {
      // Only copies this work replaced: tagged 'previous' for this target.
      const replaced = (await server.drydockDatabases()).filter((d) => flags.drop?.includes(d.datname) && d.meta.drydock === 'previous' && d.meta.target === target);
      for (const old of replaced) await server.drop(old.datname);
      const snapshot = (await server.snapshots(target)).find((s) => s.meta.name === name);
      if (!snapshot) return '';
      return await server.prepareSpare(target, snapshot);
    } finally {
      await releaseAdvisoryLock(server.admin, targetLockKey(target));
    }
  });
}

/** Register `drydock snapshot`. */
export function registerSnapshot(program: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  const snapshot = program.command('snapshot').description('save and restore instant copies of the local working database');
  const common = (cmd: Command) =>
    cmd.option('--to <name|url>', 'the working database (default: the app name with _ for -)').option('--local <url>', 'local server (default: DRYDOCK_LOCAL_DATABASE_URL, else PG* variables)');

  common(snapshot.command('save <name>').description('save the working database as a snapshot'))
    .option('--force', 'replace an existing snapshot of that name')
    .action(async (name: string, opts: SnapshotFlags) => {
      await run(async (deps) => {
        const saved = await saveSnapshot(deps, name, opts);
        deps.output.result(saved, (s) => `saved snapshot "${s.name}" of ${s.target} (${(s.bytes / 1024 ** 2).toFixed(1)} MB)`);
      });
    });

  common(snapshot.command('restore <name>').description('reset the working database to a snapshot (ends its sessions)'))
    .action(async (name: string, opts: SnapshotFlags) => {
      await run(async (deps) => {
        const restored = await restoreSnapshot(deps, name, opts);
        deps.output.result(restored, (s) => `${s.target} reset to snapshot "${s.name}" in ${s.seconds} s${s.prepared ? ' (from the copy prepared in the background)' : ''}`);
      });
    });

  common(snapshot.command('prepare <name>', { hidden: true }).description('background: drop a replaced copy and prepare the next reset'))
    .option('--drop <database>', 'a replaced copy to drop (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
    .action(async (name: string, opts: SnapshotFlags & { drop?: string[] }) => {
      await run(async (deps) => {
        const spare = await prepareSpare(deps, name, opts);
        deps.output.result({ spare }, (r) => (r.spare ? `prepared ${r.spare}` : 'nothing to prepare'));
      });
    });

  common(snapshot.command('list').description('list snapshots: name, size, age, source'))
    .option('--all', 'snapshots of every working database')
    .action(async (opts: SnapshotFlags & { all?: boolean }) => {
      await run(async (deps) => {
        const app = await resolveApp(deps.config, { required: false });
        const target = opts.all ? undefined : resolveTarget(opts.to, app?.replace(/-/g, '_'), opts.local, deps.config.env as NodeJS.ProcessEnv);
        const local = target?.local ?? resolveLocalUrl(opts.local, deps.config.env as NodeJS.ProcessEnv);
        const list = await LocalServer.with(local, async (server) => (await server.snapshots(target?.target)).map(info));
        deps.output.result(list, (rows) =>
          rows.length
            ? rows.map((s) => `${s.name.padEnd(20)} ${s.target.padEnd(24)} ${`${(s.bytes / 1024 ** 2).toFixed(1)} MB`.padStart(10)}  ${`${s.ageHours} h`.padStart(8)}  ${s.source ?? ''}`).join('\n')
            : 'no snapshots',
        );
      });
    });

  common(snapshot.command('rm <name>').description('delete a snapshot'))
    .action(async (name: string, opts: SnapshotFlags) => {
      await run(async (deps) => {
        assertSnapshotName(name);
        const { local, target } = await where(deps, opts);
        const removed = await LocalServer.with(local, async (server) => {
          // Waits for a background spare being made from it.
          await acquireAdvisoryLock(server.admin, targetLockKey(target), { waitMs: 10 * 60_000, purpose: `${target} work` });
          try {
            const found = (await server.snapshots(target)).filter((s) => s.meta.name === name);
            if (!found.length) throw new ConfigError(`no snapshot "${name}" of ${target}`, { hint: 'see `drydock snapshot list`' });
            const spares = (await server.drydockDatabases()).filter((d) => d.meta.drydock === 'spare' && found.some((f) => f.datname === d.meta.snapshotDb));
            for (const s of [...spares, ...found]) await server.drop(s.datname);
            return found.length;
          } finally {
            await releaseAdvisoryLock(server.admin, targetLockKey(target));
          }
        });
        deps.output.result({ name, target, removed }, () => `removed snapshot "${name}" of ${target}`);
      });
    });
}

