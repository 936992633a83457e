/**
 * While one migration runs on the copy, watch it from other sessions:
 *
 * - a poller reads, every `pollMs`, the relation locks the migration's backend holds (pg_locks), and
 *   keeps, per relation that existed before the migration and per lock mode, when it was first and
 *   last seen;
 * - for every table the migration holds a lock on, two probe sessions feel what the app would feel:
 *   one reads (`SELECT 1 FROM t LIMIT 1`, ACCESS SHARE), one "writes" (`LOCK TABLE t IN ROW EXCLUSIVE
 *   MODE` in a transaction that is rolled back: it queues exactly like INSERT/UPDATE/DELETE and changes
 *   nothing), again and again, and each records how long it waited. That is the real blocking, not
 *   what the lock mode's theory says.
 *
 * Probes of the tables a statement names start, connected, before it runs; a table locked without
 * being named (a foreign key's referenced table, a partition) is probed from when the poller first
 * sees the lock, so a wait there is measured late by up to `pollMs` plus a connection's start-up. Probes wait with a lock_timeout of `probeTimeoutMs`; when the watch
 * stops they finish their current wait (the migration's locks are gone then) or are cancelled.
 */
import type pg from 'pg';

import { sleep } from '../interrupt.js';
import { connect } from '../pg/client.js';
import { readHeldLocks, readProbeSql, WRITE_PROBE, type HeldLock, type RelationFact } from '../pg/queries/rehearse.js';
import type { DbUrl } from '../pg/url.js';

/** A lock mode held on a relation, seen from `firstMs` to `lastMs` (ms since the watch started). */
export interface LockSpan {
  relation: string;
  mode: string;
  firstMs: number;
  lastMs: number;
  /** Not seen by the poll (too brief): the mode the statement takes, from Postgres's lock table (--command). */
  inferred?: boolean | undefined;
}

/** One probe: what it tried, on which table, when it started and ended (ms since the watch started). */
export interface ProbeWait {
  table: string;
  kind: 'read' | 'write';
  startMs: number;
  endMs: number;
}

export interface WatchOptions {
  /** How often the migration's locks are read (ms). */
  pollMs: number;
  /** A probe's lock_timeout (ms): the longest single wait it can measure. */
  probeTimeoutMs: number;
}

export const DEFAULT_WATCH_OPTIONS: WatchOptions = { pollMs: 20, probeTimeoutMs: 10 * 60_000 };

/** What a watch saw. */
export interface WatchResult {
  locks: LockSpan[];
  /** Probes that waited at least 1 ms (faster ones are not kept). */
  waits: ProbeWait[];
  /** Tables that were probed. */
  probed: string[];
}

/** Tables and partitioned tables: what the app reads and writes. */
const PROBED_KINDS = new Set(['r', 'p']);

export class MigrationWatch {
  /** The migration's backends (one for drydock's runner; every session of a framework's command). */
  private readonly pids = new Set<number>();
  private stopped = false;
  private readonly origin = performance.now();
  private readonly spans = new Map<string, LockSpan>();
  private readonly waits: ProbeWait[] = [];
  private readonly probes = new Map<string, { loops: Array<Promise<void>>; clients: pg.Client[] }>();
  private readonly poller: pg.Client;
  private readonly pollLoop: Promise<void>;
  private failure: Error | undefined;

  private constructor(
    private readonly url: DbUrl,
    private readonly before: ReadonlyMap<number, RelationFact>,
    private readonly options: WatchOptions,
    poller: pg.Client,
  ) {
    this.poller = poller;
    this.pollLoop = this.poll();
  }

  /** Start watching; `before` is the relations that existed before the migration. */
  static async start(url: DbUrl, before: ReadonlyMap<number, RelationFact>, options: WatchOptions = DEFAULT_WATCH_OPTIONS): Promise<MigrationWatch> {
    const poller = await connect(url, { applicationName: 'drydock rehearse (lock poller)' });
    return new MigrationWatch(url, before, options, poller);
  }

  /** ms since the watch started (the clock statements are timed with too). */
  now(): number {
    return performance.now() - this.origin;
  }

  /** A backend of the migration, once known (the first statement tells; a command's sessions, as they connect). */
  watchBackend(pid: number): void {
    this.pids.add(pid);
  }

  private async poll(): Promise<void> {
    while (!this.stopped) {
      for (const pid of this.pids) {
        try {
          const seenAt = this.now();
          this.sawLocks(await readHeldLocks(this.poller, pid), seenAt, seenAt);
        } catch (error) {
          this.failure ??= error as Error;
          return;
        }
      }
      await sleep(this.options.pollMs);
    }
  }

  /**
   * Locks the migration's backend held: from the poll, or read by the migration's own connection right
   * after a statement (a transaction keeps every lock it took until it ends, so none is missed there,
   * however briefly its statement ran). `firstMs`: taken no later than this.
   */
  sawLocks(locks: readonly HeldLock[], firstMs: number, lastMs: number): void {
    for (const lock of locks) {
      const relation = this.before.get(lock.oid);
      if (!relation) continue;
      const key = `${relation.name}\0${lock.mode}`;
      const span = this.spans.get(key);
      if (span) {
        span.firstMs = Math.min(span.firstMs, firstMs);
        span.lastMs = Math.max(span.lastMs, lastMs);
      } else this.spans.set(key, { relation: relation.name, mode: lock.mode, firstMs, lastMs });
      if (PROBED_KINDS.has(relation.kind) && !this.probes.has(relation.name) && !this.stopped) void this.startProbes(relation.name);
    }
  }

  /**
   * Probe these tables (that existed before the migration) from now on, and wait until their probe
   * sessions are connected: called before a statement runs with the tables it names, so a wait is
   * measured from its start.
   */
  async probeTables(oids: readonly number[]): Promise<void> {
    const ready: Array<Promise<void>> = [];
    for (const oid of oids) {
      const relation = this.before.get(oid);
      if (relation && PROBED_KINDS.has(relation.kind) && !this.probes.has(relation.name) && !this.stopped) ready.push(...this.startProbes(relation.name));
    }
    await Promise.all(ready);
  }

  /** Start a read and a write probe of `table`; returns when each is connected (or failed to). */
  private startProbes(table: string): Array<Promise<void>> {
    const entry = { loops: [] as Array<Promise<void>>, clients: [] as pg.Client[] };
    this.probes.set(table, entry);
    return (['read', 'write'] as const).map(
      (kind) =>
        new Promise<void>((ready) => {
          entry.loops.push(this.probe(table, kind, entry.clients, ready));
        }),
    );
  }

  private async probe(table: string, kind: 'read' | 'write', clients: pg.Client[], ready: () => void): Promise<void> {
    let client: pg.Client;
    try {
      client = await connect(this.url, { applicationName: `drydock rehearse (${kind} probe)` });
    } catch (error) {
      this.failure ??= error as Error;
      ready();
      return;
    }
    clients.push(client);
    const timeout = Math.max(1, Math.round(this.options.probeTimeoutMs));
    const sql = kind === 'read' ? readProbeSql(table) : WRITE_PROBE(table);
    try {
      await client.query(`SET lock_timeout = ${timeout}; SET statement_timeout = ${timeout}`).finally(ready);
      while (!this.stopped) {
        const startMs = this.now();
        let gone = false;
        try {
          await client.query(sql);
        } catch (error) {
          // The migration dropped or renamed the table: nothing left to probe.
          gone = (error as { code?: string }).code === '42P01';
          if (kind === 'write') await client.query('ROLLBACK').catch(() => undefined);
        }
        const endMs = this.now();
        if (endMs - startMs >= 1) this.waits.push({ table, kind, startMs, endMs });
        if (gone) return;
        await sleep(this.options.pollMs);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Stop polling and probing (after the migration finished and released its locks). */
  async stop(): Promise<WatchResult> {
    this.stopped = true;
    await this.pollLoop;
    const loops = [...this.probes.values()].flatMap((p) => p.loops);
    const finished = Promise.all(loops);
    // A probe still waiting after the migration is done waits on someone else: cancel it.
    const waited = await Promise.race([finished.then(() => true), sleep(5_000).then(() => false)]);
    if (!waited) {
      const pids = [...this.probes.values()].flatMap((p) => p.clients).map((c) => (c as unknown as { processID?: number }).processID).filter((p): p is number => typeof p === 'number');
      if (pids.length) await this.poller.query('SELECT pg_cancel_backend(p) FROM unnest($1::int[]) AS p', [pids]).catch(() => undefined);
      await finished;
    }
    await this.poller.end().catch(() => undefined);
    if (this.failure) throw this.failure;
    return { locks: [...this.spans.values()], waits: this.waits, probed: [...this.probes.keys()] };
  }
}

