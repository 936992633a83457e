/**
 * The on-call restore: a Heroku backup back into the app's database, guarded, explained, reversible.
 *
 * plan → confirm → read the backup's exact row counts → safety backup → maintenance/scale down →
 * restore → verify (schema version, tables, row counts equal the backup's) → maintenance/scale back as
 * they were (always, even after a failure) → summary with the undo command.
 */
import type { Deps } from '../deps.js';
import { DrydockError } from '../errors.js';
import type { BackupInfo, BackupSummary } from '../heroku/cli.js';
import { detectSchemaVersion } from '../migrate/detect.js';
import { withClient } from '../pg/client.js';
import { PgTools } from '../pg/pg-tools.js';
import { quoteQualified } from '../pg/ident.js';
import { parseDatabaseUrl } from '../pg/url.js';
import { parseVersion } from '../pg/version.js';
import { cacheDir, downloadToCache, findCached } from '../backups/cache.js';
import { createPipeline } from './listr.js';

/** Options of one restore. */
export interface RestoreOptions {
  app: string;
  backup: string | 'latest';
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
  backup: { id: string; createdAt: string | undefined; ageHours: number | undefined; bytes: number | undefined; source: string | undefined };
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
  counts?: Map<string, number>;
  backupVersion?: string;
  safety?: BackupInfo;
  original?: { maintenance: boolean; formation: Record<string, number> };
  changedState?: boolean;
  verified?: RestoreResult['verified'];
}

function hoursSince(createdAt: string | undefined): number | undefined {
  if (!createdAt) return undefined;
  const t = Date.parse(createdAt.replace(' +0000', 'Z').replace(' ', 'T'));
  return Number.isNaN(t) ? undefined : Math.round((Date.now() - t) / 360_000) / 10;
}

/** Resolve the backup and describe the plan; changes nothing. */
export async function planRestore(deps: Deps, options: Omit<RestoreOptions, 'confirm' | 'transferTimeoutMs'>): Promise<{ plan: RestorePlan; backup: BackupSummary }> {
  const backups = await deps.heroku.listBackups(options.app);
  const completed = backups.filter((b) => b.kind === 'backup' && b.status === 'completed');
  const backup =
    options.backup === 'latest'
      ? completed.sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)))[0]
      : backups.find((b) => b.id.toLowerCase() === options.backup.toLowerCase());
  if (!backup) {
    throw new DrydockError(options.backup === 'latest' ? `${options.app} has no completed backup` : `backup ${options.backup} not found for ${options.app}`, {
      hint: `list backups with \`drydock backups list -a ${options.app}\`; nothing was changed`,
    });
  }
  if (backup.status !== 'completed') throw new DrydockError(`backup ${backup.id} is ${backup.status}: only a completed backup can be restored`, { hint: 'choose another backup; nothing was changed' });
  const steps = [
    `read backup ${backup.id} and count its rows (download into the local cache)`,
    options.safetyBackup ? `capture a safety backup of ${options.app}'s ${options.database}` : 'NO safety backup (--no-safety-backup)',
    ...(options.maintenance ? [`turn maintenance mode on for ${options.app}`] : []),
    ...(options.scaleDown.length ? [`scale ${options.scaleDown.join(', ')} to 0`] : []),
    `restore ${backup.id} into ${options.app}'s ${options.database} (REPLACES its data)`,
    'verify: schema version, tables and row counts equal the backup',
    ...(options.maintenance || options.scaleDown.length ? ['put maintenance mode and process counts back as they were'] : []),
  ];
  return {
    backup,
    plan: {
      app: options.app,
      database: options.database,
      backup: { id: backup.id, createdAt: backup.createdAt, ageHours: hoursSince(backup.createdAt), bytes: backup.sizeBytes, source: backup.database },
      steps,
    },
  };
}

/** Run the restore. */
export async function runRestore(deps: Deps, options: RestoreOptions): Promise<RestoreResult> {
  const { plan, backup } = await planRestore(deps, options);
  if (options.dryRun) return { plan, dryRun: true, safetyBackup: undefined, verified: undefined, undo: undefined, stateRestored: undefined };
  if (!(await options.confirm(plan))) {
    throw new DrydockError(`restore of ${options.app} not confirmed`, { hint: `pass --confirm ${options.app} (the app's exact name); nothing was changed` });
  }
  const pgTools = PgTools.fromDeps(deps);
  const cache = cacheDir(deps.config.env as NodeJS.ProcessEnv);
  const ctx: Ctx = { backup };
  const app = options.app;
  const pipeline = createPipeline<Ctx>(
    [
      {
        title: `Read backup ${backup.id} and count its rows`,
        task: async (c, task) => {
          const cached =
            (await findCached(cache, app, backup.id, backup.createdAt)) ??
            (await downloadToCache(cache, app, backup.id, await deps.heroku.backupUrl(app, backup.id), {
              createdAt: backup.createdAt,
              onProgress: (p) => (task.output = `${Math.round(p.bytes / 1024 ** 2)} MB downloaded`),
            }));
          const info = await deps.heroku.pgInfo(app).catch(() => undefined);
          const major = (info?.version ? parseVersion(info.version)?.major : undefined) ?? 15;
          c.counts = await pgTools.archiveRowCounts(cached.file, major);
          task.title = `Backup ${backup.id}: ${c.counts.size} table(s), ${[...c.counts.values()].reduce((a, b) => a + b, 0)} row(s)`;
        },
      },
      {
        title: `Capture a safety backup of ${app}`,
        enabled: () => options.safetyBackup,
        task: async (c, task) => {
          c.safety = await deps.heroku.captureBackup(app, { database: options.database, onProgress: (line) => (task.output = line), timeoutMs: options.transferTimeoutMs });
          task.title = `Safety backup ${c.safety.id} captured`;
        },
      },
      {
        title: 'Maintenance mode and process counts',
        enabled: () => options.maintenance || options.scaleDown.length > 0,
        task: async (c, task) => {
          // Each heroku call costs about a second: independent ones run together.
          const [maintenance, formation] = await Promise.all([deps.heroku.maintenance(app), deps.heroku.formation(app)]);
          c.original = { maintenance, formation };
          const unknown = options.scaleDown.filter((t) => !(t in formation));
          if (unknown.length) throw new DrydockError(`${app} has no process type(s) ${unknown.join(', ')}`, { hint: `its process types: ${Object.keys(formation).join(', ') || 'none'}; nothing was changed` });
          c.changedState = true;
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
        task: async (_c, task) => {
          await deps.heroku.restoreBackup(app, backup.id, { database: options.database, confirm: app, onProgress: (line) => (task.output = line), timeoutMs: options.transferTimeoutMs });
        },
      },
      {
        title: 'Verify the restore',
        task: async (c, task) => {
          const url = parseDatabaseUrl(await deps.heroku.databaseUrl(app, options.database), `${app}'s ${options.database}`);
          c.verified = await withClient(url, async (client) => {
            const schemaVersion = (await detectSchemaVersion(client)).version;
            let rowsChecked = 0;
            const mismatches: string[] = [];
            for (const [table, expected] of c.counts!) {
              const [schema, name] = table.includes('.') ? table.split('.', 2) : ['public', table];
              const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteQualified(schema!, name!)}`).catch(() => ({ rows: [{ n: '-1' }] }));
              const actual = Number(rows[0]?.n ?? -1);
              if (actual !== expected) mismatches.push(`${table}: ${actual < 0 ? 'missing' : actual} (backup: ${expected})`);
              rowsChecked += Math.max(actual, 0);
            }
            if (mismatches.length) {
              throw new DrydockError(`the restore did not produce the backup's data: ${mismatches.slice(0, 3).join('; ')}${mismatches.length > 3 ? ` (+${mismatches.length - 3} more)` : ''}`, {
                hint: `the database of ${app} may be in an unknown state: check \`heroku pg:backups -a ${app}\`${c.safety ? `; undo with drydock restore ${c.safety.id} -a ${app} --confirm ${app}` : ''}`,
              });
            }
            return { schemaVersion, tables: c.counts!.size, rowsChecked };
          });
          task.title = `Verified: ${c.verified.tables} table(s) and ${c.verified.rowsChecked} row(s) equal backup ${backup.id}; schema version ${c.verified.schemaVersion}`;
        },
      },
    ],
    deps.output,
  );
  let failure: unknown;
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
      deps.output.info(`restore: ${app} is back to maintenance ${ctx.original.maintenance ? 'on' : 'off'} and ${Object.entries(ctx.original.formation).map(([t, n]) => `${t}=${n}`).join(' ') || 'no processes'}`);
    } catch (error) {
      stateError = error;
    }
  }
  const undo = ctx.safety ? `drydock restore ${ctx.safety.id} -a ${app} --confirm ${app}` : undefined;
  if (failure || stateError) {
    const base = failure instanceof DrydockError ? failure : new DrydockError(String((failure as Error)?.message ?? stateError));
    const state = stateError
      ? `; ALSO could not put maintenance/processes back (${(stateError as Error).message}): run \`heroku maintenance:off -a ${app}\` and \`heroku ps:scale -a ${app}\` yourself`
      : ctx.changedState ? '; maintenance and process counts were put back as they were' : '';
    throw new DrydockError(`${base.message}${state}`, {
      hint: `${base.hint ?? ''}${undo && !/undo with/.test(base.hint ?? '') ? ` ${base.hint ? '; ' : ''}safety backup ${ctx.safety!.id}: undo with ${undo}` : ''}`.trim() || undefined,
      cause: failure ?? stateError,
    });
  }
  return { plan, dryRun: false, safetyBackup: ctx.safety?.id, verified: ctx.verified, undo, stateRestored };
}

