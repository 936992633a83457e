/**
 * `npm run bench:lint`: how fast `drydock lint` reads migrations.
 *
 * Writes --files realistic migration files (default 1,000: drydock migrations, Rails, Django,
 * Prisma, Knex and Drizzle SQL, DO blocks, functions, safe and unsafe) into a scratch folder, then,
 * interleaved round by round:
 *
 * 1. `node dist/cli.js lint DIR --format json`: the whole run a CI job pays (startup, loading the
 *    WebAssembly parser, reading, parsing and linting every file, rendering), checked to report every file;
 * 2. `node dist/cli.js --version`: the process startup floor, for reference;
 * 3. lintFiles() in this process: parsing and linting alone, parser already loaded.
 *
 * Reports medians and files per second. Flags: --files N (1000), --rounds N (7), --warmup N (1), --json.
 * Needs no database.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { arch, availableParallelism, cpus, platform } from 'node:os';
import { join } from 'node:path';

import { lintFiles } from '../../src/lint/lint.js';
import { ensureParser } from '../../src/sql/parse.js';
import {
  CLI,
  commandLine,
  elapsedMs,
  formatMs,
  formatTable,
  makeScratchDir,
  parseFlags,
  print,
  progress,
  progressDone,
  removeDir,
  requireBuiltCli,
  round,
  roundSamples,
  roundStats,
  runInterleaved,
  runMain,
  spawnTimed,
  STATS_HEADER,
  statsRow,
  summarize,
  toJson,
  type Subject,
  versionAt,
  wholeNumber,
  withCleanup,
} from './lib.js';

const USAGE = 'usage: tsx scripts/bench/lint.ts [--files N] [--rounds N] [--warmup N] [--json]';

interface Options {
  files: number;
  rounds: number;
  warmup: number;
  json: boolean;
}

function parseOptions(): Options {
  const values = parseFlags(USAGE, {
    files: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  });
  const count = (flag: string, value: string, min: number): number => wholeNumber(flag, value, min, USAGE);
  return { files: count('files', values.files, 1), rounds: count('rounds', values.rounds, 1), warmup: count('warmup', values.warmup, 0), json: values.json };
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

async function writeCorpus(dir: string, count: number): Promise<number> {
  await mkdir(dir, { recursive: true });
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const style = i % STYLES.length;
    const text = STYLES[style]!(`t${i}`, i);
    bytes += Buffer.byteLength(text);
    // drydock migrations (the first four styles) need a version; the rest are named like their tools name them.
    const name = style < 4 ? `${versionAt(i)}_bench_${i}.sql` : `${String(i).padStart(5, '0')}_bench.sql`;
    await writeFile(join(dir, name), text);
  }
  return bytes;
}

async function main(): Promise<void> {
  const options = parseOptions();
  requireBuiltCli('bench:lint');
  await withCleanup(async (cleanup) => {
    const scratch = await makeScratchDir('drydock-bench-lint-');
    cleanup.add(`remove ${scratch}`, () => removeDir(scratch));
    const dir = join(scratch, 'migrations');
    const bytes = await writeCorpus(dir, options.files);
    await ensureParser();

    let lastReport: { files: number; errors: number } | undefined;
    const subjects: Subject[] = [
      {
        name: `drydock lint (CLI, ${options.files} files)`,
        async run() {
          const run = await spawnTimed(process.execPath, [CLI, 'lint', dir, '--format', 'json'], { cwd: scratch, env: { ...process.env, CI: 'true' } });
          if (run.code !== 0 && run.code !== 1) throw new Error(`drydock lint exited with ${run.code}\n${run.stderr.slice(-2000)}`);
          const json = JSON.parse(run.stdout) as { files: unknown[]; errors: number };
          lastReport = { files: json.files.length, errors: json.errors };
          if (json.files.length !== options.files) throw new Error(`drydock lint reported ${json.files.length} files, expected ${options.files}`);
          return run.ms;
        },
      },
      {
        name: 'drydock --version (startup floor)',
        async run() {
          const run = await spawnTimed(process.execPath, [CLI, '--version'], { cwd: scratch });
          if (run.code !== 0) throw new Error(`drydock --version exited with ${run.code}\n${run.stderr.slice(-2000)}`);
          return run.ms;
        },
      },
      {
        name: 'lintFiles() in process',
        async run() {
          const start = process.hrtime.bigint();
          const result = await lintFiles([dir], { pgVersion: 15, cwd: scratch });
          const ms = elapsedMs(start);
          if (result.files.length !== options.files) throw new Error(`lintFiles linted ${result.files.length} files`);
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

    const stats = subjects.map((s) => ({ name: s.name, stats: summarize(samples.get(s.name)!) }));
    const cli = stats[0]!.stats;
    const inProcess = stats[2]!.stats;
    const filesPerSecond = options.files / (cli.median / 1000);
    const filesPerSecondInProcess = options.files / (inProcess.median / 1000);

    print(`drydock lint benchmark: ${commandLine()}`);
    print(`node      ${process.version} (${platform()} ${arch()}), ${availableParallelism()} × ${cpus()[0]?.model.trim() ?? 'unknown cpu'}`);
    print(`corpus    ${options.files} files, ${(bytes / 1024).toFixed(0)} KiB, ${STYLES.length} styles; ${lastReport?.errors ?? '?'} error findings`);
    print(`rounds    ${options.rounds} measured after ${options.warmup} warm-up, interleaved`);
    print();
    print(formatTable(STATS_HEADER, stats.map((s) => statsRow(s.name, s.stats))));
    print();
    print(`drydock lint: ${options.files} files in ${formatMs(cli.median)} (median, whole CLI run): ${Math.round(filesPerSecond).toLocaleString('en-US')} files/s`);
    print(`parse + lint alone: ${Math.round(filesPerSecondInProcess).toLocaleString('en-US')} files/s (${formatMs(inProcess.median)})`);
    print(cli.median < 2000 ? 'target met: the whole run takes well under two seconds' : 'TARGET MISSED: the whole run should take under two seconds');
    if (options.json) {
      print(
        toJson({
          files: options.files,
          bytes,
          rounds: options.rounds,
          warmup: options.warmup,
          filesPerSecond: round(filesPerSecond, 0),
          filesPerSecondInProcess: round(filesPerSecondInProcess, 0),
          subjects: Object.fromEntries(stats.map((s) => [s.name, roundStats(s.stats)])),
          samplesMs: roundSamples(samples),
        }),
      );
    }
    if (cli.median >= 2000) process.exitCode = 1;
  });
}

runMain('bench:lint failed', main, { stack: true });
