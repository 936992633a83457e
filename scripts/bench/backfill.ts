/**
 * `npm run bench:backfill`: the same data change made four ways on the same table, in the same run,
 * interleaved round by round (rotating who goes first), each on a fresh copy of the table:
 *
 * 1. one `UPDATE items SET … ` (fast, but every row stays locked until it commits);
 * 2. OFFSET batches, the loop most guides show (`… WHERE id IN (SELECT id … ORDER BY id LIMIT 10000
 *    OFFSET k)`), each batch its own transaction: every batch re-reads the keys before it, so it slows
 *    down as it goes (first round only unless --offset-every-round: it is by far the slowest);
 * 3. hand-written keyset batches of --keyset-batch rows, as guides write them (`UPDATE … FROM (SELECT id
 *    … WHERE id > last ORDER BY id LIMIT n)`: for big batches the planner joins with a sequential scan of
 *    the whole table per batch), and the same with drydock's range predicate (the batch's last key
 *    first, then `UPDATE … WHERE id > last AND id <= bound`: an index range scan), a fixed size each;
 * 4. `drydock backfill items --set …` with its defaults (batches sized to 200 ms), the built CLI as a
 *    child process (its start-up counts).
 *
 * Rows per second are rows / wall time. "Longest lock" is the longest transaction of the session doing
 * the work, measured from outside by a probe session polling pg_stat_activity every 10 ms (the rows a
 * transaction updated stay locked until it ends); for the single UPDATE that is its whole duration.
 *
 * Flags: --rows N (default 3000000), --rounds N (3), --keyset-batch N (20000), --offset-batch N
 * (10000), --offset-every-round, --skip-offset, --json. DRYDOCK_BENCH_DATABASE_URL picks the server.
 * Scratch databases are named drydock_bench_backfill_<pid>[_seed] and dropped at the end, on failure and on Ctrl-C.
 */
import type pg from 'pg';

import { quoteIdent } from '../../src/pg/ident.js';
import { withDatabase, type DbUrl } from '../../src/pg/url.js';
import {
  benchServer,
  CLI,
  type Cleanup,
  dropDatabase,
  envWithout,
  formatRatio,
  formatTable,
  loadAverage1m,
  parseFlags,
  print,
  printHeader,
  progress,
  progressDone,
  requireBuiltCli,
  requireExit0,
  round,
  runInterleaved,
  runMain,
  spawnTimed,
  toJson,
  wholeNumber,
  withCleanup,
  withConnection,
  withServer,
  type Subject,
} from './lib.js';
import { withClient } from '../../src/pg/client.js';

const USAGE = 'usage: tsx scripts/bench/backfill.ts [--rows N] [--rounds N] [--keyset-batch N] [--offset-batch N] [--offset-every-round] [--skip-offset] [--json]';

const SET = 'email_lower = lower(email), n = n + 1';

interface Options {
  rows: number;
  rounds: number;
  keysetBatch: number;
  offsetBatch: number;
  offsetEveryRound: boolean;
  skipOffset: boolean;
  json: boolean;
}

function parseOptions(): Options {
  const v = parseFlags(USAGE, {
    rows: { type: 'string', default: '3000000' },
    rounds: { type: 'string', default: '3' },
    'keyset-batch': { type: 'string', default: '20000' },
    'offset-batch': { type: 'string', default: '10000' },
    'offset-every-round': { type: 'boolean', default: false },
    'skip-offset': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  return {
    rows: wholeNumber('rows', v.rows, 1000, USAGE),
    rounds: wholeNumber('rounds', v.rounds, 1, USAGE),
    keysetBatch: wholeNumber('keyset-batch', v['keyset-batch'], 1, USAGE),
    offsetBatch: wholeNumber('offset-batch', v['offset-batch'], 1, USAGE),
    offsetEveryRound: v['offset-every-round'],
    skipOffset: v['skip-offset'],
    json: v.json,
  };
}

/** One run of one way: wall time, the longest transaction the probe saw, and (batched ways) batch times. */
interface Measure {
  ms: number;
  longestLockMs: number;
  batches: number;
  /** Median batch time in the first and last tenth of the batches (OFFSET's slowdown). */
  firstTenthMs?: number | undefined;
  lastTenthMs?: number | undefined;
}

/**
 * Poll pg_stat_activity every 10 ms for the longest open transaction of sessions named `appName`
 * in `database`, until stopped; returns it in ms.
 */
function lockProbe(server: DbUrl, database: string, appName: string): { stop: () => Promise<number> } {
  let stopped = false;
  let longest = 0;
  const done = withClient(server, async (client) => {
    while (!stopped) {
      const { rows } = await client.query<{ ms: number | null }>(
        `SELECT max(extract(epoch FROM clock_timestamp() - xact_start) * 1000)::float8 AS ms FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND xact_start IS NOT NULL AND state <> 'idle'`,
        [database, appName],
      );
      longest = Math.max(longest, rows[0]?.ms ?? 0);
      await new Promise((r) => setTimeout(r, 10));
    }
  }, { applicationName: 'drydock bench probe' });
  return {
    stop: async () => {
      stopped = true;
      await done;
      return longest;
    },
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2 : Number.NaN;
}

function tenths(times: readonly number[]): { firstTenthMs: number; lastTenthMs: number } {
  const k = Math.max(1, Math.floor(times.length / 10));
  return { firstTenthMs: median(times.slice(0, k)), lastTenthMs: median(times.slice(-k)) };
}

/** Batches on one connection named `appName`: `step(client, state)` runs one batch in autocommit and says whether there was anything left. */
async function batchLoop(url: DbUrl, appName: string, step: (client: pg.Client) => Promise<boolean>): Promise<number[]> {
  return withClient(
    url,
    async (client) => {
      const times: number[] = [];
      for (;;) {
        const t0 = performance.now();
        const more = await step(client);
        if (!more) break;
        times.push(performance.now() - t0);
      }
      return times;
    },
    { applicationName: appName },
  );
}

async function main(): Promise<void> {
  const options = parseOptions();
  requireBuiltCli('bench:backfill');
  const server = benchServer();
  const machine = await printHeader(server);
  await withCleanup(async (cleanup: Cleanup) => {
    const seed = `drydock_bench_backfill_${process.pid}_seed`;
    const work = `drydock_bench_backfill_${process.pid}`;
    cleanup.add(`drop ${work}`, () => dropDatabase(server, work));
    cleanup.add(`drop ${seed}`, () => dropDatabase(server, seed));
    print(`setup: ${options.rows} rows in ${seed}.items (id bigint PRIMARY KEY, email text, email_lower text, n int)`);
    await withServer(server, async (local) => {
      await local.drop(seed);
      await local.admin.query(`CREATE DATABASE ${quoteIdent(seed)}`);
    });
    await withConnection(withDatabase(server, seed), async (c) => {
      await c.query('CREATE TABLE items (id bigint PRIMARY KEY, email text NOT NULL, email_lower text, n int NOT NULL DEFAULT 0)');
      await c.query(`INSERT INTO items SELECT g, 'User' || g || '@Example.com', NULL, 0 FROM generate_series(1, ${options.rows}) g`);
      await c.query('VACUUM ANALYZE items');
    });
    const url = withDatabase(server, work);
    /** A fresh copy of the seed (a file copy), checkpointed, so every run starts from the same state. */
    const fresh = async (): Promise<void> => {
      await withServer(server, async (local) => {
        await local.drop(work);
        await local.admin.query(`CREATE DATABASE ${quoteIdent(work)} TEMPLATE ${quoteIdent(seed)} STRATEGY = FILE_COPY`);
        await local.admin.query('CHECKPOINT');
      });
    };
    const verify = async (name: string): Promise<void> => {
      const n = await withConnection(url, async (c) => Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM items WHERE n = 1 AND email_lower = lower(email)`)).rows[0]!.n));
      if (n !== options.rows) throw new Error(`${name}: ${n} of ${options.rows} rows were updated exactly once`);
    };

    const measures = new Map<string, Measure[]>();
    const record = (name: string, m: Measure): number => {
      if (!measures.has(name)) measures.set(name, []);
      measures.get(name)!.push(m);
      return m.ms;
    };
    const withProbe = async (name: string, appName: string, fn: () => Promise<{ batches: number; times?: number[] }>): Promise<number> => {
      progress(`${name}…`);
      const probe = lockProbe(server, work, appName);
      const t0 = performance.now();
      let result: { batches: number; times?: number[] };
      let longest = 0;
      try {
        result = await fn();
      } finally {
        longest = await probe.stop();
      }
      const ms = performance.now() - t0;
      progressDone();
      return record(name, { ms, longestLockMs: longest, batches: result.batches, ...(result.times ? tenths(result.times) : {}) });
    };

    const subjects: Subject[] = [
      {
        name: 'single UPDATE',
        prepare: fresh,
        run: () =>
          withProbe('single UPDATE', 'bench single', async () => {
            await withClient(url, (c) => c.query(`UPDATE items SET ${SET}`), { applicationName: 'bench single' });
            return { batches: 1 };
          }),
        verify: () => verify('single UPDATE'),
      },
      {
        name: 'keyset batches',
        prepare: fresh,
        run: () =>
          withProbe('keyset batches', 'bench keyset', async () => {
            let last = 0n;
            const times = await batchLoop(url, 'bench keyset', async (c) => {
              const { rows } = await c.query<{ last: string | null }>(
                `WITH batch AS (SELECT id FROM items WHERE id > $1 ORDER BY id LIMIT $2), done AS (UPDATE items SET ${SET} FROM batch WHERE items.id = batch.id RETURNING items.id) SELECT max(id)::text AS last FROM done`,
                [last.toString(), options.keysetBatch],
              );
              if (rows[0]?.last === null || rows[0]?.last === undefined) return false;
              last = BigInt(rows[0].last);
              return true;
            });
            return { batches: times.length, times };
          }),
        verify: () => verify('keyset batches'),
      },
      {
        name: 'keyset, range',
        prepare: fresh,
        run: () =>
          withProbe('keyset, range', 'bench range', async () => {
            let last: string | undefined;
            const times = await batchLoop(url, 'bench range', async (c) => {
              const lower = last === undefined ? '' : 'WHERE id > $2';
              const bound = await c.query<{ hi: string | null }>(`SELECT max(id)::text AS hi FROM (SELECT id FROM items ${lower} ORDER BY id LIMIT $1) b`, last === undefined ? [options.keysetBatch] : [options.keysetBatch, last]);
              const hi = bound.rows[0]?.hi;
              if (hi === null || hi === undefined) return false;
              await c.query(`UPDATE items SET ${SET} WHERE ${last === undefined ? '' : 'id > $2 AND '}id <= $1`, last === undefined ? [hi] : [hi, last]);
              last = hi;
              return true;
            });
            return { batches: times.length, times };
          }),
        verify: () => verify('keyset, range'),
      },
      {
        name: 'drydock backfill',
        prepare: fresh,
        run: () =>
          withProbe('drydock backfill', 'drydock backfill', async () => {
            const args = [CLI, 'backfill', 'items', '--set', SET, '--url', url.href, '--json'];
            const r = await spawnTimed(process.execPath, args, { env: envWithout(/^DRYDOCK_|^DATABASE_URL$/, { CI: 'true' }), timeoutMs: 1_800_000 });
            requireExit0('drydock backfill', r, `node ${args.slice(1).join(' ')}`);
            const summary = JSON.parse(r.stdout) as { batches: number; retries: number };
            return { batches: summary.batches };
          }),
        verify: () => verify('drydock backfill'),
      },
    ];
    if (!options.skipOffset) {
      subjects.splice(1, 0, {
        name: 'OFFSET batches',
        prepare: async (r) => {
          if (r === 0 || options.offsetEveryRound) await fresh();
        },
        run: async (r) => {
          if (r !== 0 && !options.offsetEveryRound) return Number.NaN;
          return withProbe('OFFSET batches', 'bench offset', async () => {
            let offset = 0;
            const times = await batchLoop(url, 'bench offset', async (c) => {
              const res = await c.query(`UPDATE items SET ${SET} WHERE id IN (SELECT id FROM items ORDER BY id LIMIT $1 OFFSET $2)`, [options.offsetBatch, offset]);
              offset += options.offsetBatch;
              return (res.rowCount ?? 0) > 0;
            });
            return { batches: times.length, times };
          });
        },
        verify: async (r) => {
          if (r === 0 || options.offsetEveryRound) await verify('OFFSET batches');
        },
      });
    }

    const loads: number[] = [loadAverage1m()];
    await runInterleaved(subjects, { rounds: options.rounds, onRound: (r) => { loads.push(loadAverage1m()); print(`round ${r + 1}/${options.rounds} done (load ${loadAverage1m()})`); } });

    const summary = [...measures.entries()].map(([name, ms]) => {
      const rate = median(ms.map((m) => (options.rows * 1000) / m.ms));
      return {
        name,
        runs: ms.length,
        rowsPerSecond: Math.round(rate),
        seconds: round(median(ms.map((m) => m.ms)) / 1000, 2),
        longestLockMs: Math.round(median(ms.map((m) => m.longestLockMs))),
        worstLockMs: Math.round(Math.max(...ms.map((m) => m.longestLockMs))),
        batches: Math.round(median(ms.map((m) => m.batches))),
        firstTenthBatchMs: ms[0]?.firstTenthMs !== undefined ? Math.round(median(ms.map((m) => m.firstTenthMs!))) : undefined,
        lastTenthBatchMs: ms[0]?.lastTenthMs !== undefined ? Math.round(median(ms.map((m) => m.lastTenthMs!))) : undefined,
        ratesPerRun: ms.map((m) => Math.round((options.rows * 1000) / m.ms)),
      };
    });
    const single = summary.find((s) => s.name === 'single UPDATE');
    const drydock = summary.find((s) => s.name === 'drydock backfill');
    const ratio = single && drydock ? drydock.rowsPerSecond / single.rowsPerSecond : Number.NaN;
    print();
    print(`${options.rows} rows, ${options.rounds} round(s) (OFFSET: ${options.skipOffset ? 'skipped' : options.offsetEveryRound ? 'every round' : 'first round only'}); medians; load average ${loads.join(' → ')}`);
    print(
      formatTable(
        ['', 'rows/s', 'time', 'longest lock', 'worst lock', 'batches', 'batch: first 10 %', 'last 10 %'],
        summary.map((s) => [
          s.name,
          s.rowsPerSecond.toLocaleString('en-US'),
          `${s.seconds} s`,
          `${(s.longestLockMs / 1000).toFixed(2)} s`,
          `${(s.worstLockMs / 1000).toFixed(2)} s`,
          String(s.batches),
          s.firstTenthBatchMs !== undefined ? `${s.firstTenthBatchMs} ms` : '',
          s.lastTenthBatchMs !== undefined ? `${s.lastTenthBatchMs} ms` : '',
        ]),
      ),
    );
    print();
    print(`drydock backfill / single UPDATE: ${formatRatio(ratio)} the rows per second (target ≥ 0.70×), longest lock ${drydock ? `${(drydock.worstLockMs / 1000).toFixed(2)} s` : '–'} (target ≤ 0.50 s)`);
    if (options.json) print(toJson({ machine, options, loadAverages: loads, summary, ratio: round(ratio, 3) }));
  });
}

runMain('bench:backfill', main);
