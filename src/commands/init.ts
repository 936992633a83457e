/**
 * `drydock init`: wire drydock into an app (Procfile release line, app.json postdeploy, a first
 * migration, seeds); the plan and the writes are in pipelines/init.ts.
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
    .description('set an app repository up for drydock: Procfile release phase, app.json postdeploy, migrations/, db/seeds.sql, .env.example')
    .option('--dir <dir>', 'the app repository (default: the current directory)')
    .addHelpText('after', '\nNothing existing is overwritten; running it again changes nothing.\nExample:\n  drydock init --dir ~/code/my-app')
    .action(async (opts: { dir?: string }) => {
      await run(async (deps) => {
        const result = await init({ dir: opts.dir });
        if (deps.output.mode !== 'json') for (const warning of result.warnings) deps.output.warn(warning);
        deps.output.result(result, renderInit);
      });
    });
}
