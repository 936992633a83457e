/**
 * `drydock dupes TABLE KEY`: the duplicates a unique index on KEY would refuse, which row of each
 * group survives under --keep and why, what points at them; --generate writes the migrations that fix
 * them (pipelines/dupes.ts).
 *
 * Exit codes: 0 no duplicates, or the migrations were written; 1 duplicates found (a report only), or
 * the rule cannot resolve some groups; 2 could not look (bad input, no such table, no database).
 */
import { Option, type Command } from 'commander';

import { ChecksFailed, ConfigError } from '../errors.js';
import { dupes, resolveDupesUrl } from '../pipelines/dupes.js';
import { renderDupes } from '../dupes/report.js';
import { DURATION_RANGES, parseCount, parseDuration } from '../settings.js';
import { migrateSettings } from './migrate.js';
import { localOption } from './options.js';
import type { RunCommand } from './run.js';

interface DupesFlags {
  url?: string;
  to?: string;
  local?: string;
  where?: string;
  keep?: string;
  nullsNotDistinct?: boolean;
  limit?: string;
  generate?: string;
  dir?: string;
  constraint?: boolean;
  addForeignKeys?: boolean;
  batchSize?: string;
  lockTimeout?: string;
}

/** The command line as the generated files' header shows it (no URL: it may hold a password). */
function commandLine(table: string, key: string[], opts: DupesFlags): string {
  const quote = (s: string) => (/^[A-Za-z0-9_.,-]+$/.test(s) ? s : `"${s.replace(/(["\\$`])/g, '\\$1')}"`);
  const parts = ['drydock dupes', quote(table), ...key.map(quote)];
  if (opts.where) parts.push('--where', quote(opts.where));
  if (opts.keep) parts.push('--keep', quote(opts.keep));
  if (opts.nullsNotDistinct) parts.push('--nulls-not-distinct');
  if (opts.constraint) parts.push('--constraint');
  if (opts.addForeignKeys) parts.push('--add-foreign-keys');
  if (opts.generate) parts.push('--generate', quote(opts.generate));
  return parts.join(' ');
}

/** Register `drydock dupes`. */
export function registerDupes(program: Command, run: RunCommand): void {
  program
    .command('dupes <table> <key...>')
    .description('find the duplicates a unique index on KEY would refuse, what points at them, and --generate the migrations that merge them')
    .option('--url <url>', 'the database to look in (default: the working database, --to)')
    .option('--to <name|url>', 'the working database from `drydock pull` (default: the app name with _ for -)')
    .addOption(localOption())
    .option('--where <sql>', 'only rows matching this condition: the unique index is partial (WHERE …)')
    .option('--keep <rule>', 'which row of a group survives: oldest (default), newest, most-referenced, or "ORDER BY …" (the first row)')
    .option('--nulls-not-distinct', 'NULL keys collide, as in a NULLS NOT DISTINCT unique index (PostgreSQL 15+); by default they never do')
    .option('--limit <n>', 'how many of the largest groups to show with their rows (default 5)')
    .option('--generate <name>', 'write the migrations into the migrations folder: <name>_prepare, <name>, <name>_unique_index')
    .addOption(new Option('--dir <dir>', 'migrations folder (default: drydock.json migrationsDir, else ./migrations)').env('DRYDOCK_MIGRATIONS_DIR'))
    .option('--constraint', 'with --generate: also add the UNIQUE constraint USING INDEX (plain columns, no --where)')
    .option('--add-foreign-keys', 'with --generate: first add the missing foreign keys of columns that look like references (NOT VALID, validated after)')
    .option('--batch-size <n>', 'with --generate: rows per re-pointing transaction (default 5000)')
    .addOption(new Option('--lock-timeout <duration>', 'with --generate: lock_timeout of each batch (default: the runner\'s, 5s)').env('DRYDOCK_LOCK_TIMEOUT'))
    .addHelpText(
      'after',
      [
        '',
        'KEY is what the unique index will be on: columns or expressions, comma-separated ("tenant_id, lower(email)").',
        'NULLs never collide unless --nulls-not-distinct. The report is one GROUP BY … HAVING count(*) > 1 over the table.',
        '',
        'Exit codes: 0 no duplicates, or the migrations were written; 1 duplicates found (or the rule cannot resolve',
        'some groups); 2 could not look.',
        'Examples:',
        '  drydock dupes users twitter_id --to my_app',
        '  drydock dupes users "lower(email)" --where "deleted_at IS NULL" --keep most-referenced',
        '  drydock dupes users twitter_id --keep "ORDER BY last_sign_in_at DESC NULLS LAST, id" --generate dedupe_users_twitter_id',
      ].join('\n'),
    )
    .action(async (table: string, key: string[], opts: DupesFlags, cmd: Command) => {
      await run(async (deps) => {
        if (opts.url && opts.to) throw new ConfigError('give --url or --to, not both', { hint: 'drydock dupes users email --to my_app' });
        const settings = migrateSettings(deps, { dir: opts.dir, lockTimeout: opts.lockTimeout }, cmd, { needUrl: false });
        const limit = parseCount(opts.limit, '--limit') ?? 5;
        const batchSize = parseCount(opts.batchSize, '--batch-size') ?? 5000;
        if (batchSize < 1) throw new ConfigError('--batch-size must be at least 1', { hint: '--batch-size 5000' });
        const lockTimeoutMs = parseDuration(opts.lockTimeout, '--lock-timeout', DURATION_RANGES.lockTimeout) ?? settings.runner.lockTimeoutMs;
        if (!opts.generate && (opts.constraint || opts.addForeignKeys || opts.batchSize)) {
          throw new ConfigError(`${opts.constraint ? '--constraint' : opts.addForeignKeys ? '--add-foreign-keys' : '--batch-size'} only goes with --generate NAME`, { hint: 'add --generate dedupe_<table>_<key>' });
        }
        const url = await resolveDupesUrl(deps, { url: opts.url, to: opts.to, local: opts.local, localSource: cmd.getOptionValueSource('local') });
        const report = await dupes(deps, {
          url,
          table,
          key,
          where: opts.where,
          keep: opts.keep,
          nullsNotDistinct: Boolean(opts.nullsNotDistinct),
          limit,
          generate: opts.generate,
          dir: settings.dir,
          constraint: Boolean(opts.constraint),
          addForeignKeys: Boolean(opts.addForeignKeys),
          batchSize,
          lockTimeoutMs,
          commandLine: commandLine(table, key, opts),
        });
        deps.output.result(report, renderDupes);
        if (report.groups > 0 && !report.generated.length) {
          throw new ChecksFailed(`dupes: ${report.groups} group(s) of duplicates on ${report.table} (${report.key.join(', ')}), ${report.surplus} surplus row(s)`, report, {
            hint: `--generate NAME writes the migrations that re-point the references and remove them, then build ${report.indexName}`,
          });
        }
      });
    });
}
