/**
 * `drydock init`: wire drydock into an app (Procfile release line, app.json postdeploy, package.json, a
 * first migration, seeds, optionally the CI workflow); the plan and the writes are in pipelines/init.ts.
 */
import type { Command } from 'commander';

import { init, type InitResult } from '../pipelines/init.js';
import type { RunCommand } from './run.js';

export function renderInit(result: InitResult): string {
  return result.changed.length > 0 ? result.changed.join('\n') : 'already set up: nothing to change';
}

/** Register `drydock init` on the program. */
export function registerInit(program: Command, run: RunCommand): void {
  program
    .command('init')
    .description('set an app repository up for drydock: Procfile release phase, app.json postdeploy, package.json, migrations/, db/seeds.sql, .env.example')
    .option('--dir <dir>', 'the app repository (default: the current directory)')
    .option('--ci', 'also write the GitHub Actions workflow .github/workflows/drydock.yml (lint and rehearse on pull requests)')
    .addHelpText(
      'after',
      [
        '',
        'Rails (Gemfile and db/migrate/), Django (manage.py), Prisma (prisma/schema.prisma) and Knex (knexfile.*) apps keep their',
        "own migrations: release runs the framework's migrate command (--command) and postdeploy its schema setup and seeds.",
        'Nothing existing is overwritten; running it again changes nothing.',
        'Examples:',
        '  drydock init --dir ~/code/my-app',
        '  drydock init --ci',
      ].join('\n'),
    )
    .action(async (opts: { dir?: string; ci?: boolean }) => {
      await run(async (deps) => {
        const result = await init({ dir: opts.dir, ci: opts.ci });
        if (deps.output.mode !== 'json') for (const warning of result.warnings) deps.output.warn(warning);
        deps.output.result(result, renderInit);
      });
    });
}
