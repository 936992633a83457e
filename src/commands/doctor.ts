/**
 * `drydock doctor`: can I pull this app's database and rehearse on it faithfully here?
 */
import type { Command } from 'commander';

import { ChecksFailed, DrydockError } from '../errors.js';
import type { Check } from '../parity/checks.js';
import { doctor, type DoctorOptions, type DoctorResult } from '../pipelines/doctor.js';
import { localOption } from './options.js';
import type { RunCommand } from './run.js';

const STATUS_LABEL: Record<Check['status'], string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', unknown: '????' };

/** The human rendering of a doctor result. */
export function renderDoctor(result: DoctorResult): string {
  const lines: string[] = [];
  const version = (v: DoctorResult['production']['version']) => (v ? `PostgreSQL ${v.text}` : 'version unknown');
  lines.push('');
  lines.push(`Production  ${result.production.label}: ${version(result.production.version)}${result.production.versionSource === 'pg:info' ? ' (from heroku pg:info)' : ''}`);
  lines.push(`Local       ${result.local.label}: ${result.local.version ? version(result.local.version) : `unreachable (${result.local.error ?? 'unknown error'})`}`);
  lines.push('');
  for (const check of result.checks) {
    lines.push(`${STATUS_LABEL[check.status]}  ${check.title}`);
    lines.push(`      ${check.detail}`);
    for (const remedy of check.remedies) {
      const platform = remedy.platform === 'any' ? 'fix' : `fix (${remedy.platform})`;
      lines.push(`      ${platform}: ${remedy.command}`);
    }
  }
  lines.push('');
  lines.push('Client tools found:');
  if (result.tools.length === 0) lines.push('  none (install the PostgreSQL client tools)');
  for (const tool of result.tools) {
    lines.push(`  ${tool.name.padEnd(10)} ${tool.version.text.padEnd(7)} ${tool.path} (${tool.source})`);
  }
  lines.push('');
  const failed = result.checks.filter((c) => c.status === 'fail').length;
  const unknown = result.checks.filter((c) => c.status === 'unknown').length;
  const warned = result.checks.filter((c) => c.status === 'warn').length;
  if (failed) lines.push(`${failed} check(s) failed: pulling and rehearsing here is not safe until they are fixed.`);
  else if (unknown) lines.push(`${unknown} check(s) could not be decided; fix what stopped them and run drydock doctor again.`);
  else lines.push(`Ready: this machine can pull production and rehearse on it faithfully${warned ? ` (${warned} warning(s))` : ''}.`);
  return lines.join('\n');
}

/** Register `drydock doctor` on the program. */
export function registerDoctor(program: Command, run: RunCommand): void {
  program
    .command('doctor')
    .description('check that local PostgreSQL tools and server can dump, restore and faithfully rehearse production')
    .option('--remote-url <url>', 'production database URL, instead of -a APP (no Heroku needed)')
    .addOption(localOption())
    .option('--database <attachment>', 'Heroku database attachment to inspect', 'DATABASE_URL')
    .addHelpText(
      'after',
      '\nExit codes: 0 everything needed holds, 1 a check failed, 2 something could not be found out.\n' +
        'Examples:\n  drydock doctor -a my-app\n  drydock doctor --remote-url "$STAGING_DATABASE_URL" --local postgres://localhost:5432/postgres --json',
    )
    .action(async (opts: DoctorOptions, cmd: Command) => {
      await run(async (deps) => {
        const result = await doctor(deps, { ...opts, localSource: cmd.getOptionValueSource('local') });
        deps.output.result(result, renderDoctor);
        if (result.exitCode === 1) {
          const failed = result.checks.filter((c) => c.status === 'fail').map((c) => c.id);
          throw new ChecksFailed(`version parity: ${failed.length} check(s) failed (${failed.join(', ')})`, result, {
            hint: 'apply the fixes shown above, then run drydock doctor again',
          });
        }
        if (result.exitCode === 2) {
          const unknown = result.checks.filter((c) => c.status === 'unknown').map((c) => c.id);
          throw new DrydockError(`version parity: could not decide ${unknown.join(', ')}`, {
            hint: result.local.error ? 'start the local PostgreSQL server or pass --local URL' : 'see the details above',
          });
        }
      });
    });
}
