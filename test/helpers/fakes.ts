/**
 * In-process test doubles: a fake Heroku (in-memory apps whose database URLs point at real test
 * databases) and the `Deps` a pipeline runs with (real Output into buffers, real PgTools, fixed clock).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Clock, Deps } from '../../src/deps.js';
import { HerokuError } from '../../src/errors.js';
import type {
  BackupInfo,
  BackupSummary,
  CaptureBackupOptions,
  DiagnoseReport,
  HerokuApi,
  PgInfo,
  Release,
  RestoreBackupOptions,
} from '../../src/heroku/cli.js';
import { Output, type Sink } from '../../src/output.js';
import { PgTools } from '../../src/pg/pg-tools.js';
import { discoverTools } from '../../src/pg/tools.js';
import { resolveGlobalSettings, type Environment, type GlobalFlags, type ProjectConfig } from '../../src/settings.js';

/** One app of the fake Heroku. */
export interface FakeApp {
  configVars: Record<string, string>;
  /** Newest first, as `heroku pg:backups` lists them. */
  backups: BackupSummary[];
  maintenance: boolean;
  formation: Record<string, number>;
  /** What pg:info reports as "PG Version". */
  pgVersion: string;
  releases: Release[];
  /** Signed URLs by backup id (backupUrl throws for ids without one). */
  backupUrls: Record<string, string>;
}

/** The methods of HerokuApi. */
export type HerokuMethod = keyof HerokuApi;

/** Methods that change something on Heroku: a dry run must call none of them. */
export const MUTATING_METHODS: readonly HerokuMethod[] = ['captureBackup', 'restoreBackup', 'setMaintenance', 'scale'];

/** One recorded call. */
export interface FakeCall {
  method: HerokuMethod;
  app: string;
  args: unknown[];
}

/** A failure to inject: an error, or a function deciding per call (return undefined to let it pass). */
export type Failure = Error | ((call: FakeCall) => Error | undefined);

/** A backup summary with sensible defaults. */
export function backup(id: string, createdAt: string, extra: Partial<BackupSummary> = {}): BackupSummary {
  return {
    id,
    num: Number(id.slice(1)),
    kind: id.startsWith('r') ? 'restore' : id.startsWith('c') ? 'copy' : 'backup',
    status: 'completed',
    createdAt,
    finishedAt: createdAt,
    sizeBytes: 4096,
    database: 'DATABASE',
    scheduled: id.startsWith('a'),
    ...extra,
  };
}

/** An in-memory Heroku. Every call is recorded in `calls`; `fail(method, error)` makes a method throw. */
export class FakeHeroku implements HerokuApi {
  readonly apps = new Map<string, FakeApp>();
  readonly calls: FakeCall[] = [];
  private readonly failures = new Map<HerokuMethod, Failure>();
  private nextBackup = 100;

  /** Add an app (its DATABASE_URL from `databaseUrl`). */
  addApp(name: string, init: Partial<FakeApp> & { databaseUrl?: string } = {}): FakeApp {
    const { databaseUrl, ...rest } = init;
    const app: FakeApp = {
      configVars: { ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), ...(rest.configVars ?? {}) },
      backups: rest.backups ?? [],
      maintenance: rest.maintenance ?? false,
      formation: rest.formation ?? { web: 1 },
      pgVersion: rest.pgVersion ?? '16.4',
      releases: rest.releases ?? [],
      backupUrls: rest.backupUrls ?? {},
    };
    this.apps.set(name, app);
    return app;
  }

  /** Make `method` throw (always, or when the function returns an error). */
  fail(method: HerokuMethod, failure: Failure): this {
    this.failures.set(method, failure);
    return this;
  }

  /** Stop failing `method`. */
  heal(method: HerokuMethod): this {
    this.failures.delete(method);
    return this;
  }

  /** Calls of one method (or of any of several). */
  callsOf(...methods: HerokuMethod[]): FakeCall[] {
    return this.calls.filter((c) => methods.includes(c.method));
  }

  /** The mutating calls made so far. */
  mutatingCalls(): FakeCall[] {
    return this.callsOf(...MUTATING_METHODS);
  }

  private enter(method: HerokuMethod, app: string, args: unknown[]): FakeApp {
    const call: FakeCall = { method, app, args };
    this.calls.push(call);
    const failure = this.failures.get(method);
    const error = typeof failure === 'function' ? failure(call) : failure;
    if (error) throw error;
    const found = this.apps.get(app);
    if (!found) throw new HerokuError('unknown-app', `Couldn't find that app: ${app}`, { hint: 'check the app name' });
    return found;
  }

  async configVars(app: string): Promise<Record<string, string>> {
    return { ...this.enter('configVars', app, []).configVars };
  }

  async databaseUrl(app: string, attachment = 'DATABASE_URL'): Promise<string> {
    const a = this.enter('databaseUrl', app, [attachment]);
    const key = attachment.endsWith('_URL') ? attachment : `${attachment}_URL`;
    const value = a.configVars[key];
    if (!value) throw new HerokuError('no-database', `app ${app} has no ${key} config var`);
    return value;
  }

  async pgInfo(app: string, database?: string): Promise<PgInfo> {
    const a = this.enter('pgInfo', app, [database]);
    const key = (database ?? 'DATABASE_URL').endsWith('_URL') ? (database ?? 'DATABASE_URL') : `${database}_URL`;
    if (!a.configVars[key]) throw new HerokuError('no-database', `no Heroku Postgres database found (app ${app}): Unknown database: ${key.replace(/_URL$/, '')}`);
    return { attachment: key, configVars: [key], addon: `postgresql-fake-${app}`, billingApp: undefined, version: a.pgVersion, plan: 'essential-0', status: 'Available', fields: { 'PG Version': a.pgVersion } };
  }

  async appInfo(app: string): Promise<Record<string, unknown>> {
    this.enter('appInfo', app, []);
    return { app: { name: app } };
  }

  async releases(app: string, count = 15): Promise<Release[]> {
    return this.enter('releases', app, [count]).releases.slice(0, count);
  }

  async listBackups(app: string): Promise<BackupSummary[]> {
    return this.enter('listBackups', app, []).backups.map((b) => ({ ...b }));
  }

  async backupInfo(app: string, id?: string): Promise<BackupInfo> {
    const a = this.enter('backupInfo', app, [id]);
    const found = id ? a.backups.find((b) => b.id === id) : a.backups.find((b) => b.kind === 'backup');
    if (!found) throw new HerokuError('failed', `backup ${id ?? 'latest'} not found (app ${app})`);
    return { ...found, sourceBytes: found.sizeBytes, logs: [] };
  }

  async captureBackup(app: string, opts: CaptureBackupOptions = {}): Promise<BackupInfo> {
    const a = this.enter('captureBackup', app, [opts.database]);
    const id = `b${String(this.nextBackup++).padStart(3, '0')}`;
    const now = new Date().toISOString();
    // Transfers name a database without its _URL (DATABASE, COBALT).
    const made = backup(id, now, { database: (opts.database ?? 'DATABASE').replace(/_URL$/, '') });
    a.backups.unshift(made);
    opts.onProgress?.('backup done');
    return { ...made, sourceBytes: made.sizeBytes, logs: [] };
  }

  async backupUrl(app: string, id?: string): Promise<string> {
    const a = this.enter('backupUrl', app, [id]);
    const url = id ? a.backupUrls[id] : Object.values(a.backupUrls)[0];
    if (!url) throw new HerokuError('failed', `no URL for backup ${id ?? 'latest'} of ${app}`);
    return url;
  }

  async restoreBackup(app: string, id: string, opts: RestoreBackupOptions): Promise<BackupInfo> {
    this.enter('restoreBackup', app, [id, opts.database, opts.confirm]);
    // The restore transfer is returned, not listed: tests decide what Heroku's history shows.
    const made = backup(`r${String(this.nextBackup++).padStart(3, '0')}`, new Date().toISOString(), { database: (opts.database ?? 'DATABASE').replace(/_URL$/, '') });
    opts.onProgress?.('restore done');
    return { ...made, sourceBytes: made.sizeBytes, logs: [] };
  }

  async maintenance(app: string): Promise<boolean> {
    return this.enter('maintenance', app, []).maintenance;
  }

  async setMaintenance(app: string, on: boolean): Promise<void> {
    this.enter('setMaintenance', app, [on]).maintenance = on;
  }

  async formation(app: string): Promise<Record<string, number>> {
    return { ...this.enter('formation', app, []).formation };
  }

  async scale(app: string, quantities: Record<string, number>): Promise<void> {
    const a = this.enter('scale', app, [quantities]);
    Object.assign(a.formation, quantities);
  }

  /** A report with every check green (make it fail with `fail('pgDiagnose', …)`). */
  async pgDiagnose(app: string, database = 'DATABASE_URL'): Promise<DiagnoseReport> {
    this.enter('pgDiagnose', app, [database]);
    return { id: '00000000-0000-4000-8000-000000000000', checks: [{ name: 'Connection Count', status: 'green', results: { count: 1 } }] };
  }
}

/** A sink that keeps what was written. */
export class BufferSink implements Sink {
  readonly chunks: string[] = [];
  isTTY = false;
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

/** The fixed time of the test clock. */
export const FIXED_NOW = Date.parse('2026-03-01T12:00:00Z');

/** Deps for in-process tests, with the buffers output goes to and a cleanup for the cache folder. */
export interface TestDeps extends Deps {
  readonly heroku: FakeHeroku;
  readonly stdout: BufferSink;
  readonly stderr: BufferSink;
  /** Removes the temporary cache folder. */
  cleanup(): void;
}

/** Build Deps for an in-process pipeline test: FakeHeroku, Output into buffers, real PgTools, fixed clock, a temporary cache. */
export function makeDeps(
  options: { heroku?: FakeHeroku; flags?: GlobalFlags; env?: Environment; project?: ProjectConfig; now?: number; signal?: AbortSignal } = {},
): TestDeps {
  const cacheDir = mkdtempSync(join(tmpdir(), 'drydock-fakes-cache-'));
  const env: Environment = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.PG_BIN ? { PG_BIN: process.env.PG_BIN } : {}),
    DRYDOCK_CACHE_DIR: cacheDir,
    DRYDOCK_SNAPSHOT_SPARE: '0',
    DRYDOCK_LOCK_RETRY_BASE: '50ms',
    CI: 'true',
    ...options.env,
  };
  const settings = resolveGlobalSettings(options.flags ?? {}, env);
  const stdout = new BufferSink();
  const stderr = new BufferSink();
  const now = options.now ?? FIXED_NOW;
  const clock: Clock = { now: () => now };
  const output = new Output({ stdout, stderr, ci: true, json: settings.json, verbose: settings.verbose, now: () => new Date(now) });
  const project = options.project ?? {};
  return {
    settings,
    output,
    heroku: options.heroku ?? new FakeHeroku(),
    pgTools: new PgTools({ discoverTools, pgBin: settings.pgBin, env: settings.childEnv, signal: options.signal }),
    project: () => project,
    clock,
    signal: options.signal ?? new AbortController().signal,
    stdout,
    stderr,
    cleanup: () => rmSync(cacheDir, { recursive: true, force: true }),
  };
}
