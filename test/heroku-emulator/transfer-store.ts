/**
 * Heroku Postgres transfers (backups and restores) for the emulator: each capture runs a real
 * `pg_dump -Fc --no-owner --no-acl` of the app's database into a file store the emulator owns,
 * each restore a real `pg_restore --clean --if-exists --no-owner --no-acl` of a stored dump, and
 * the transfer records follow the state machine the CLI polls (endpoints doc §5):
 * pending (started_at null) → running (processed_bytes growing) → finished (succeeded true/false).
 *
 * Per-app behaviours (ok, fail, pending, slow, hold, noop) and download faults let tests reproduce the
 * ways real transfers go wrong. No HTTP here: routes/transfers.ts and download-server.ts serve it.
 *
 * Transfers are the billing app's: a backup of a database shared with another app is listed (and
 * polled) under the app that pays for it, and names the database as transfers do ("COBALT", else
 * "DATABASE"). Public URLs are signed S3-style URLs that expire; a backup's own to_url (what a restore
 * is given) is not signed and is refused to outside downloads, as S3 refuses an unsigned GET.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { humanBytes, readDatabaseFacts } from './database-facts.js';
import { majorOf, pgBinary, runPgCommand } from './pg-commands.js';
import type { AppState } from './state.js';
import type { DownloadFault, EmulatedBackup, EtagStyle, TransferBehavior, TransferMode } from './types.js';

/** Where a backup file is served: `<publicUrl>/backups/<token>/<name>.dump`. */
export const BACKUP_PATH = '/backups';

/** How long a 'slow' transfer reports running unless told otherwise. */
const DEFAULT_SLOW_MS = 5_000;

/** How long a public URL is valid unless told otherwise (Heroku's are signed for about an hour). */
export const DEFAULT_PUBLIC_URL_TTL_MS = 60 * 60_000;

/** The part size the emulator's "uploads" use for multipart ETags (S3's parts are 5 MiB or more). */
const PART_BYTES = 8 * 1024 * 1024;

/** One line of a transfer's log. */
export interface TransferLog {
  at: number;
  level: 'info' | 'error';
  message: string;
}

/** One transfer of one app. Times are epoch milliseconds. */
export interface TransferState {
  uuid: string;
  num: number;
  kind: 'backup' | 'restore';
  fromType: 'pg_dump' | 'gof3r';
  toType: 'gof3r' | 'pg_restore';
  fromName: string;
  toName: string;
  createdAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  canceledAt: number | undefined;
  /** A 'slow' transfer keeps running until this time, even when its tool is done (0: not slow; Infinity: 'hold'). */
  slowUntil: number;
  succeeded: boolean;
  warnings: number;
  processedBytes: number;
  sourceBytes: number;
  /** What processed_bytes grows towards while running. */
  expectedBytes: number;
  logs: TransferLog[];
  scheduled: boolean;
  /** Backups: the secret part of the public URL. */
  token: string | undefined;
  /** Backups: the stored dump, once it succeeded. */
  file: string | undefined;
  md5: string | undefined;
  /** Backups: S3's multipart ETag of the dump (`<hex>-<parts>`). */
  multipartEtag: string | undefined;
  /** Backups: the unsigned storage URL (what restores get as backup_url). Restores: null. */
  toUrl: string | null;
  /** Restores: the backup_url they were given, without credentials. */
  fromUrl: string | null;
}

/** The effective behaviour of one app. */
type Behavior = { capture: TransferMode; restore: TransferMode | 'noop'; delayMs: number };

/** Heroku's transfer timestamp format: "2026-01-21 09:30:00 +0000" (sorts as a string). */
export function herokuTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000');
}

/** The CLI's name of a transfer: b001, a001 (scheduled), r002, c003. */
export function transferName(t: Pick<TransferState, 'kind' | 'num' | 'scheduled'>): string {
  const prefix = t.kind === 'restore' ? 'r' : t.scheduled ? 'a' : 'b';
  return `${prefix}${String(t.num).padStart(3, '0')}`;
}

/** Error text that can go into a log line: no URLs (they may hold a password). */
function safeMessage(error: unknown): string {
  return String((error as Error)?.message ?? error).replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>');
}

/**
 * The MD5 of a file and the ETag S3 gives it when uploaded in parts of PART_BYTES: the MD5 of the
 * parts' MD5s, a dash, and the number of parts. That is not the file's MD5, even with one part.
 */
async function digestFile(file: string): Promise<{ md5: string; multipartEtag: string }> {
  const whole = createHash('md5');
  const parts: Buffer[] = [];
  let part = createHash('md5');
  let inPart = 0;
  for await (const raw of createReadStream(file)) {
    let chunk = raw as Buffer;
    whole.update(chunk);
    while (chunk.length) {
      const take = Math.min(chunk.length, PART_BYTES - inPart);
      part.update(chunk.subarray(0, take));
      inPart += take;
      chunk = chunk.subarray(take);
      if (inPart === PART_BYTES) {
        parts.push(part.digest());
        part = createHash('md5');
        inPart = 0;
      }
    }
  }
  if (inPart > 0 || parts.length === 0) parts.push(part.digest());
  return { md5: whole.digest('hex'), multipartEtag: `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-${parts.length}` };
}

/** The transfers of every app, the dump files behind them, behaviours and download faults. */
export class TransferStore {
  private readonly byApp = new Map<string, TransferState[]>();
  private readonly behaviors = new Map<string, Behavior>();
  private fault: { spec: DownloadFault; remaining: number } | undefined;
  /** Releases the transfers in mode 'hold', by app id. */
  private readonly holds = new Map<string, Set<(outcome: 'ok' | 'fail') => void>>();
  /** Signs public URLs (a fresh secret per emulator). */
  private readonly signingKey = randomBytes(32);
  private publicUrlTtlMs = DEFAULT_PUBLIC_URL_TTL_MS;
  private etagStyle: EtagStyle = 'multipart';
  private readonly children = new Set<ChildProcess>();
  private readonly jobs = new Set<Promise<void>>();
  /** Cuts the waits of 'slow' transfers short on close. */
  private readonly stopping = new AbortController();
  private closed = false;

  /** `dir` holds the dumps (the emulator removes it on stop); `publicUrl` is the HTTPS base. */
  constructor(
    private readonly dir: string,
    private readonly publicUrl: () => string,
  ) {}

  /** An app's transfers, oldest first. */
  list(app: AppState): TransferState[] {
    let list = this.byApp.get(app.id);
    if (!list) {
      list = [];
      this.byApp.set(app.id, list);
    }
    return list;
  }

  /** A transfer by num ("3") or uuid. */
  find(app: AppState, key: string): TransferState | undefined {
    return this.list(app).find((t) => (/^\d+$/.test(key) ? t.num === Number(key) : t.uuid === key));
  }

  /** The backup behind a public URL token, in any app. */
  byToken(token: string): TransferState | undefined {
    for (const list of this.byApp.values()) {
      const hit = list.find((t) => t.kind === 'backup' && t.token === token);
      if (hit) return hit;
    }
    return undefined;
  }

  behavior(app: AppState): Behavior {
    return this.behaviors.get(app.id) ?? { capture: 'ok', restore: 'ok', delayMs: DEFAULT_SLOW_MS };
  }

  setBehavior(app: AppState, change: TransferBehavior): void {
    const current = this.behavior(app);
    this.behaviors.set(app.id, {
      capture: change.capture ?? current.capture,
      restore: change.restore ?? current.restore,
      delayMs: change.delayMs ?? current.delayMs,
    });
  }

  setDownloadFault(fault: DownloadFault | null): void {
    this.fault = fault ? { spec: fault, remaining: fault.times ?? Number.POSITIVE_INFINITY } : undefined;
  }

  /** The download fault for this request, if any; counts one use. */
  takeDownloadFault(): DownloadFault | undefined {
    const fault = this.fault;
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.fault = undefined;
    return fault.spec;
  }

  /** The unsigned storage URL of a backup (its to_url): a restore may use it, an outside download may not. */
  storageUrlOf(t: TransferState): string {
    return `${this.publicUrl()}${BACKUP_PATH}/${t.token ?? ''}/${transferName(t)}.dump`;
  }

  /** A signed public URL of a backup, valid for the public URL lifetime from now, and when it expires. */
  signedUrlOf(t: TransferState, now = Date.now()): { url: string; expiresAt: Date } {
    const date = Math.floor(now / 1000);
    const expires = Math.max(1, Math.ceil(this.publicUrlTtlMs / 1000));
    const amzDate = new Date(date * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const url = new URL(this.storageUrlOf(t));
    url.searchParams.set('X-Amz-Algorithm', 'AWS4-HMAC-SHA256');
    url.searchParams.set('X-Amz-Date', amzDate);
    url.searchParams.set('X-Amz-Expires', String(expires));
    url.searchParams.set('X-Amz-SignedHeaders', 'host');
    url.searchParams.set('X-Amz-Signature', this.signature(url.pathname, amzDate, expires));
    return { url: url.toString(), expiresAt: new Date((date + expires) * 1000) };
  }

  /**
   * Check a download URL as S3 checks a presigned one: 'ok', 'unsigned' (no or a wrong signature:
   * AccessDenied / SignatureDoesNotMatch) or 'expired' ("Request has expired").
   */
  checkSignedUrl(pathname: string, query: URLSearchParams, now = Date.now()): 'ok' | 'unsigned' | 'bad-signature' | 'expired' {
    const amzDate = query.get('X-Amz-Date') ?? '';
    const expires = Number(query.get('X-Amz-Expires') ?? '');
    const signature = query.get('X-Amz-Signature');
    if (!signature) return 'unsigned';
    const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(amzDate);
    if (!m || !Number.isInteger(expires) || signature !== this.signature(pathname, amzDate, expires)) return 'bad-signature';
    const signedAt = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
    return now >= signedAt + expires * 1000 ? 'expired' : 'ok';
  }

  setPublicUrlTtl(ms: number): void {
    if (!(ms > 0)) throw new Error('emulator: the public URL lifetime must be positive');
    this.publicUrlTtlMs = ms;
  }

  setEtagStyle(style: EtagStyle): void {
    this.etagStyle = style;
  }

  /** The ETag a download of this backup carries (without quotes). */
  etagOf(t: TransferState): string {
    if (!t.md5) return '';
    if (this.etagStyle === 'md5') return t.md5;
    // An SSE-KMS object's ETag: 32 hex digits, but not the MD5 of the bytes.
    if (this.etagStyle === 'opaque') return createHash('md5').update(`opaque:${t.uuid}`).digest('hex');
    return t.multipartEtag ?? '';
  }

  /** Let an app's 'hold' transfers finish: as they would have ('ok'), or failing at the very end ('fail'). */
  release(app: AppState, outcome: 'ok' | 'fail' = 'ok'): void {
    const holds = this.holds.get(app.id);
    this.holds.delete(app.id);
    for (const done of holds ?? []) done(outcome);
  }

  private signature(pathname: string, amzDate: string, expires: number): string {
    return createHmac('sha256', this.signingKey).update(`${pathname}\n${amzDate}\n${expires}`).digest('hex');
  }

  /**
   * Start a capture of `url` (the app's database). With mode ok it has finished when this
   * resolves; slow runs in the background; pending never starts; fail finishes failed at once.
   */
  async capture(app: AppState, url: string, fromName: string, mode: TransferMode = this.behavior(app).capture): Promise<TransferState> {
    const t = this.create(app, 'backup');
    t.fromName = fromName;
    t.token = randomBytes(18).toString('base64url');
    t.toUrl = this.storageUrlOf(t);
    const name = transferName(t);
    switch (mode) {
      case 'pending':
        break;
      case 'fail':
        t.startedAt = Date.now();
        this.log(t, 'pg_dump: error: query failed: server closed the connection unexpectedly', 'error');
        this.log(t, 'pg_dump: detail: This probably means the server terminated abnormally (failure injected by the drydock emulator)', 'error');
        this.log(t, 'pg_dump finished with errors');
        this.log(t, `upload aborted: ${name} is incomplete and cannot be restored`);
        this.finish(t, false);
        break;
      case 'slow':
      case 'hold':
        this.startSlow(app, t, mode);
        this.background(this.dump(t, url));
        break;
      case 'ok':
        await this.dump(t, url);
        break;
    }
    return t;
  }

  /** Start a restore of the backup behind `backupUrl` into `url` (the target app's database). */
  async restore(app: AppState, url: string, backupUrl: string, toName: string): Promise<TransferState> {
    const mode = this.behavior(app).restore;
    const t = this.create(app, 'restore');
    t.toName = toName;
    const backup = this.backupOfUrl(backupUrl);
    t.fromName = backup ? transferName(backup) : 'BACKUP';
    t.fromUrl = withoutCredentials(backupUrl);
    switch (mode) {
      case 'pending':
        break;
      case 'fail':
        t.startedAt = Date.now();
        this.log(t, 'pg_restore: error: could not read from input file: end of file', 'error');
        this.log(t, 'pg_restore finished with errors');
        this.log(t, 'waiting for download to complete');
        this.log(t, 'download failed: connection reset by peer (failure injected by the drydock emulator)', 'error');
        this.finish(t, false);
        break;
      case 'noop':
        t.startedAt = Date.now();
        if (!backup?.file) {
          this.downloadFailed(t, backupUrl);
          break;
        }
        t.sourceBytes = t.processedBytes = backup.processedBytes;
        this.log(t, 'pg_restore: connecting to database for restore');
        this.restoreTrailer(t);
        this.finish(t, true);
        break;
      case 'slow':
      case 'hold':
        this.startSlow(app, t, mode);
        this.background(this.pgRestore(t, url, backup, backupUrl));
        break;
      case 'ok':
        await this.pgRestore(t, url, backup, backupUrl);
        break;
    }
    return t;
  }

  /** Cancel an unfinished transfer (its work, if any, is ignored from now on). */
  cancel(t: TransferState): void {
    if (t.finishedAt !== undefined) return;
    const now = Date.now();
    t.canceledAt = now;
    t.finishedAt = now;
    t.succeeded = false;
    this.log(t, 'canceled by request');
  }

  /** Create a finished backup now (real pg_dump), backdated by `ageMs`; rejects when pg_dump fails. */
  async addBackup(app: AppState, url: string, fromName: string, ageMs = 0): Promise<TransferState> {
    const t = await this.capture(app, url, fromName, 'ok');
    if (!t.succeeded) {
      const why = t.logs.filter((l) => l.level === 'error').map((l) => l.message).slice(-2).join(' | ');
      throw new Error(`emulator: pg_dump for ${app.name} failed: ${why || 'no output'}`);
    }
    for (const log of t.logs) log.at -= ageMs;
    t.createdAt -= ageMs;
    if (t.startedAt !== undefined) t.startedAt -= ageMs;
    if (t.finishedAt !== undefined) t.finishedAt -= ageMs;
    return t;
  }

  /** What Emulator.backups returns for one backup. */
  record(t: TransferState): EmulatedBackup {
    return {
      id: transferName(t),
      num: t.num,
      uuid: t.uuid,
      file: t.file ?? '',
      md5: t.md5 ?? '',
      etag: t.file ? this.etagOf(t) : '',
      database: t.fromName,
      size: t.file ? t.processedBytes : 0,
      succeeded: t.succeeded,
      createdAt: new Date(t.createdAt).toISOString(),
      url: t.file ? this.signedUrlOf(t).url : '',
    };
  }

  /** Stop running tools, wait for background work, and refuse new work. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    for (const child of this.children) child.kill('SIGKILL');
    for (const holds of this.holds.values()) for (const done of holds) done('ok');
    this.holds.clear();
    await Promise.allSettled([...this.jobs]);
  }

  private create(app: AppState, kind: TransferState['kind']): TransferState {
    if (this.closed) throw new Error('emulator: stopped');
    const list = this.list(app);
    const t: TransferState = {
      uuid: randomUUID(),
      num: (list[list.length - 1]?.num ?? 0) + 1,
      kind,
      fromType: kind === 'backup' ? 'pg_dump' : 'gof3r',
      toType: kind === 'backup' ? 'gof3r' : 'pg_restore',
      fromName: kind === 'backup' ? 'DATABASE' : 'BACKUP',
      toName: kind === 'backup' ? 'BACKUP' : 'DATABASE',
      createdAt: Date.now(),
      startedAt: undefined,
      finishedAt: undefined,
      canceledAt: undefined,
      slowUntil: 0,
      succeeded: false,
      warnings: 0,
      processedBytes: 0,
      sourceBytes: 0,
      expectedBytes: 0,
      logs: [],
      scheduled: false,
      token: undefined,
      file: undefined,
      md5: undefined,
      multipartEtag: undefined,
      toUrl: null,
      fromUrl: null,
    };
    list.push(t);
    return t;
  }

  private log(t: TransferState, message: string, level: TransferLog['level'] = 'info'): void {
    // A verbose pg_dump of a big schema logs thousands of lines; keep the start and the end.
    if (t.logs.length >= 2_000) t.logs.splice(1_000, 1);
    t.logs.push({ at: Date.now(), level, message });
  }

  private finish(t: TransferState, succeeded: boolean): void {
    if (t.canceledAt !== undefined) return;
    t.finishedAt = Date.now();
    t.succeeded = succeeded;
  }

  /** Mark a transfer started and running slowly ('slow': for delayMs; 'hold': until released). */
  private startSlow(app: AppState, t: TransferState, mode: 'slow' | 'hold'): void {
    t.startedAt = Date.now();
    if (mode === 'slow') {
      t.slowUntil = t.startedAt + this.behavior(app).delayMs;
      return;
    }
    t.slowUntil = Number.POSITIVE_INFINITY;
    const released = new Promise<'ok' | 'fail'>((resolve) => {
      const holds = this.holds.get(app.id) ?? new Set();
      holds.add(resolve);
      this.holds.set(app.id, holds);
    });
    this.held.set(t.uuid, released);
  }

  /** Promises of the 'hold' transfers, resolved with how they end when released (or on close). */
  private readonly held = new Map<string, Promise<'ok' | 'fail'>>();

  /** A 'slow' transfer's remaining time, a held one's release (returns at once on close); 'fail' when released to fail. */
  private async waitSlow(t: TransferState): Promise<'ok' | 'fail'> {
    const held = this.held.get(t.uuid);
    if (held) {
      const outcome = await held;
      this.held.delete(t.uuid);
      return outcome;
    }
    const delay = t.slowUntil - Date.now();
    if (delay > 0) await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    return 'ok';
  }

  private background(job: Promise<void>): void {
    const tracked = job.catch(() => undefined).finally(() => this.jobs.delete(tracked));
    this.jobs.add(tracked);
  }

  /** The real pg_dump of a capture. */
  private async dump(t: TransferState, url: string): Promise<void> {
    t.startedAt ??= Date.now();
    const name = transferName(t);
    let facts;
    try {
      facts = await readDatabaseFacts(url);
    } catch (error) {
      this.log(t, `pg_dump: error: connection to server failed: ${safeMessage(error)}`, 'error');
      this.log(t, 'pg_dump finished with errors');
      this.log(t, `upload aborted: ${name} is incomplete and cannot be restored`);
      this.finish(t, false);
      return;
    }
    // processed_bytes counts dump bytes: it grows towards the dump's size once that is known.
    t.sourceBytes = facts.sizeBytes;
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${t.uuid}.dump`);
    const bin = pgBinary('pg_dump', majorOf(facts.version));
    const result = await runPgCommand(bin, ['--verbose', '-Fc', '--no-owner', '--no-acl', '-f', file], url, this.children, (line) =>
      this.log(t, line, /^pg_dump: error:/.test(line) ? 'error' : 'info'),
    );
    if (result.exitCode === 0) t.expectedBytes = (await stat(file)).size;
    // The upload of a slow backup takes its time.
    const outcome = await this.waitSlow(t);
    this.log(t, 'waiting for pg_dump to complete');
    if (outcome === 'fail') this.log(t, 'upload failed: connection reset by peer (failure injected by the drydock emulator)', 'error');
    if (result.exitCode !== 0 || this.closed || outcome === 'fail') {
      this.log(t, `pg_dump finished with errors (exit status ${result.exitCode})`, 'error');
      this.log(t, `upload aborted: ${name} is incomplete and cannot be restored`);
      await rm(file, { force: true });
      this.finish(t, false);
      return;
    }
    this.log(t, 'pg_dump done');
    const size = (await stat(file)).size;
    const digests = await digestFile(file);
    t.md5 = digests.md5;
    t.multipartEtag = digests.multipartEtag;
    t.file = file;
    t.processedBytes = size;
    this.log(t, 'waiting for upload to complete');
    this.log(t, 'upload done');
    this.log(t, `Finished backup of ${t.fromName} to ${name}: ${humanBytes(size)}`);
    this.finish(t, true);
  }

  /** The real pg_restore of a restore. */
  private async pgRestore(t: TransferState, url: string, backup: TransferState | undefined, backupUrl: string): Promise<void> {
    t.startedAt ??= Date.now();
    const file = backup?.file;
    if (!backup || !file) {
      this.downloadFailed(t, backupUrl);
      return;
    }
    t.sourceBytes = backup.processedBytes;
    t.expectedBytes = backup.processedBytes;
    let major: number | undefined;
    try {
      major = majorOf((await readDatabaseFacts(url)).version);
    } catch (error) {
      this.log(t, `pg_restore: error: connection to server failed: ${safeMessage(error)}`, 'error');
      this.log(t, 'pg_restore finished with errors');
      this.finish(t, false);
      return;
    }
    const database = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
    const args = ['--verbose', '--clean', '--if-exists', '--no-owner', '--no-acl', '--dbname', database, file];
    const result = await runPgCommand(pgBinary('pg_restore', major), args, url, this.children, (line) =>
      this.log(t, line, /^pg_restore: error:/.test(line) ? 'error' : 'info'),
    );
    const outcome = await this.waitSlow(t);
    if (outcome === 'fail') this.log(t, 'pg_restore: error: connection to server was lost (failure injected by the drydock emulator)', 'error');
    if (result.exitCode !== 0 || this.closed || outcome === 'fail') {
      // Heroku marks a restore with errors as failed (pg_restore still applied what it could).
      this.log(t, 'pg_restore finished with errors', 'error');
      this.log(t, 'waiting for download to complete');
      this.log(t, 'download finished successfully');
      this.finish(t, false);
      return;
    }
    t.processedBytes = backup.processedBytes;
    this.restoreTrailer(t);
    this.finish(t, true);
  }

  private restoreTrailer(t: TransferState): void {
    this.log(t, 'pg_restore done');
    this.log(t, 'waiting for download to complete');
    this.log(t, 'download finished successfully');
    this.log(t, `Finished restore of ${t.fromName} to ${t.toName}: ${humanBytes(t.processedBytes)}`);
  }

  private downloadFailed(t: TransferState, backupUrl: string): void {
    let host = 'the backup URL';
    try {
      host = new URL(backupUrl).host || host;
    } catch {
      // not a URL at all: keep the generic wording
    }
    this.log(t, `download failed: could not fetch the backup from ${host}: 403 Forbidden`, 'error');
    this.log(t, 'pg_restore: error: could not read from input file: end of file', 'error');
    this.log(t, 'pg_restore finished with errors');
    this.finish(t, false);
  }

  /** The stored backup a backup_url points at: one of this emulator's own public URLs. */
  private backupOfUrl(backupUrl: string): TransferState | undefined {
    let u: URL;
    let base: URL;
    try {
      u = new URL(backupUrl);
      base = new URL(this.publicUrl());
    } catch {
      return undefined;
    }
    if (u.protocol !== base.protocol || u.host !== base.host) return undefined;
    const m = new RegExp(`^${BACKUP_PATH}/([^/]+)/[^/]+$`).exec(u.pathname);
    const backup = m?.[1] ? this.byToken(m[1]) : undefined;
    return backup?.succeeded && backup.file ? backup : undefined;
  }
}

/** A URL without user and password (for from_url). */
function withoutCredentials(url: string): string | null {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return null;
  }
}

/** A transfer as the Data API returns it; `logs` only with ?verbose=true, as on Heroku. */
export function transferJson(t: TransferState, verbose: boolean, now = Date.now()): Record<string, unknown> {
  const finishedAt = t.finishedAt;
  const finished = finishedAt !== undefined;
  const started = t.startedAt !== undefined;
  let processed = t.processedBytes;
  if (!finished) {
    // Running: processed_bytes grows with the time a slow transfer has had (half way otherwise).
    const span = t.slowUntil - (t.startedAt ?? now);
    const fraction = !started ? 0 : span > 0 ? Math.min(0.99, Math.max(0.01, (now - (t.startedAt ?? now)) / span)) : 0.5;
    processed = Math.floor(t.expectedBytes * fraction);
  }
  const json: Record<string, unknown> = {
    uuid: t.uuid,
    num: t.num,
    from_name: t.fromName,
    from_type: t.fromType,
    from_url: t.fromUrl,
    to_name: t.toName,
    to_type: t.toType,
    to_url: t.toUrl,
    options: {},
    source_bytes: t.sourceBytes,
    processed_bytes: processed,
    succeeded: finished && t.succeeded,
    warnings: t.warnings,
    schedule: t.scheduled ? { uuid: randomUUID() } : null,
    created_at: herokuTime(t.createdAt),
    started_at: started ? herokuTime(t.startedAt ?? now) : null,
    finished_at: finishedAt !== undefined ? herokuTime(finishedAt) : null,
    updated_at: herokuTime(finishedAt ?? t.startedAt ?? t.createdAt),
    canceled_at: t.canceledAt !== undefined ? herokuTime(t.canceledAt) : null,
    deleted_at: null,
    purged_at: null,
  };
  if (verbose) {
    json.logs = t.logs.map((l) => ({ created_at: herokuTime(l.at), level: l.level, message: l.message }));
  }
  return json;
}
