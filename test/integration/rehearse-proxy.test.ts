/**
 * drydock's PostgreSQL protocol proxy (src/rehearse/proxy.ts) between real clients and the real
 * test server: node-postgres over the simple and the extended protocol, prepared statements, a
 * failing statement in a transaction, big results and big queries, concurrent sessions, and psql
 * (an SSL request, COPY FROM STDIN, a cancel request). The clients must get exactly what the server
 * sent, and the recording must say what ran.
 */
import { EventEmitter } from 'node:events';

import { execa } from 'execa';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { parserSplitter } from '../../src/rehearse/framework.js';
import { WireProxy } from '../../src/rehearse/proxy.js';
import type { SqlSplitter } from '../../src/rehearse/wire-session.js';
import { createTestDb, testServerUrl, type TestDb } from '../helpers/db.js';
import { pgTool } from '../helpers/fidelity.js';

let db: TestDb;
let split: SqlSplitter;
const proxies: WireProxy[] = [];
const upstream = (() => {
  const u = new URL(testServerUrl());
  return { host: u.hostname, port: Number(u.port || 5432) };
})();
const origin = performance.now();
const now = (): number => performance.now() - origin;

async function proxy(options: Partial<Parameters<typeof WireProxy.start>[0]> = {}): Promise<WireProxy> {
  const p = await WireProxy.start({ upstream, now, split, ...options });
  proxies.push(p);
  return p;
}

function proxiedUrl(p: WireProxy): string {
  const u = new URL(db.url);
  u.hostname = p.host;
  u.port = String(p.port);
  return u.toString();
}

async function client(p: WireProxy): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: proxiedUrl(p) });
  await c.connect();
  return c;
}

/**
 * `COPY … FROM STDIN` through node-postgres, as pg-copy-streams does it (reduced to a test's needs): a
 * submittable that answers CopyInResponse with the data in 16 kB CopyData messages and CopyDone.
 */
class CopyFrom extends EventEmitter {
  private tag = '';
  private error: Error | undefined;
  readonly done: Promise<string>;
  private settle!: (outcome: { tag: string } | { error: Error }) => void;

  constructor(
    readonly text: string,
    private readonly data: Buffer,
  ) {
    super();
    this.done = new Promise((resolve, reject) => (this.settle = (o) => ('error' in o ? reject(o.error) : resolve(o.tag))));
  }

  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: { sendCopyFromChunk(b: Buffer): void; endCopyFrom(): void }): void {
    for (let at = 0; at < this.data.length; at += 16_384) connection.sendCopyFromChunk(this.data.subarray(at, at + 16_384));
    connection.endCopyFrom();
  }

  handleCommandComplete(message: { text: string }): void {
    this.tag = message.text;
  }

  handleError(error: Error): void {
    this.error = error;
  }

  handleReadyForQuery(): void {
    this.settle(this.error ? { error: this.error } : { tag: this.tag });
  }
}

/** psql's environment: no PG* variables of the parent, SSL preferred (so it asks for SSL first). */
function psqlEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^PG/.test(k)) env[k] = v;
  return { ...env, PGSSLMODE: 'prefer', PGCONNECT_TIMEOUT: '10' };
}

beforeAll(async () => {
  db = await createTestDb('proxy');
  split = await parserSplitter();
});

afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});

afterAll(async () => {
  await db?.drop();
});

describe('the rehearsal proxy', () => {
  it('forwards the simple and the extended protocol unchanged and records each statement with its outcome', async () => {
    const p = await proxy();
    const c = await client(p);
    try {
      // Simple protocol, several statements in one Query.
      await c.query(`CREATE TABLE items (id int PRIMARY KEY, code text); INSERT INTO items SELECT g, 'c' || g FROM generate_series(1, 5) g`);
      // Extended protocol with a parameter, and a named prepared statement run twice (parsed once).
      expect((await c.query('SELECT code FROM items WHERE id = $1', [3])).rows).toEqual([{ code: 'c3' }]);
      const update = { name: 'set_code', text: 'UPDATE items SET code = $1 WHERE id <= $2' };
      expect((await c.query({ ...update, values: ['x', 2] })).rowCount).toBe(2);
      expect((await c.query({ ...update, values: ['y', 4] })).rowCount).toBe(4);
      // A failing statement inside a transaction, then ROLLBACK.
      await c.query('BEGIN');
      await c.query(`INSERT INTO items VALUES (6, 'six')`);
      const failed = await c.query('INSERT INTO items VALUES ($1, $2)', [1, 'dup']).catch((e: unknown) => e as { code?: string; detail?: string });
      expect(failed).toMatchObject({ code: '23505' });
      await c.query('ROLLBACK');
      // A big result (many DataRows over many TCP chunks) and a big query text (one Query over many chunks).
      const big = await c.query('SELECT g, repeat(md5(g::text), 4) AS pad FROM generate_series(1, 50000) g');
      expect(big.rows).toHaveLength(50000);
      expect(big.rows[49999]).toMatchObject({ g: 50000 });
      expect((big.rows[49999] as { pad: string }).pad).toHaveLength(128);
      const values = Array.from({ length: 3000 }, (_, i) => `(${100 + i}, '${'v'.repeat(60)}${i}')`).join(', ');
      expect((await c.query(`INSERT INTO items VALUES ${values}`)).rowCount).toBe(3000);
      // COPY FROM STDIN: 3 MB of CopyData through the proxy.
      const copy = new CopyFrom('COPY items (id, code) FROM STDIN', Buffer.from(Array.from({ length: 100_000 }, (_, i) => `${10_000 + i}\t${'w'.repeat(20)}${i}\n`).join('')));
      void c.query(copy as unknown as pg.QueryConfig);
      expect(await copy.done).toBe('COPY 100000');
      const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      expect(p.recording.connections[0]!.backendPid).toBe(pid);
    } finally {
      await c.end();
    }
    expect((await db.query<{ n: string }>('SELECT count(*) AS n FROM items')).rows[0]!.n).toBe('103005');

    const s = p.recording.ordered();
    const row = (sql: string) => s.find((x) => x.sql.startsWith(sql))!;
    expect(row('CREATE TABLE items')).toMatchObject({ protocol: 'simple', kind: 'CreateStmt', tag: 'CREATE TABLE', inTransaction: true });
    expect(row(`INSERT INTO items SELECT`)).toMatchObject({ rowCount: 5, kind: 'InsertStmt' });
    // The second statement of the Query starts when the first ended.
    expect(row('INSERT INTO items SELECT').startMs).toBe(row('CREATE TABLE items').endMs);
    expect(row('SELECT code FROM items')).toMatchObject({ protocol: 'extended', params: ['3'], rowCount: 1 });
    expect(s.filter((x) => x.sql.startsWith('UPDATE items')).map((x) => [x.params, x.rowCount])).toEqual([
      [['x', '2'], 2],
      [['y', '4'], 4],
    ]);
    const dup = s.find((x) => x.params?.[1] === 'dup')!;
    expect(dup.error).toMatchObject({ code: '23505', constraint: 'items_pkey', detail: 'Key (id)=(1) already exists.' });
    expect(dup.inTransaction).toBe(true);
    expect(p.recording.transactions[dup.transaction!]).toMatchObject({ outcome: 'rollback' });
    expect(row(`INSERT INTO items VALUES (6`).transaction).toBe(dup.transaction);
    expect(row('INSERT INTO items VALUES (100').rowCount).toBe(3000);
    expect(row('SELECT g, repeat').rowCount).toBe(50000);
    expect(row('COPY items (id, code) FROM STDIN')).toMatchObject({ kind: 'CopyStmt', tag: 'COPY 100000', rowCount: 100000, protocol: 'simple' });
    for (const x of s) expect(x.endMs).toBeGreaterThanOrEqual(x.startMs);
    expect(p.problems).toEqual([]);
    await p.close();
    expect(p.openConnections).toBe(0);
  });

  it('records concurrent sessions apart, and can hold a statement until the caller is ready', async () => {
    const held: string[] = [];
    const p = await proxy({
      beforeStatements: (statements) => {
        if (!statements.some((x) => x.text.includes('pg_sleep(0.3)'))) return undefined;
        held.push(statements[0]!.text);
        return new Promise((r) => setTimeout(r, 200));
      },
    });
    const [a, b] = [await client(p), await client(p)];
    try {
      const started = now();
      await Promise.all([a.query('SELECT pg_sleep(0.3) AS a'), b.query('SELECT pg_sleep(0.2) AS b')]);
      expect(held).toEqual(['SELECT pg_sleep(0.3) AS a']);
      const s = p.recording.ordered().filter((x) => x.sql.includes('pg_sleep'));
      const [sa, sb] = [s.find((x) => x.sql.includes('AS a'))!, s.find((x) => x.sql.includes('AS b'))!];
      expect(sa.connection).not.toBe(sb.connection);
      // The held statement started after the hold (200 ms), the other at once: they overlapped.
      expect(sa.startMs - started).toBeGreaterThanOrEqual(190);
      expect(sb.startMs - started).toBeLessThan(150);
      expect(sa.endMs - sa.startMs).toBeGreaterThanOrEqual(290);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it('keeps forwarding when its own recording fails: the session goes on, unwatched, and the problem is said', async () => {
    const p = await proxy({
      beforeStatements: (statements) => {
        if (statements.some((x) => x.text.includes('boom'))) throw new Error('a bug in the hook');
        return undefined;
      },
    });
    const c = await client(p);
    try {
      expect((await c.query(`SELECT 'boom' AS x`)).rows).toEqual([{ x: 'boom' }]);
      expect((await c.query('SELECT $1::int + 1 AS y', [41])).rows).toEqual([{ y: 42 }]);
    } finally {
      await c.end();
    }
    expect(p.problems).toEqual([expect.stringContaining('a bug in the hook')]);
    expect(p.recording.statements.some((x) => x.sql.includes('$1::int'))).toBe(false);
  });

  it('answers psql\'s SSL request with N, passes COPY FROM STDIN and a cancel request through', async () => {
    const p = await proxy();
    const psql = await pgTool('psql');
    const url = proxiedUrl(p);
    await db.query('CREATE TABLE IF NOT EXISTS copied (id int, note text)');
    const rows = Array.from({ length: 20000 }, (_, i) => `${i}\tnote ${i}`).join('\n');
    const copy = await execa(psql, [url, '-v', 'ON_ERROR_STOP=1', '-c', 'COPY copied FROM STDIN'], { input: `${rows}\n\\.\n`, env: psqlEnv(), extendEnv: false, reject: false });
    expect(copy.exitCode, copy.stderr).toBe(0);
    expect(copy.stdout).toContain('COPY 20000');
    expect((await db.query<{ n: string }>('SELECT count(*) AS n FROM copied')).rows[0]!.n).toBe('20000');
    const recorded = p.recording.statements.find((x) => x.kind === 'CopyStmt')!;
    expect(recorded).toMatchObject({ tag: 'COPY 20000', rowCount: 20000 });

    // psql cancels the running query on SIGINT through a new connection carrying a CancelRequest.
    const sleeping = execa(psql, [url, '-c', 'SELECT pg_sleep(20)'], { env: psqlEnv(), extendEnv: false, reject: false });
    for (let i = 0; !p.recording.connections.some((c) => c.id > 1 && c.backendPid); i++) {
      if (i > 200) throw new Error('psql never connected');
      await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, 300));
    sleeping.kill('SIGINT');
    const result = await sleeping;
    expect(result.stderr).toContain('canceling statement due to user request');
    const cancelled = p.recording.statements.find((x) => x.sql === 'SELECT pg_sleep(20)')!;
    expect(cancelled.error).toMatchObject({ code: '57014' });
    expect(cancelled.endMs - cancelled.startMs).toBeLessThan(10_000);
    expect(p.problems).toEqual([]);
  });
});
