/**
 * HerokuCli: a small typed adapter over the `heroku` executable. No other module spawns heroku.
 * It uses --json wherever the CLI offers it and maps the CLI's failures to HerokuError kinds.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { ConfigError, HerokuError, ToolError } from '../errors.js';
import { formatDuration } from '../format.js';
import { run, type RunResult } from '../exec.js';
import { mask } from '../redact.js';
import { classifyApiError } from './api-errors.js';
import { continuousProtectionWarning, waitForTransferSlot, type TransferWaitPacing } from './transfer-wait.js';

/** The facts `heroku pg:info DATABASE` prints for one database (it has no --json). */
export interface PgInfo {
  /** The header: the app's config vars that hold the database's URL, e.g. "HEROKU_POSTGRESQL_COBALT_URL, DATABASE_URL". */
  attachment: string;
  /** The same, as a list (in the app's config var order). */
  configVars: string[];
  /** The add-on's name ("Add-on"), e.g. postgresql-curly-12345. */
  addon: string | undefined;
  /**
   * "Billing App": set only when the database belongs to (is billed to) another app, which is where
   * its backups and restores are listed.
   */
  billingApp: string | undefined;
  /** "PG Version" as printed, e.g. "16.4". */
  version: string | undefined;
  plan: string | undefined;
  status: string | undefined;
  /** Every "Key: value" line of the block. */
  fields: Record<string, string>;
}

/** One check of a `heroku pg:diagnose` report. */
export interface DiagnoseCheck {
  /** "Connection Count", "Long Queries", "Idle in Transaction", "Hit Rate", "Bloat", "Blocking Queries" … */
  name: string;
  /** red, yellow, green, skipped. */
  status: string;
  /** Rows (an array of objects) or one object ({count: 12}). */
  results: unknown;
}

/** A `heroku pg:diagnose --json` report. */
export interface DiagnoseReport {
  id: string;
  created_at?: string | undefined;
  checks: DiagnoseCheck[];
}

/** One release from `heroku releases --json`. */
export interface Release {
  version: number;
  description?: string;
  status?: string;
  current?: boolean;
  created_at?: string;
  [key: string]: unknown;
}

/** One transfer as `heroku pg:backups` lists it: a backup (b001, a001 when scheduled), a restore (r002) or a copy (c003). */
export interface BackupSummary {
  /** The CLI's name: b001, a001, r002, c003 (o… for legacy PGBackups names). */
  id: string;
  num: number;
  kind: 'backup' | 'restore' | 'copy';
  status: 'completed' | 'failed' | 'running' | 'pending' | 'canceled';
  /** ISO 8601 (UTC), from Heroku's "2026-01-21 09:30:00 +0000". */
  createdAt: string | undefined;
  /** ISO 8601 (UTC); undefined while unfinished (and for "Finished with N warnings", which hides it). */
  finishedAt: string | undefined;
  /** Dump size; the CLI prints it rounded to two decimals ("3.02KB"), so this is approximate. */
  sizeBytes: number | undefined;
  /** Backups: the source attachment (DATABASE). Restores and copies: the target. */
  database: string | undefined;
  scheduled: boolean;
}

/** One transfer in detail (`heroku pg:backups:info`). */
export interface BackupInfo extends BackupSummary {
  /** The source database's size when the backup ran (approximate, like sizeBytes). */
  sourceBytes: number | undefined;
  /** Heroku's transfer log, oldest first. */
  logs: Array<{ createdAt: string; message: string }>;
}

/** Options of `captureBackup`. */
export interface CaptureBackupOptions {
  /** Attachment or config var to back up (default DATABASE_URL). */
  database?: string;
  /**
   * The app the backup is listed under: the database's billing app. Default: what the CLI's
   * "non-billing application" hint names, else `app`.
   */
  backupsApp?: string;
  /** Each line of Heroku's transfer log as it arrives (without its timestamp). */
  onProgress?: (line: string) => void;
  /** Give up (and kill the CLI) after this long; default 6 h. The CLI itself polls forever. */
  timeoutMs?: number;
  /** Told when the capture waits for another transfer of the database to finish (transfer-wait.ts). */
  onWait?: (message: string) => void;
  /** Told Heroku's warnings about the capture (Continuous Protection on: large logical backups tend to fail). */
  onWarning?: (message: string) => void;
}

/** Options of `restoreBackup`. */
export interface RestoreBackupOptions {
  /** Target attachment or config var (default DATABASE_URL). */
  database?: string;
  /** The app the backup is listed under (its database's billing app; default `app`). */
  backupsApp?: string;
  /** The app the restore is listed under: the target database's billing app (default backupsApp). */
  restoresApp?: string;
  /** Names transfers give the target database (DATABASE, COBALT): which restore in the list is this one. */
  targetNames?: readonly string[];
  /** The app name, as the user confirmed it; always passed as --confirm. */
  confirm: string;
  /** Each line of Heroku's transfer log as it arrives (without its timestamp). */
  onProgress?: (line: string) => void;
  /** Give up (and kill the CLI) after this long; default 6 h. */
  timeoutMs?: number;
}

/** What drydock asks of Heroku. One method per intent. */
export interface HerokuApi {
  configVars(app: string): Promise<Record<string, string>>;
  databaseUrl(app: string, attachment?: string): Promise<string>;
  pgInfo(app: string, database?: string): Promise<PgInfo>;
  appInfo(app: string): Promise<Record<string, unknown>>;
  releases(app: string, count?: number): Promise<Release[]>;
  /** Every transfer (backups, restores, copies) listed under `app` (the billing app of its databases), newest first. */
  listBackups(app: string): Promise<BackupSummary[]>;
  /** One transfer by id (b001, r002 …); without an id, the latest backup. */
  backupInfo(app: string, id?: string): Promise<BackupInfo>;
  /**
   * Capture a backup and wait until Heroku says it finished (the CLI can return earlier); a failed
   * capture throws HerokuError 'failed' with Heroku's last log lines.
   */
  captureBackup(app: string, opts?: CaptureBackupOptions): Promise<BackupInfo>;
  /** A signed, public HTTPS URL of a backup (default the latest successful one). */
  backupUrl(app: string, id?: string): Promise<string>;
  /**
   * Restore a backup (b001 of `backupsApp`, or an https URL) into a database and wait until Heroku says
   * the restore finished (the CLI can return earlier). Returns the restore transfer (r002).
   */
  restoreBackup(app: string, id: string, opts: RestoreBackupOptions): Promise<BackupInfo>;
  /** Whether maintenance mode is on. */
  maintenance(app: string): Promise<boolean>;
  setMaintenance(app: string, on: boolean): Promise<void>;
  /** Process type → quantity, zero-quantity types included. */
  formation(app: string): Promise<Record<string, number>>;
  /** `heroku pg:diagnose DATABASE --json`: Heroku's diagnostics report of one database. */
  pgDiagnose(app: string, database?: string): Promise<DiagnoseReport>;
  /** Set the quantity of each given process type (others are left alone). */
  scale(app: string, quantities: Record<string, number>): Promise<void>;
}

/** Options for the real adapter. */
export interface HerokuCliOptions {
  /** The heroku executable (default `heroku` on PATH). */
  bin?: string;
  /** Extra environment for the CLI (emulator hosts in tests). */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** Stops a running heroku child when it aborts (Deps.signal); calls started afterwards (clean-up) run. */
  signal?: AbortSignal;
  /** How a capture refused for another transfer waits (tests shorten it). */
  transferWait?: TransferWaitPacing;
}

/** Captures and restores of big databases take hours; everything else gets the short default. */
const TRANSFER_TIMEOUT_MS = 6 * 60 * 60_000;

/** What the CLI prints when a polled transfer finished with succeeded:false (capture and restore alike). */
const TRANSFER_FAILED = /An error occurred and the backup did not finish/;

/**
 * How drydock checks a transfer the CLI stopped waiting for: the first check after this long, each
 * next one 1.5 times later, at most MAX apart. The CLI itself polls every 3 s and gives up silently
 * (exit 0) after 21 failed polls, for example while Heroku answers 429 (a rate limit of 4,500
 * requests refilled at about 75 a minute) or 5xx.
 */
export const TRANSFER_CHECK_BACKOFF = { firstMs: 3_000, factor: 1.5, maxMs: 60_000 };

/** Errors worth asking again after a pause: rate limits, Heroku's 5xx, the network. */
function isRetryable(error: unknown): boolean {
  return error instanceof HerokuError && (error.kind === 'rate-limited' || error.kind === 'unavailable' || error.kind === 'network');
}

/** Extra knobs of one CLI run. */
interface ExecOptions {
  timeoutMs?: number;
  onStdoutLine?: (line: string) => void;
  /** The error for a run killed by its timeout (default: HerokuError 'network'). */
  onTimeout?: (error: ToolError) => HerokuError | Promise<HerokuError>;
  /** A better error for a non-zero exit than classifyFailure's, when this returns one. */
  onFailure?: (result: RunResult) => HerokuError | undefined;
}

/** Variables that keep the heroku CLI quiet and side-effect free when drydock runs it. */
const QUIET_ENV = {
  HEROKU_SKIP_NEW_VERSION_CHECK: 'true',
  HEROKU_DISABLE_AUTOUPDATE: 'true',
};

/** The real adapter over the heroku executable. */
export class HerokuCli implements HerokuApi {
  private readonly bin: string;
  private readonly env: Record<string, string | undefined>;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly transferWait: TransferWaitPacing;
  /** The backoff of transfer checks (tests make it short). */
  private readonly backoff: typeof TRANSFER_CHECK_BACKOFF;

  constructor(options: HerokuCliOptions & { backoff?: Partial<typeof TRANSFER_CHECK_BACKOFF> } = {}) {
    this.backoff = { ...TRANSFER_CHECK_BACKOFF, ...options.backoff };
    this.bin = options.bin ?? 'heroku';
    this.transferWait = options.transferWait ?? {};
    this.signal = options.signal;
    this.env = options.env ?? {};
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  /** All config vars of an app (`heroku config --json`). */
  async configVars(app: string): Promise<Record<string, string>> {
    const result = await this.exec(['config', '--json', '--app', app], app);
    const parsed = parseJson(result, 'heroku config --json');
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new HerokuError('failed', 'heroku config --json did not print an object', {
        hint: 'check the Heroku CLI version (drydock is tested with heroku 11)',
      });
    }
    return parsed as Record<string, string>;
  }

  /** The URL of a database attachment (default DATABASE_URL); NoDatabase when the app has none. */
  async databaseUrl(app: string, attachment = 'DATABASE_URL'): Promise<string> {
    const key = attachment.endsWith('_URL') ? attachment : `${attachment}_URL`;
    const vars = await this.configVars(app);
    const value = vars[key];
    if (!value) {
      const others = Object.keys(vars).filter((k) => /^(HEROKU_POSTGRESQL_\w+|DATABASE)_URL$/.test(k));
      throw new HerokuError('no-database', `app ${app} has no ${key} config var`, {
        hint: others.length
          ? `it has ${others.join(', ')}: pass that attachment name, or promote one with \`heroku pg:promote\``
          : `attach a database with \`heroku addons:create heroku-postgresql -a ${app}\``,
      });
    }
    return value;
  }

  /**
   * `heroku pg:info DATABASE` (default DATABASE_URL), parsed from its text (it has no --json). Always
   * names the database: without one the CLI prints every database of the app, sorted by their first
   * config var's name, so the first block can be a follower's.
   */
  async pgInfo(app: string, database = 'DATABASE_URL'): Promise<PgInfo> {
    checkArg(database, 'database');
    const args = ['pg:info', database, '--app', app];
    const result = await this.exec(args, app);
    const info = parsePgInfo(result.stdout);
    if (!info) {
      throw new HerokuError('no-database', `app ${app} has no Heroku Postgres database`, {
        hint: `attach one with \`heroku addons:create heroku-postgresql -a ${app}\``,
      });
    }
    return info;
  }

  /** `heroku pg:diagnose DATABASE --json` (a new report each time; Heroku keeps it a month). */
  async pgDiagnose(app: string, database = 'DATABASE_URL'): Promise<DiagnoseReport> {
    checkArg(database, 'database');
    const result = await this.exec(['pg:diagnose', database, '--json', '--app', app], app);
    const parsed = parseJson(result, 'heroku pg:diagnose --json') as Partial<DiagnoseReport> | null;
    if (!parsed || typeof parsed.id !== 'string' || !Array.isArray(parsed.checks)) {
      throw new HerokuError('failed', `heroku pg:diagnose printed no report (app ${app})`, { hint: 'check the Heroku CLI version (drydock is tested with heroku 11)' });
    }
    return { id: parsed.id, created_at: parsed.created_at, checks: parsed.checks.filter((c): c is DiagnoseCheck => typeof c?.name === 'string' && typeof c.status === 'string') };
  }

  /** `heroku apps:info --json`. */
  async appInfo(app: string): Promise<Record<string, unknown>> {
    const result = await this.exec(['apps:info', '--json', '--app', app], app);
    return parseJson(result, 'heroku apps:info --json') as Record<string, unknown>;
  }

  /** `heroku releases --json`, newest first. */
  async releases(app: string, count = 15): Promise<Release[]> {
    const result = await this.exec(['releases', '--json', '-n', String(count), '--app', app], app);
    const parsed = parseJson(result, 'heroku releases --json');
    return Array.isArray(parsed) ? (parsed as Release[]) : [];
  }

  /** Every transfer (`heroku pg:backups`, text only), newest first. The CLI lists at most 10 restores and 10 copies. */
  async listBackups(app: string): Promise<BackupSummary[]> {
    const result = await this.exec(['pg:backups', '--app', app], app);
    return parseBackupList(result.stdout);
  }

  /** `heroku pg:backups:info [ID]` (text only), with createdAt from the list (info doesn't print it). */
  async backupInfo(app: string, id?: string): Promise<BackupInfo> {
    if (id !== undefined) checkArg(id, 'backup id');
    const args = ['pg:backups:info', ...(id ? [id] : []), '--app', app];
    const [result, list] = await Promise.all([
      this.exec(args, app).catch((error: unknown) => {
        throw id && error instanceof HerokuError && /couldn'?t find that transfer|invalid id/i.test(error.message)
          ? new HerokuError('failed', `backup ${id} not found (app ${app})`, { hint: `list the app's backups with \`heroku pg:backups -a ${app}\`` })
          : error;
      }),
      // Only for createdAt: a failed list must not fail the info.
      this.listBackups(app).catch(() => [] as BackupSummary[]),
    ]);
    const info = parseBackupInfo(result.stdout);
    if (!info) {
      throw new HerokuError('failed', `heroku pg:backups:info printed no backup (app ${app})`, {
        hint: 'check the Heroku CLI version (drydock is tested with heroku 11)',
      });
    }
    return { ...info, createdAt: list.find((b) => b.id === info.id)?.createdAt ?? info.createdAt };
  }

  /**
   * `heroku pg:backups:capture --verbose`, waiting for the backup to finish. --verbose makes the CLI
   * print the backup's name at once and Heroku's log lines as they arrive (stdout), which feed
   * onProgress and the failure message. The CLI polls a transfer that never starts forever, so
   * `timeoutMs` bounds the wait.
   */
  async captureBackup(app: string, opts: CaptureBackupOptions = {}): Promise<BackupInfo> {
    checkArg(opts.database ?? 'DATABASE_URL', 'database');
    // Refused while another transfer of the database runs: wait for it, within the same time limit.
    return waitForTransferSlot((timeLeftMs) => this.captureOnce(app, { ...opts, timeoutMs: timeLeftMs }), {
      ...this.transferWait,
      // A database billed to another app: its transfers (the one waited for included) are listed there.
      app: opts.backupsApp ?? app,
      what: `backup of ${app}`,
      timeoutMs: opts.timeoutMs ?? TRANSFER_TIMEOUT_MS,
      unfinished: async () => (await this.listBackups(opts.backupsApp ?? app)).filter((b) => b.status === 'pending' || b.status === 'running'),
      onWait: opts.onWait,
    });
  }

  /** One `pg:backups:capture` run (captureBackup waits for a free transfer slot around it). */
  private async captureOnce(app: string, opts: CaptureBackupOptions): Promise<BackupInfo> {
    const database = opts.database ?? 'DATABASE_URL';
    checkArg(database, 'database');
    const progress = new TransferProgress(opts.onProgress);
    const timeoutMs = opts.timeoutMs ?? TRANSFER_TIMEOUT_MS;
    const args = ['pg:backups:capture', database, '--app', app, '--verbose'];
    const started = Date.now();
    let backupsApp = opts.backupsApp ?? app;
    const result = await this.exec(args, app, {
      timeoutMs,
      onStdoutLine: (line) => progress.line(line),
      onFailure: (failed) => progress.failure(failed, `backup ${progress.name ?? `of ${app}`}`, backupsApp),
      onTimeout: async (error) => {
        // Without --verbose output yet, the spinner text on stderr may still name the backup; else
        // (a CLI too slow to print it) the newest unfinished backup since we started.
        progress.name ??= parseCaptureName(error.stderrTail) ?? (await this.unfinishedBackupSince(backupsApp, started));
        return stillRunning(progress.name ? `backup ${progress.name}` : `the backup of ${app}`, progress.count ? 'running' : 'pending', timeoutMs, backupsApp, progress.name);
      },
    });
    const warning = continuousProtectionWarning(result.stderr, app);
    if (warning) opts.onWarning?.(warning);
    // A database billed to another app: the CLI names that app in a hint, and the backup is listed there.
    backupsApp = opts.backupsApp ?? parseBillingHint(result.stdout) ?? app;
    const name = progress.name ?? parseCaptureName(result.stdout) ?? parseCaptureName(result.stderr);
    if (!name) {
      throw new HerokuError('failed', `heroku pg:backups:capture did not say which backup it started (app ${app})`, {
        hint: `check \`heroku pg:backups -a ${backupsApp}\` (drydock is tested with heroku 11)`,
      });
    }
    return this.awaitTransfer(backupsApp, name, { what: `backup ${name}`, deadline: started + timeoutMs, timeoutMs, onProgress: opts.onProgress });
  }

  /**
   * Wait until Heroku says transfer `id` of `app` finished, and return it; a failed or canceled one
   * throws HerokuError 'failed' with its last log lines. The CLI already waited, but it stops after 21
   * failed polls and still exits 0: a transfer still running then is checked here, with backoff, and
   * rate limits, 5xx answers and network errors are asked again until `deadline`.
   */
  private async awaitTransfer(app: string, id: string, options: { what: string; deadline: number; timeoutMs: number; onProgress?: ((line: string) => void) | undefined }): Promise<BackupInfo> {
    let delay = this.backoff.firstMs;
    let announced = false;
    for (let first = true; ; first = false) {
      let info: BackupInfo | undefined;
      try {
        // Usually the CLI waited and the first check finds it finished: ask for its creation time at once.
        info = first ? await this.backupInfo(app, id) : await this.transferInfo(app, id);
      } catch (error) {
        if (!isRetryable(error) || Date.now() + delay > options.deadline) throw error;
        options.onProgress?.(`Heroku did not answer about ${id} (${(error as HerokuError).message}); asking again in ${formatDuration(delay)}`);
      }
      if (info) {
        if (info.status === 'completed') return info.createdAt ? info : { ...info, createdAt: (await this.listBackups(app).catch(() => [])).find((b) => b.id === info.id)?.createdAt };
        if (info.status === 'failed' || info.status === 'canceled') throw transferFailed(options.what, info, app);
        if (Date.now() + delay > options.deadline) throw stillRunning(options.what, info.status, options.timeoutMs, app, id);
        if (!announced) {
          announced = true;
          options.onProgress?.(`the heroku CLI stopped waiting while ${options.what} is still ${info.status} (it gives up after 21 failed status checks, e.g. when Heroku rate-limits it); drydock keeps checking until Heroku says it finished`);
        }
      }
      await sleep(delay, undefined, this.signal ? { signal: this.signal } : {});
      delay = Math.min(this.backoff.maxMs, Math.round(delay * this.backoff.factor));
    }
  }

  /** `work`, asked again with backoff while it fails with a rate limit, a 5xx or a network error, until `deadline`. */
  private async retrying<T>(work: () => Promise<T>, deadline: number, onProgress: ((line: string) => void) | undefined): Promise<T> {
    let delay = this.backoff.firstMs;
    for (;;) {
      try {
        return await work();
      } catch (error) {
        if (!isRetryable(error) || Date.now() + delay > deadline) throw error;
        onProgress?.(`Heroku did not answer (${(error as HerokuError).message}); asking again in ${formatDuration(delay)}`);
      }
      await sleep(delay, undefined, this.signal ? { signal: this.signal } : {});
      delay = Math.min(this.backoff.maxMs, Math.round(delay * this.backoff.factor));
    }
  }

  /** `heroku pg:backups:info ID` alone (no list: createdAt stays unknown). */
  private async transferInfo(app: string, id: string): Promise<BackupInfo> {
    checkArg(id, 'backup id');
    const result = await this.exec(['pg:backups:info', id, '--app', app], app).catch((error: unknown) => {
      throw error instanceof HerokuError && /couldn'?t find that transfer|invalid id/i.test(error.message)
        ? new HerokuError('failed', `backup ${id} not found (app ${app})`, { hint: `list the app's backups with \`heroku pg:backups -a ${app}\`` })
        : error;
    });
    const info = parseBackupInfo(result.stdout);
    if (!info) {
      throw new HerokuError('failed', `heroku pg:backups:info printed no backup (app ${app})`, {
        hint: 'check the Heroku CLI version (drydock is tested with heroku 11)',
      });
    }
    return info;
  }

  /** The newest pending or running backup created since `since` (ms), if the list can say. */
  private async unfinishedBackupSince(app: string, since: number): Promise<string | undefined> {
    try {
      const list = await this.listBackups(app);
      // Heroku's times have whole seconds (and clocks drift): allow some slack.
      const hit = list.find(
        (b) => b.kind === 'backup' && (b.status === 'pending' || b.status === 'running') && Date.parse(b.createdAt ?? '') >= since - 60_000,
      );
      return hit?.id;
    } catch {
      return undefined;
    }
  }

  /** `heroku pg:backups:url [ID]`: the backup's signed public URL. */
  async backupUrl(app: string, id?: string): Promise<string> {
    if (id !== undefined) checkArg(id, 'backup id');
    const result = await this.exec(['pg:backups:url', ...(id ? [id] : []), '--app', app], app);
    const url = result.stdout.split('\n').map((l) => l.trim()).find((l) => /^https?:\/\//.test(l));
    if (!url) {
      throw new HerokuError('failed', `heroku pg:backups:url printed no URL (app ${app})`, {
        hint: 'check the Heroku CLI version (drydock is tested with heroku 11)',
      });
    }
    return url;
  }

  /**
   * `heroku pg:backups:restore [BACKUPS_APP::]ID DATABASE --confirm APP --verbose`, waiting for the
   * restore: the CLI's own wait, then Heroku's word that the restore finished (the CLI can exit 0
   * before). Always passes --confirm: without it, on a closed stdin, the CLI exits 0 without restoring
   * anything.
   */
  async restoreBackup(app: string, id: string, opts: RestoreBackupOptions): Promise<BackupInfo> {
    checkArg(id, 'backup id');
    const database = opts.database ?? 'DATABASE_URL';
    checkArg(database, 'database');
    if (opts.backupsApp !== undefined) checkArg(opts.backupsApp, 'app');
    if (!opts.confirm) throw new ConfigError(`restoring into ${database} of ${app} needs a confirmation`, { hint: `pass --confirm ${app}` });
    const progress = new TransferProgress(opts.onProgress);
    const timeoutMs = opts.timeoutMs ?? TRANSFER_TIMEOUT_MS;
    const what = `restore of ${id} into ${database}`;
    const backupsApp = opts.backupsApp ?? app;
    const restoresApp = opts.restoresApp ?? backupsApp;
    // The CLI looks the backup up among `app`'s transfers unless told whose it is.
    const backup = backupsApp !== app && !/^https?:\/\//.test(id) ? `${backupsApp}::${id}` : id;
    const args = ['pg:backups:restore', backup, database, '--app', app, '--confirm', opts.confirm, '--verbose'];
    const started = Date.now();
    await this.exec(args, app, {
      timeoutMs,
      onStdoutLine: (line) => progress.line(line),
      onFailure: (failed) => progress.failure(failed, what, restoresApp),
      onTimeout: () =>
        new HerokuError('failed', `${what} (app ${app}) is still ${progress.count ? 'running' : 'pending'} after ${formatDuration(timeoutMs)}`, {
          hint: `it may still run on Heroku: check \`heroku pg:backups -a ${restoresApp}\`, or stop it with \`heroku pg:backups:cancel -a ${restoresApp}\``,
        }),
    });
    // The CLI does not print the restore's id: it is the newest restore into the target since we started.
    // (Asked again after a pause while Heroku rate-limits or fails: that may be why the CLI stopped.)
    const restore = await this.retrying(() => this.newestRestoreSince(restoresApp, started, opts.targetNames), started + timeoutMs, opts.onProgress);
    if (!restore) {
      throw new HerokuError('failed', `the ${what} of ${app} is not in Heroku's list of restores, so drydock cannot tell whether it finished`, {
        hint: `check \`heroku pg:backups -a ${restoresApp}\` (drydock is tested with heroku 11)`,
      });
    }
    return this.awaitTransfer(restoresApp, restore.id, { what: `restore ${restore.id} of ${id} into ${database}`, deadline: started + timeoutMs, timeoutMs, onProgress: opts.onProgress });
  }

  /** The newest restore listed under `app` created since `since` (ms; Heroku's clock may differ a little), into one of `names`. */
  private async newestRestoreSince(app: string, since: number, names: readonly string[] | undefined): Promise<BackupSummary | undefined> {
    const wanted = names?.map((n) => n.toUpperCase());
    const list = await this.listBackups(app);
    return list.find(
      (b) =>
        b.kind === 'restore' &&
        Date.parse(b.createdAt ?? '') >= since - 120_000 &&
        (!wanted?.length || b.database === undefined || wanted.includes(b.database.toUpperCase())),
    );
  }

  /** `heroku maintenance` prints "on" or "off" (no --json). */
  async maintenance(app: string): Promise<boolean> {
    const result = await this.exec(['maintenance', '--app', app], app);
    const state = result.stdout.trim().split('\n').pop()?.trim();
    if (state !== 'on' && state !== 'off') {
      throw new HerokuError('failed', `heroku maintenance printed neither "on" nor "off" (app ${app})`, {
        hint: 'check the Heroku CLI version (drydock is tested with heroku 11)',
      });
    }
    return state === 'on';
  }

  /** `heroku maintenance:on|off`. */
  async setMaintenance(app: string, on: boolean): Promise<void> {
    await this.exec([on ? 'maintenance:on' : 'maintenance:off', '--app', app], app);
  }

  /**
   * `heroku ps:scale` without changes prints the formation as `web=1:Basic worker=0:Basic`. Unlike
   * `ps --json` (running dynos) it includes process types scaled to zero and no one-off dynos.
   */
  async formation(app: string): Promise<Record<string, number>> {
    try {
      const result = await this.exec(['ps:scale', '--app', app], app);
      return parseFormation(result.stdout);
    } catch (error) {
      // An app without a Procfile has no process types; the CLI calls that an error.
      if (error instanceof HerokuError && /no process types/i.test(error.message)) return {};
      throw error;
    }
  }

  /** `heroku ps:scale type=N …`. */
  async scale(app: string, quantities: Record<string, number>): Promise<void> {
    const changes = Object.entries(quantities);
    const bad = changes.filter(([type, n]) => !/^[\w-]+$/.test(type) || !Number.isInteger(n) || n < 0);
    if (bad.length) {
      throw new ConfigError(`cannot scale ${app}: ${bad.map(([type, n]) => `${type}=${n}`).join(', ')} is not a process type and a whole number ≥ 0`);
    }
    // Without arguments ps:scale prints the formation instead of changing it.
    if (!changes.length) return;
    await this.exec(['ps:scale', ...changes.map(([type, n]) => `${type}=${n}`), '--app', app], app);
  }

  /** Run the CLI and map its failures. */
  private async exec(args: string[], app: string | undefined, options: ExecOptions = {}): Promise<RunResult> {
    let result: RunResult;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    try {
      result = await run(this.bin, args, {
        env: { ...QUIET_ENV, ...this.env },
        timeoutMs,
        reject: false,
        label: 'heroku',
        onStdoutLine: options.onStdoutLine,
        signal: this.signal,
      });
    } catch (error) {
      if (error instanceof ToolError && /not found/.test(error.message)) {
        throw new HerokuError('missing-binary', `the Heroku CLI was not found (${this.bin})`, {
          hint: 'install it (`npm install -g heroku`, or see https://devcenter.heroku.com/articles/heroku-cli) or set DRYDOCK_HEROKU_BIN',
          cause: error,
        });
      }
      if (error instanceof ToolError && /timed out/.test(error.message)) {
        if (options.onTimeout) throw await options.onTimeout(error);
        const on = app ? ` (app ${app})` : '';
        throw new HerokuError('network', `the Heroku CLI timed out after ${formatDuration(timeoutMs)}${on}`, {
          hint: 'check your network connection and https://status.heroku.com, then try again',
          cause: error,
        });
      }
      throw error;
    }
    if (result.exitCode !== 0) throw options.onFailure?.(result) ?? classifyFailure(result, app);
    return result;
  }
}

/**
 * Map a failed heroku invocation to a HerokuError from what it printed. Exported for tests.
 *
 * What heroku 11 prints (stderr, exit 1 or 2), checked against the emulator:
 * - unknown app: "› Error: Couldn't find that app. › Error ID: not_found"
 * - bad HEROKU_API_KEY: "Error: The token provided to HEROKU_API_KEY is invalid. Please …", wrapped
 *   over several lines at the terminal width, so every pattern here runs on whitespace-collapsed text
 * - no database (pg:psql, pg:info DATABASE): "Error: APP has no databases"
 * - unreachable API (after ~6 s of retries): "Error: connect ECONNREFUSED 127.0.0.1:7117 Code: ECONNREFUSED"
 * - no token at all: "heroku: Press any key to open up the browser to login …" then a TypeError (stdin closed)
 * - any other API error: "Error: <message from the API> › Error ID: <id>"
 */
export function classifyFailure(result: Pick<RunResult, 'stderr' | 'stdout' | 'command' | 'exitCode'>, app?: string): HerokuError {
  const text = stripDecorations(`${result.stderr}\n${result.stdout}`);
  const flat = text.replace(/\s+/g, ' ');
  const what = errorMessage(text);
  const on = app ? ` (app ${app})` : '';
  if (/couldn'?t find that app\b|\bapp not found\b/i.test(flat)) {
    return new HerokuError('unknown-app', app ? `Heroku app ${app} not found` : 'Heroku app not found', {
      hint: 'check the name with `heroku apps`, and that your account can access it',
    });
  }
  // Without any token the CLI answers a 401 by starting an interactive browser login, which fails on a closed stdin.
  if (/token provided to HEROKU_API_KEY is invalid|invalid credentials|not logged in|Error ID: unauthorized|open up the browser to login/i.test(flat)) {
    return new HerokuError('not-logged-in', `the Heroku CLI is not logged in or its token is invalid${on}`, {
      hint: 'run `heroku login`, or set HEROKU_API_KEY to a valid token (`heroku authorizations:create`)',
    });
  }
  if (/has no (heroku-postgresql )?databases|no config vars found for|not yet provisioned|couldn'?t find that add-?on|unknown database:/i.test(flat)) {
    return new HerokuError('no-database', `no Heroku Postgres database found${on}: ${what}`, {
      hint: app ? `list the app's databases with \`heroku pg:info -a ${app}\`` : 'check the database name',
    });
  }
  const api = classifyApiError(flat, what, app);
  if (api) return api;
  if (/ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|socket hang up|getaddrinfo/i.test(flat)) {
    return new HerokuError('network', `could not reach the Heroku API${on}: ${what}`, {
      hint: 'check your network connection and https://status.heroku.com, then try again',
    });
  }
  return new HerokuError('failed', `heroku failed (exit ${result.exitCode})${on}: ${what || 'no output'}`, {
    hint: `run \`${result.command}\` yourself to see the full output`,
  });
}

/** Remove the CLI's decorations (›, colour codes, warning lines about SSL certs and terms) and mask secrets. */
function stripDecorations(text: string): string {
  return mask(
    text
      // eslint-disable-next-line no-control-regex
      .replace(/\u001b\[[0-9;]*m/g, '')
      .split('\n')
      .map((l) => l.replace(/^\s*[›▸]\s*/, '').trim())
      .filter((l) => l && !/^Warning: (SSL_CERT_(FILE|DIR) set|Our terms of service)|^https:\/\/dashboard\.heroku\.com\/terms/.test(l))
      .join('\n'),
  );
}

/**
 * The CLI's error as one line: the "Error:" paragraph (the CLI wraps long messages) without the
 * "Error ID:"/"Code:" trailer, else the last line printed.
 */
function errorMessage(text: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^Error:/.test(l));
  let picked: string[];
  if (start >= 0) {
    picked = [];
    for (const line of lines.slice(start)) {
      if (picked.length && /^(Error ID|Code|Error|Warning):/.test(line)) break;
      picked.push(line);
    }
  } else {
    picked = lines.filter((l) => !/^(Error ID|Code):/.test(l)).slice(-1);
  }
  return picked.join(' ').replace(/^Error:\s*/, '').replace(/\s+/g, ' ').trim().slice(0, 300);
}

function parseJson(result: RunResult, what: string): unknown {
  try {
    return JSON.parse(result.stdout);
  } catch (error) {
    throw new HerokuError('failed', `${what} printed something that is not JSON`, {
      hint: 'check the Heroku CLI version (drydock is tested with heroku 11)',
      cause: error,
    });
  }
}

/** Parse the first `=== CONFIG_VAR, …` block of `heroku pg:info` text. Exported for tests. */
export function parsePgInfo(text: string): PgInfo | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^===\s+\S/.test(l));
  if (start < 0) return undefined;
  const attachment = (lines[start] ?? '').replace(/^===\s+/, '').trim();
  const fields: Record<string, string> = {};
  for (const line of lines.slice(start + 1)) {
    if (/^===/.test(line)) break;
    const m = /^\s*([^:]+?):\s+(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) fields[m[1].trim()] = m[2].trim();
  }
  return {
    attachment,
    configVars: attachment.split(',').map((v) => v.trim()).filter(Boolean),
    addon: fields['Add-on'],
    billingApp: fields['Billing App'],
    version: fields['PG Version'],
    plan: fields.Plan,
    status: fields.Status,
    fields,
  };
}

/** Milliseconds as whole seconds for messages. */
/** Refuse arguments the CLI would read as flags (or that can't be a name, id or URL). */
function checkArg(value: string, what: string): void {
  if (!value || value.startsWith('-') || /\s/.test(value)) {
    throw new ConfigError(`invalid ${what} "${mask(value)}"`, { hint: `give a ${what} such as ${what === 'database' ? 'DATABASE_URL' : 'b001'}` });
  }
}

/** The error for a transfer still unfinished when drydock stops waiting. */
function stillRunning(what: string, status: string, timeoutMs: number, app: string, id: string | undefined): HerokuError {
  return new HerokuError('failed', `${what} is still ${status} after ${formatDuration(timeoutMs)}`, {
    hint: id
      ? `it may still finish on Heroku: check \`heroku pg:backups:info ${id} -a ${app}\`, or stop it with \`heroku pg:backups:cancel ${id} -a ${app}\``
      : `check \`heroku pg:backups -a ${app}\``,
  });
}

/** The error for a transfer Heroku says failed (or was canceled), with the log lines that tell why. */
function transferFailed(what: string, info: BackupInfo, app: string): HerokuError {
  const messages = info.logs.map((l) => l.message);
  const telling = messages.filter((l) => /error|fail|fatal|abort|denied|could not|cancel/i.test(l));
  const last = (telling.length ? telling : messages).slice(-3).join(' | ') || 'no log lines';
  return new HerokuError('failed', mask(`${what} ${info.status === 'canceled' ? 'was canceled' : 'failed'} (app ${app}): ${last}`).slice(0, 500), {
    hint: `see Heroku's log with \`heroku pg:backups:info ${info.id} -a ${app}\``,
  });
}

/** The billing app the CLI names when a command runs on an app that only has the database attached. Exported for tests. */
export function parseBillingHint(text: string): string | undefined {
  const flat = stripAnsi(text).replace(/\s+/g, ' ');
  if (!/non-billing application/i.test(flat)) return undefined;
  return /heroku pg:backups -a (\S+) to check the list of backups/.exec(flat)?.[1];
}

/**
 * Follows a `--verbose` capture or restore: the CLI prints "Backing up DATABASE to b003..." and
 * then each new log line of the transfer as "<created_at> <message>" on stdout.
 */
class TransferProgress {
  name: string | undefined;
  /** How many log lines arrived (none: the transfer never started). */
  count = 0;
  /** The last log lines (a big dump logs thousands). */
  private readonly recent: string[] = [];

  constructor(private readonly onProgress: ((line: string) => void) | undefined) {}

  line(raw: string): void {
    const line = stripAnsi(raw).trim();
    this.name ??= parseCaptureName(line);
    const log = parseLogLine(line);
    if (!log) return;
    this.count += 1;
    this.recent.push(log.message);
    if (this.recent.length > 50) this.recent.shift();
    this.onProgress?.(log.message);
  }

  /**
   * The error for a transfer that finished unsuccessfully, naming Heroku's last log lines (as the
   * CLI printed them with --verbose; else its wrapped error text). Undefined for other failures.
   */
  failure(result: RunResult, what: string, app: string): HerokuError | undefined {
    const output = stripDecorations(`${result.stderr}\n${result.stdout}`).replace(/\s+/g, ' ');
    if (!TRANSFER_FAILED.test(output)) return undefined;
    const fallback = /did not finish\.\s*(.*?)\s*Run heroku pg:backups:info/.exec(output)?.[1] ?? '';
    // The lines that say what went wrong, not the "waiting for download" chatter after them.
    const telling = this.recent.filter((l) => /error|fail|fatal|abort|denied|could not/i.test(l));
    const last = (telling.length ? telling : this.recent).slice(-3).join(' | ') || fallback;
    const id = /heroku pg:backups:info ([a-z]\d+)/.exec(output)?.[1];
    return new HerokuError('failed', mask(`${what} failed (app ${app}): ${last || 'no log lines'}`).slice(0, 500), {
      hint: `see Heroku's log with \`heroku pg:backups:info${id ? ` ${id}` : ''} -a ${app}\``,
    });
  }
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** Heroku's transfer time "2026-01-21 09:30:00 +0000" → "2026-01-21T09:30:00Z"; other text is returned as is. */
export function parseHerokuTime(text: string): string {
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.\d+)?\s*(Z|[+-]\d\d:?\d\d)?$/.exec(text.trim());
  if (!m) return text.trim();
  const zone = !m[3] || m[3] === 'Z' ? 'Z' : `${m[3].slice(0, 3)}:${m[3].slice(-2)}`;
  const date = new Date(`${m[1]}T${m[2]}${zone}`);
  return Number.isNaN(date.getTime()) ? text.trim() : date.toISOString().replace(/\.000Z$/, 'Z');
}

/** A size as the CLI prints it ("3.02KB", "0.00B", "7.4 MB": the bytes package, base 1024) → bytes; undefined when empty. */
export function parseSize(text: string): number | undefined {
  const m = /^([\d.]+)\s*(B|KB|MB|GB|TB|PB)$/i.exec(text.trim());
  if (!m?.[1] || !m[2]) return undefined;
  const power = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'].indexOf(m[2].toUpperCase());
  return Math.round(Number(m[1]) * 1024 ** power);
}

/** "b001" → backup, "a001" → scheduled backup, "r002" → restore, "c003" → copy. */
function kindOf(id: string): { kind: BackupSummary['kind']; scheduled: boolean; num: number } {
  const m = /^o?([abcr])(\d+)$/.exec(id);
  const prefix = m?.[1] ?? 'b';
  return {
    kind: prefix === 'r' ? 'restore' : prefix === 'c' ? 'copy' : 'backup',
    scheduled: prefix === 'a',
    num: Number(m?.[2] ?? Number.NaN),
  };
}

/** The status column or field: "Completed <time>", "Finished with 2 warnings", "Failed <time>", "Running (processed 1.2MB)", "Pending", "Canceled". */
function parseStatus(text: string): { status: BackupSummary['status']; finishedAt: string | undefined } {
  const m = /^(Completed|Failed|Finished with \d+ warnings?|Running|Pending|Canceled)\b\s*(.*)$/i.exec(text.trim());
  const word = (m?.[1] ?? '').toLowerCase();
  const rest = (m?.[2] ?? '').trim();
  const finishedAt = /^\d{4}-/.test(rest) ? parseHerokuTime(rest) : undefined;
  if (word === 'completed' || word.startsWith('finished')) return { status: 'completed', finishedAt };
  if (word === 'failed') return { status: 'failed', finishedAt };
  if (word === 'canceled') return { status: 'canceled', finishedAt };
  if (word === 'running') return { status: 'running', finishedAt: undefined };
  return { status: 'pending', finishedAt: undefined };
}

/**
 * Parse `heroku pg:backups` (it has no --json): three sections, "=== Backups", "=== Restores" and
 * "=== Copies", each a table whose columns are found from the header line (cells are padded to
 * the header's positions, and a cell can be empty). Newest first. Exported for tests.
 */
export function parseBackupList(text: string): BackupSummary[] {
  const lines = stripAnsi(text).split('\n');
  const out: BackupSummary[] = [];
  let section: string | undefined;
  let columns: Array<{ name: string; start: number }> | undefined;
  for (const line of lines) {
    const header = /^===\s+(.+?)\s*$/.exec(line);
    if (header) {
      section = header[1];
      columns = undefined;
      continue;
    }
    if (!section || !line.trim() || /^[\s─-]+$/.test(line)) continue;
    if (!columns) {
      if (!/^\s*ID\s{2,}/.test(line)) continue;
      columns = [...line.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0], start: m.index ?? 0 }));
      continue;
    }
    const cells: Record<string, string> = {};
    columns.forEach((col, i) => {
      cells[col.name] = line.slice(col.start, columns?.[i + 1]?.start ?? line.length).trim();
    });
    const id = cells.ID ?? '';
    if (!/^o?[abcr]\d+$/.test(id)) continue;
    const { kind, scheduled, num } = kindOf(id);
    const { status, finishedAt } = parseStatus(cells.Status ?? '');
    const created = cells['Created at'] ?? cells['Started at'];
    const database = kind === 'copy' ? cells.To : cells.Database;
    out.push({
      id,
      num,
      kind,
      status,
      createdAt: created ? parseHerokuTime(created) : undefined,
      finishedAt,
      sizeBytes: parseSize(cells.Size ?? ''),
      database: database && database !== 'UNKNOWN' ? database : undefined,
      scheduled,
    });
  }
  return out.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || b.num - a.num);
}

/** One log line as the CLI prints it: "<YYYY-MM-DD HH:MM:SS +0000> <message>". */
function parseLogLine(line: string): { createdAt: string; message: string } | undefined {
  const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}) (.*)$/.exec(line.trim());
  return m?.[1] && m[2] !== undefined ? { createdAt: parseHerokuTime(m[1]), message: m[2] } : undefined;
}

/** The backup name in "Backing up DATABASE to b003...". Exported for tests. */
export function parseCaptureName(text: string): string | undefined {
  return /Backing up .+? to (o?[ab]\d+)\.\.\./.exec(stripAnsi(text))?.[1];
}

/**
 * Parse `heroku pg:backups:info` (no --json): "=== Backup b001", "Key: value" lines, then
 * "=== Backup Logs" with one "<time> <message>" line per entry. createdAt is not printed there
 * (undefined). Exported for tests.
 */
export function parseBackupInfo(text: string): BackupInfo | undefined {
  const lines = stripAnsi(text).split('\n');
  const start = lines.findIndex((l) => /^===\s+Backup\s+\S+\s*$/.test(l) && !/^===\s+Backup Logs/.test(l));
  if (start < 0) return undefined;
  const id = (/^===\s+Backup\s+(\S+)/.exec(lines[start] ?? '')?.[1] ?? '').trim();
  const fields: Record<string, string> = {};
  const logs: BackupInfo['logs'] = [];
  let inLogs = false;
  for (const line of lines.slice(start + 1)) {
    if (/^===\s+Backup Logs/.test(line)) {
      inLogs = true;
      continue;
    }
    if (!line.trim()) continue;
    if (inLogs) {
      const log = parseLogLine(line);
      const previous = logs[logs.length - 1];
      // A message with a line break continues on the next line, without a timestamp.
      if (log) logs.push(log);
      else if (previous) previous.message = `${previous.message}\n${line.trimEnd()}`;
      continue;
    }
    const m = /^([^:]+?):\s+(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) fields[m[1].trim()] = m[2].trim();
  }
  const { kind, scheduled, num } = kindOf(id);
  const { status } = parseStatus(fields.Status ?? '');
  const finished = fields['Finished at'];
  return {
    id,
    num,
    kind,
    status,
    createdAt: undefined,
    finishedAt: finished ? parseHerokuTime(finished) : undefined,
    // "3.02KB (100% compression)"
    sizeBytes: parseSize((fields['Backup Size'] ?? '').replace(/\s*\(.*\)\s*$/, '')),
    sourceBytes: parseSize(fields['Original DB Size'] ?? ''),
    database: fields.Database || undefined,
    scheduled: scheduled || fields.Type === 'Scheduled',
    logs,
  };
}

/** Parse `heroku ps:scale` without arguments: "web=1:Basic worker=0:Basic". Exported for tests. */
export function parseFormation(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const token of stripAnsi(text).split(/\s+/)) {
    const m = /^([\w-]+)=(\d+)(?::\S+)?$/.exec(token);
    if (m?.[1] && m[2]) out[m[1]] = Number(m[2]);
  }
  return out;
}
