/**
 * The npm package as users install it: `npm pack` of this checkout, unpacked into a temporary folder
 * (with node_modules beside it, as an install has), run from there. The built CLI is an esbuild bundle
 * whose chunks live in dist/chunks/, so what it reads from its own package (templates/, the rules'
 * markdown) must be found from the package root and must be in package.json "files".
 *
 * Then the tarball installed the way a team installs it (issue 16): `npm install ./drydock-cli-X.tgz`
 * in a fresh Node app and in a Rails app's folder (the heroku/nodejs buildpack runs npm there), and the
 * Procfile and app.json lines that `drydock init` writes run from those installs against real databases.
 * npm resolves the tarball's dependencies from its cache (--prefer-offline), else from the registry.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLI_PATH, ROOT } from '../helpers/cli.js';
import { testScope } from '../helpers/scope.js';

const { db } = testScope();

const tmp = mkdtempSync(join(tmpdir(), 'drydock-package-'));
const pkg = join(tmp, 'package');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
/** The packed tarball (set in beforeAll). */
let tarball: string;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

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
  tarball = join(tmp, execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').at(-1)!);
  execFileSync('tar', ['-xzf', tarball, '-C', tmp]);
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
}, 60_000);

describe('the packed npm package', () => {
  it('is drydock-cli, whose executable is drydock, and holds only what runs: the bundle, templates, rule docs, README', () => {
    expect(tarball.endsWith(`/drydock-cli-${VERSION}.tgz`)).toBe(true);
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { name: string; bin: Record<string, string> };
    expect(manifest.name).toBe('drydock-cli');
    expect(manifest.bin).toEqual({ drydock: 'dist/cli.js' });
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
    const outside = files.filter((f) => !/^package\/(package\.json|README\.md|LICENSE|dist\/.+\.js(\.map)?|templates\/[^/]+|src\/lint\/rules\/[a-z-]+\.md)$/.test(f));
    expect(outside).toEqual([]);
    expect(files).toContain('package/templates/github-workflow.yml');
    // The source maps are about two thirds of it; the code itself is a few hundred kB.
    expect(statSync(tarball).size).toBeLessThan(1024 * 1024);
  });

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

/** A command's outcome; never throws. */
async function sh(file: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const result = await execa(file, args, {
    cwd,
    // What a dyno has: PATH (node and npm on it), HOME; plus the app's config vars.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LANG: 'C.UTF-8', CI: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...env },
    extendEnv: false,
    reject: false,
    timeout: 180_000,
  });
  // npm's own warnings about the machine's configuration (an unknown key in ~/.npmrc) are not drydock's output.
  const stderr = String(result.stderr)
    .split('\n')
    .filter((line) => !line.startsWith('npm warn '))
    .join('\n');
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr };
}

/** `npm install` the tarball into `dir`, as the README says (a dependency, not a devDependency). */
async function installTarball(dir: string): Promise<void> {
  const res = await sh('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], dir);
  expect(res.stderr.split('\n').filter((l) => /ERR!|npm error/.test(l))).toEqual([]);
  expect(res.exitCode).toBe(0);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  expect(Object.keys(manifest.dependencies ?? {})).toContain('drydock-cli');
  expect(manifest.devDependencies?.['drydock-cli']).toBeUndefined();
}

/** A Procfile's command for one process type. */
function procfileCommand(dir: string, type: string): string {
  const line = readFileSync(join(dir, 'Procfile'), 'utf8').split(/\r?\n/).find((l) => l.startsWith(`${type}:`));
  if (!line) throw new Error(`no ${type} line in ${dir}/Procfile`);
  return line.slice(type.length + 1).trim();
}

describe('drydock-cli installed from the tarball into a fresh Node app (issue 16)', () => {
  const app = join(tmp, 'node-app');

  beforeAll(async () => {
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-app', version: '1.0.0', private: true }, null, 2) + '\n');
    await installTarball(app);
  }, 200_000);

  it('runs as `npx drydock` and as the `npx --no drydock` the Procfile uses', async () => {
    const version = await sh('npx', ['drydock', '--version'], app);
    expect(version).toMatchObject({ exitCode: 0, stdout: VERSION });
    const help = await sh('npx', ['--no', 'drydock', 'release', '--help'], app);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^Usage: drydock release/);
  });

  it('sets the app up with init, lints its first migration, and the Procfile release line migrates a real database', async () => {
    const init = await sh('npx', ['--no', 'drydock', 'init', '--json'], app);
    expect(init.exitCode).toBe(0);
    const result = JSON.parse(init.stdout) as { changed: string[]; unchanged: string[]; warnings: string[] };
    expect(result.warnings).toEqual([]);
    expect(result.unchanged).toContain('package.json lists drydock-cli in dependencies');
    expect(procfileCommand(app, 'release')).toBe('npx --no drydock release');
    expect((JSON.parse(readFileSync(join(app, 'app.json'), 'utf8')) as { scripts: { postdeploy: string } }).scripts.postdeploy).toBe('npx --no drydock postdeploy');

    writeFileSync(join(app, 'migrations/20990101000000_create_widgets.sql'), '-- migrate:up\nCREATE TABLE widgets (id bigserial PRIMARY KEY, name text NOT NULL);\n\n-- migrate:down\nDROP TABLE widgets;\n');
    const lint = await sh('npx', ['--no', 'drydock', 'lint'], app);
    expect(lint.stderr).toBe('');
    expect(lint.exitCode).toBe(0);
    expect(lint.stdout).toMatch(/2 files?/);

    // The release phase: Heroku runs the Procfile line in a shell in the app's folder, DATABASE_URL set.
    const d = await db('pkg_node_release');
    const release = await sh('sh', ['-c', procfileCommand(app, 'release')], app, { DATABASE_URL: d.url, DRYDOCK_REVIEW_APP: 'false' });
    expect(release.stderr).toBe('');
    expect(release.exitCode).toBe(0);
    expect(release.stdout).toContain('release: done, a new database: applied 2 migration(s) from zero; schema version is now 20990101000000');
    expect((await d.query('SELECT count(*)::int AS n FROM widgets')).rows).toEqual([{ n: 0 }]);
    const again = await sh('sh', ['-c', procfileCommand(app, 'release')], app, { DATABASE_URL: d.url });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('release: done, the database is up to date (schema version 20990101000000)');
  });
});

/**
 * Stands in for Rails' bin/rails, since Ruby is not installed here: db:migrate and db:schema:load create
 * what db/migrate/20240101000000_create_widgets.rb would and record its version in schema_migrations as
 * Active Record does; db:seed adds a row. Through psql, with the DATABASE_URL drydock passes on.
 */
const FAKE_RAILS = `#!/bin/sh
set -eu
case "$1" in
  db:migrate|db:schema:load)
    psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE IF NOT EXISTS schema_migrations (version varchar PRIMARY KEY);
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM schema_migrations WHERE version = '20240101000000') THEN
    CREATE TABLE widgets (id bigserial PRIMARY KEY, name text NOT NULL);
    INSERT INTO schema_migrations VALUES ('20240101000000');
  END IF;
END $$;
SQL
    echo "== 20240101000000 CreateWidgets: migrated" ;;
  db:seed)
    psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c "INSERT INTO widgets (name) VALUES ('seeded')" ;;
  *) echo "bin/rails: unknown task $1" >&2; exit 1 ;;
esac
`;

describe('drydock-cli in a Rails app, run by the heroku/nodejs buildpack before heroku/ruby (issue 16)', () => {
  const rails = join(tmp, 'rails-app');

  beforeAll(async () => {
    mkdirSync(join(rails, 'db/migrate'), { recursive: true });
    mkdirSync(join(rails, 'bin'));
    writeFileSync(join(rails, 'Gemfile'), "source 'https://rubygems.org'\ngem 'rails', '~> 7.1'\ngem 'pg'\n");
    writeFileSync(join(rails, 'db/migrate/20240101000000_create_widgets.rb'), 'class CreateWidgets < ActiveRecord::Migration[7.1]\n  def change\n    create_table :widgets do |t|\n      t.text :name, null: false\n    end\n  end\nend\n');
    writeFileSync(join(rails, 'db/seeds.rb'), "Widget.create!(name: 'seeded')\n");
    writeFileSync(join(rails, 'bin/rails'), FAKE_RAILS);
    chmodSync(join(rails, 'bin/rails'), 0o755);
    writeFileSync(join(rails, 'Procfile'), 'web: bundle exec puma -C config/puma.rb\nrelease: bin/rails db:migrate\n');
    writeFileSync(join(rails, 'package.json'), JSON.stringify({ name: 'rails-app', private: true }, null, 2) + '\n');
    await installTarball(rails);
  }, 200_000);

  it('init puts bin/rails db:migrate behind drydock release and the review app setup behind postdeploy', async () => {
    const init = await sh('npx', ['--no', 'drydock', 'init', '--json'], rails);
    expect(init.exitCode).toBe(0);
    const result = JSON.parse(init.stdout) as { warnings: string[]; stack: unknown };
    expect(result.stack).toEqual({ language: 'ruby', framework: 'Rails' });
    expect(result.warnings).toEqual([]);
    expect(procfileCommand(rails, 'web')).toBe('bundle exec puma -C config/puma.rb');
    expect(procfileCommand(rails, 'release')).toBe('npx --no drydock release --command "bin/rails db:migrate"');
    const app = JSON.parse(readFileSync(join(rails, 'app.json'), 'utf8')) as { scripts: { postdeploy: string }; buildpacks: unknown };
    expect(app.scripts.postdeploy).toBe('npx --no drydock postdeploy --command "bin/rails db:schema:load" --seed-command "bin/rails db:seed"');
    expect(app.buildpacks).toEqual([{ url: 'heroku/nodejs' }, { url: 'heroku/ruby' }]);
    expect(existsSync(join(rails, 'migrations'))).toBe(false);
  });

  it("the Procfile's release line runs Rails' migrations on a new production database, then again on the next deploy", async () => {
    const d = await db('pkg_rails_release');
    const release = await sh('sh', ['-c', procfileCommand(rails, 'release')], rails, { DATABASE_URL: d.url, DRYDOCK_REVIEW_APP: 'false' });
    expect(release.stderr).toBe('');
    expect(release.exitCode).toBe(0);
    expect(release.stdout).toContain("running the app's migration command: bin/rails db:migrate");
    expect(release.stdout).toContain('== 20240101000000 CreateWidgets: migrated');
    expect(release.stdout).toContain('release: done, the migration command finished (a new database, migrated from zero)');
    expect((await d.query('SELECT version FROM schema_migrations')).rows).toEqual([{ version: '20240101000000' }]);

    const next = await sh('sh', ['-c', procfileCommand(rails, 'release')], rails, { DATABASE_URL: d.url, DRYDOCK_REVIEW_APP: 'false' });
    expect(next.exitCode).toBe(0);
    expect(next.stdout).toContain('release: schema version is 20240101000000');
  });

  it("a review app: release leaves the empty database alone, app.json's postdeploy loads the schema and seeds behind drydock's guard, and refuses a second time", async () => {
    const d = await db('pkg_rails_review');
    const env = { DATABASE_URL: d.url, HEROKU_PR_NUMBER: '42', DYNO: 'release.1' };
    const release = await sh('sh', ['-c', procfileCommand(rails, 'release')], rails, env);
    expect(release.exitCode).toBe(0);
    expect(release.stdout).toContain('release: done, nothing migrated');
    const postdeploy = (JSON.parse(readFileSync(join(rails, 'app.json'), 'utf8')) as { scripts: { postdeploy: string } }).scripts.postdeploy;
    const setup = await sh('sh', ['-c', postdeploy], rails, { DATABASE_URL: d.url, DYNO: 'run.1' });
    expect(setup.stderr).toBe('');
    expect(setup.exitCode).toBe(0);
    expect(setup.stdout).toContain('set up (ran `bin/rails db:schema:load`; schema version 20240101000000; seeded from bin/rails db:seed)');
    expect((await d.query('SELECT name FROM widgets')).rows).toEqual([{ name: 'seeded' }]);
    const again = await sh('sh', ['-c', postdeploy], rails, { DATABASE_URL: d.url, DYNO: 'run.2' });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/refusing to set up .*: it already holds schema version 20240101000000/);
    expect((await d.query('SELECT count(*)::int AS n FROM widgets')).rows).toEqual([{ n: 1 }]);
  });
});
