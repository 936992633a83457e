/**
 * `drydock pull`: production into a local database, fast and safe, for rehearsals.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';

import type { Command } from 'commander';

import { resolveLocalUrl } from '../config.js';
import type { Deps } from '../deps.js';
import { ConfigError } from '../errors.js';
import { assertIdentifier } from '../pg/ident.js';
import { parseDatabaseUrl, type DbUrl } from '../pg/url.js';
import { runPull, type PullResult, type PullSource } from '../pipelines/pull.js';
import { scheduleSpare, sparesEnabled } from '../local/spare.js';
import { parseDuration, resolveApp } from './shared.js';

/** Flags of `drydock pull`. */
export interface PullFlags {
  to?: string | undefined;
  from?: string | undefined;
  fromUrl?: string | undefined;
  capture?: boolean | undefined;
  excludeTableData?: string | undefined;
  jobs?: string | undefined;
  scrub?: string | undefined;
  dryRun?: boolean | undefined;
  maxAge?: string | undefined;
  transferTimeout?: string | undefined;
  local?: string | undefined;
  snapshot?: boolean | undefined;
  validateForeignKeys?: boolean | undefined;
}

/** The working database: `--to NAME` on the local server, or `--to URL` (its database is the name). */
export function resolveTarget(to: string | undefined, fallback: string | undefined, localFlag: string | undefined, env: NodeJS.ProcessEnv): { local: DbUrl; target: string } {
  if (to && /^postgres(ql)?:\/\//i.test(to)) {
    const url = parseDatabaseUrl(to, '--to URL');
    if (!url.database) throw new ConfigError('--to URL names no database', { hint: 'for example --to postgres://localhost:5432/myapp_development' });
    assertIdentifier(url.database, 'target database name');
    return { local: url, target: url.database };
  }
  const target = to ?? fallback;
  if (!target) throw new ConfigError('pull needs a target database: --to NAME', { hint: 'for example --to myapp_development' });
  if (!/^[A-Za-z_][A-Za-z0-9_$-]*$/.test(target)) {
    throw new ConfigError(`"${target.slice(0, 40)}" is not a usable database name`, { hint: 'use letters, digits and underscores, e.g. myapp_development' });
  }
  assertIdentifier(target, 'target database name');
  if (/^drydock_(pull|prev|snap)_/.test(target)) throw new ConfigError(`"${target}" looks like one of drydock's own copies (drydock_pull_, drydock_prev_, drydock_snap_): those names are reserved`, { hint: 'choose another name' });
  return { local: resolveLocalUrl(localFlag, env), target };
}

/** Run `drydock pull`. */
export async function pull(deps: Deps, flags: PullFlags): Promise<PullResult> {
  const app = await resolveApp(deps.config, { required: false });
  const env = deps.config.env as NodeJS.ProcessEnv;
  let source: PullSource;
  if (flags.fromUrl) {
    if (flags.from && flags.from !== 'live') throw new ConfigError('--from-url copies a live database: it cannot be combined with --from backup', { hint: 'drop --from' });
    source = { kind: 'url', url: flags.fromUrl };
  } else {
    if (!app) throw new ConfigError('pull needs the production app (-a APP) or --from-url URL', { hint: 'drydock pull -a my-app --to my_app_development' });
    const from = flags.capture ? 'backup' : (flags.from ?? 'live');
    if (from === 'live') {
      source = { kind: 'live', app };
    } else {
      const id = from === 'backup' ? 'latest' : from;
      if (id !== 'latest' && !/^[abr]\d{3,}$/i.test(id)) throw new ConfigError(`--from must be live, backup or a backup id like b012, not "${from}"`, { hint: 'list backups with `drydock backups list`' });
      source = { kind: 'backup', app, id, capture: Boolean(flags.capture), maxAgeMs: parseDuration(flags.maxAge ?? '24h', '--max-age', 'h')!, transferTimeoutMs: parseDuration(flags.transferTimeout ?? (deps.config.env.DRYDOCK_TRANSFER_TIMEOUT as string | undefined), '--transfer-timeout', 's') ?? 2 * 3_600_000 };
    }
  }
  const { local, target } = resolveTarget(flags.to, app?.replace(/-/g, '_'), flags.local, env);
  const jobs = flags.jobs === undefined ? Math.max(2, availableParallelism()) : Number(flags.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new ConfigError(`--jobs must be a whole number from 1 to 64, not "${flags.jobs}"`, { hint: 'for example --jobs 4' });
  const scrubFile = flags.scrub ? resolve(flags.scrub) : undefined;
  if (scrubFile && !existsSync(scrubFile)) throw new ConfigError(`scrub file ${scrubFile} not found`, { hint: 'pass the path of an SQL file that anonymises the copy' });
  const excludeTableData = (flags.excludeTableData ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const keepSnapshot = flags.snapshot !== false;
  // With a background preparation coming anyway, it also drops the copies this pull replaced.
  const background = keepSnapshot && sparesEnabled(env);
  const result = await runPull(deps, { source, local, target, jobs, excludeTableData, scrubFile, keepSnapshot, validateForeignKeys: Boolean(flags.validateForeignKeys), dryRun: Boolean(flags.dryRun), dropInBackground: background });
  if (result.snapshot && background) await scheduleSpare(deps, local, target, 'pristine', result.droppingInBackground);
  return result;
}

/** Human rendering. */
export function renderPull(result: PullResult): string {
  if (result.dryRun) return [`Plan (dry run, nothing changed):`, ...(result.plan ?? []).map((l) => `  ${l}`)].join('\n');
  const lines = [`Pulled ${result.source} into ${result.database} in ${result.seconds} s.`];
  if (result.backup) lines.push(`  backup ${result.backup.id}${result.backup.ageHours !== undefined ? `, ${result.backup.ageHours.toFixed(1)} h old` : ''}${result.backup.cached ? ', from the cache' : ''}`);
  lines.push(`  ${result.tables} table(s)${result.rows !== undefined ? `, ${result.rows} row(s)` : ''}, schema version ${result.schemaVersion ?? '0'}`);
  if (result.snapshot) lines.push(`  reset to this copy any time: drydock snapshot restore pristine --to ${result.target}`);
  for (const fk of result.notValidForeignKeys) lines.push(`  foreign key ${fk.name} on ${fk.table} is NOT VALID: the data of ${fk.references} was excluded`);
  if (result.scrubbed) lines.push('  the working copy was scrubbed (the snapshot was not)');
  return lines.join('\n');
}

/** Register `drydock pull`. */
export function registerPull(program: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  program
    .command('pull')
    .description('copy production into a local database (verified, swapped in atomically, kept as a snapshot)')
    .option('--to <name|url>', 'local database to replace (default: the app name with _ for -)')
    .option('--from <source>', 'live (default), backup (the newest), or a backup id such as b012')
    .option('--from-url <url>', 'copy this live Postgres database instead of a Heroku app')
    .option('--capture', 'capture a fresh backup first and pull that')
    .option('--max-age <age>', 'refuse a newest backup older than this (default 24h)')
    .option('--transfer-timeout <duration>', 'give up on a Heroku capture that has not finished after this long (default 2h)')
    .option('--exclude-table-data <tables>', 'comma-separated tables whose rows are not copied (schema is)')
    .option('--jobs <n>', 'parallel streams and restore jobs (default: the number of CPUs)')
    .option('--scrub <file.sql>', 'run this anonymising SQL on the working copy after the swap')
    .option('--no-snapshot', 'do not keep the pristine snapshot')
    .option('--validate-foreign-keys', "check every foreign key row by row instead of trusting production's (slower)")
    .option('--local <url>', 'local server (default: DRYDOCK_LOCAL_DATABASE_URL, else PG* variables)')
    .option('--dry-run', 'print the plan and change nothing')
    .action(async (opts: PullFlags) => {
      await run(async (deps) => {
        const result = await pull(deps, opts);
        deps.output.result(result, renderPull);
      });
    });
}
