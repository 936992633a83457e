/**
 * Start-up: a run loads the module of the command it runs and nothing else, so `drydock lint` (run
 * on every CI push) never pays for pg, listr2, execa or diff; help still lists every command. The
 * built CLI is an esbuild bundle (scripts/build.ts): which src modules a run loaded is read from the
 * source maps of the bundle files it loaded.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { commandNameOf, lintsSql } from '../../src/cli.js';
import { CLI_PATH, ROOT, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'drydock-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// An ESM loader hook that prints every module URL node loads (packages load as ESM or through their CJS main).
writeFileSync(join(dir, 'hooks.mjs'), "export async function load(url, context, next) { process.stderr.write(`LOADED ${url}\\n`); return next(url, context); }\n");
writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
writeFileSync(join(dir, '20260101000000_add_index.sql'), '-- migrate:up\nCREATE INDEX users_email_idx ON users (email);\n');

// A preload that prints, at exit, Node's own modules the run loaded (node:crypto, node:child_process…), however they were loaded.
writeFileSync(join(dir, 'builtins.cjs'), "process.on('exit', () => process.stderr.write(process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => `BUILTIN ${m.slice(13)}\\n`).join('')));\n");

/** Node's built-in modules a CLI run loads (their ids, e.g. 'crypto', 'internal/fs/utils'). */
function builtinsLoadedBy(args: string[]): Set<string> {
  const run = spawnSync(process.execPath, ['--require', join(dir, 'builtins.cjs'), CLI_PATH, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return new Set([...run.stderr.matchAll(/^BUILTIN (\S+)$/gm)].map((m) => m[1]!));
}

/** The src modules (e.g. 'lint/lint') bundled into one file of dist, from its source map. */
function modulesIn(file: string): string[] {
  const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
  return map.sources.flatMap((source) => /^src\/(.+)\.ts$/.exec(relative(ROOT, resolve(file, '..', source)).replaceAll('\\', '/'))?.[1] ?? []);
}

/** The packages (under node_modules), drydock modules (bundled in dist) and dist files a CLI run loads. */
function loadedBy(args: string[]): { packages: Set<string>; modules: Set<string>; files: string[]; status: number | null } {
  const run = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, CLI_PATH, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  const urls = [...run.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1]!);
  const packages = new Set(urls.flatMap((u) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));
  const files = urls.filter((u) => u.startsWith('file:') && /\/dist\/.+\.js$/.test(u)).map((u) => fileURLToPath(u));
  return { packages, modules: new Set(files.flatMap(modulesIn)), files, status: run.status };
}

describe('start-up', () => {
  it('lints without loading the database driver, the task renderer, the process runner or the differ', () => {
    const { packages, modules, status } = loadedBy(['lint', '.', '--pg-version', '15']);
    expect(status).toBe(1); // the CREATE INDEX is unsafe: the lint really ran
    expect(modules).toContain('lint/lint');
    for (const heavy of ['pg', 'listr2', 'execa', 'diff']) expect(packages, heavy).not.toContain(heavy);
    expect([...modules].filter((m) => m.startsWith('commands/'))).toEqual(['commands/lint']);
    expect([...modules].filter((m) => m.startsWith('pipelines/'))).toEqual(['pipelines/lint']);
  });

  it('lints without loading node:crypto or node:child_process (commander gets child_process only when it spawns)', () => {
    const builtins = builtinsLoadedBy(['lint', '.', '--pg-version', '15']);
    expect(builtins).toContain('fs'); // the preload saw the run
    for (const heavy of ['crypto', 'child_process', 'dgram']) expect(builtins, heavy).not.toContain(heavy);
  });

  it('loads its own code as a bundle of a few files, not module by module', () => {
    const { files, modules } = loadedBy(['lint', '.', '--pg-version', '15']);
    // tsc's output was one file per module (~65 for a lint run); the bundle's chunks hold several each.
    expect(modules.size).toBeGreaterThan(40);
    expect(files.length).toBeLessThan(modules.size / 2);
    expect(files).toContain(CLI_PATH);
  });

  it('still loads every command for help, and the one command asked for after global options', async () => {
    const help = await runCli(['--help']);
    expect(help.exitCode).toBe(0);
    for (const name of ['doctor', 'migrate', 'release', 'lint', 'postdeploy', 'pull', 'snapshot', 'backups', 'restore', 'schema', 'backfill', 'init']) expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    expect((await runCli(['help', 'lint'])).stdout).toContain('--pg-version');
    const unknown = await runCli(['lnt']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("(Did you mean lint?)");
    expect(loadedBy(['-a', 'some-app', '--json', 'lint', '.', '--pg-version', '15']).modules).not.toContain('commands/migrate');
  });

  it('prints the version without loading any command', () => {
    const run = spawnSync(process.execPath, [CLI_PATH, '--version'], { encoding: 'utf8' });
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect([...loadedBy(['--version']).modules].filter((m) => m.startsWith('commands/'))).toEqual([]);
  });

  it('finds the command after global options and their values', () => {
    const argv = (...args: string[]) => ['node', 'drydock', ...args];
    expect(commandNameOf(argv('lint', 'x.sql'))).toBe('lint');
    expect(commandNameOf(argv('-a', 'lint', 'migrate'))).toBe('migrate'); // an app named "lint"
    expect(commandNameOf(argv('--remote', 'staging', '--json', 'pull'))).toBe('pull');
    expect(commandNameOf(argv('--app=x', 'doctor'))).toBe('doctor');
    expect(commandNameOf(argv('--help'))).toBeUndefined();
    expect(commandNameOf(argv('help', 'lint'))).toBeUndefined();
    expect(commandNameOf(argv('lnt'))).toBeUndefined();
    expect(commandNameOf(argv('--', 'lint'))).toBeUndefined();
  });

  it('compiles the parser ahead only for a lint run that reads SQL', () => {
    const argv = (...args: string[]) => ['node', 'drydock', ...args];
    expect(lintsSql(argv('lint'))).toBe(true);
    expect(lintsSql(argv('-a', 'app', 'lint', 'migrations', '--format', 'json'))).toBe(true);
    expect(lintsSql(argv('lint', '--', '--help'))).toBe(true); // a file named --help
    for (const skip of ['--explain=ban-drop-table', '--list-rules', '-h', '--help', '--version']) expect(lintsSql(argv('lint', skip)), skip).toBe(false);
    expect(lintsSql(argv('lint', '--explain', 'ban-drop-table'))).toBe(false);
    expect(lintsSql(argv('migrate', 'up'))).toBe(false);
    expect(lintsSql(argv('-a', 'lint', 'doctor'))).toBe(false);
  });
});

describe('a reader that stops early', () => {
  it('`drydock --help | head -1` ends quietly: exit 0, no EPIPE stack trace', () => {
    const res = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI_PATH}" rehearse --help | head -1; echo "drydock exited \${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' });
    expect(res.stdout).toBe('Usage: drydock rehearse [options]\n');
    expect(res.stderr).not.toMatch(/EPIPE|at \w+ \(/);
    expect(res.stderr).toContain('drydock exited 0');
  });
});
