/**
 * The doctor pipeline: read production, the local server and the installed tools at once, then judge.
 */
import type { Deps } from '../deps.js';
import { ConfigError, DrydockError } from '../errors.js';
import { resolveApp } from '../heroku/remote.js';
import { namedDatabaseUrl, resolveLocalUrl, type ValueSource } from '../settings.js';
import { evaluateParity, type Check, type ParityInput, type ParityReport, type ToolFact } from '../parity/checks.js';
import { withClient } from '../pg/client.js';
import { readAvailableExtensions, readInstalledExtensions, readServerVersion } from '../pg/queries/server-facts.js';
import { describeDb, parseDatabaseUrl, type DbUrl } from '../pg/url.js';
import { parseVersion } from '../pg/version.js';
import { mask } from '../redact.js';
import { createPipeline, type Pipeline } from './listr.js';

/** Where production is: a Heroku app, or a plain URL. */
export type ProductionTarget = { app: string; attachment?: string | undefined } | { url: string };

/** What the pipeline fills in. */
export interface DoctorContext {
  production?: ParityInput['production'];
  local?: ParityInput['local'];
  tools?: ToolFact[];
  report?: ParityReport;
}

/** Options of one doctor run. */
export interface DoctorPipelineOptions {
  target: ProductionTarget;
  local: DbUrl;
}

/** Read production's version and extensions: over a direct connection, else from `heroku pg:info`. */
export async function readProduction(deps: Deps, target: ProductionTarget): Promise<NonNullable<DoctorContext['production']>> {
  if ('url' in target) {
    const url = namedDatabaseUrl(target.url, '--remote-url', deps.settings.libpq);
    return withClient(url, async (client) => ({
      label: describeDb(url),
      version: await readServerVersion(client),
      versionSource: 'connection' as const,
      extensions: await readInstalledExtensions(client),
    }), { connectTimeoutMs: 15_000 });
  }
  const raw = await deps.heroku.databaseUrl(target.app, target.attachment);
  const url = parseDatabaseUrl(raw, `${target.app}'s ${target.attachment ?? 'DATABASE_URL'}`, deps.settings.libpq);
  const label = `${target.app} ${target.attachment ?? 'DATABASE_URL'} (${url.host ?? 'local socket'})`;
  try {
    return await withClient(url, async (client) => ({
      label,
      version: await readServerVersion(client),
      versionSource: 'connection' as const,
      extensions: await readInstalledExtensions(client),
    }), { connectTimeoutMs: 15_000 });
  } catch (connectError) {
    // Private/Shield databases refuse outside connections; pg:info still knows the version.
    const info = await deps.heroku.pgInfo(target.app, target.attachment);
    const version = info.version ? parseVersion(info.version) : undefined;
    if (!version) throw connectError;
    return {
      label,
      version,
      versionSource: 'pg:info' as const,
      error: `could not connect directly (${mask((connectError as Error).message)})`,
    };
  }
}

/** Read the local server's version and installable extensions; an unreachable server is a fact, not a crash. */
export async function readLocal(url: DbUrl): Promise<NonNullable<DoctorContext['local']>> {
  const label = describeDb(url);
  try {
    return await withClient(url, async (client) => ({
      label,
      version: await readServerVersion(client),
      versionSource: 'connection' as const,
      availableExtensions: await readAvailableExtensions(client),
    }), { connectTimeoutMs: 5_000 });
  } catch (error) {
    const message = error instanceof DrydockError ? error.message : mask(String((error as Error).message));
    return { label, version: undefined, error: message };
  }
}

/** The listr2 task list for doctor. */
export function doctorPipeline(deps: Deps, options: DoctorPipelineOptions): Pipeline<DoctorContext> {
  const productionTitle = 'app' in options.target ? `Read production database of ${options.target.app}` : 'Read production database';
  return createPipeline<DoctorContext>(
    [
      {
        title: 'Inspect production, the local server and client tools',
        task: (_ctx, task) =>
          task.newListr(
            [
              {
                title: productionTitle,
                task: async (ctx, sub) => {
                  ctx.production = await readProduction(deps, options.target);
                  sub.title = `Production: PostgreSQL ${ctx.production.version?.text ?? 'unknown'} (${ctx.production.versionSource === 'pg:info' ? 'from heroku pg:info' : 'direct connection'})`;
                },
              },
              {
                title: `Read local server ${describeDb(options.local)}`,
                task: async (ctx, sub) => {
                  ctx.local = await readLocal(options.local);
                  sub.title = ctx.local.version
                    ? `Local server: PostgreSQL ${ctx.local.version.text}`
                    : `Local server: unreachable (${ctx.local.error ?? 'unknown error'})`;
                },
              },
              {
                title: 'Find PostgreSQL client tools',
                task: async (ctx, sub) => {
                  ctx.tools = await deps.pgTools.installed();
                  sub.title = `Client tools: ${ctx.tools.length} found`;
                },
              },
            ],
            { concurrent: true, exitOnError: true },
          ),
      },
      {
        title: 'Judge version parity',
        task: (ctx, task) => {
          ctx.report = evaluateParity({ production: ctx.production!, local: ctx.local!, tools: ctx.tools ?? [] });
          const failed = ctx.report.checks.filter((c) => c.status === 'fail').length;
          task.title = failed ? `Version parity: ${failed} check(s) failed` : 'Version parity judged';
        },
      },
    ],
    deps.output,
  );
}

/** What doctor is asked (its flags). */
export interface DoctorOptions {
  remoteUrl?: string | undefined;
  local?: string | undefined;
  /** The attachment to inspect (default DATABASE_URL). */
  database?: string | undefined;
}

/** The --json shape. */
export interface DoctorResult {
  ok: boolean;
  exitCode: 0 | 1 | 2;
  production: NonNullable<DoctorContext['production']>;
  local: NonNullable<DoctorContext['local']>;
  tools: ToolFact[];
  checks: Check[];
}

/** Run doctor and return its result (does not print). */
export async function doctor(deps: Deps, options: DoctorOptions & { localSource?: ValueSource }): Promise<DoctorResult> {
  const app = await resolveApp(deps.settings, { required: false });
  if (app && options.remoteUrl) {
    throw new ConfigError('give either -a APP or --remote-url URL, not both', { hint: 'drydock doctor -a APP, or drydock doctor --remote-url URL' });
  }
  let target: ProductionTarget;
  if (options.remoteUrl) target = { url: options.remoteUrl };
  else if (app) target = { app, attachment: options.database };
  else {
    throw new ConfigError('doctor needs the production database: -a APP or --remote-url URL', {
      hint: 'drydock doctor -a my-app (or set HEROKU_APP), or drydock doctor --remote-url postgres://…',
    });
  }
  const local = resolveLocalUrl(options.local, deps.settings.libpq, options.localSource);
  const ctx = await doctorPipeline(deps, { target, local }).run();
  const report = ctx.report as ParityReport;
  return {
    ok: report.ok,
    exitCode: report.exitCode,
    production: ctx.production!,
    local: ctx.local!,
    tools: ctx.tools ?? [],
    checks: report.checks,
  };
}

