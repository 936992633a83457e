/**
 * `drydock lint [paths…]`: report every operation in SQL migrations that is unsafe on a large,
 * busy production table, with the reason and the safe way to do the same thing.
 *
 * Exit codes: 0 no error findings (warnings may be printed), 1 at least one error finding,
 * 2 drydock could not do the job (an unreadable path, a bad flag, an unreachable --url).
 */
import { Option, type Command } from 'commander';

import { ChecksFailed } from '../errors.js';
import { LINT_FORMATS } from '../lint/settings.js';
import { explainRule, lint, listRules } from '../pipelines/lint.js';
import { resolveLintSettings, type LintFlags } from '../settings.js';
import type { RunCommand } from './run.js';

/** Register `drydock lint`. */
export function registerLint(program: Command, run: RunCommand): void {
  program
    .command('lint [paths...]')
    .description('report operations in SQL migrations that lock or lose data on a busy production table')
    .option('--down', 'also lint down sections (and *.down.sql files in folders)')
    .option('--assume-in-transaction', 'plain .sql files run inside a transaction (Flyway, psql -1)')
    .option('--pg-version <version>', "production's Postgres major (default: the server's with --url, else DRYDOCK_PG_VERSION, drydock.json pgVersion, 15)")
    .option('--url <url>', "read production's Postgres version from this database")
    .option('--format <format>', `output format: ${LINT_FORMATS.join(', ')} (github: Actions annotations)`)
    .addOption(new Option('--dir <dir>', 'migrations folder linted when no paths are given (default: drydock.json migrationsDir, else ./migrations)').env('DRYDOCK_MIGRATIONS_DIR'))
    .option('--start-after <version>', 'only replay (not lint) migrations at or before this version (already deployed): 20260101000000, 2021-01-01-123456 (diesel), V12 (Flyway)')
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
    .action(async (paths: string[], opts: LintFlags & { down?: boolean; assumeInTransaction?: boolean; explain?: string; listRules?: boolean }) => {
      await run(async (deps) => {
        if (opts.explain !== undefined) {
          const doc = await explainRule(opts.explain);
          deps.output.result({ rule: opts.explain, docs: doc }, (r) => r.docs);
          return;
        }
        if (opts.listRules) {
          const list = await listRules();
          deps.output.result(list.rules, () => list.text);
          return;
        }
        const settings = resolveLintSettings(opts, deps.project(), deps.settings);
        const format = settings.format;
        let result;
        try {
          result = await lint(settings, paths, opts);
        } catch (error) {
          // Nothing to lint fails (exit 2) with its one-line error on stderr; JSON readers still get a document.
          const { NothingToLintError } = await import('../lint/lint.js');
          if (error instanceof NothingToLintError) {
            const doc = { ok: false, errors: 0, warnings: 0, files: [], findings: [], error: error.message, hint: error.hint, otherFiles: error.scan.otherFiles };
            deps.output.result(doc, (d) => (format === 'json' ? JSON.stringify(d, null, 2) : ''));
          }
          throw error;
        }
        const { lintJson, renderLint } = await import('../lint/report.js');
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
