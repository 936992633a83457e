/**
 * The pristine snapshot of a pull, taken off the critical path without a moment where the working copy
 * and its snapshot can differ.
 *
 * A snapshot is `CREATE DATABASE … TEMPLATE <working> STRATEGY FILE_COPY`: a checkpoint and a copy of every
 * file, about 3 s a gigabyte here, which the user used to wait for before the working database was theirs.
 * Now the pull swaps the copy in closed to connections (ALLOW_CONNECTIONS false, in the swap's transaction),
 * and a detached `drydock snapshot prepare … --take` starts that CREATE DATABASE. PostgreSQL holds a
 * ShareLock on the template database for the whole copy, and every new connection to a database first
 * takes a RowExclusiveLock on it: so once the copy holds its lock, connections are opened again and a
 * client connecting meanwhile waits for the copy to end (it is not refused, and it cannot change the
 * working copy before the snapshot holds it). The pull returns as soon as this hand-off is done (a few
 * hundred milliseconds: the background process's start and its connection).
 *
 * The background process also queues for the working database's drydock lock (pg_advisory_lock, a real
 * waiter, so it is granted the lock the moment the pull releases it, before any later pull or reset): it
 * records the snapshot as "pristine", drops what the pull replaced and prepares the hot spare under it.
 * If the hand-off does not happen (the process cannot start, or is slower than HANDOFF_TIMEOUT_MS), the
 * pull takes the snapshot itself as before, and says so.
 */
import type pg from 'pg';

import { quoteIdent } from '../pg/ident.js';
import { sleep } from '../interrupt.js';

/** The application_name of the background process's sessions (both: the copy's and the lock's). */
export function snapshotTakerName(target: string): string {
  return `drydock snapshot take ${target}`.slice(0, 63);
}

/** Whether the background taker has started copying `target` (its ShareLock is granted) and is queued for the drydock lock. */
const HANDOFF_STATE = `
  SELECT
    EXISTS (
      SELECT 1 FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'object' AND l.classid = 'pg_catalog.pg_database'::regclass
        AND l.objid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = $1)
        AND l.mode = 'ShareLock' AND l.granted AND a.application_name = $2
    ) AS copying,
    EXISTS (
      SELECT 1 FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = $2
    ) AS queued`;

/** How long the pull waits for the background taker before taking the snapshot itself. */
export const HANDOFF_TIMEOUT_MS = 20_000;

/** What became of the hand-off. */
export type HandoffOutcome = { handedOff: true; ms: number } | { handedOff: false; why: string };

/**
 * Wait until the background taker copies `target` and waits for its lock, then open `target` to
 * connections again. `alive` says whether the taker's process still runs. Never throws for the taker's
 * sake: a failed hand-off is an outcome (the caller takes the snapshot itself); `target` stays closed then.
 */
export async function awaitSnapshotHandoff(
  admin: pg.ClientBase,
  target: string,
  alive: () => boolean,
  options: { timeoutMs?: number; signal?: AbortSignal | undefined } = {},
): Promise<HandoffOutcome> {
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? HANDOFF_TIMEOUT_MS);
  const taker = snapshotTakerName(target);
  for (let delay = 10; ; delay = Math.min(delay * 1.5, 100)) {
    const { rows } = await admin.query<{ copying: boolean; queued: boolean }>(HANDOFF_STATE, [target, taker]);
    if (rows[0]?.copying && rows[0].queued) {
      await openConnections(admin, target);
      return { handedOff: true, ms: Date.now() - started };
    }
    if (!alive()) return { handedOff: false, why: 'the background process ended before it started the copy' };
    if (Date.now() > deadline) return { handedOff: false, why: `the background process had not started the copy after ${Math.round((options.timeoutMs ?? HANDOFF_TIMEOUT_MS) / 1000)} s` };
    await sleep(delay, options.signal);
  }
}

/** Allow connections to `target` again (it was closed for the hand-off). */
export async function openConnections(admin: pg.ClientBase, target: string): Promise<void> {
  await admin.query(`ALTER DATABASE ${quoteIdent(target)} WITH ALLOW_CONNECTIONS true`);
}

/** Close `target` to new connections (in the swap's transaction): nothing may connect before the copy holds its lock. */
export async function closeConnections(admin: pg.ClientBase, target: string): Promise<void> {
  await admin.query(`ALTER DATABASE ${quoteIdent(target)} WITH ALLOW_CONNECTIONS false`);
}

/** End the background taker's sessions (a hand-off that failed): its copy, if it started, is cancelled. */
export async function stopTaker(admin: pg.ClientBase, target: string): Promise<void> {
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [snapshotTakerName(target)]);
}
