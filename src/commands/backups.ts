/**
 * `drydock backups list|capture|info|download|verify`: Heroku Postgres backups, and proof they restore.
 * A backup nobody has restored is not yet a backup: `verify` restores one into a scratch database and
 * checks it against the backup's own row counts.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { resolve } from 'node:path';

import type { Command } from 'commander';

import { resolveLocalUrl } from '../config.js';
import type { Deps } from '../deps.js';
import { ChecksFailed, DrydockError } from '../errors.js';
import type { BackupInfo, BackupSummary } from '../heroku/cli.js';
import { detectSchemaVersion } from '../migrate/detect.js';
import { withClient } from '../pg/client.js';
import { quoteQualified } from '../pg/ident.js';
import { PgTools } from '../pg/pg-tools.js';
import { withDatabase } from '../pg/url.js';
import { parseVersion } from '../pg/version.js';
import { cacheDir, downloadToCache, findCached, type CachedBackup } from '../backups/cache.js';
import { drydockDbName, LocalServer } from '../local/server.js';
import { precreatedSchemas, prepareExtensions } from '../local/extensions.js';
import { extensionsInToc, withoutPrecreated } from '../backups/toc.js';
import { parseDuration, resolveApp } from './shared.js';

function size(bytes: number | undefined): string {
  if (bytes === undefined) return '?';
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GB` : `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

function age(createdAt: string | undefined): string {
  if (!createdAt) return '?';
  const t = Date.parse(createdAt.replace(' +0000', 'Z').replace(' ', 'T'));
  if (Number.isNaN(t)) return '?';
  const h = (Date.now() - t) / 3_600_000;
  return h < 1 ? `${Math.round(h * 60)} min` : h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} d`;
}

function renderList(backups: BackupSummary[]): string {
  if (!backups.length) return 'no backups';
  return [
    'ID     STATUS     CREATED                    AGE        SIZE       DATABASE',
    ...backups.map((b) => `${b.id.padEnd(6)} ${b.status.padEnd(10)} ${String(b.createdAt ?? '').padEnd(26)} ${age(b.createdAt).padEnd(10)} ${size(b.sizeBytes).padEnd(10)} ${b.database ?? ''}`),
  ].join('\n');
}

function renderInfo(b: BackupInfo): string {
  return [
    `${b.id}: ${b.status}, ${b.kind}${b.scheduled ? ' (scheduled)' : ''}`,
    `  created   ${b.createdAt ?? '?'} (${age(b.createdAt)} ago)`,
    `  finished  ${b.finishedAt ?? '-'}`,
    `  size      ${size(b.sizeBytes)} compressed, ${size(b.sourceBytes)} database`,
    `  database  ${b.database ?? '?'}`,
    ...(b.logs.length ? ['  logs', ...b.logs.slice(-10).map((l) => `    ${l.createdAt} ${l.message}`)] : []),
  ].join('\n');
}

/** Download a backup into the cache (or use the cached copy). */
export async function fetchBackup(deps: Deps, app: string, backup: BackupSummary, onProgress?: (text: string) => void): Promise<CachedBackup & { fromCache: boolean }> {
  const cache = cacheDir(deps.config.env as NodeJS.ProcessEnv);
  const hit = await findCached(cache, app, backup.id, backup.createdAt);
  if (hit) return { ...hit, fromCache: true };
  const url = await deps.heroku.backupUrl(app, backup.id);
  const entry = await downloadToCache(cache, app, backup.id, url, { createdAt: backup.createdAt, onProgress: (p) => onProgress?.(`${size(p.bytes)}${p.total ? ` of ${size(p.total)}` : ''}`) });
  return { ...entry, fromCache: false };
}

async function pickBackup(deps: Deps, app: string, id: string | undefined): Promise<BackupSummary> {
  const all = await deps.heroku.listBackups(app);
  if (id && id !== 'latest') {
    const found = all.find((b) => b.id.toLowerCase() === id.toLowerCase());
    if (!found) throw new DrydockError(`backup ${id} not found for ${app}`, { hint: `see \`drydock backups list -a ${app}\`` });
    if (found.status !== 'completed') throw new DrydockError(`backup ${found.id} is ${found.status}`, { hint: 'choose a completed backup' });
    return found;
  }
  const newest = all.filter((b) => b.kind === 'backup' && b.status === 'completed').sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)))[0];
  if (!newest) throw new DrydockError(`${app} has no completed backup`, { hint: `capture one with \`drydock backups capture -a ${app}\`` });
  return newest;
}

/** What `backups verify` found. */
export interface VerifyResult {
  backup: string;
  ok: boolean;
  tables: number;
  rows: number;
  schemaVersion: string;
  problems: string[];
  seconds: number;
}

/** Restore a backup into a scratch database, compare every table's rows with the archive, drop it. */
export async function verifyBackup(deps: Deps, app: string, id: string | undefined, options: { local?: string; jobs?: number } = {}): Promise<VerifyResult> {
  const started = Date.now();
  const backup = await pickBackup(deps, app, id);
  const file = await fetchBackup(deps, app, backup, (t) => deps.output.info(`backups verify: downloading ${t}`));
  const pgTools = PgTools.fromDeps(deps);
  const local = resolveLocalUrl(options.local, deps.config.env as NodeJS.ProcessEnv);
  const info = await deps.heroku.pgInfo(app).catch(() => undefined);
  const major = (info?.version ? parseVersion(info.version)?.major : undefined) ?? 15;
  deps.output.info(`backups verify: counting the rows in ${backup.id}`);
  const expected = await pgTools.archiveRowCounts(file.file, major);
  return LocalServer.with(local, async (server) => {
    const scratch = drydockDbName('scratch');
    await server.create(scratch, { drydock: 'scratch', target: `verify-${app}`, pid: process.pid, createdAt: new Date().toISOString(), source: `backup ${backup.id} of ${app}` });
    try {
      const scratchUrl = withDatabase(local, scratch);
      const toc = await pgTools.listArchive(file.file, major);
      const extensions = extensionsInToc(toc);
      await prepareExtensions(scratchUrl, extensions);
      const work = await mkdtemp(resolve(tmpdir(), 'drydock-verify-'));
      try {
        const list = resolve(work, 'toc.list');
        await writeFile(list, withoutPrecreated(toc, precreatedSchemas(extensions)));
        deps.output.info(`backups verify: restoring ${backup.id} into scratch database ${scratch}`);
        await pgTools.restoreArchive(scratchUrl, file.file, { archiveMajor: major, jobs: options.jobs ?? Math.max(2, availableParallelism()), useList: list });
      } finally {
        await rm(work, { recursive: true, force: true });
      }
      return await withClient(scratchUrl, async (client) => {
        const problems: string[] = [];
        let rows = 0;
        for (const [table, want] of expected) {
          const [schema, name] = table.split('.', 2) as [string, string];
          const got = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteQualified(schema, name)}`).then((r) => Number(r.rows[0]?.n ?? 0), () => -1);
          if (got !== want) problems.push(`${table}: ${got < 0 ? 'missing after restore' : `${got} rows`}, backup has ${want}`);
          rows += Math.max(got, 0);
        }
        const schemaVersion = (await detectSchemaVersion(client)).version;
        return { backup: backup.id, ok: problems.length === 0, tables: expected.size, rows, schemaVersion, problems, seconds: Math.round((Date.now() - started) / 100) / 10 };
      });
    } finally {
      await server.drop(scratch);
    }
  });
}

/** Register `drydock backups`. */
export function registerBackups(program: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  const backups = program.command('backups').description('list, capture, inspect, download and verify Heroku Postgres backups');

  backups.command('list').description('backups with age, size and status').action(async () => {
    await run(async (deps) => {
      const app = await resolveApp(deps.config, { required: true });
      const list = (await deps.heroku.listBackups(app)).filter((b) => b.kind === 'backup');
      deps.output.result(list, renderList);
    });
  });

  backups
    .command('capture')
    .description('capture a backup and wait for it (a failure exits non-zero with Heroku\'s log lines)')
    .option('--database <attachment>', 'database to back up', 'DATABASE_URL')
    .option('--transfer-timeout <duration>', 'give up when the capture has not finished after this long (default 2h)')
    .action(async (opts: { database?: string; transferTimeout?: string }) => {
      await run(async (deps) => {
        const app = await resolveApp(deps.config, { required: true });
        const timeoutMs = parseDuration(opts.transferTimeout ?? (deps.config.env.DRYDOCK_TRANSFER_TIMEOUT as string | undefined), '--transfer-timeout', 's') ?? 2 * 3_600_000;
        deps.output.info(`backups: capturing a backup of ${app}'s ${opts.database ?? 'DATABASE_URL'}`);
        const info = await deps.heroku.captureBackup(app, {
          database: opts.database,
          // pg_dump's catalog-reading chatter says nothing to a person; table and transfer lines do.
          onProgress: (line) => {
            if (!/^pg_dump: (reading|saving|finding|flagging|identifying|last built-in)/.test(line)) deps.output.info(line);
          },
          timeoutMs,
        });
        deps.output.result(info, renderInfo);
      });
    });

  backups.command('info [id]').description('details and logs of a backup (default: the newest)').action(async (id: string | undefined) => {
    await run(async (deps) => {
      const app = await resolveApp(deps.config, { required: true });
      deps.output.result(await deps.heroku.backupInfo(app, id), renderInfo);
    });
  });

  backups
    .command('download [id]')
    .description('download a backup into the cache (or -o FILE), checking its size and checksum')
    .option('-o, --output <file>', 'also copy it to this file')
    .action(async (id: string | undefined, opts: { output?: string }) => {
      await run(async (deps) => {
        const app = await resolveApp(deps.config, { required: true });
        const backup = await pickBackup(deps, app, id);
        const entry = await fetchBackup(deps, app, backup, (t) => deps.output.info(`downloading ${backup.id}: ${t}`));
        if (opts.output) await copyFile(entry.file, resolve(opts.output));
        deps.output.result({ ...entry, output: opts.output ? resolve(opts.output) : undefined }, (e) =>
          `${backup.id}: ${size(e.bytes)}, md5 ${e.md5}, sha256 ${e.sha256}\n  ${e.fromCache ? 'already in the cache' : 'downloaded'}: ${e.file}${e.output ? `\n  copied to ${e.output}` : ''}`,
        );
      });
    });

  backups
    .command('verify [id]')
    .description('restore a backup into a scratch local database, check tables, rows and schema version, then drop it')
    .option('--local <url>', 'local server (default: DRYDOCK_LOCAL_DATABASE_URL, else PG* variables)')
    .action(async (id: string | undefined, opts: { local?: string }) => {
      await run(async (deps) => {
        const app = await resolveApp(deps.config, { required: true });
        const result = await verifyBackup(deps, app, id, { local: opts.local });
        deps.output.result(result, (r) =>
          r.ok
            ? `backup ${r.backup} restores: ${r.tables} table(s), ${r.rows} row(s) match the backup, schema version ${r.schemaVersion} (${r.seconds} s)`
            : [`backup ${r.backup} does NOT restore faithfully:`, ...r.problems.map((p) => `  ${p}`)].join('\n'),
        );
        if (!result.ok) throw new ChecksFailed(`backup ${result.backup} failed verification (${result.problems.length} problem(s))`, result, { hint: 'capture a new backup and verify it; do not rely on this one' });
      });
    });
}
