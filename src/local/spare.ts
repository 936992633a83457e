/**
 * Hot spares: after a pull or a snapshot restore, a background drydock process makes an untouched copy
 * of the snapshot (and drops the replaced database), so the next `snapshot restore` is an atomic rename
 * instead of a multi-gigabyte copy. It costs one more copy of the database on disk;
 * DRYDOCK_SNAPSHOT_SPARE=0 turns it off.
 */
import type { Deps } from '../deps.js';
import { spawnDetached, type DetachedProcess } from '../exec.js';
import type { DbUrl } from '../pg/url.js';

/** Whether background spares are on (DRYDOCK_SNAPSHOT_SPARE=0 turns them off). */
export function sparesEnabled(env: NodeJS.ProcessEnv): boolean {
  return env.DRYDOCK_SNAPSHOT_SPARE !== '0' && env.DRYDOCK_SNAPSHOT_SPARE !== 'false';
}

/**
 * Start `drydock snapshot prepare` in the background: drop the replaced copies and make a fresh spare of
 * the snapshot, so the next restore is a rename. The local URL travels in the environment (it may hold a
 * password).
 */
export async function scheduleSpare(deps: Pick<Deps, 'output' | 'settings'>, local: DbUrl, target: string, name: string, drop: readonly string[] = [], take?: TakeSnapshot): Promise<DetachedProcess | undefined> {
  const cli = process.argv[1];
  if (!cli) return undefined;
  const args = [cli, 'snapshot', 'prepare', name, '--to', target, ...drop.flatMap((d) => ['--drop', d])];
  if (take) args.push('--take', '--source', take.source, ...(take.excludeTableData ?? []).flatMap((p) => ['--excluded-table-data', p]));
  const child = await spawnDetached(process.execPath, args, { DRYDOCK_LOCAL_DATABASE_URL: local.href, CI: 'true', DRYDOCK_TEST_PAUSE_AT: deps.settings.testPauseAt });
  deps.output.debug(`started background ${take ? 'snapshot and ' : ''}preparation of the next reset of ${target}`);
  return child;
}

/** What the background process records on the snapshot it takes of the working database (`snapshot prepare --take`). */
export interface TakeSnapshot {
  /** Where the data came from (no password: describeSource). */
  source: string;
  excludeTableData?: string[] | undefined;
}

