/**
 * The backfill scenario of issue 18 on 3,000,000 rows: `drydock backfill` (the built CLI, default
 * pacing) is SIGKILLed in the middle, then run again with --resume. Every matching row must be
 * updated exactly once (a counter column), rows inserted ahead of the cursor while it runs included;
 * a probe session must never see a backfill transaction (and so its row locks) older than 0.5 s; and
 * single-row updates made by another session while it runs must never wait longer than the longest batch.
 */
import { execa } from 'execa';
import pg from 'pg';
import { expect, it } from 'vitest';

import { CLI_PATH, runCli } from '../helpers/cli.js';
import { testScope } from '../helpers/scope.js';

const scope = testScope();
const ROWS = 3_000_000;

/** What the other sessions saw while a backfill ran. */
interface Watch {
  /** The oldest backfill transaction the probe saw (ms). */
  longestBatchMs: number;
  /** The longest single-row UPDATE of the "app" session (ms), and how many it made. */
  longestAppUpdateMs: number;
  appUpdates: number;
  inserted: number;
  stop(): Promise<void>;
}

/** Start the probe and the app session on `url`; `insertFrom` > 0 also inserts rows ahead of the cursor. */
async function watch(url: string, insertFrom: number): Promise<Watch> {
  const probe = new pg.Client({ connectionString: url, application_name: 'test probe' });
  const app = new pg.Client({ connectionString: url, application_name: 'test app' });
  await probe.connect();
  await app.connect();
  let running = true;
  const w: Watch = { longestBatchMs: 0, longestAppUpdateMs: 0, appUpdates: 0, inserted: 0, stop: async () => {} };
  const probing = (async () => {
    while (running) {
      const { rows } = await probe.query<{ ms: number | null }>(
        "SELECT max(extract(epoch FROM clock_timestamp() - xact_start) * 1000)::float8 AS ms FROM pg_stat_activity WHERE application_name = 'drydock backfill' AND xact_start IS NOT NULL AND state <> 'idle'",
      );
      w.longestBatchMs = Math.max(w.longestBatchMs, rows[0]?.ms ?? 0);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const updating = (async () => {
    while (running) {
      // A row just ahead of the last committed batch: most likely in the batch running now.
      const { rows } = await app.query<{ last: string | null }>("SELECT (SELECT last_key[1] FROM drydock_backfills WHERE table_name = 'public.items') AS last").catch(() => ({ rows: [{ last: null }] }));
      const id = Number(rows[0]?.last ?? 0) + 500;
      const t0 = performance.now();
      await app.query('UPDATE items SET payload = payload WHERE id = $1', [id]);
      w.longestAppUpdateMs = Math.max(w.longestAppUpdateMs, performance.now() - t0);
      w.appUpdates += 1;
      if (insertFrom > 0 && w.inserted < 1000) {
        await app.query('INSERT INTO items (id, payload) SELECT g, md5(g::text) FROM generate_series($1::int, $2::int) g', [insertFrom + w.inserted, insertFrom + w.inserted + 99]);
        w.inserted += 100;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  w.stop = async () => {
    running = false;
    await Promise.all([probing, updating]);
    await probe.end();
    await app.end();
  };
  return w;
}

it('backfills 3M rows: SIGKILL in the middle, --resume, every matching row updated exactly once, batches under 0.5 s, app updates never wait longer than a batch', async () => {
  const d = await scope.db('bf_3m');
  await d.query(`CREATE TABLE items (id bigint PRIMARY KEY, payload text NOT NULL, counter int NOT NULL DEFAULT 0)`);
  await d.query(`INSERT INTO items (id, payload) SELECT g, md5(g::text) FROM generate_series(1, ${ROWS}) g`);
  await d.query('VACUUM ANALYZE items');
  const args = ['backfill', 'items', '--set', 'counter = counter + 1', '--where', 'id % 7 <> 0', '--url', d.url];

  // First run: killed with SIGKILL once about a third of the table is done.
  const first = await watch(d.url, ROWS + 1);
  const child = execa(process.execPath, [CLI_PATH, ...args], { reject: false, env: { CI: 'true' } });
  const progressed = async () => Number((await d.query<{ n: string | null }>("SELECT (SELECT rows_scanned FROM drydock_backfills) AS n").catch(() => ({ rows: [{ n: null }] }))).rows[0]?.n ?? 0);
  for (let i = 0; i < 1200 && (await progressed()) < ROWS / 3; i++) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGKILL');
  const killed = await child;
  expect(killed.signal).toBe('SIGKILL');
  await first.stop();
  // The server rolls back the batch the killed process left open once it notices the closed connection.
  for (let i = 0; i < 100 && (await d.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'drydock backfill'")).rowCount; i++) await new Promise((r) => setTimeout(r, 50));

  const p = (await d.query<{ last: string; updated: string; finished: boolean }>('SELECT last_key[1] AS last, rows_updated AS updated, finished_at IS NOT NULL AS finished FROM drydock_backfills')).rows[0]!;
  expect(p.finished).toBe(false);
  const last = Number(p.last);
  expect(last).toBeGreaterThan(ROWS / 4);
  expect(last).toBeLessThan(ROWS);
  // The progress row is exactly what was committed: every matching row up to the key, none after it.
  const at = (await d.query<{ done: string; behind: string; ahead: string; twice: string }>(
    `SELECT count(*) FILTER (WHERE counter = 1) AS done, count(*) FILTER (WHERE id <= $1 AND id % 7 <> 0 AND counter <> 1) AS behind,
            count(*) FILTER (WHERE id > $1 AND counter <> 0) AS ahead, count(*) FILTER (WHERE counter > 1) AS twice FROM items`,
    [last],
  )).rows[0]!;
  expect({ done: Number(at.done), behind: Number(at.behind), ahead: Number(at.ahead), twice: Number(at.twice) }).toEqual({ done: Number(p.updated), behind: 0, ahead: 0, twice: 0 });

  // Second run: --resume, to the end.
  const second = await watch(d.url, 0);
  const resumed = await runCli([...args, '--resume', '--json'], { timeoutMs: 300_000 });
  await second.stop();
  expect(resumed.exitCode, resumed.stderr).toBe(0);
  const summary = JSON.parse(resumed.stdout) as { resumed: boolean; rowsUpdated: number; totalRowsUpdated: number; longestBatchMs: number; batches: number };
  expect(summary.resumed).toBe(true);

  const totals = (await d.query<{ rows: string; matching: string; once: string; untouched: string; other: string }>(
    `SELECT count(*) AS rows, count(*) FILTER (WHERE id % 7 <> 0) AS matching, count(*) FILTER (WHERE id % 7 <> 0 AND counter = 1) AS once,
            count(*) FILTER (WHERE id % 7 = 0 AND counter = 0) AS untouched, count(*) FILTER (WHERE counter NOT IN (0, 1)) AS other FROM items`,
  )).rows[0]!;
  // The 1000 rows inserted during the first run (ids above the cursor) were backfilled too.
  expect(Number(totals.rows)).toBe(ROWS + first.inserted);
  expect(first.inserted).toBe(1000);
  expect(Number(totals.once)).toBe(Number(totals.matching));
  expect(Number(totals.untouched)).toBe(Number(totals.rows) - Number(totals.matching));
  expect(Number(totals.other)).toBe(0);
  expect(summary.totalRowsUpdated).toBe(Number(totals.matching));
  expect(summary.rowsUpdated).toBe(Number(totals.matching) - Number(p.updated));

  // Row locks: no backfill transaction the probe saw lasted 0.5 s; the app's single-row updates, made
  // right ahead of the cursor, never waited longer than the longest batch (plus their own round trip).
  const longestBatch = Math.max(first.longestBatchMs, second.longestBatchMs);
  const longestApp = Math.max(first.longestAppUpdateMs, second.longestAppUpdateMs);
  console.log(`3M scenario: longest batch seen by the probe ${Math.round(longestBatch)} ms (drydock's own: ${summary.longestBatchMs} ms); longest app update ${Math.round(longestApp)} ms over ${first.appUpdates + second.appUpdates} updates; ${summary.batches} batches after resume`);
  expect(first.appUpdates + second.appUpdates).toBeGreaterThan(50);
  expect(longestBatch).toBeGreaterThan(0);
  expect(longestBatch).toBeLessThan(500);
  expect(summary.longestBatchMs).toBeLessThan(500);
  expect(longestApp).toBeLessThan(Math.max(longestBatch, summary.longestBatchMs) + 50);
}, 600_000);
