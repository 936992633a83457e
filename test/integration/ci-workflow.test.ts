/**
 * The GitHub Actions recipe (templates/github-workflow.yml, written by `drydock init --ci`): its shape
 * is a workflow GitHub accepts (checked line by line: there is no YAML library here, and one is not
 * worth a dependency for this), and every drydock command and flag it runs exists in the CLI.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ROOT, runCli } from '../helpers/cli.js';

const WORKFLOW = readFileSync(join(ROOT, 'templates/github-workflow.yml'), 'utf8');

/** One mapping key of the workflow, with its dotted path (list items do not add a level) and its value. */
interface Entry {
  path: string;
  value: string;
}

/**
 * The mapping keys of a block-style YAML document, with their paths, checking what this template uses:
 * spaces only, two-space indentation, `key:`, `key: value`, `- key: value`, `- value`, and block
 * scalars (`|`, `>-`) whose lines are indented deeper. Throws on any other line.
 */
function entries(text: string): Entry[] {
  const out: Entry[] = [];
  // Open keys; `list` when the key's value is a sequence, whose items' keys sit 4 deeper than it.
  const stack: Array<{ indent: number; key: string; list: boolean }> = [];
  let scalarIndent: number | undefined;
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line.includes('\t')) throw new Error(`tab at ${where}`);
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const indent = line.length - line.trimStart().length;
    if (scalarIndent !== undefined) {
      if (indent > scalarIndent) return;
      scalarIndent = undefined;
    }
    if (indent % 2 !== 0) throw new Error(`odd indentation at ${where}`);
    let body = line.trimStart();
    let keyIndent = indent;
    const isItem = body.startsWith('- ');
    if (isItem) {
      body = body.slice(2);
      keyIndent = indent + 2;
      while (stack.length && stack.at(-1)!.indent >= indent) stack.pop();
      if (!stack.length || stack.at(-1)!.indent !== indent - 2) throw new Error(`list item not under a key at ${where}`);
      stack.at(-1)!.list = true;
      if (!/^[\w-]+:(\s|$)/.test(body)) return;
    }
    const match = /^([\w-]+):(?:\s+(.*))?$/.exec(body);
    if (!match) throw new Error(`not a key at ${where}`);
    while (stack.length && stack.at(-1)!.indent >= keyIndent) stack.pop();
    const parent = stack.at(-1);
    const expected = parent === undefined ? 0 : parent.indent + (parent.list ? 4 : 2);
    if (keyIndent !== expected) throw new Error(`indented ${keyIndent}, expected ${expected}, at ${where}`);
    const value = match[2] ?? '';
    out.push({ path: [...stack.map((s) => s.key), match[1]!].join('.'), value });
    stack.push({ indent: keyIndent, key: match[1]!, list: false });
    if (/^[|>][-+]?$/.test(value)) scalarIndent = keyIndent;
  });
  return out;
}

const parsed = entries(WORKFLOW);
const valueOf = (path: string): string | undefined => parsed.find((e) => e.path === path)?.value;

describe('templates/github-workflow.yml', () => {
  it('is block YAML of the shape GitHub Actions reads: a pull_request workflow with a lint job and a rehearse job on a Postgres service', () => {
    const paths = parsed.map((e) => e.path);
    for (const path of [
      'name',
      'on.pull_request',
      'permissions.contents',
      'jobs.lint.runs-on',
      'jobs.lint.steps.uses',
      'jobs.lint.steps.run',
      'jobs.rehearse.if',
      'jobs.rehearse.services.postgres.image',
      'jobs.rehearse.services.postgres.env.POSTGRES_PASSWORD',
      'jobs.rehearse.services.postgres.ports',
      'jobs.rehearse.services.postgres.options',
      'jobs.rehearse.env.HEROKU_API_KEY',
      'jobs.rehearse.env.HEROKU_APP',
      'jobs.rehearse.env.DRYDOCK_LOCAL_DATABASE_URL',
      'jobs.rehearse.steps.run',
    ]) {
      expect(paths, path).toContain(path);
    }
    expect([...new Set(paths.filter((p) => p.startsWith('jobs.')).map((p) => p.split('.')[1]))]).toEqual(['lint', 'rehearse']);
    expect(valueOf('permissions.contents')).toBe('read');
    expect(valueOf('jobs.rehearse.env.HEROKU_API_KEY')).toBe('${{ secrets.HEROKU_API_KEY }}');
    // The service container and the client tools are the same Postgres major.
    expect(valueOf('jobs.rehearse.services.postgres.image')).toBe(`postgres:${valueOf('jobs.rehearse.env.PG_MAJOR')}`);
    // The local server drydock pulls into is the service container.
    expect(valueOf('jobs.rehearse.env.DRYDOCK_LOCAL_DATABASE_URL')).toBe('postgres://postgres:postgres@localhost:5432/postgres');
  });

  it('lints with annotations, rehearses on a copy of the newest backup with a Markdown report, and runs only the installed drydock', () => {
    const runs = parsed.filter((e) => e.path.endsWith('steps.run')).map((e) => e.value);
    expect(runs).toEqual(['npm ci', 'npx --no drydock lint --format github', 'npm ci', '|', 'npx --no drydock rehearse --from backup --report rehearsal.md']);
    expect(WORKFLOW).not.toMatch(/npx (?!--no )drydock/);
    expect(WORKFLOW).toContain('GITHUB_STEP_SUMMARY');
  });

  it('names only commands and flags that drydock has', async () => {
    const help = await runCli(['--help']);
    const commands = new Set([...help.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!));
    // The steps' `npx --no drydock …` and the comments' `drydock …`, each with its flags and their values.
    const invocations = [...WORKFLOW.matchAll(/(?:npx --no drydock|`drydock) ([a-z]+)((?: --?[a-z-]+(?: [^\s`-][^\s`]*)?)*)/g)];
    expect(invocations.map((m) => m[1])).toEqual(['init', 'lint', 'doctor', 'rehearse']);
    const globalHelp = help.stdout;
    for (const [, command, rest] of invocations) {
      expect(commands, command).toContain(command!);
      const commandHelp = (await runCli([command!, '--help'])).stdout;
      for (const flag of rest!.match(/(?<=^| )--?[a-z-]+/g) ?? []) expect(`${commandHelp}\n${globalHelp}`, `${command} ${flag}`).toMatch(new RegExp(`(^|[ ,])${flag}[ ,<]`, 'm'));
    }
    expect((await runCli(['lint', '--help'])).stdout).toMatch(/--format <format>.*github/s);
  });

  it('its lint step prints GitHub annotations for an unsafe migration and exits 1', async () => {
    const res = await runCli(['lint', '--format', 'github', join(ROOT, 'test/fixtures/lint')]);
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toMatch(/^::error file=[^,]+,line=\d+/m);
  });
});
