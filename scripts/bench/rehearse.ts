/**
 * `npm run bench:rehearse`: what `drydock rehearse` costs against the same work done by hand, in the
 * same run, interleaved, on the pull benchmark's production database (scripts/bench/pull-data.ts).
 *
 * Set-up (untimed): the production database (--size-gb, default 0.5), a working copy of it made by
 * `drydock pull --from-url` (which keeps the `pristine` snapshot rehearse resets from), a schema file
 * of production (`drydock schema dump`, what a review app would load), and six typical migrations:
 *
 *   1. add a nullable column                      (safe)
 *   2. CREATE INDEX CONCURRENTLY on posts          (safe: reads and writes go on)
 *   3. CREATE INDEX on comments, not concurrently  (blocking: writes wait for the build)
 *   4. a type change that rewrites events          (blocking: reads and writes wait)
 *   5. a batched backfill of posts (DO, COMMIT per 10,000 rows, outside a transaction)
 *   6. a foreign key added NOT VALID, then VALIDATE CONSTRAINT (outside one transaction)
 *
 * Then, --rounds times, interleaved (rotating who goes first):
 *
 *   A. `drydock rehearse --to W --dir D --block-threshold 50ms --json` (a threshold low enough that a
 *      blocking build is blocking at every --size-gb): reset, the six migrations measured one by one with lock
 *      polling and probe sessions, rolled back newest first and applied again with schema comparisons,
 *      the fresh-database comparison, reset again;
 *   B. by hand, the same work with the plain commands: `drydock snapshot restore pristine`,
 *      `drydock migrate up`, `drydock migrate down --steps 6`, `drydock migrate up` (four processes).
 *
 * Reports medians, rehearse / by hand, rehearse's own overhead (A − B: what the measurements, the
 * schema comparisons and the final reset add), and the migrations' own statement time (from the
 * rehearsal's JSON), with the 1-minute load average at every run: measure on a quiet machine.
 * Each rehearsal's JSON is checked: six migrations with the expected verdicts, and the copy reset.
 *
 * Flags: --size-gb N (0.5), --keep-data (reuse a matching production database), --rounds N (3),
 * --warmup N (0), --json. DRYDOCK_BENCH_DATABASE_URL picks the server. Everything it creates (the
 * working database and its snapshots, scratch folders, the production database unless --keep-data)
 * is removed at the end, on failure and on Ctrl-C.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';

import { withDatabase, type DbUrl } from '../../src/pg/url.js';
import { ensureProdDatabase } from './pull-data.js';
import {
  benchServer,
  CLI,
  commandLine,
  dropDatabase,
  dropWithDrydockCopies,
  envWithout,
  formatMs,
  formatRatio,
  formatTable,
  makeScratchDir,
  parseFlags,
  print,
  printHeader,
  progress,
  progressDone,
  removeDir,
  requireBuiltCli,
  round,
  roundSamples,
  runInterleaved,
  runMain,
  spawnTimed,
  spawnTimedOk,
  STATS_HEADER,
  statsRow,
  summarize,
  toJson,
  type Subject,
  versionAt,
  withCleanup,
} from './lib.js';

const USAGE = 'usage: tsx scripts/bench/rehearse.ts [--size-gb 0.5] [--keep-data] [--rounds N] [--warmup N] [--json]';

interface Options {
  sizeGb: number;
  keepData: boolean;
  rounds: number;
  warmup: number;
  json: boolean;
}

function parseOptions(): Options {
  const values = parseFlags(USAGE, {
    'size-gb': { type: 'string', default: '0.5' },
    'keep-data': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  });
  const sizeGb = Number(values['size-gb']);
  if (!(sizeGb > 0 && sizeGb <= 20)) throw new Error(`--size-gb must be a number in (0, 20], not "${values['size-gb']}"\n${USAGE}`);
  const whole = (flag: string, value: string, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be a whole number ≥ ${min}, not "${value}"\n${USAGE}`);
    return n;
  };
  return { sizeGb, keepData: values['keep-data'], rounds: whole('rounds', values.rounds, 1), warmup: whole('warmup', values.warmup, 0), json: values.json };
}

/** The six migrations: name, the verdict a rehearsal must give, the file's text. */
const MIGRATIONS: ReadonlyArray<{ name: string; verdict: string; text: string }> = [
  {
    name: 'add_users_last_seen_at',
    verdict: 'safe',
    text: '-- migrate:up\nALTER TABLE users ADD COLUMN last_seen_at timestamptz;\n\n-- migrate:down\nALTER TABLE users DROP COLUMN last_seen_at;\n',
  },
  {
    name: 'index_posts_created_at_concurrently',
    verdict: 'safe',
    text: '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY posts_created_at_idx ON posts (created_at);\n\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY IF EXISTS posts_created_at_idx;\n',
  },
  {
    name: 'index_comments_created_at',
    verdict: 'blocking',
    text: '-- migrate:up\nCREATE INDEX comments_created_at_idx ON comments (created_at);\n\n-- migrate:down\nDROP INDEX comments_created_at_idx;\n',
  },
  {
    name: 'events_user_id_to_integer',
    verdict: 'blocking',
    text: '-- migrate:up\nALTER TABLE events ALTER COLUMN user_id TYPE integer;\n\n-- migrate:down\nALTER TABLE events ALTER COLUMN user_id TYPE bigint;\n',
  },
  {
    name: 'backfill_posts_body_length',
    verdict: 'safe',
    text: [
      '-- migrate:up transaction:false',
      'ALTER TABLE posts ADD COLUMN body_length integer;',
      'DO $$',
      'DECLARE',
      '  last_id bigint := 0;',
      '  max_id bigint;',
      'BEGIN',
      '  SELECT coalesce(max(id), 0) INTO max_id FROM posts;',
      '  WHILE last_id < max_id LOOP',
      '    UPDATE posts SET body_length = length(body) WHERE id > last_id AND id <= last_id + 10000;',
      '    last_id := last_id + 10000;',
      '    COMMIT;',
      '  END LOOP;',
      'END',
      '$$;',
      '',
      '-- migrate:down transaction:false',
      'ALTER TABLE posts DROP COLUMN body_length;',
      '',
    ].join('\n'),
  },
  {
    name: 'events_user_id_foreign_key',
    verdict: 'safe',
    text: [
      '-- migrate:up transaction:false',
      'ALTER TABLE events ADD CONSTRAINT events_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;',
      'ALTER TABLE events VALIDATE CONSTRAINT events_user_id_fkey;',
      '',
      '-- migrate:down',
      'ALTER TABLE events DROP CONSTRAINT events_user_id_fkey;',
      '',
    ].join('\n'),
  },
];

interface RehearsalJson {
  migrations: Array<{ file: string; verdict: string; durationMs: number; statements: Array<{ durationMs: number }> }>;
  resetAfterwards: boolean;
  reversible: { ok: boolean };
}

async function main(): Promise<void> {
  const options = parseOptions();
  requireBuiltCli('bench:rehearse');
  const server = benchServer();
  await withCleanup(async (cleanup) => {
    const machine = await printHeader(server);
    const prodName = 'drydock_bench_rehearse_prod';
    const work = `drydock_bench_rehearse_work_${process.pid}`;
    if (!options.keepData) cleanup.add(`drop database ${prodName}`, () => dropDatabase(server, prodName));
    cleanup.add(`drop ${work} and its snapshots`, () => dropWithDrydockCopies(server, [work]));
    const prod = await ensureProdDatabase({ server, name: prodName, sizeGb: options.sizeGb, keep: options.keepData, log: print });

    const appDir = await makeScratchDir('drydock-bench-rehearse-');
    cleanup.add(`remove ${appDir}`, () => removeDir(appDir));
    const dir = join(appDir, 'migrations');
    await mkdir(dir, { recursive: true });
    for (const [i, m] of MIGRATIONS.entries()) await writeFile(join(dir, `${versionAt(i)}_${m.name}.sql`), m.text);
    const env = envWithout(/^DRYDOCK_|^DATABASE_URL$|^HEROKU_/, { CI: 'true', DRYDOCK_LOCAL_DATABASE_URL: server.href, DRYDOCK_CACHE_DIR: join(appDir, 'cache') });
    const workUrl: DbUrl = withDatabase(server, work);

    print(`setup: drydock pull --from-url ${prodName} --to ${work} (keeps the pristine snapshot), and db/schema.sql of production`);
    await spawnTimedOk('drydock pull (setup)', process.execPath, [CLI, 'pull', '--from-url', prod.url.href, '--to', work], { cwd: appDir, env });
    await spawnTimedOk('drydock schema dump (setup)', process.execPath, [CLI, 'schema', 'dump', '--url', prod.url.href, '-o', join(appDir, 'db/schema.sql')], { cwd: appDir, env });

    const loads = new Map<string, number[]>();
    const noteLoad = (name: string): void => void loads.set(name, [...(loads.get(name) ?? []), loadavg()[0] ?? 0]);
    const statementMs: number[] = [];
    const REHEARSE = 'drydock rehearse';
    const BY_HAND = 'by hand: reset + up + down + up';
    const subjects: Subject[] = [
      {
        name: REHEARSE,
        async run() {
          noteLoad(REHEARSE);
          const result = await spawnTimed(process.execPath, [CLI, 'rehearse', '--to', work, '--dir', dir, '--block-threshold', '50ms', '--json'], { cwd: appDir, env });
          if (result.code !== 0 && result.code !== 1) throw new Error(`drydock rehearse exited with ${result.code}\n${result.stderr.slice(-3000)}`);
          const report = JSON.parse(result.stdout) as RehearsalJson;
          const got = report.migrations.map((m) => m.verdict);
          const want = MIGRATIONS.map((m) => m.verdict);
          if (got.join() !== want.join()) throw new Error(`drydock rehearse gave the verdicts ${got.join(', ')}, expected ${want.join(', ')}\n${result.stdout.slice(0, 4000)}`);
          if (!report.resetAfterwards) throw new Error('drydock rehearse did not reset the working database afterwards');
          statementMs.push(report.migrations.reduce((sum, m) => sum + m.statements.reduce((s, x) => s + x.durationMs, 0), 0));
          return result.ms;
        },
      },
      {
        name: BY_HAND,
        async run() {
          noteLoad(BY_HAND);
          let ms = await spawnTimedOk('snapshot restore', process.execPath, [CLI, 'snapshot', 'restore', 'pristine', '--to', work], { cwd: appDir, env });
          ms += await spawnTimedOk('migrate up', process.execPath, [CLI, 'migrate', 'up', '--dir', dir, '--url', workUrl.href, '--lint', 'off'], { cwd: appDir, env });
          ms += await spawnTimedOk('migrate down', process.execPath, [CLI, 'migrate', 'down', '--steps', String(MIGRATIONS.length), '--dir', dir, '--url', workUrl.href], { cwd: appDir, env });
          ms += await spawnTimedOk('migrate up again', process.execPath, [CLI, 'migrate', 'up', '--dir', dir, '--url', workUrl.href, '--lint', 'off'], { cwd: appDir, env });
          return ms;
        },
      },
    ];
    const samples = await runInterleaved(subjects, { rounds: options.rounds, warmup: options.warmup, onRound: (r) => progress(`round ${r + 1}/${options.rounds}`) });
    progressDone();

    const rehearse = summarize(samples.get(REHEARSE)!);
    const byHand = summarize(samples.get(BY_HAND)!);
    const statements = summarize(statementMs.slice(-options.rounds));
    const overheadMs = rehearse.median - byHand.median;
    const loadOf = (name: string): string => (loads.get(name) ?? []).map((l) => l.toFixed(2)).join(' ');
    print();
    print(`database  ${prod.name}: ${(prod.bytes / 1e9).toFixed(2)} GB, ${(Object.entries(prod.rows) as Array<[string, number]>).map(([t, n]) => `${t} ${n.toLocaleString('en-US')}`).join(', ')}`);
    print(`rounds    ${options.rounds} measured after ${options.warmup} warm-up, interleaved`);
    print();
    print(
      formatTable(
        [...STATS_HEADER, 'load'],
        [
          [...statsRow(REHEARSE, rehearse), loadOf(REHEARSE)],
          [...statsRow(BY_HAND, byHand), loadOf(BY_HAND)],
          [...statsRow("the migrations' own statements (first up)", statements), ''],
        ],
      ),
    );
    print();
    print(`drydock rehearse / by hand, median wall: ${formatRatio(rehearse.median / byHand.median)}`);
    print(`rehearse's overhead over the same work by hand: ${formatMs(overheadMs)} (lock polling, probes, per-statement measures, schema dumps and comparisons, the fresh database, the final reset)`);
    if (options.json) {
      print(
        toJson({
          command: commandLine(),
          machine,
          database: { name: prod.name, bytes: prod.bytes, rows: prod.rows },
          rounds: options.rounds,
          rehearse,
          byHand,
          statements,
          ratio: round(rehearse.median / byHand.median, 3),
          overheadMs: round(overheadMs, 0),
          samplesMs: roundSamples(samples),
          loads: Object.fromEntries(loads),
        }),
      );
    }
  });
}

runMain('bench:rehearse failed', main);
