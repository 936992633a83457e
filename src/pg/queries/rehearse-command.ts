/**
 * What `drydock rehearse --command` reads besides what the runner's rehearsal reads
 * (queries/rehearse.ts): the session default of lock_timeout a framework's sessions start with, and
 * the ending of sessions a stopped command left on the copy.
 */
import type pg from 'pg';

/** lock_timeout as a new session of this user in this database starts with it ('0' when none). */
export async function readLockTimeout(client: pg.ClientBase): Promise<string> {
  const { rows } = await client.query<{ value: string }>("SELECT current_setting('lock_timeout') AS value");
  return rows[0]?.value ?? '0';
}

/** End these backends of the current database (a stopped command's sessions); returns how many were still there. */
export async function terminateBackends(client: pg.ClientBase, pids: readonly number[]): Promise<number> {
  if (!pids.length) return 0;
  const { rows } = await client.query<{ ended: boolean }>(
    'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND datname = current_database() AND pid <> pg_backend_pid()',
    [pids],
  );
  return rows.filter((r) => r.ended).length;
}
