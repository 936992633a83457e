/**
 * Session-level advisory locks, always released in `finally`.
 */
import type pg from 'pg';

import { DrydockError } from '../errors.js';
import { sleep } from '../interrupt.js';

/** The advisory lock key every drydock migration runner takes ("drydock" as 7 ASCII bytes). */
export const MIGRATION_LOCK_KEY = 0x64727964_6f636bn; // 'drydock'

/** Who holds an advisory lock, for "waiting for …" messages. */
export interface LockHolder {
  pid: number;
  applicationName: string;
  since: Date | undefined;
}

const HOLDER = `
  SELECT a.pid, a.application_name, a.xact_start AS since
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint
  LIMIT 1`;

/** Options of `withAdvisoryLock`. */
export interface AdvisoryLockOptions {
  /** Give up after waiting this long (default 10 minutes). */
  waitMs?: number;
  /** Called once when the lock is busy, with whoever holds it. */
  onWait?: (holder: LockHolder | undefined) => void;
  /** What the lock protects, for the error message. */
  purpose?: string;
  /** Stop waiting when this aborts (Ctrl-C, SIGTERM): throws its reason. */
  signal?: AbortSignal | undefined;
}

/** Take a session advisory lock, waiting (polling) while another session holds it. Pair with `releaseAdvisoryLock`. */
export async function acquireAdvisoryLock(client: pg.ClientBase, key: bigint, options: AdvisoryLockOptions = {}): Promise<void> {
  const waitMs = options.waitMs ?? 10 * 60_000;
  const deadline = Date.now() + waitMs;
  let notified = false;
  let delay = 50;
  for (;;) {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key.toString()]);
    if (rows[0]?.ok) break;
    if (!notified) {
      notified = true;
      const holder = await client.query<{ pid: number; application_name: string; since: Date | null }>(HOLDER, [key.toString()]);
      const row = holder.rows[0];
      options.onWait?.(row ? { pid: row.pid, applicationName: row.application_name, since: row.since ?? undefined } : undefined);
    }
    if (Date.now() + delay > deadline) {
      throw new DrydockError(`another session held the ${options.purpose ?? 'advisory'} lock for more than ${Math.round(waitMs / 1000)} s`, {
        hint: 'another deploy or migration is still running; wait for it to finish (see pg_stat_activity), then run again',
      });
    }
    await sleep(delay + Math.random() * delay, options.signal);
    delay = Math.min(delay * 2, 1000);
  }
}

/** Release a lock taken with `acquireAdvisoryLock` (never throws: a closed connection releases it too). */
export async function releaseAdvisoryLock(client: pg.ClientBase, key: bigint): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()]).catch(() => undefined);
}

/** Hold a session advisory lock while `fn` runs. */
export async function withAdvisoryLock<T>(client: pg.ClientBase, key: bigint, fn: () => Promise<T>, options: AdvisoryLockOptions = {}): Promise<T> {
  await acquireAdvisoryLock(client, key, options);
  try {
    return await fn();
  } finally {
    await releaseAdvisoryLock(client, key);
  }
}
