/**
 * `drydock lint [paths…]`: report every operation in SQL migrations that is unsafe on a large,
 * busy production table, with the reason and the safe way to do the same thing.
 *
 * Exit codes: 0 no error findings (warnings may be printed), 1 at least one error finding,
 * 2 drydock could not do the job (an unreadable path, a bad flag, an unreachable --url).
 */
import { existsSync } from 'node:fs';

import type { Command } from 'commander';

import { resolveDatabaseUrl } from '../config.js';
import type { Deps } from '../deps.js';
import { ChecksFailed, ConfigError } from '../errors.js';
import type { LintRun } from '../lint/lint.js';
import { DEFAULT_PG_VERSION, LINT_FORMATS, type LintFormat } from '../lint/settings.js';
import { withClient } from '../pg/client.js';
import { readServerVersion } from '../pg/queries/server-facts.js';
import { majorOrder, parseVersion } from '../pg/version.js';
import { resolveMigrateSetup } from './migrate.js';

/** Flags of `drydock lint`. */
export interface LintFlags {
  down?: boolean | undefined;
  assumeInTransaction?: boolean | undefined;
  pgVersion?: string | undefined;
  url?: string | undefined;
  format?: string | undefined;
  dir?: string | undefined;
  startAfter?: string | undefined;
}

/** Parse a Postgres version as given by a person ("15", "15.4", "9.6") into a release-ordered major. */
export function parsePgVersion(value: string | number, source: string): number {
  const parsed = parseVersion(String(value));
  const order = parsed ? majorOrder(parsed.major) : Number.NaN;
  if (!parsed || !(order >= 9 && order < 60)) {
    throw new ConfigError(`${source} must be a PostgreSQL major version like 15 or 9.6, not "${value}"`, { hint: `for example ${source.startsWith('--') ? `${source} 16` : '16'}` });
  }
  return order;
}

/** Production's Postgres major: --pg-version, else the server at --url, else DRYDOCK_PG_VERSION, drydock.json pgVersion, 15. */
export async function resolveLintPgVersion(deps: Deps, flags: { pgVersion?: string | undefined; url?: string | undefined }, projectPgVersion?: number): Promise<number> {
  if (flags.pgVersion !== undefined) return parsePgVersion(flags.pgVersion, '--pg-version');
  if (flags.url !== undefined) {
    const url = resolveDatabaseUrl(flags.url, deps.config.env);
    const version = await withClient(url, (client) => readServerVersion(client), { applicationName: 'drydock lint' });
    return majorOrder(version.major);
  }
  const env = deps.config.env.DRYDOCK_PG_VERSION;
  if (env !== undefined && env.trim() !== '') return parsePgVersion(env, 'DRYDOCK_PG_VERSION');
  if (projectPgVersion !== undefined) return parsePgVersion(projectPgVersion, 'drydock.json "pgVersion"');
  return DEFAULT_PG_VERSION;
}

function parseFormat(value: string | undefined, json: boolean): LintFormat {
  if (json) return 'json';
  if (value === undefined) return 'text';
  if (!(LINT_FORMATS as readonly string[]).includes(value)) {
    throw new ConfigError(`--format must be one of ${LINT_FORMATS.join(', ')}, not "${value}"`, { hint: 'for example --format github in GitHub Actions' });
  }
  return value as LintFormat;
}

/** Lint files and folders (default: the migrations folder); returns the run (does not print). */
export async function lint(deps: Deps, paths: string[], flags: LintFlags): Promise<LintRun> {
  // The linter (rules, parser) is loaded on demand: other commands never pay for its start-up.
  const { displayPath, lintFiles } = await import('../lint/lint.js');
  const setup = resolveMigrateSetup(deps, { dir: flags.dir }, { needUrl: false });
  if (flags.startAfter !== undefined && !/^\d{1,14}$/.test(flags.startAfter)) {
    throw new ConfigError(`--start-after must be a migration version (digits), not "${flags.startAfter}"`, { hint: 'for example --start-after 20260101000000' });
  }
  let targets = paths;
  if (!targets.length) {
    if (!existsSync(setup.dir)) {
      throw new ConfigError(`the migrations directory ${displayPath(setup.dir)} does not exist`, {
        hint: 'pass the SQL files or folders to lint, or set the folder with --dir, DRYDOCK_MIGRATIONS_DIR or drydock.json "migrationsDir"',
      });
    }
    targets = [setup.dir];
  }
  const pgVersion = await resolveLintPgVersion(deps, flags, setup.project.pgVersion);
  return lintFiles(targets, {
    pgVersion,
    down: flags.down,
    assumeInTransaction: flags.assumeInTransaction,
    startAfter: flags.startAfter,
  });
}

async function renderRuleList(): Promise<{ rules: Array<{ id: string; severity: string; summary: string }>; text: string }> {
  const { BUILTIN_CHECKS, RULES } = await import('../lint/rules/index.js');
  const width = Math.max(...RULES.map((r) => r.id.length), ...Object.keys(BUILTIN_CHECKS).map((k) => k.length));
  const lines = RULES.map((r) => `${r.id.padEnd(width)}  ${r.severity.padEnd(7)}  ${r.summary}`);
  lines.push('', 'Reported by the linter itself:');
  for (const [id, summary] of Object.entries(BUILTIN_CHECKS)) lines.push(`${id.padEnd(width)}  ${(id === 'unused-suppression' ? 'warning' : 'error').padEnd(7)}  ${summary}`);
  return { rules: RULES.map((r) => ({ id: r.id, severity: r.severity, summary: r.summary })), text: lines.join('\n') };
}

/** Register `drydock lint`. */
export function registerLint(program: Command, run: (action: (deps: Deps) => Promise<void>) => Promise<void>): void {
  program
    .command('lint [paths...]')
    .description('report operations in SQL migrations that lock or lose data on a busy production table')
    .option('--down', 'also lint down sections (and *.down.sql files in folders)')
    .option('--assume-in-transaction', 'plain .sql files run inside a transaction (Flyway, psql -1)')
    .option('--pg-version <version>', "production's Postgres major (default: the server's with --url, else DRYDOCK_PG_VERSION, drydock.json pgVersion, 15)")
    .option('--url <url>', "read production's Postgres version from this database")
    .option('--format <format>', `output format: ${LINT_FORMATS.join(', ')} (github: Actions annotations)`)
    .option('--dir <dir>', 'migrations folder linted when no paths are given (default: drydock.json migrationsDir, else ./migrations)')
    .option('--start-after <version>', 'skip migrations whose version is at or before this one (already deployed)')
    .option('--explain <rule>', 'print the documentation of a rule')
    .option('--list-rules', 'list the rules')
    .addHelpText(
      'after',
      [
        '',
        'A drydock migration (with `-- migrate:up`) is linted per section; its runner sets lock_timeout and,',
        'unless `transaction:false`, wraps each section in a transaction. Any other .sql file is plain SQL,',
        'run statement by statement: explicit BEGIN … COMMIT counts, and so does SET lock_timeout.',
        '',
        'Mark a reviewed statement as safe with a comment directly above it (the reason is required):',
        '  -- drydock:safe ban-drop-column nothing reads it since release 142',
        '',
        'Exit codes: 0 no errors (warnings may be shown), 1 an unsafe operation was found, 2 drydock could not lint.',
        'Examples:',
        '  drydock lint',
        '  drydock lint migrations/20260301000000_add_index.sql --pg-version 16',
        '  drydock lint db/migrate --format github',
      ].join('\n'),
    )
    .action(async (paths: string[], opts: LintFlags & { explain?: string; listRules?: boolean }) => {
      await run(async (deps) => {
        if (opts.explain !== undefined) {
          const { readRuleDoc } = await import('../lint/docs.js');
          const doc = await readRuleDoc(opts.explain);
          deps.output.result({ rule: opts.explain, docs: doc }, (r) => r.docs);
          return;
        }
        if (opts.listRules) {
          const list = await renderRuleList();
          deps.output.result(list.rules, () => list.text);
          return;
        }
        const format = parseFormat(opts.format, deps.config.json);
        const result = await lint(deps, paths, opts);
        const { lintJson, renderLint } = await import('../lint/report.js');
        if (!result.files.length) deps.output.warn(`no SQL files found in ${paths.length ? paths.join(', ') : 'the migrations folder'}`);
        deps.output.result(lintJson(result), () => renderLint(result, format));
        if (result.errors) {
          const files = new Set(result.findings.filter((f) => f.severity === 'error').map((f) => f.file)).size;
          throw new ChecksFailed(`lint found ${result.errors} unsafe operation${result.errors === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}`, lintJson(result), {
            hint: 'make them safe as each help shows, or mark a reviewed statement with `-- drydock:safe <rule> <reason>` above it',
          });
        }
      });
    });
}
