/**
 * `drydock diff A B`: the schema differences between two databases, or a database and a schema file
 * (pipelines/diff.ts). Exit codes: 0 the same, 1 they differ, 2 could not compare.
 */
import type { Command } from 'commander';

import { ChecksFailed } from '../errors.js';
import { diff, type DiffReport } from '../pipelines/diff.js';
import { localOption } from './options.js';
import type { RunCommand } from './run.js';

const MARK = { 'only-a': '-', 'only-b': '+', changed: '~' } as const;

function renderDiff(report: DiffReport): string {
  const lines = [`--- ${report.a}`, `+++ ${report.b}`];
  for (const d of report.differences) lines.push(`${MARK[d.kind]} ${d.problem}`);
  for (const note of report.notes) lines.push(`note: ${note}`);
  const [va, vb] = [report.versions.a, report.versions.b];
  if (va.join() !== vb.join()) lines.push(`note: migration versions differ: ${va.length} recorded in ${report.a}, ${vb.length} in ${report.b}`);
  if (report.patch) lines.push('', report.patch.trimEnd());
  lines.push(report.same ? 'diff: the same schema' : `diff: ${report.differences.length} difference(s)`);
  return lines.join('\n');
}

/** Register `drydock diff`. */
export function registerDiff(program: Command, run: RunCommand): void {
  program
    .command('diff')
    .description('compare the schemas of two databases, or of a database and a schema file, object by object (as `drydock verify` does)')
    .argument('<a>', 'database URL, heroku:APP[:ATTACHMENT], schema file, or database name on the local server')
    .argument('<b>', 'the same kinds')
    .addOption(localOption())
    .option('--patch', 'also print a unified diff of the two normalised schemas')
    .addHelpText(
      'after',
      [
        '',
        'Lines: - only in A, + only in B, ~ in both, defined differently (the lines that differ are quoted).',
        "Heroku's own objects (pg_stat_statements, heroku_ext) are noted, not counted; migration ledgers are not compared.",
        'Exit codes: 0 the same, 1 they differ, 2 could not compare.',
        'Examples:',
        '  drydock diff heroku:my-app my_app                (production against the local copy after a rehearsal)',
        '  drydock diff "$DATABASE_URL" db/schema.sql',
        '  drydock diff postgres://localhost/a postgres://localhost/b --json',
      ].join('\n'),
    )
    .action(async (a: string, b: string, opts: { local?: string; patch?: boolean }, cmd: Command) => {
      await run(async (deps) => {
        const report = await diff(deps, { a, b, local: opts.local, localSource: cmd.getOptionValueSource('local'), patch: opts.patch });
        deps.output.result(report, renderDiff);
        if (report.exitCode) throw new ChecksFailed(`diff: ${report.differences.length} difference(s) between ${report.a} and ${report.b}`, report, { hint: 'the lines above say which objects differ and how' });
      });
    });
}
