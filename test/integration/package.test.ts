/**
 * The npm package as users install it: `npm pack` of this checkout, unpacked into a temporary folder
 * (with node_modules beside it, as an install has), run from there. The built CLI is an esbuild bundle
 * whose chunks live in dist/chunks/, so what it reads from its own package (templates/, the rules'
 * markdown) must be found from the package root and must be in package.json "files".
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLI_PATH, ROOT } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'drydock-package-'));
const pkg = join(tmp, 'package');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `node package/dist/cli.js ...args` in `cwd`; exit code and output, never throws. */
function drydock(args: string[], cwd: string): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [join(pkg, 'dist/cli.js'), ...args], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(() => {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run \`npm run build\` (npm test does)`);
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').at(-1)!;
  execFileSync('tar', ['-xzf', join(tmp, tarball), '-C', tmp]);
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
}, 60_000);

describe('the packed npm package', () => {
  it('ships the bundle, its chunks and source maps, the templates and the rule docs, and no tsc output', () => {
    const dist = readdirSync(join(pkg, 'dist'), { recursive: true, encoding: 'utf8' });
    expect(dist).toContain('cli.js');
    expect(dist).toContain('cli.js.map');
    expect(dist.some((f) => f.startsWith('chunks') && f.endsWith('.js'))).toBe(true);
    expect(dist.filter((f) => f.endsWith('.d.ts') || f.startsWith('lint'))).toEqual([]);
    expect(existsSync(join(pkg, 'templates/migration.sql'))).toBe(true);
    expect(existsSync(join(pkg, 'src/lint/rules/ban-drop-table.md'))).toBe(true);
  });

  it('explains a rule from its markdown', () => {
    const run = drydock(['lint', '--explain', 'ban-drop-table'], tmp);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(readFileSync(join(ROOT, 'src/lint/rules/ban-drop-table.md'), 'utf8'));
  });

  it('creates a migration from its template and sets an app up with init', () => {
    const app = mkdtempSync(join(tmp, 'app-'));
    expect(drydock(['init'], app).status).toBe(0);
    expect(readFileSync(join(app, 'Procfile'), 'utf8')).toBe(readFileSync(join(ROOT, 'templates/Procfile'), 'utf8'));
    expect(drydock(['migrate', 'create', 'add_widgets', '--dir', 'migrations'], app).status).toBe(0);
    const created = readdirSync(join(app, 'migrations')).find((f) => f.endsWith('_add_widgets.sql'))!;
    expect(readFileSync(join(app, 'migrations', created), 'utf8')).toBe(readFileSync(join(ROOT, 'templates/migration.sql'), 'utf8'));
  });

  it('lints with the parser found in node_modules', () => {
    const run = drydock(['lint', join(ROOT, 'test/fixtures/lint'), '--pg-version', '15', '--format', 'json'], tmp);
    expect([0, 1]).toContain(run.status);
    expect((JSON.parse(run.stdout) as { files: unknown[] }).files.length).toBeGreaterThan(10);
  });
});
