/**
 * `npm run bench:dupes`: how fast `drydock dupes` reports the duplicates of a key, against the queries
 * people write by hand, on the same data in the same run.
 *
 * Builds a scratch database with --rows users (default 1,000,000; about 1 % share their twitter_id
 * with another row) and a posts table pointing at them, then, interleaved round by round (rotating
 * who goes first), each on a fresh connection:
 *
 * 1. the report `drydock dupes users twitter_id` makes, in this process (pipelines/dupes.ts: catalog,
 *    reference graph, EXPLAIN, the GROUP BY … HAVING count(*) > 1 summary, the largest groups' rows);
 *    The same with --limit 0: the GROUP BY pass and the catalog alone, without the second look at the
 *    largest groups' rows (a scan of the table when the key has no index);
 * 2. the hand-written GROUP BY: `SELECT twitter_id, count(*) FROM users GROUP BY twitter_id HAVING count(*) > 1`;
 * 3. the row_number() recipe: `SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY twitter_id
 *    ORDER BY created_at, id) AS rn FROM users) s WHERE rn > 1`;
 * 4. `node dist/cli.js dupes users twitter_id --json`, the whole command (Node start-up included), for reference.
 *
 * Reports medians, ratios to the hand-written GROUP BY and the 1-minute load average at every run.
 * Target (issue 17): the report at most 1.1× the hand-written GROUP BY.
 * Flags: --rows N (1000000), --rounds N (7), --warmup N (1), --json.
 */
import { loadavg } from 'node:os';

import { dupes, type DupesRequest } from '../../src/pipelines/dupes.js';
import { Output } from '../../src/output.js';
import {
  benchServer,
  CLI,
  dropDatabase,
  formatMs,
  formatRatio,
  formatTable,
  parseFlags,
  print,
  printHeader,
  progress,
  progressDone,
  recreateDatabase,
  requireBuiltCli,
  round,
  roundSamples,
  roundStats,
  runInterleaved,
  runMain,
  spawnTimed,
  statsRow,
  STATS_HEADER,
  summarize,
  toJson,
  wholeNumber,
  withCleanup,
  withConnection,
  type Subject,
} from './lib.js';

const USAGE = 'usage: npm run bench:dupes -- [--rows N (1000000)] [--rounds N (7)] [--warmup N (1)] [--json]';

async function main(): Promise<void> {
  const flags = parseFlags(USAGE, { rows: { type: 'string' }, rounds: { type: 'string' }, warmup: { type: 'string' }, json: { type: 'boolean' } });
  const rows = wholeNumber('rows', flags.rows ?? '1000000', 1000, USAGE);
  const rounds = wholeNumber('rounds', flags.rounds ?? '7', 1, USAGE);
  const warmup = wholeNumber('warmup', flags.warmup ?? '1', 0, USAGE);
  requireBuiltCli('bench:dupes');
  const server = benchServer();
  const machine = flags.json ? undefined : await printHeader(server);
  await withCleanup(async (cleanup) => {
    const name = `drydock_bench_dupes_${process.pid}`;
    cleanup.add(`drop ${name}`, () => dropDatabase(server, name));
    const url = await recreateDatabase(server, name);
    progress(`building ${rows} users …`);
    await withConnection(url, async (client) => {
      await client.query(`
        CREATE TABLE users (id bigint PRIMARY KEY, twitter_id text, email text NOT NULL, created_at timestamptz NOT NULL);
        INSERT INTO users SELECT g, 'tw' || CASE WHEN g % 100 = 0 THEN g - 1 ELSE g END, 'user' || g || '@example.com',
          '2020-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, ${rows}) g;
        CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), body text);
        INSERT INTO posts SELECT g, (g * 7) % ${rows} + 1, 'post ' || g FROM generate_series(1, ${Math.floor(rows / 10)}) g;
`);
      await client.query('VACUUM ANALYZE users');
      await client.query('VACUUM ANALYZE posts');
    });
    progressDone();

    const loads = new Map<string, number[]>();
    const noteLoad = (subject: string): void => {
      loads.set(subject, [...(loads.get(subject) ?? []), loadavg()[0] ?? 0]);
    };
    const request: DupesRequest = { url, table: 'users', key: ['twitter_id'], nullsNotDistinct: false, limit: 5, dir: '.', constraint: false, addForeignKeys: false, batchSize: 5000, lockTimeoutMs: 5000, commandLine: 'bench' };
    const deps = { output: new Output({ json: true }).quieter(), signal: new AbortController().signal, clock: { now: () => Date.now() } };
    let groups: number | undefined;
    const expect = (n: number, who: string): void => {
      if (groups !== undefined && n !== groups) throw new Error(`${who} found ${n} groups, drydock ${groups}`);
    };
    const REPORT = 'drydock dupes report (in-process)';
    const SUMMARY = 'drydock dupes --limit 0 (no group rows)';
    const GROUP_BY = 'hand-written GROUP BY … HAVING';
    const ROW_NUMBER = 'row_number() recipe';
    const CLI_RUN = 'drydock dupes CLI (node start-up included)';
    const subjects: Subject[] = [
      {
        name: REPORT,
        async run() {
          noteLoad(REPORT);
          const start = performance.now();
          const report = await dupes(deps, request);
          const ms = performance.now() - start;
          groups = report.groups;
          return ms;
        },
      },
      {
        name: SUMMARY,
        async run() {
          noteLoad(SUMMARY);
          const start = performance.now();
          const report = await dupes(deps, { ...request, limit: 0 });
          const ms = performance.now() - start;
          expect(report.groups, SUMMARY);
          return ms;
        },
      },
      {
        name: GROUP_BY,
        async run() {
          noteLoad(GROUP_BY);
          const start = performance.now();
          const n = await withConnection(url, async (client) => (await client.query('SELECT twitter_id, count(*) FROM users GROUP BY twitter_id HAVING count(*) > 1')).rowCount ?? 0);
          const ms = performance.now() - start;
          expect(n, GROUP_BY);
          return ms;
        },
      },
      {
        name: ROW_NUMBER,
        async run() {
          noteLoad(ROW_NUMBER);
          const start = performance.now();
          await withConnection(url, (client) => client.query('SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY twitter_id ORDER BY created_at, id) AS rn FROM users WHERE twitter_id IS NOT NULL) s WHERE rn > 1'));
          return performance.now() - start;
        },
      },
      {
        name: CLI_RUN,
        async run() {
          noteLoad(CLI_RUN);
          const run = await spawnTimed(process.execPath, [CLI, 'dupes', 'users', 'twitter_id', '--url', url.href, '--json'], { env: { ...process.env, CI: 'true' } });
          if (run.code !== 1) throw new Error(`drydock dupes exited with ${run.code} (expected 1: duplicates found)\n${run.stderr.slice(-2000)}`);
          return run.ms;
        },
      },
    ];
    const samples = await runInterleaved(subjects, { rounds, warmup, onRound: (r) => progress(`round ${r + 1}/${rounds}`) });
    progressDone();
    const stats = new Map([...samples].map(([k, v]) => [k, summarize(v)]));
    const base = stats.get(GROUP_BY)!.median;
    const ratio = (k: string): number => stats.get(k)!.median / base;
    const meanLoad = (k: string): number => round((loads.get(k) ?? []).reduce((a, b) => a + b, 0) / Math.max(1, loads.get(k)?.length ?? 0), 2);
    if (flags.json) {
      print(toJson({ rows, groups, rounds, warmup, stats: Object.fromEntries([...stats].map(([k, v]) => [k, roundStats(v)])), ratios: Object.fromEntries(subjects.map((s) => [s.name, round(ratio(s.name), 3)])), load: Object.fromEntries([...loads].map(([k, v]) => [k, v.map((x) => round(x, 2))])), samples: roundSamples(samples) }));
      return;
    }
    print(`\n${rows} users, ${groups ?? '?'} duplicate groups; ${rounds} rounds (+${warmup} warm-up), interleaved; fresh connection each run`);
    print(formatTable([...STATS_HEADER, '÷ GROUP BY', 'load'], subjects.map((s) => [...statsRow(s.name, stats.get(s.name)!), formatRatio(ratio(s.name)), String(meanLoad(s.name))])));
    const verdict = ratio(REPORT) <= 1.1 ? 'within' : 'OVER';
    print(`\nreport ÷ hand-written GROUP BY: ${formatRatio(ratio(REPORT))} (${verdict} the 1.1× target); row_number() recipe ÷ report: ${formatRatio(stats.get(ROW_NUMBER)!.median / stats.get(REPORT)!.median)}`);
    print(`medians: report ${formatMs(stats.get(REPORT)!.median)}, GROUP BY ${formatMs(base)}, row_number() ${formatMs(stats.get(ROW_NUMBER)!.median)}; load ${machine?.loadAverage1m ?? '?'} at start`);
  });
}

runMain('bench:dupes', main);
