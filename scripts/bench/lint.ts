/**
 * `npm run bench:lint`: how fast `drydock lint` reads migrations, against squawk on the same files.
 *
 * Builds one corpus in a scratch folder: --files synthetic migrations (default 300: drydock, Rails,
 * Django, Prisma, Knex and Drizzle SQL, DO blocks, functions, safe and unsafe), the repository's own
 * realistic corpus (test/fixtures/lint, scripts/demo/migrations), and with --real DIR every `*.sql`
 * of a real migration history (e.g. a checkout of ory/kratos's persistence/sql/migrations/sql). Then,
 * interleaved round by round (rotating who goes first):
 *
 * 1. `node dist/cli.js lint DIR --format json`: the whole run a CI job pays (startup, loading the
 *    WebAssembly parser, reading, parsing and linting every file, rendering), checked to report every file;
 * 2. `squawk --reporter json FILES` (squawk-cli, installed on first use into node_modules/.cache: its native binary, then the same through
 *    the npm package's `squawk` bin, a node wrapper that spawns it), on exactly the same files;
 * 3. `node dist/cli.js --version`: drydock's process startup floor, for reference;
 * 4. lintFiles() in this process: parsing and linting alone, parser already loaded.
 *
 * Reports medians, the ratio drydock / squawk, and the 1-minute load average at every run (the
 * machine may be shared: interleaving keeps the ratio fair, the load says how noisy the absolute
 * numbers are). Target (issue 14): drydock at most 2× squawk as its npm package runs it (`npx squawk`:
 * the node wrapper, then the binary), since both then pay a Node start-up; the ratio to the bare
 * binary is printed too (no Node CLI gets within 2× of it: Node alone starts in ~60 ms). Flags: --files N (300), --real DIR, --write-corpus DIR (write the corpus there and exit, to profile on it),
 * --rounds N (7), --warmup N (1), --json. Needs no database.
 */
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg, arch, availableParallelism, cpus, platform } from 'node:os';
import { basename, join, relative } from 'node:path';

import { lintFiles } from '../../src/lint/lint.js';
import { ensureParser } from '../../src/sql/parse.js';
import {
  CLI,
  commandLine,
  elapsedMs,
  formatMs,
  formatRatio,
  formatTable,
  makeScratchDir,
  parseFlags,
  print,
  progress,
  progressDone,
  removeDir,
  requireBuiltCli,
  ROOT,
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
  type Subject,
  versionAt,
  wholeNumber,
  withCleanup,
} from './lib.js';

const USAGE = 'usage: tsx scripts/bench/lint.ts [--files N] [--real DIR] [--rounds N] [--warmup N] [--json] [--write-corpus DIR]';

interface Options {
  files: number;
  real: string | undefined;
  rounds: number;
  warmup: number;
  json: boolean;
  /** Only write the corpus into this folder (to profile `drydock lint` on it) and exit. */
  writeCorpus: string | undefined;
}

function parseOptions(): Options {
  const values = parseFlags(USAGE, {
    files: { type: 'string', default: '300' },
    real: { type: 'string' },
    rounds: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    'write-corpus': { type: 'string' },
  });
  const count = (flag: string, value: string, min: number): number => wholeNumber(flag, value, min, USAGE);
  return { files: count('files', values.files, 0), real: values.real, rounds: count('rounds', values.rounds, 1), warmup: count('warmup', values.warmup, 0), json: values.json, writeCorpus: values['write-corpus'] };
}

/** Migration bodies in the styles of the tools that write them; `t` varies the names. */
const STYLES: Array<(t: string, i: number) => string> = [
  (t) => `-- migrate:up\nCREATE TABLE ${t} (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  account_id bigint NOT NULL REFERENCES accounts (id),\n  title text NOT NULL,\n  payload jsonb NOT NULL DEFAULT '{}',\n  created_at timestamptz NOT NULL DEFAULT now()\n);\nCREATE INDEX ${t}_account_id_idx ON ${t} (account_id);\n\n-- migrate:down\nDROP TABLE ${t};\n`,
  (t) => `-- migrate:up\n-- A nullable column: catalog only.\nALTER TABLE ${t} ADD COLUMN archived_at timestamptz;\nALTER TABLE ${t} ADD COLUMN flags integer NOT NULL DEFAULT 0;\n\n-- migrate:down\nALTER TABLE ${t} DROP COLUMN flags, DROP COLUMN archived_at;\n`,
  (t) => `-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY IF NOT EXISTS ${t}_created_at_idx ON ${t} (created_at) WHERE archived_at IS NULL;\n\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY IF EXISTS ${t}_created_at_idx;\n`,
  (t) => `-- migrate:up\nCREATE INDEX ${t}_title_idx ON ${t} (title);\nALTER TABLE ${t} ALTER COLUMN title SET NOT NULL;\nALTER TABLE ${t} ADD CONSTRAINT ${t}_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id);\nUPDATE ${t} SET flags = 1;\n\n-- migrate:down\nDROP INDEX ${t}_title_idx;\n`,
  (t) => `BEGIN;\nALTER TABLE "${t}" ADD "admin" boolean DEFAULT FALSE NOT NULL;\nCREATE INDEX "index_${t}_on_admin" ON "${t}" ("admin");\nALTER TABLE "${t}" ADD CONSTRAINT "fk_rails_${t}" FOREIGN KEY ("user_id") REFERENCES "users" ("id");\nCOMMIT;\n`,
  (t) => `BEGIN;\n--\n-- Add field rating to ${t}\n--\nALTER TABLE "core_${t}" ADD COLUMN "rating" smallint DEFAULT 0 NOT NULL;\nALTER TABLE "core_${t}" ALTER COLUMN "rating" DROP DEFAULT;\n--\n-- Alter field name on ${t}\n--\nALTER TABLE "core_${t}" ALTER COLUMN "name" TYPE varchar(500) USING "name"::varchar(500);\nCOMMIT;\n`,
  (t) => `-- AlterTable\nALTER TABLE "${t}" ADD COLUMN     "bio" TEXT,\nADD COLUMN     "updatedAt" TIMESTAMP(3) NOT NULL;\n\n-- CreateIndex\nCREATE UNIQUE INDEX "${t}_email_key" ON "${t}"("email");\n\n-- AddForeignKey\nALTER TABLE "${t}" ADD CONSTRAINT "${t}_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Org"("id") ON DELETE RESTRICT ON UPDATE CASCADE;\n`,
  (t) => `alter table "${t}" add column "account_id" integer;\nalter table "${t}" add constraint "${t}_account_id_foreign" foreign key ("account_id") references "accounts" ("id");\ncreate index "${t}_account_id_index" on "${t}" ("account_id");\n`,
  (t) => `CREATE TABLE IF NOT EXISTS "${t}" (\n\t"id" serial PRIMARY KEY NOT NULL,\n\t"author_id" integer NOT NULL\n);\n--> statement-breakpoint\nDO $$ BEGIN\n ALTER TABLE "${t}" ADD CONSTRAINT "${t}_author_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE no action;\nEXCEPTION\n WHEN duplicate_object THEN null;\nEND $$;\n`,
  (t) => `SET lock_timeout = '5s';\nCREATE OR REPLACE FUNCTION ${t}_touch() RETURNS trigger LANGUAGE plpgsql AS $fn$\nBEGIN\n  NEW.updated_at := now(); -- a ';' in a comment\n  RETURN NEW;\nEND\n$fn$;\nCREATE TRIGGER ${t}_touch BEFORE UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${t}_touch();\nCOMMENT ON TABLE ${t} IS 'it''s a table; with semicolons';\n`,
];

/** `*.sql` files under `dir`, recursively, sorted. */
function sqlFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.sql'))
    .sort()
    .map((name) => join(dir, name));
}

/** The repository's realistic migrations: the lint corpus (one file that does not parse left out) and the demo app's. */
function repositoryCorpus(): string[] {
  return [...sqlFilesUnder(join(ROOT, 'test/fixtures/lint')).filter((f) => basename(f) !== 'broken.sql' && !f.endsWith('.down.sql')), ...sqlFilesUnder(join(ROOT, 'scripts/demo/migrations'))];
}

/** The corpus, flat in `dir` (so both tools see the same list): synthetic files, the repository's, and --real's. */
async function writeCorpus(dir: string, options: Options): Promise<{ synthetic: number; repository: number; real: number }> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < options.files; i++) {
    const style = i % STYLES.length;
    const text = STYLES[style]!(`t${i}`, i);
    // drydock migrations (the first four styles) need a version; the rest are named like their tools name them.
    const name = style < 4 ? `${versionAt(i)}_bench_${i}.sql` : `${String(i).padStart(5, '0')}_bench.sql`;
    await writeFile(join(dir, name), text);
  }
  // Copied under names that keep drydock's reading of them (a `-- migrate:up` file stays a drydock migration).
  const copy = (files: string[], prefix: string, root: string): number => {
    for (const file of files) copyFileSync(file, join(dir, `${prefix}_${relative(root, file).replace(/[\\/]/g, '_')}`));
    return files.length;
  };
  const repository = copy(repositoryCorpus(), 'repo', ROOT);
  let real = 0;
  if (options.real !== undefined) {
    if (!existsSync(options.real)) throw new Error(`--real ${options.real}: no such folder`);
    real = copy(
      sqlFilesUnder(options.real).filter((f) => !/(^|[._])down\.sql$/.test(basename(f))),
      'real',
      options.real,
    );
  }
  return { synthetic: options.files, repository, real };
}

/** The squawk version the benchmark compares against. */
const SQUAWK_VERSION = '2.66.0';

/**
 * squawk-cli's native binary and its npm bin (a node wrapper that spawns the binary), installed on first
 * use into node_modules/.cache (not a devDependency: its lockfile entries for other platforms would make
 * `npm ci` fail wherever the registry serves only this platform's binary package).
 */
async function squawkCommands(): Promise<{ binary: string; npmBin: string }> {
  const prefix = join(ROOT, 'node_modules/.cache/drydock-bench/squawk', SQUAWK_VERSION);
  const binary = join(prefix, `node_modules/@squawk-cli/${platform()}-${arch()}/bin/squawk`);
  const npmBin = join(prefix, 'node_modules/squawk-cli/js/bin/squawk');
  if (!existsSync(binary) || !existsSync(npmBin)) {
    progress(`installing squawk-cli@${SQUAWK_VERSION} into ${prefix}`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const install = await spawnTimed(npm, ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix, `squawk-cli@${SQUAWK_VERSION}`]);
    progressDone();
    if (install.code !== 0 || !existsSync(binary)) throw new Error(`could not install squawk-cli@${SQUAWK_VERSION}:\n${install.stderr.slice(-2000)}`);
  }
  return { binary, npmBin };
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (options.writeCorpus !== undefined) {
    const counts = await writeCorpus(options.writeCorpus, options);
    print(`wrote ${counts.synthetic + counts.repository + counts.real} files to ${options.writeCorpus}`);
    return;
  }
  requireBuiltCli('bench:lint');
  const squawk = await squawkCommands();
  await withCleanup(async (cleanup) => {
    const scratch = await makeScratchDir('drydock-bench-lint-');
    cleanup.add(`remove ${scratch}`, () => removeDir(scratch));
    const dir = join(scratch, 'migrations');
    const counts = await writeCorpus(dir, options);
    const files = sqlFilesUnder(dir);
    const bytes = files.reduce((sum, f) => sum + readFileSync(f).length, 0);
    await ensureParser();

    // Untimed: both tools must read the same files.
    const squawkVersion = (await spawnTimed(squawk.binary, ['--version'])).stdout.trim();
    const check = await spawnTimed(squawk.binary, files, { cwd: scratch });
    const checked = /checked (\d+) source files/.exec(check.stdout + check.stderr)?.[1];
    if (Number(checked) !== files.length) throw new Error(`squawk checked ${checked ?? '?'} files, expected ${files.length}\n${check.stderr.slice(-2000)}`);

    const loads = new Map<string, number[]>();
    const noteLoad = (name: string): void => {
      loads.set(name, [...(loads.get(name) ?? []), loadavg()[0] ?? 0]);
    };
    let lastReport: { files: number; errors: number } | undefined;
    const DRYDOCK = `drydock lint (CLI)`;
    const SQUAWK = `squawk ${squawkVersion.replace(/^squawk\s*/, '')} (binary)`;
    const SQUAWK_NPM = 'squawk (npm bin: node wrapper + binary)';
    const subjects: Subject[] = [
      {
        name: DRYDOCK,
        async run() {
          noteLoad(DRYDOCK);
          const run = await spawnTimed(process.execPath, [CLI, 'lint', dir, '--format', 'json'], { cwd: scratch, env: { ...process.env, CI: 'true' } });
          if (run.code !== 0 && run.code !== 1) throw new Error(`drydock lint exited with ${run.code}\n${run.stderr.slice(-2000)}`);
          const json = JSON.parse(run.stdout) as { files: unknown[]; errors: number };
          lastReport = { files: json.files.length, errors: json.errors };
          if (json.files.length !== files.length) throw new Error(`drydock lint reported ${json.files.length} files, expected ${files.length}`);
          return run.ms;
        },
      },
      {
        name: SQUAWK,
        async run() {
          noteLoad(SQUAWK);
          const run = await spawnTimed(squawk.binary, ['--reporter', 'json', ...files], { cwd: scratch });
          if (run.code !== 0 && run.code !== 1) throw new Error(`squawk exited with ${run.code}\n${run.stderr.slice(-2000)}`);
          JSON.parse(run.stdout);
          return run.ms;
        },
      },
      {
        name: SQUAWK_NPM,
        async run() {
          noteLoad(SQUAWK_NPM);
          const run = await spawnTimed(process.execPath, [squawk.npmBin, '--reporter', 'json', ...files], { cwd: scratch });
          if (run.code !== 0 && run.code !== 1) throw new Error(`squawk (npm bin) exited with ${run.code}\n${run.stderr.slice(-2000)}`);
          return run.ms;
        },
      },
      {
        name: 'drydock --version (startup floor)',
        async run() {
          noteLoad('drydock --version (startup floor)');
          const run = await spawnTimed(process.execPath, [CLI, '--version'], { cwd: scratch });
          if (run.code !== 0) throw new Error(`drydock --version exited with ${run.code}\n${run.stderr.slice(-2000)}`);
          return run.ms;
        },
      },
      {
        name: 'lintFiles() in process',
        async run() {
          noteLoad('lintFiles() in process');
          const start = process.hrtime.bigint();
          const result = await lintFiles([dir], { pgVersion: 15, cwd: scratch });
          const ms = elapsedMs(start);
          if (result.files.length !== files.length) throw new Error(`lintFiles linted ${result.files.length} files`);
          return ms;
        },
      },
    ];

    const samples = await runInterleaved(subjects, {
      rounds: options.rounds,
      warmup: options.warmup,
      onRound: (r) => progress(`round ${r + 1}/${options.rounds}`),
    });
    progressDone();

    const stats = subjects.map((s) => ({ name: s.name, stats: summarize(samples.get(s.name)!), load: summarize(loads.get(s.name)!.slice(-options.rounds)) }));
    const byName = (name: string) => stats.find((s) => s.name === name)!.stats;
    const cli = byName(DRYDOCK);
    const ratio = cli.median / byName(SQUAWK).median;
    const ratioNpm = cli.median / byName(SQUAWK_NPM).median;
    const inProcess = byName('lintFiles() in process');
    const allLoads = [...loads.values()].flatMap((l) => l.slice(-options.rounds));

    print(`drydock lint benchmark: ${commandLine()}`);
    print(`node      ${process.version} (${platform()} ${arch()}), ${availableParallelism()} × ${cpus()[0]?.model.trim() ?? 'unknown cpu'}`);
    print(`load      1-minute load average during the measured runs: median ${summarize(allLoads).median.toFixed(2)}, ${Math.min(...allLoads).toFixed(2)} to ${Math.max(...allLoads).toFixed(2)}`);
    print(`corpus    ${files.length} files, ${(bytes / 1024).toFixed(0)} KiB: ${counts.synthetic} synthetic, ${counts.repository} from this repository${options.real ? `, ${counts.real} from ${options.real}` : ''}; drydock: ${lastReport?.errors ?? '?'} error findings`);
    print(`rounds    ${options.rounds} measured after ${options.warmup} warm-up, interleaved`);
    print();
    print(formatTable([...STATS_HEADER, 'load'], stats.map((s) => [...statsRow(s.name, s.stats), s.load.median.toFixed(2)])));
    print();
    print(`drydock / squawk via its npm bin (npx squawk), median wall: ${formatRatio(ratioNpm)}   (drydock / squawk's binary alone: ${formatRatio(ratio)})`);
    print(`drydock lint: ${files.length} files in ${formatMs(cli.median)}; parse + lint alone ${formatMs(inProcess.median)} (${Math.round(files.length / (inProcess.median / 1000)).toLocaleString('en-US')} files/s)`);
    print(ratioNpm <= 2 ? 'target met: drydock takes at most 2× squawk (npm package)' : 'TARGET MISSED: drydock should take at most 2× squawk (npm package)');
    if (options.json) {
      print(
        toJson({
          files: files.length,
          corpus: counts,
          bytes,
          rounds: options.rounds,
          warmup: options.warmup,
          ratioToSquawk: round(ratio, 2),
          ratioToSquawkNpm: round(ratioNpm, 2),
          subjects: Object.fromEntries(stats.map((s) => [s.name, { ...roundStats(s.stats), loadAverage1m: round(s.load.median, 2) }])),
          samplesMs: roundSamples(samples),
          loadAverage1m: Object.fromEntries([...loads].map(([name, l]) => [name, l.slice(-options.rounds).map((x) => round(x, 2))])),
        }),
      );
    }
    if (ratioNpm > 2) process.exitCode = 1;
  });
}

runMain('bench:lint failed', main, { stack: true });
