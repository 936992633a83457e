/**
 * `npm run bench:release`: what drydock's release phase and migration runner cost, measured against
 * the least a hand-written node + pg script could do, in the same run, interleaved.
 *
 * 1. Release with nothing pending: `node dist/cli.js release` (DATABASE_URL set, CI=true) on a
 *    database with --applied migrations already applied, vs a bare node process that imports pg,
 *    connects once and reads `max(version)` from schema_migrations.
 * 2. Runner overhead per migration: `node dist/cli.js migrate --dir D` applying --migrations trivial
 *    migrations (`SELECT 1;`) to a fresh database, and with an empty folder (the fixed startup cost),
 *    vs a bare node + pg script that applies the same files in one connection, each in its own
 *    BEGIN/COMMIT with an INSERT into a ledger table (and the same script with no files).
 *
 * Flags: --rounds N (part 1, default 15), --runner-rounds N (part 2, default 5), --applied N (20),
 * --migrations N (200), --warmup N (1), --only release|runner, --json (also print a JSON object).
 * DRYDOCK_BENCH_DATABASE_URL picks the server (default postgres://postgres@127.0.0.1:5432/postgres).
 * Scratch databases are named drydock_bench_release_<pid>[_…] and dropped at the end, on failure and on Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import {
  benchServerUrl,
  Cleanup,
  CLI,
  commandLine,
  dropDatabase,
  formatMs,
  formatRatio,
  formatTable,
  machineInfo,
  makeScratchDir,
  print,
  progress,
  progressDone,
  recreateDatabase,
  removeDir,
  renderMachine,
  round,
  roundStats,
  runInterleaved,
  spawnTimedOk,
  STATS_HEADER,
  statsRow,
  summarize,
  withConnection,
  toJson,
  type Stats,
  type Subject,
  wholeNumber,
} from './lib.js';

const USAGE = `usage: tsx scripts/bench/release.ts [--rounds N] [--runner-rounds N] [--applied N] [--migrations N] [--warmup N] [--only release|runner] [--json]`;

interface Options {
  rounds: number;
  runnerRounds: number;
  applied: number;
  migrations: number;
  warmup: number;
  only: 'release' | 'runner' | undefined;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '15' },
      'runner-rounds': { type: 'string', default: '5' },
      applied: { type: 'string', default: '20' },
      migrations: { type: 'string', default: '200' },
      warmup: { type: 'string', default: '1' },
      only: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    print(USAGE);
    process.exit(0);
  }
  const count = (flag: string, value: string, min: number): number => wholeNumber(flag, value, min, USAGE);
  if (values.only !== undefined && values.only !== 'release' && values.only !== 'runner') throw new Error(`--only must be release or runner\n${USAGE}`);
  return {
    rounds: count('rounds', values.rounds, 1),
    runnerRounds: count('runner-rounds', values['runner-rounds'], 1),
    applied: count('applied', values.applied, 1),
    migrations: count('migrations', values.migrations, 1),
    warmup: count('warmup', values.warmup, 0),
    only: values.only,
    json: values.json,
  };
}

/** 14-digit versions one minute apart, as `drydock migrate create` would stamp them. */
function versionAt(index: number): string {
  const d = new Date(Date.UTC(2024, 0, 1, 0, 0, 0) + index * 60_000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** Write `count` migrations into `dir`; `body(i)` gives the up and down SQL. */
async function writeMigrations(dir: string, count: number, body: (i: number) => { up: string; down: string }): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const { up, down } = body(i);
    const name = `${versionAt(i)}_bench_${String(i).padStart(4, '0')}.sql`;
    await writeFile(join(dir, name), `-- migrate:up\n${up}\n\n-- migrate:down\n${down}\n`);
  }
}

/** The environment of drydock's child processes: ours without DRYDOCK_* and DATABASE_URL, plus CI=true (listr2's plain renderer, as on Heroku). */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('DRYDOCK_') || key === 'DATABASE_URL') continue;
    env[key] = value;
  }
  return { ...env, CI: 'true', ...extra };
}

async function countRows(url: string, table: string): Promise<number> {
  return withConnection(url, async (client) => {
    const { rows } = await client.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [table]);
    if (!rows[0]?.present) return 0;
    const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    return Number(result.rows[0]?.n ?? 0);
  });
}

async function expectRows(url: string, table: string, expected: number, who: string): Promise<void> {
  const n = await countRows(url, table);
  if (n !== expected) throw new Error(`${who}: expected ${expected} row(s) in ${table}, found ${n}`);
}

// -------------------------------------------------------------------------------------------------
// Reference scripts: the least a hand-written release step or runner could do with pg.

/** Part 1's reference: connect, read the version, exit. */
const BARE_RELEASE_MJS = `import pg from 'pg';
const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
const { rows } = await client.query('SELECT max(version) AS version FROM schema_migrations');
await client.end();
if (!rows[0]?.version) { console.error('no version'); process.exit(3); }
console.log(rows[0].version);
`;

/** Part 2's reference: a minimal runner, one transaction per file with its ledger row. */
const BARE_RUNNER_MJS = `import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
const dir = process.argv[2];
const files = (await readdir(dir)).filter((f) => /^\\d{14}_[a-z0-9_]+\\.sql$/.test(f)).sort();
const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
await client.query('CREATE TABLE IF NOT EXISTS bench_ledger (version text PRIMARY KEY)');
const applied = new Set((await client.query('SELECT version FROM bench_ledger')).rows.map((r) => r.version));
let ran = 0;
for (const file of files) {
  const version = file.slice(0, 14);
  if (applied.has(version)) continue;
  const text = await readFile(join(dir, file), 'utf8');
  const up = text.split(/^-- migrate:down/m)[0].replace(/^-- migrate:up.*$/m, '');
  await client.query('BEGIN');
  await client.query(up);
  await client.query('INSERT INTO bench_ledger (version) VALUES ($1)', [version]);
  await client.query('COMMIT');
  ran++;
}
await client.end();
console.log(ran);
`;

// -------------------------------------------------------------------------------------------------

interface ReleaseFigures {
  rounds: number;
  warmup: number;
  appliedMigrations: number;
  drydockRelease: Stats;
  bareNode: Stats;
  ratioMedian: number;
  samplesMs: Record<string, number[]>;
}

async function benchRelease(options: Options, serverUrl: string, cleanup: Cleanup): Promise<ReleaseFigures> {
  const database = `drydock_bench_release_${process.pid}`;
  const appDir = await makeScratchDir('drydock-bench-release-');
  cleanup.add(`remove ${appDir}`, () => removeDir(appDir));
  cleanup.add(`drop database ${database}`, () => dropDatabase(serverUrl, database));

  const url = await recreateDatabase(serverUrl, database);
  // An app checkout on Heroku: ./migrations next to the code, release runs in that directory.
  const migrationsDir = join(appDir, 'migrations');
  await writeMigrations(migrationsDir, options.applied, (i) => ({
    up: `CREATE TABLE bench_t_${i} (id bigint PRIMARY KEY, name text NOT NULL);`,
    down: `DROP TABLE bench_t_${i};`,
  }));
  const barePath = join(appDir, 'bare-release.mjs');
  await writeFile(barePath, BARE_RELEASE_MJS);

  print(`setup: applying ${options.applied} migrations to ${database} with \`node dist/cli.js migrate\``);
  await spawnTimedOk('drydock migrate (setup)', process.execPath, [CLI, 'migrate', '--dir', migrationsDir, '--url', url], { cwd: appDir, env: childEnv({}) });
  await expectRows(url, 'schema_migrations', options.applied, 'setup');

  const env = childEnv({ DATABASE_URL: url });
  const subjects: Subject[] = [
    {
      name: 'drydock release',
      run: () => spawnTimedOk('drydock release', process.execPath, [CLI, 'release'], { cwd: appDir, env }),
    },
    {
      name: 'bare node + pg',
      run: () => spawnTimedOk('bare node + pg', process.execPath, [barePath], { cwd: appDir, env }),
    },
  ];
  const samples = await runInterleaved(subjects, {
    rounds: options.rounds,
    warmup: options.warmup,
    onRound: (r) => progress(`  part 1: round ${r + 1}/${options.rounds}`),
  });
  progressDone();
  // Nothing was pending, so nothing may have changed.
  await expectRows(url, 'schema_migrations', options.applied, 'drydock release');

  const drydockRelease = summarize(samples.get('drydock release')!);
  const bareNode = summarize(samples.get('bare node + pg')!);
  return {
    rounds: options.rounds,
    warmup: options.warmup,
    appliedMigrations: options.applied,
    drydockRelease,
    bareNode,
    ratioMedian: drydockRelease.median / bareNode.median,
    samplesMs: Object.fromEntries([...samples].map(([k, v]) => [k, v.map((x) => round(x))])),
  };
}

interface RunnerFigures {
  rounds: number;
  warmup: number;
  migrations: number;
  statement: string;
  drydock: Stats;
  drydockEmpty: Stats;
  bare: Stats;
  bareEmpty: Stats;
  perMigrationMs: { drydock: number; bare: number; ratio: number };
  samplesMs: Record<string, number[]>;
}

async function benchRunner(options: Options, serverUrl: string, cleanup: Cleanup): Promise<RunnerFigures> {
  const n = options.migrations;
  const statement = 'SELECT 1;';
  const scratch = await makeScratchDir('drydock-bench-runner-');
  cleanup.add(`remove ${scratch}`, () => removeDir(scratch));
  const fullDir = join(scratch, `migrations_${n}`);
  const emptyDir = join(scratch, 'migrations_0');
  await writeMigrations(fullDir, n, () => ({ up: statement, down: statement }));
  await mkdir(emptyDir, { recursive: true });
  const barePath = join(scratch, 'bare-runner.mjs');
  await writeFile(barePath, BARE_RUNNER_MJS);

  /** A subject that gets a fresh database before every run (untimed). */
  const subject = (name: string, suffix: string, run: (url: string) => Promise<number>, verify: (url: string) => Promise<void>): Subject => {
    const database = `drydock_bench_release_${process.pid}_${suffix}`;
    cleanup.add(`drop database ${database}`, () => dropDatabase(serverUrl, database));
    let url = '';
    return {
      name,
      prepare: async () => {
        url = await recreateDatabase(serverUrl, database);
      },
      run: () => run(url),
      verify: () => verify(url),
    };
  };
  const drydockMigrate = (dir: string) => (url: string) =>
    spawnTimedOk('drydock migrate', process.execPath, [CLI, 'migrate', '--dir', dir, '--url', url], { cwd: scratch, env: childEnv({}) });
  const bareRunner = (dir: string) => (url: string) => spawnTimedOk('bare runner', process.execPath, [barePath, dir], { cwd: scratch, env: childEnv({ DATABASE_URL: url }) });

  const names = { drydock: `drydock migrate, ${n}`, drydockEmpty: 'drydock migrate, 0', bare: `bare node + pg, ${n}`, bareEmpty: 'bare node + pg, 0' };
  const subjects: Subject[] = [
    subject(names.drydock, 'd_full', drydockMigrate(fullDir), (url) => expectRows(url, 'schema_migrations', n, names.drydock)),
    subject(names.bare, 'b_full', bareRunner(fullDir), (url) => expectRows(url, 'bench_ledger', n, names.bare)),
    subject(names.drydockEmpty, 'd_empty', drydockMigrate(emptyDir), (url) => expectRows(url, 'schema_migrations', 0, names.drydockEmpty)),
    subject(names.bareEmpty, 'b_empty', bareRunner(emptyDir), (url) => expectRows(url, 'bench_ledger', 0, names.bareEmpty)),
  ];
  const samples = await runInterleaved(subjects, {
    rounds: options.runnerRounds,
    warmup: options.warmup,
    onRound: (r) => progress(`  part 2: round ${r + 1}/${options.runnerRounds}`),
  });
  progressDone();

  const drydock = summarize(samples.get(names.drydock)!);
  const drydockEmpty = summarize(samples.get(names.drydockEmpty)!);
  const bare = summarize(samples.get(names.bare)!);
  const bareEmpty = summarize(samples.get(names.bareEmpty)!);
  const perDrydock = (drydock.median - drydockEmpty.median) / n;
  const perBare = (bare.median - bareEmpty.median) / n;
  return {
    rounds: options.runnerRounds,
    warmup: options.warmup,
    migrations: n,
    statement,
    drydock,
    drydockEmpty,
    bare,
    bareEmpty,
    perMigrationMs: { drydock: perDrydock, bare: perBare, ratio: perDrydock / perBare },
    samplesMs: Object.fromEntries([...samples].map(([k, v]) => [k, v.map((x) => round(x))])),
  };
}

// -------------------------------------------------------------------------------------------------

function renderRelease(f: ReleaseFigures): string {
  return [
    `1. release with nothing pending (${f.appliedMigrations} applied migrations), ${f.rounds} rounds interleaved, ${f.warmup} warm-up; wall time per process`,
    formatTable(STATS_HEADER, [
      statsRow('drydock release', f.drydockRelease),
      statsRow('bare node + pg (connect, 1 query)', f.bareNode),
    ]),
    `  ratio median(release) / median(bare node): ${formatRatio(f.ratioMedian)}   (release costs ${formatMs(f.drydockRelease.median - f.bareNode.median)} more)`,
  ].join('\n');
}

function renderRunner(f: RunnerFigures): string {
  return [
    `2. runner overhead: ${f.migrations} trivial migrations (\`${f.statement}\` up and down), ${f.rounds} rounds interleaved, ${f.warmup} warm-up, fresh database per run; wall time per process`,
    formatTable(STATS_HEADER, [
      statsRow(`drydock migrate, ${f.migrations} pending`, f.drydock),
      statsRow('drydock migrate, 0 (fixed cost)', f.drydockEmpty),
      statsRow(`bare node + pg, ${f.migrations} (BEGIN; sql; INSERT ledger; COMMIT)`, f.bare),
      statsRow('bare node + pg, 0', f.bareEmpty),
    ]),
    '',
    formatTable(
      ['per migration = (median(N) − median(0)) / N', 'ms'],
      [
        ['drydock', formatMs(f.perMigrationMs.drydock)],
        ['bare node + pg', formatMs(f.perMigrationMs.bare)],
        ['ratio drydock / bare', formatRatio(f.perMigrationMs.ratio)],
      ],
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm run bench:release does)');
  const serverUrl = benchServerUrl();
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers();
  const started = process.hrtime.bigint();
  try {
    print(`$ ${commandLine()}`);
    const machine = await machineInfo(serverUrl);
    print(renderMachine(machine));
    if (options.rounds < 10 && options.only !== 'runner') print(`note: --rounds ${options.rounds} is below 10; medians will be noisy`);
    print();

    let releaseFigures: ReleaseFigures | undefined;
    let runnerFigures: RunnerFigures | undefined;
    if (options.only !== 'runner') {
      releaseFigures = await benchRelease(options, serverUrl, cleanup);
      print();
      print(renderRelease(releaseFigures));
      print();
    }
    if (options.only !== 'release') {
      runnerFigures = await benchRunner(options, serverUrl, cleanup);
      print(renderRunner(runnerFigures));
      print();
    }
    const totalS = Number(process.hrtime.bigint() - started) / 1e9;
    print(`total ${totalS.toFixed(1)} s`);

    if (options.json) {
      const json = {
        benchmark: 'release',
        command: commandLine(),
        machine,
        release: releaseFigures && {
          rounds: releaseFigures.rounds,
          warmup: releaseFigures.warmup,
          appliedMigrations: releaseFigures.appliedMigrations,
          drydockReleaseMs: roundStats(releaseFigures.drydockRelease),
          bareNodeMs: roundStats(releaseFigures.bareNode),
          ratioMedian: round(releaseFigures.ratioMedian, 3),
          samplesMs: releaseFigures.samplesMs,
        },
        runner: runnerFigures && {
          rounds: runnerFigures.rounds,
          warmup: runnerFigures.warmup,
          migrations: runnerFigures.migrations,
          statement: runnerFigures.statement,
          drydockMs: roundStats(runnerFigures.drydock),
          drydockEmptyMs: roundStats(runnerFigures.drydockEmpty),
          bareMs: roundStats(runnerFigures.bare),
          bareEmptyMs: roundStats(runnerFigures.bareEmpty),
          perMigrationMs: {
            drydock: round(runnerFigures.perMigrationMs.drydock, 3),
            bare: round(runnerFigures.perMigrationMs.bare, 3),
            ratio: round(runnerFigures.perMigrationMs.ratio, 3),
          },
          samplesMs: runnerFigures.samplesMs,
        },
        totalSeconds: round(totalS, 1),
      };
      print(toJson(json));
    }
  } finally {
    await cleanup.run();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:release failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
