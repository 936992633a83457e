/**
 * The production copy a rehearsal runs on (rehearse/copy.ts decides): the working database reset
 * from its pristine snapshot, or, when there is none or it is older than --max-age and rehearse knows
 * where production is (-a APP, --from-url), a fresh copy from the pull pipeline, exactly as `drydock
 * pull` makes it (with its pristine snapshot). Also which of the copy's tables hold no rows.
 */
import type { Deps } from '../deps.js';
import { ConfigError } from '../errors.js';
import { hoursSince } from '../format.js';
import { resolveApp } from '../heroku/remote.js';
import { withClient } from '../pg/client.js';
import { readCopyTables } from '../pg/queries/rehearse-copy.js';
import { withDatabase, type DbUrl } from '../pg/url.js';
import { describeCopyMade, planCopy, PRISTINE } from '../rehearse/copy.js';
import type { CopyInfo } from '../rehearse/report.js';
import { tablesWithoutData, type CopyTables } from '../rehearse/without-data.js';
import { defaultTarget, resolveTarget, type PullRequest } from '../settings.js';
import { pull } from './pull.js';
import { listSnapshots, restoreSnapshot, type SnapshotFlags, type SnapshotInfo } from './snapshot.js';

/** `drydock pull`'s flags rehearse passes to the pull it runs (the working database and local server are rehearse's own). */
export type RehearsePullFlags = Omit<PullRequest, 'to' | 'local' | 'localSource' | 'dryRun' | 'snapshot'>;

/** The flags of RehearsePullFlags that only a pull uses, as the user typed them. */
const PULL_ONLY: Array<[keyof RehearsePullFlags, string]> = [
  ['from', '--from'],
  ['capture', '--capture'],
  ['database', '--database'],
  ['transferTimeout', '--transfer-timeout'],
  ['excludeTableData', '--exclude-table-data'],
  ['jobs', '--jobs'],
  ['scrub', '--scrub'],
  ['validateForeignKeys', '--validate-foreign-keys'],
];

export interface CopyRequest extends SnapshotFlags {
  maxAgeMs: number;
  /** How to pull when the copy is missing or too old (the source comes from -a APP or --from-url). */
  pull?: RehearsePullFlags | undefined;
}

/** The local server, resolved as the snapshot commands resolve it (--local, else libpq's defaults). */
export async function localServerUrl(deps: Deps, flags: SnapshotFlags): Promise<DbUrl> {
  const app = await resolveApp(deps.settings, { required: false });
  return resolveTarget('rehearse', flags.to, defaultTarget(app), { value: flags.local, source: flags.localSource }, deps.settings.libpq).local;
}

/** Make the working database a production copy: reset it from its pristine snapshot, or pull. Says which. */
export async function prepareCopy(deps: Deps, request: CopyRequest): Promise<CopyInfo> {
  const snapshotFlags: SnapshotFlags = { to: request.to, local: request.local, localSource: request.localSource };
  const app = await resolveApp(deps.settings, { required: false });
  const pullFrom = request.pull?.fromUrl ? 'the --from-url database' : app;
  const given = PULL_ONLY.filter(
    ([key]) =>
      request.pull?.[key] !== undefined &&
      request.pull[key] !== false &&
      !(key === 'transferTimeout' && request.pull.transferTimeoutSource === 'env') &&
      // --database has a default: only one given on the command line counts.
      !(key === 'database' && request.pull.databaseSource !== 'cli'),
  ).map(([, flag]) => flag);
  if (given.length && !pullFrom) {
    throw new ConfigError(`${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} for the pull rehearse runs when the copy is missing or too old, and it has no production to pull from`, {
      hint: 'give the app with -a APP (or the database with --from-url URL), or drop the pull flags',
    });
  }
  const snapshots = await listSnapshots(deps, snapshotFlags);
  const pristine = snapshots.find((s) => s.name === PRISTINE);
  // The listing rounds ages to 0.1 h: the snapshot's own time tells minutes.
  const ageHoursOf = (s: SnapshotInfo): number => hoursSince(s.createdAt, deps.clock.now()) ?? s.ageHours;
  const plan = planCopy({
    pristine: pristine && { target: pristine.target, ageHours: ageHoursOf(pristine) },
    maxAgeMs: request.maxAgeMs,
    pullFrom,
    target: pristine?.target ?? request.to ?? snapshots[0]?.target,
    to: request.to,
  });

  let copy: CopyInfo;
  if (plan.action === 'reset') {
    if (given.length) deps.output.warn(`rehearse: the ${PRISTINE} snapshot is younger than --max-age, so rehearse does not pull: ${given.join(', ')} not used`);
    // Reset first: whatever an earlier (killed, or --keep) rehearsal left is gone.
    const reset = await restoreSnapshot(deps, PRISTINE, snapshotFlags);
    copy = { ...copyOf(reset, ageHoursOf(reset)), reset: 'snapshot', resetSeconds: reset.seconds };
  } else {
    deps.output.info(`rehearse: pulling a fresh copy from ${pullFrom} (${plan.because})`);
    // The rehearsal resets to the pristine snapshot right after: taken before the pull returns.
    const pulled = await pull(deps, { ...request.pull, snapshotNow: true, to: request.to, local: request.local, localSource: request.localSource });
    const snapshot = (await listSnapshots(deps, { ...snapshotFlags, to: request.to ?? pulled.target })).find((s) => s.name === PRISTINE);
    if (!snapshot) throw new ConfigError(`the pull into ${pulled.target} kept no ${PRISTINE} snapshot`, { hint: `run \`drydock pull --to ${pulled.target}\` and then rehearse again` });
    // A backup's data is as old as the backup; a live copy's is as old as the snapshot.
    const ageHours = pulled.backup?.ageHours ?? ageHoursOf(snapshot);
    copy = { ...copyOf(snapshot, ageHours), reset: 'pulled', resetSeconds: 0, pullSeconds: pulled.seconds, pulledFrom: pullFrom, pulledBecause: plan.because };
  }
  deps.output.info(`rehearse: ${describeCopyMade(copy)}`);
  return copy;
}

function copyOf(s: SnapshotInfo, ageHours: number): Omit<CopyInfo, 'reset' | 'resetSeconds'> {
  return { database: s.target, snapshot: PRISTINE, createdAt: s.createdAt, ageHours: s.ageHours, ageSeconds: Math.round(ageHours * 3600), source: s.source, ...(s.excludeTableData?.length ? { excludeTableData: s.excludeTableData } : {}) };
}

/** The copy's tables, and those the pull copied without rows (recorded on its pristine snapshot). */
export async function copyTables(url: DbUrl, copy: CopyInfo): Promise<CopyTables> {
  if (!copy.excludeTableData?.length) return { tables: new Set(), withoutData: new Set() };
  const tables = await withClient(withDatabase(url, copy.database), (client) => readCopyTables(client), { applicationName: 'drydock rehearse' });
  return { tables: new Set(tables.map((t) => t.name)), withoutData: new Set(tablesWithoutData(copy.excludeTableData, tables)) };
}
