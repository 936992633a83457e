/**
 * The on-call restore: a Heroku backup back into the app's database, guarded, explained, reversible.
 *
 * plan and checks (backup, attachment and database, process types, pg_restore; a dry run stops here) →
 * confirm → read the backup's exact row counts → safety backup (recorded as such) → maintenance/scale
 * down → restore → verify (schema version, tables, row counts equal the backup's) → maintenance/scale
 * back as they were (always, even after a failure) → summary with the undo command. A failure says
 * exactly what had changed by then (whatChanged).
 */
import { damagedArchiveError, downloadToCache, findCached } from '../backups/cache.js';
import { chooseBackupSkipping } from '../backups/choose.js';
import { describeSafety, findSafetyBackups, readSafetyRecords, recordSafetyBackup } from '../backups/safety.js';
import { compareRowCounts } from '../backups/verify.js';
import type { Deps } from '../deps.js';
import { ConfigError, DrydockError, InterruptedError, interruptedBy, type InterruptSignal } from '../errors.js';
import { mayLeave } from '../interrupt.js';
import { hoursSince, roundHours } from '../format.js';
import type { BackupInfo, BackupSummary } from '../heroku/cli.js';
import { describeDatabase, isOfDatabase, resolveDatabase, type HerokuDatabase } from '../heroku/database.js';
import { resolveApp } from '../heroku/remote.js';
import { detectSchemaVersion } from '../migrate/detect.js';
import { withClient } from '../pg/client.js';
import { parseDatabaseUrl } from '../pg/url.js';
import type { TableRowCount } from '../pg/pg-tools.js';
import { parseVersion } from '../pg/version.js';
import { resolveTransferTimeout, type ValueSource } from '../settings.js';
import { pull, type PullResult } from './pull.js';
import { withStepProgress } from './progress.js';
import { describeTransfer, measure } from '../progress.js';
import { createPipeline } from './listr.js';

/** Options of one restore. */
export interface RestoreOptions {
  app: string;
  /** A backup id, or 'latest'. */
  backup: string;
  /** The attachment to restore into (default DATABASE_URL). */
  database: string;
  maintenance: boolean;
  scaleDown: string[];
  safetyBackup: boolean;
  dryRun: boolean;
  /** Give up on a capture or restore that has not finished after this long. */
  transferTimeoutMs: number;
  /** Asks the user to type the app name when --confirm was not given (TTY only). */
  confirm: (plan: RestorePlan) => Promise<boolean>;
}

/** What will happen, shown before anything does. */
export interface RestorePlan {
  app: string;
  database: string;
  backup: {
    id: string;
    createdAt: string | undefined;
    /** Rounded to 0.1 h (kept for scripts); ageSeconds is exact. */
    ageHours: number | undefined;
    ageSeconds: number | undefined;
    bytes: number | undefined;
    source: string | undefined;
    /** Set when the chosen backup is itself a safety backup ("safety backup before restore of b001 at …"). */
    safety: string | undefined;
  };
  /** Newer completed backups 'latest' passed over: safety backups, which hold data from before a restore. */
  skipped: Array<{ id: string; why: string }>;
  /** What was checked before anything changes (in a dry run too). */
  checks: string[];
  steps: string[];
}

/** What happened. */
export interface RestoreResult {
  plan: RestorePlan;
  dryRun: boolean;
  safetyBackup: string | undefined;
  verified: { schemaVersion: string; tables: number; rowsChecked: number } | undefined;
  undo: string | undefined;
  stateRestored: { maintenance: boolean; formation: Record<string, number> } | undefined;
}

interface Ctx {
  backup?: BackupSummary;
  counts?: Map<string, TableRowCount>;
  backupVersion?: string;
  safety?: BackupInfo;
  original?: { maintenance: boolean; formation: Record<string, number> };
  changedState?: boolean;
  verified?: RestoreResult['verified'];
  /** `heroku pg:backups:restore` was started: Heroku may be restoring even if drydock stopped. */
  restoreStarted?: boolean;
  /** The restore finished on Heroku's side (the CLI said so). */
  restoreFinished?: boolean;
}

/** What the checks before any change found, for the run to use. */
interface Preflight {
  /** The major version of the database's PostgreSQL (the backup's archive format), 15 when pg:info did not say. */
  major: number;
  /** The target database: where its backups and restores are listed, and the names they give it. */
  db: HerokuDatabase;
}

/** `--database X` for commands printed to the user (nothing for the default). */
function databaseFlag(database: string): string {
  return database === 'DATABASE_URL' ? '' : ` --database ${database}`;
}

/**
 * Resolve the backup, check everything that can be checked without changing anything (the backup,
 * the attachment and its database, the process types to scale down, a pg_restore that reads the
 * backup), and describe the plan. Changes nothing; a dry run is exactly this.
 */
export async function planRestore(deps: Deps, options: Omit<RestoreOptions, 'confirm' | 'transferTimeoutMs'>): Promise<{ plan: RestorePlan; backup: BackupSummary; preflight: Preflight }> {
  const app = options.app;
  const nothing = 'nothing was changed';
  const cannotRestore = (error: unknown): never => {
    throw error instanceof DrydockError ? new DrydockError(`cannot restore into ${app}'s ${options.database}: ${error.message}`, { hint: `${error.hint ? `${error.hint}; ` : ''}${nothing}`, cause: error }) : error;
  };
  // Every check is read-only; independent ones run together (each heroku call costs about a second).
  // The app's own transfers are asked for at once: they are the database's unless another app pays for it.
  const needState = options.maintenance || options.scaleDown.length > 0;
  // A missing attachment fails both lookups: the config var's message (it names the others) is the one shown.
  const [resolved, ownTransfers, ownRecords, url, formation] = await Promise.all([
    resolveDatabase(deps.heroku, app, options.database).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    deps.heroku.listBackups(app),
    readSafetyRecords(deps.settings.cacheDir, app),
    deps.heroku.databaseUrl(app, options.database).catch(cannotRestore),
    needState ? deps.heroku.formation(app) : undefined,
  ]);
  const db = 'value' in resolved ? resolved.value : cannotRestore(resolved.error);
  const [transfers, records] =
    db.backupsApp === app ? [ownTransfers, ownRecords] : await Promise.all([deps.heroku.listBackups(db.backupsApp), readSafetyRecords(deps.settings.cacheDir, db.backupsApp)]);
  const safety = findSafetyBackups(transfers, records);
  const skip = new Map([...safety].map(([id, note]) => [id, describeSafety(note)]));
  const list = `list backups with \`drydock backups list -a ${app}${databaseFlag(options.database)}\``;
  const { backup, skipped } = chooseBackupSkipping(
    transfers,
    options.backup,
    db.backupsApp,
    { notFound: `${list}; ${nothing}`, notCompleted: `choose another backup; ${nothing}`, none: `${list}; ${nothing}` },
    skip,
    { label: describeDatabase(db), isOf: (b) => isOfDatabase(b, db) },
  );
  const checks: string[] = [`backup ${backup.id} exists and completed${backup.database ? ` (a backup of ${backup.database})` : ''}`];
  if (db.backupsApp !== app) checks.push(`${app}'s ${options.database} is billed to ${db.backupsApp}: its backups and restores are listed there`);
  if (formation) {
    const unknown = options.scaleDown.filter((t) => !(t in formation));
    if (unknown.length) {
      throw new ConfigError(`${app} has no process type(s) ${unknown.join(', ')} to scale down`, {
        hint: `its process types: ${Object.keys(formation).join(', ') || 'none'}; fix --scale-down; ${nothing}`,
      });
    }
    if (options.scaleDown.length) checks.push(`process type(s) ${options.scaleDown.join(', ')} exist (${Object.entries(formation).map(([t, n]) => `${t}=${n}`).join(' ')})`);
  }
  // The verification after the restore connects to the database: find out now if it cannot.
  const target = parseDatabaseUrl(url, `${app}'s ${options.database}`, deps.settings.libpq);
  await withClient(target, (client) => client.query('SELECT 1')).catch((error: unknown) => {
    throw new DrydockError(`cannot connect to ${app}'s ${options.database}, so a restore could not be verified: ${(error as Error).message}`, {
      hint: `check the database with \`heroku pg:info -a ${app}\`; ${nothing}`,
      cause: error,
    });
  });
  checks.push(`${app}'s ${options.database} exists and drydock can connect to it (to verify the restore)`);
  const major = (db.version ? parseVersion(db.version)?.major : undefined) ?? 15;
  const tool = await deps.pgTools.tool('pg_restore', major).catch((error: unknown) => {
    throw new DrydockError(`cannot read backup ${backup.id} here: ${(error as Error).message}`, {
      hint: `${error instanceof DrydockError && error.hint ? `${error.hint}; ` : ''}${nothing}`,
      cause: error,
    });
  });
  checks.push(`pg_restore ${tool.version.text} reads PostgreSQL ${major} backups (to count the backup's rows)`);

  const steps = [
    `read backup ${backup.id} and count its rows (download into the local cache)`,
    options.safetyBackup ? `capture a safety backup of ${app}'s ${options.database} (it will hold the data as it is now, before the restore)` : 'NO safety backup (--no-safety-backup)',
    ...(options.maintenance ? [`turn maintenance mode on for ${app}`] : []),
    ...(options.scaleDown.length ? [`scale ${options.scaleDown.join(', ')} to 0`] : []),
    `restore ${backup.id} into ${app}'s ${options.database} (REPLACES its data)`,
    'verify: schema version, tables and row counts equal the backup',
    ...(needState ? ['put maintenance mode and process counts back as they were'] : []),
  ];
  const hours = hoursSince(backup.createdAt, deps.clock.now());
  const note = safety.get(backup.id);
  return {
    backup,
    preflight: { major, db },
    plan: {
      app,
      database: options.database,
      backup: {
        id: backup.id,
        createdAt: backup.createdAt,
        ageHours: roundHours(hours),
        ageSeconds: hours === undefined ? undefined : Math.round(hours * 3600),
        bytes: backup.sizeBytes,
        source: backup.database,
        safety: note ? describeSafety(note) : undefined,
      },
      skipped,
      checks,
      steps,
    },
  };
}

/**
 * Exactly what a restore that stopped early changed, as a clause for its error message, and what to
 * do about it for the hint.
 */
function whatChanged(ctx: Ctx, app: string, database: string, backup: BackupSummary, stateError: unknown): { changed: string; next: string } {
  const into = `${app}'s ${database}`;
  const again = `drydock restore ${backup.id} -a ${app} --confirm ${app}${databaseFlag(database)}`;
  if (!ctx.safety && !ctx.changedState && !ctx.restoreStarted) return { changed: 'nothing was changed', next: `fix the problem and run \`${again}\` again` };
  const parts: string[] = [];
  if (!ctx.restoreStarted) parts.push(`${into} was not changed (the restore of ${backup.id} never started)`);
  else if (ctx.restoreFinished) parts.push(`the restore of ${backup.id} into ${into} finished, but the data is not what the backup holds`);
  else parts.push(`the restore of ${backup.id} into ${into} was started and did not finish: the database may be partly restored`);
  if (ctx.changedState) {
    parts.push(
      stateError
        ? `ALSO could not put maintenance/processes back (${(stateError as Error).message}): run \`heroku maintenance:${ctx.original?.maintenance ? 'on' : 'off'} -a ${app}\` and \`heroku ps:scale ${Object.entries(ctx.original?.formation ?? {}).map(([t, n]) => `${t}=${n}`).join(' ')} -a ${app}\` yourself`
        : 'maintenance and process counts were put back as they were',
    );
  }
  if (ctx.safety) parts.push(`safety backup ${ctx.safety.id} was captured: it holds the data as it was BEFORE this restore`);
  const next = !ctx.restoreStarted
    ? `fix the problem and run \`${again}\` again${ctx.safety ? ` (${ctx.safety.id} is no undo: nothing needs undoing)` : ''}`
    : ctx.safety
      ? `to go back to the data from before this restore: drydock restore ${ctx.safety.id} -a ${app} --confirm ${app}${databaseFlag(database)}; to try again: ${again}`
      : `check \`heroku pg:backups -a ${app}\`; no safety backup was taken (--no-safety-backup), so drydock cannot bring back the data from before`;
  return { changed: parts.join('; '), next };
}

/** Run the restore. */
export async function runRestore(deps: Deps, options: RestoreOptions): Promise<RestoreResult> {
  const { plan, backup, preflight } = await planRestore(deps, options);
  if (options.dryRun) return { plan, dryRun: true, safetyBackup: undefined, verified: undefined, undo: undefined, stateRestored: undefined };
  if (!(await options.confirm(plan))) {
    throw new DrydockError(`restore of ${options.app} not confirmed`, { hint: `pass --confirm ${options.app} (the app's exact name); nothing was changed` });
  }
  const pgTools = deps.pgTools;
  const cache = deps.settings.cacheDir;
  const ctx: Ctx = { backup };
  const app = options.app;
  const { db } = preflight;
  // Backup ids, the cache and safety records belong to the app the database's backups are listed under.
  const backupsApp = db.backupsApp;
  const pipeline = createPipeline<Ctx>(
    [
      {
        title: `Read backup ${backup.id} and count its rows`,
        task: async (c, task) => {
          const cached =
            (await findCached(cache, backupsApp, backup.id, backup.createdAt)) ??
            (await withStepProgress(task, deps.output.mode, async (progress) => {
              const startedAt = Date.now();
              return downloadToCache(cache, backupsApp, backup.id, await deps.heroku.backupUrl(backupsApp, backup.id), {
                createdAt: backup.createdAt,
                expectedBytes: backup.sizeBytes,
                freshUrl: () => deps.heroku.backupUrl(backupsApp, backup.id),
                verifyArchive: (file) => pgTools.listArchive(file, preflight.major),
                onProgress: (p) => {
                  const view = measure({ done: p.bytes, total: p.total, startedAt, now: Date.now() });
                  progress.update(`downloading: ${describeTransfer(p.bytes, p.total, view)}`, view.fraction);
                },
              });
            }));
          c.counts = await pgTools.archiveRowCounts(cached.file, preflight.major).catch(async (error: unknown) => {
            throw await damagedArchiveError(error, cache, backupsApp, backup.id);
          });
          task.title = `Backup ${backup.id}: ${c.counts.size} table(s), ${[...c.counts.values()].reduce((a, b) => a + b.rows, 0)} row(s)`;
        },
      },
      {
        title: `Capture a safety backup of ${app}`,
        enabled: () => options.safetyBackup,
        task: async (c, task) => {
          c.safety = await withStepProgress(task, deps.output.mode, (progress) =>
            deps.heroku.captureBackup(app, { database: options.database, backupsApp, onProgress: (line) => progress.line(line), onWait: (line) => progress.line(line), onWarning: (m) => deps.output.warn(m), timeoutMs: options.transferTimeoutMs }),
          );
          task.title = `Safety backup ${c.safety.id} captured (the data as it was before this restore)`;
          // Remembered here so later listings and 'latest' know it; other machines infer it from the restore that follows.
          await recordSafetyBackup(cache, { app: backupsApp, id: c.safety.id, createdAt: c.safety.createdAt, restoreOf: backup.id, database: options.database, capturedAt: new Date(deps.clock.now()).toISOString() }).catch(
            (error: unknown) => deps.output.warn(`could not record ${c.safety?.id} as a safety backup in ${cache}: ${(error as Error).message}`),
          );
        },
      },
      {
        title: 'Maintenance mode and process counts',
        enabled: () => options.maintenance || options.scaleDown.length > 0,
        task: async (c, task) => {
          // Each heroku call costs about a second: independent ones run together.
          const [maintenance, formation] = await Promise.all([deps.heroku.maintenance(app), deps.heroku.formation(app)]);
          c.original = { maintenance, formation };
          // Checked before anything changed; a process type removed since then stops here.
          const unknown = options.scaleDown.filter((t) => !(t in formation));
          if (unknown.length) throw new DrydockError(`${app} no longer has process type(s) ${unknown.join(', ')}`, { hint: `its process types: ${Object.keys(formation).join(', ') || 'none'}` });
          c.changedState = true;
          leaveState = mayLeave(`${app} with maintenance ${options.maintenance ? 'on' : maintenance ? 'on' : 'off'} and ${options.scaleDown.join(', ') || 'no process types'} scaled to 0 (put back with \`heroku maintenance:${maintenance ? 'on' : 'off'} -a ${app}\` and \`heroku ps:scale ${Object.entries(formation).map(([t, n]) => `${t}=${n}`).join(' ')} -a ${app}\`)`);
          const down = Object.fromEntries(options.scaleDown.filter((t) => (formation[t] ?? 0) > 0).map((t) => [t, 0]));
          await Promise.all([
            options.maintenance && !maintenance ? deps.heroku.setMaintenance(app, true) : undefined,
            Object.keys(down).length ? deps.heroku.scale(app, down) : undefined,
          ]);
          task.title = `Maintenance ${options.maintenance ? 'on' : 'unchanged'}${Object.keys(down).length ? `, scaled ${Object.keys(down).join(', ')} to 0` : ''}`;
        },
      },
      {
        title: `Restore ${backup.id} into ${app}'s ${options.database}`,
        task: async (c, task) => {
          c.restoreStarted = true;
          const leaveRestore = mayLeave(`the restore of ${backup.id} into ${app}'s ${options.database} may still be running on Heroku (check \`heroku pg:backups -a ${backupsApp}\`)`);
          await withStepProgress(task, deps.output.mode, (progress) =>
            deps.heroku.restoreBackup(app, backup.id, {
              database: options.database,
              confirm: app,
              backupsApp,
              restoresApp: backupsApp,
              targetNames: db.transferNames,
              onProgress: (line) => progress.line(line),
              timeoutMs: options.transferTimeoutMs,
            }),
          );
          c.restoreFinished = true;
          leaveRestore();
        },
      },
      {
        title: 'Verify the restore',
        task: async (c, task) => {
          const url = parseDatabaseUrl(await deps.heroku.databaseUrl(app, options.database), `${app}'s ${options.database}`, deps.settings.libpq);
          c.verified = await withClient(url, async (client) => {
            const schemaVersion = (await detectSchemaVersion(client)).version;
            const check = await compareRowCounts(client, c.counts!);
            const mismatches = check.mismatches.map((m) => `${m.table}: ${m.actual < 0 ? 'missing' : m.actual} (backup: ${m.expected})`);
            const rowsChecked = check.rows;
            if (mismatches.length) {
              throw new DrydockError(`the restore did not produce the backup's data: ${mismatches.slice(0, 3).join('; ')}${mismatches.length > 3 ? ` (+${mismatches.length - 3} more)` : ''}`, {
                hint: `check \`heroku pg:backups -a ${backupsApp}\``,
              });
            }
            return { schemaVersion, tables: c.counts!.size, rowsChecked };
          });
          task.title = `Verified: ${c.verified.tables} table(s) and ${c.verified.rowsChecked} row(s) equal backup ${backup.id}; schema version ${c.verified.schemaVersion}`;
        },
      },
    ],
    deps.output,
    deps.signal,
  );
  let failure: unknown;
  let leaveState: (() => void) | undefined;
  try {
    await pipeline.run(ctx);
  } catch (error) {
    failure = error;
  }
  // Always put the app back as it was, even after a failed step.
  let stateRestored: RestoreResult['stateRestored'];
  let stateError: unknown;
  if (ctx.changedState && ctx.original) {
    try {
      const original = ctx.original;
      const [current, maintenance] = await Promise.all([deps.heroku.formation(app), deps.heroku.maintenance(app)]);
      const back = Object.fromEntries(Object.entries(original.formation).filter(([t, n]) => current[t] !== n));
      await Promise.all([
        Object.keys(back).length ? deps.heroku.scale(app, back) : undefined,
        maintenance !== original.maintenance ? deps.heroku.setMaintenance(app, original.maintenance) : undefined,
      ]);
      stateRestored = ctx.original;
      leaveState?.();
      deps.output.info(`restore: ${app} is back to maintenance ${ctx.original.maintenance ? 'on' : 'off'} and ${Object.entries(ctx.original.formation).map(([t, n]) => `${t}=${n}`).join(' ') || 'no processes'}`);
    } catch (error) {
      stateError = error;
    }
  }
  const undo = ctx.safety ? `drydock restore ${ctx.safety.id} -a ${app} --confirm ${app}${databaseFlag(options.database)}` : undefined;
  const by = interruptedBy(deps.signal);
  if (by && (failure || stateError)) throw interruptedRestore(by, app, options, backup, ctx, stateError, undo, failure ?? stateError);
  if (failure || stateError) {
    const base = failure instanceof DrydockError ? failure : new DrydockError(String((failure as Error)?.message ?? (stateError as Error)?.message ?? stateError));
    // Every failure says exactly what had changed by then, and what the safety backup is (and is not).
    const { changed, next } = whatChanged(ctx, app, options.database, backup, stateError);
    throw new DrydockError(`${base.message}; ${changed}`, {
      hint: [base.hint, next].filter(Boolean).join('; ') || undefined,
      cause: failure ?? stateError,
      exitCode: base.exitCode,
    });
  }
  return { plan, dryRun: false, safetyBackup: ctx.safety?.id, verified: ctx.verified, undo, stateRestored };
}

/** What an interrupted restore left: the app's data, its maintenance and processes, and what finishes or undoes the job. */
function interruptedRestore(
  by: InterruptSignal,
  app: string,
  options: RestoreOptions,
  backup: BackupSummary,
  ctx: Ctx,
  stateError: unknown,
  undo: string | undefined,
  cause: unknown,
): InterruptedError {
  const into = `${app}'s ${options.database}`;
  const data = ctx.restoreFinished
    ? `the restore of ${backup.id} into ${into} had finished on Heroku but was not verified`
    : ctx.restoreStarted
      ? `drydock stopped waiting for the restore of ${backup.id} into ${into}: it may still be running on Heroku's side (the data may be old, new or partly restored)`
      : `${into} was not changed (the restore of ${backup.id} never started)`;
  const state = !ctx.changedState
    ? 'maintenance and process counts were not changed'
    : stateError
      ? `maintenance/process counts could NOT be put back (${(stateError as Error).message}): run \`heroku maintenance:${ctx.original?.maintenance ? 'on' : 'off'} -a ${app}\` and \`heroku ps:scale ${Object.entries(ctx.original?.formation ?? {}).map(([t, n]) => `${t}=${n}`).join(' ')} -a ${app}\``
      : `maintenance and process counts were put back as they were (maintenance ${ctx.original?.maintenance ? 'on' : 'off'}, ${Object.entries(ctx.original?.formation ?? {}).map(([t, n]) => `${t}=${n}`).join(' ') || 'no processes'})`;
  const safety = ctx.safety ? `safety backup ${ctx.safety.id} holds the data from before` : options.safetyBackup ? 'no safety backup was finished' : 'no safety backup was taken (--no-safety-backup)';
  const hints: string[] = [];
  if (ctx.restoreStarted && !ctx.restoreFinished) hints.push(`check the restore with \`heroku pg:backups -a ${app}\` (stop it with \`heroku pg:backups:cancel -a ${app}\`)`);
  const again = `drydock restore ${backup.id} -a ${app} --confirm ${app}${databaseFlag(options.database)}`;
  if (ctx.restoreStarted) hints.push(`finish the job with \`${again}\``);
  else hints.push(`run \`${again}\` again to restore`);
  if (undo && ctx.restoreStarted) hints.push(`undo with \`${undo}\``);
  return new InterruptedError(by, `interrupted (${by}): restore of ${app} stopped: ${data}; ${state}; ${safety}`, { hint: hints.join('; '), cause });
}


/** What `drydock restore` was asked (its flags). */
export interface RestoreRequest {
  backup: string | undefined;
  confirm?: string | undefined;
  maintenance?: boolean | undefined;
  scaleDown?: string | undefined;
  safetyBackup?: boolean | undefined;
  dryRun?: boolean | undefined;
  database?: string | undefined;
  toLocal?: string | undefined;
  jobs?: string | undefined;
  transferTimeout?: string | undefined;
  transferTimeoutSource?: ValueSource;
}

/**
 * `drydock restore`: into the app's database (guarded, verified, reversible), or with --to-local into a
 * local database as `drydock pull` does. `beforeConfirm` shows the plan before the typed confirmation.
 */
export async function restore(deps: Deps, request: RestoreRequest, beforeConfirm: (plan: RestorePlan) => void): Promise<{ local: PullResult } | { heroku: RestoreResult }> {
  const app = await resolveApp(deps.settings, { required: true });
  const backup = request.backup ?? 'latest';
  if (backup !== 'latest' && !/^[abr]\d{3,}$/i.test(backup)) {
    throw new ConfigError(`"${backup.slice(0, 30)}" is not a backup id`, { hint: 'use an id such as b012 (see `drydock backups list`) or latest' });
  }
  if (request.toLocal) {
    // A dry run of --to-local is a dry run of the pull: nothing local is created, dropped or replaced.
    return { local: await pull(deps, { from: backup === 'latest' ? 'backup' : backup, database: request.database, to: request.toLocal, jobs: request.jobs, maxAge: '100000h', dryRun: Boolean(request.dryRun) }) };
  }
  if (request.confirm !== undefined && request.confirm !== app) {
    throw new ConfigError(`--confirm ${request.confirm} does not match the app ${app}`, { hint: `pass --confirm ${app}; nothing was changed` });
  }
  const scaleDown = (request.scaleDown ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const result = await runRestore(deps, {
    app,
    backup,
    database: request.database ?? 'DATABASE_URL',
    maintenance: Boolean(request.maintenance),
    scaleDown,
    safetyBackup: request.safetyBackup !== false,
    dryRun: Boolean(request.dryRun),
    transferTimeoutMs: resolveTransferTimeout(request.transferTimeout, request.transferTimeoutSource),
    confirm: async (plan) => {
      beforeConfirm(plan);
      if (request.confirm === app) return true;
      if (!deps.output.canAsk() || deps.settings.ci) {
        throw new ConfigError(`restore of ${app} needs --confirm ${app}`, { hint: `standard input is not a terminal, so drydock cannot ask; nothing was changed` });
      }
      const answer = await deps.output.ask(`Type the app name (${app}) to restore into its database: `);
      return answer.trim() === app;
    },
  });
  return { heroku: result };
}
