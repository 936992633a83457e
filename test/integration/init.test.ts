/**
 * `drydock init` in temporary directories: the built CLI (templates resolved from dist/) and the
 * plain function (templates resolved from src/).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { firstMigration, init, migrationVersion, templatesDir } from '../../src/pipelines/init.js';
import { parseMigrationFile } from '../../src/migrate/files.js';
import { ROOT, runCli } from '../helpers/cli.js';

let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'drydock-init-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** The parts of app.json and of `init --json` these tests read. */
interface AppJson {
  scripts: Record<string, string>;
  environments: Record<string, unknown>;
}
interface InitJson {
  changed: string[];
  unchanged: string[];
  warnings: string[];
  stack: { language: string; framework: string | null };
}

function appDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmp, 'app-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Every file under `dir` with its content, for before/after comparisons. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return out;
}

describe('drydock init (CLI)', () => {
  it('scaffolds a fresh directory and prints each change', async () => {
    const dir = appDir();
    const res = await runCli(['init', '--dir', dir]);
    expect(res.stderr).toBe('');
    expect(res.exitCode).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toBe('created Procfile');
    expect(lines[1]).toBe('created app.json');
    expect(lines[2]).toBe('created package.json with drydock-cli in dependencies (run `npm install` and commit package-lock.json)');
    expect(lines[3]).toMatch(/^created migrations\/\d{14}_init\.sql$/);
    expect(lines.slice(4)).toEqual(['created db/seeds.sql', 'created .env.example']);

    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe('release: npx --no drydock release\n');
    const app = JSON.parse(readFileSync(join(dir, 'app.json'), 'utf8')) as AppJson;
    expect(app.scripts).toEqual({ postdeploy: 'npx --no drydock postdeploy' });
    // A dependency, not a devDependency: Heroku prunes those before the release phase.
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).toEqual({ private: true, dependencies: { 'drydock-cli': `^${version}` } });
    // release tells a review app (schema left to postdeploy) from a new production app (migrated from zero) by this.
    expect(app.environments.review).toMatchObject({ env: { DRYDOCK_REVIEW_APP: 'true' } });
    const migrations = readdirSync(join(dir, 'migrations'));
    expect(migrations).toHaveLength(1);
    expect(readFileSync(join(dir, 'migrations', migrations[0]!), 'utf8')).toMatch(/^-- migrate:up/m);
    expect(readFileSync(join(dir, 'db/seeds.sql'), 'utf8')).toMatch(/^-- /);
    const envExample = readFileSync(join(dir, '.env.example'), 'utf8');
    expect(envExample).toContain('DATABASE_URL=postgres://localhost:5432/myapp_development');
    expect(envExample).toMatch(/^DRYDOCK_LOCAL_DATABASE_URL=/m);
    expect(envExample).toMatch(/^HEROKU_APP=/m);
  });

  it('changes nothing on a second run and says so', async () => {
    const dir = appDir();
    expect((await runCli(['init', '--dir', dir])).exitCode).toBe(0);
    const before = snapshot(dir);
    const res = await runCli(['init', '--dir', dir]);
    expect(res.stderr).toBe('');
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toBe('already set up: nothing to change');
    expect(snapshot(dir)).toEqual(before);
  });

  it('--json lists changed, unchanged and warnings', async () => {
    const dir = appDir({ Procfile: 'web: node server.js\nrelease: ./bin/migrate\n' });
    const res = await runCli(['init', '--dir', dir, '--json']);
    expect(res.exitCode).toBe(0);
    const result = JSON.parse(res.stdout) as InitJson;
    expect(Object.keys(result)).toEqual(['changed', 'unchanged', 'warnings', 'stack']);
    expect(result.stack).toEqual({ language: 'node', framework: null });
    expect(result.changed).toContain('created app.json');
    expect(result.unchanged).toEqual([]);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/^Procfile already has a release line \("\.\/bin\/migrate"\): left it unchanged/);

    const again = JSON.parse((await runCli(['init', '--dir', dir, '--json'])).stdout) as InitJson;
    expect(again.changed).toEqual([]);
    expect(again.unchanged).toEqual([
      'app.json already runs drydock postdeploy',
      'app.json already has environments.review',
      'package.json lists drydock-cli in dependencies',
      'migrations/ already has 1 migration file(s)',
      'db/seeds.sql already exists',
      '.env.example already exists',
    ]);
  });

  it('adds the release line to a Procfile with a web line and keeps the web line', async () => {
    const dir = appDir({ Procfile: 'web: bundle exec puma -C config/puma.rb' });
    const res = await runCli(['init', '--dir', dir]);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('added release line to Procfile');
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe('web: bundle exec puma -C config/puma.rb\nrelease: npx --no drydock release\n');
  });

  it('warns about a different release line and leaves the Procfile untouched', async () => {
    const procfile = 'web: node server.js\nrelease: npm run migrate\n';
    const dir = appDir({ Procfile: procfile });
    const res = await runCli(['init', '--dir', dir]);
    expect(res.exitCode).toBe(0);
    expect(res.stderr).toMatch(/warning: Procfile already has a release line \("npm run migrate"\): left it unchanged; add `npx --no drydock release` to it/);
    expect(res.stdout).not.toContain('Procfile');
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe(procfile);
  });

  it('keeps every existing app.json key and adds only what is missing', async () => {
    const original = {
      name: 'my-app',
      env: { SECRET_KEY_BASE: { generator: 'secret' } },
      scripts: { test: 'npm test' },
      environments: { test: { scripts: { test: 'npm run ci' } } },
      buildpacks: [{ url: 'heroku/nodejs' }],
    };
    const dir = appDir({ 'app.json': JSON.stringify(original, null, 2) + '\n' });
    const res = await runCli(['init', '--dir', dir]);
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toContain('added scripts.postdeploy to app.json');
    expect(res.stdout).toContain('added environments.review to app.json');
    const text = readFileSync(join(dir, 'app.json'), 'utf8');
    const app = JSON.parse(text) as AppJson;
    expect(app).toMatchObject(original);
    expect(Object.keys(app)).toEqual(['name', 'env', 'scripts', 'environments', 'buildpacks']);
    expect(app.scripts).toEqual({ test: 'npm test', postdeploy: 'npx --no drydock postdeploy' });
    expect(Object.keys(app.environments)).toEqual(['test', 'review']);
    expect(text).toBe(JSON.stringify(app, null, 2) + '\n');
  });

  it('warns about a different postdeploy script and keeps it', async () => {
    const dir = appDir({ 'app.json': '{\n  "scripts": {\n    "postdeploy": "bin/setup-review"\n  }\n}\n' });
    const res = await runCli(['init', '--dir', dir]);
    expect(res.exitCode).toBe(0);
    expect(res.stderr).toContain('warning: app.json already has a postdeploy script ("bin/setup-review"): left it unchanged');
    expect((JSON.parse(readFileSync(join(dir, 'app.json'), 'utf8')) as AppJson).scripts).toEqual({ postdeploy: 'bin/setup-review' });
  });

  it('leaves an app.json that is not valid JSON alone, with a warning', async () => {
    const dir = appDir({ 'app.json': '{ "name": "x", }' });
    const res = await runCli(['init', '--dir', dir]);
    expect(res.exitCode).toBe(0);
    expect(res.stderr).toMatch(/warning: app\.json is not valid JSON/);
    expect(readFileSync(join(dir, 'app.json'), 'utf8')).toBe('{ "name": "x", }');
  });

  it('fails with exit 2 for a directory that does not exist', async () => {
    const res = await runCli(['init', '--dir', join(tmp, 'nope')]);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/^error: directory .*nope does not exist\nhint: /);
  });
});

/** Every entry under `dir` (directories too, empty or not) with a file's content. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) {
        out[`${relative(dir, path)}/`] = '';
        walk(path);
      } else out[relative(dir, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return out;
}

describe('drydock init checks every write before the first one (issue 12)', () => {
  const cases: Array<[string, (dir: string) => void, RegExp]> = [
    ['`migrations` is a file', (dir) => writeFileSync(join(dir, 'migrations'), 'not a folder\n'), /^error: .*migrations is a file, not a directory$/],
    ['`db` is a file', (dir) => writeFileSync(join(dir, 'db'), 'not a folder\n'), /^error: .*db is a file, not a directory$/],
    ['`Procfile` is a directory', (dir) => mkdirSync(join(dir, 'Procfile')), /^error: .*Procfile is a directory, not a file$/],
    ['`app.json` is a directory', (dir) => mkdirSync(join(dir, 'app.json')), /^error: .*app\.json is a directory, not a file$/],
    ['`.env.example` is a directory', (dir) => mkdirSync(join(dir, '.env.example')), /^error: .*\.env\.example is a directory, not a file$/],
    ['`package.json` is a directory', (dir) => mkdirSync(join(dir, 'package.json')), /^error: .*package\.json is a directory, not a file$/],
  ];
  for (const [what, breakIt, message] of cases) {
    it(`refuses when ${what}, writing nothing`, async () => {
      const dir = appDir();
      breakIt(dir);
      const before = tree(dir);
      const res = await runCli(['init', '--dir', dir]);
      expect(res.exitCode).toBe(2);
      const lines = res.stderr.trim().split('\n');
      expect(lines).toEqual([expect.stringMatching(message), expect.stringMatching(/^hint: .*nothing was changed/)]);
      expect(tree(dir)).toEqual(before);
    });
  }
});

describe('init (function)', () => {
  it('finds the templates from src/', () => {
    expect(statSync(join(templatesDir(), 'Procfile')).isFile()).toBe(true);
  });

  it('names the first migration after the UTC time and skips it when migrations exist', async () => {
    const now = new Date('2026-03-04T05:06:07.890Z');
    expect(migrationVersion(now)).toBe('20260304050607');
    const dir = appDir();
    const result = await init({ dir, now });
    expect(result.changed).toContain('created migrations/20260304050607_init.sql');

    const withMigration = appDir({ 'migrations/20250101000000_create_users.sql': '-- migrate:up\nCREATE TABLE users ();\n' });
    const second = await init({ dir: withMigration, now });
    expect(second.unchanged).toContain('migrations/ already has 1 migration file(s)');
    expect(readdirSync(join(withMigration, 'migrations'))).toEqual(['20250101000000_create_users.sql']);
  });

  it('writes a first migration that drydock can run as it is (the template plus a placeholder statement)', async () => {
    const dir = appDir();
    const result = await init({ dir, now: new Date('2026-01-02T03:04:05Z') });
    expect(result.changed).toContain('created migrations/20260102030405_init.sql');
    const path = join(dir, 'migrations/20260102030405_init.sql');
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith(readFileSync(join(templatesDir(), 'migration.sql'), 'utf8').split('\n')[0]!)).toBe(true);
    const parsed = parseMigrationFile(path, text);
    expect(parsed.version).toBe('20260102030405');
    expect(parsed.up.sql).toMatch(/^SELECT 1; -- placeholder/m);
  });

  it('falls back to a minimal migration when the template is missing', async () => {
    const templates = mkdtempSync(join(tmp, 'templates-'));
    for (const name of ['Procfile', 'app.json', 'seeds.sql', 'env.example']) writeFileSync(join(templates, name), readFileSync(join(templatesDir(), name)));
    const dir = appDir();
    await init({ dir, now: new Date('2026-01-02T03:04:05Z'), templatesDir: templates });
    const path = join(dir, 'migrations/20260102030405_init.sql');
    expect(parseMigrationFile(path, readFileSync(path)).up.sql.trim()).toMatch(/^SELECT 1;/);
  });

  it('leaves a migration template that already has a statement as it is', () => {
    const template = '-- migrate:up\nCREATE TABLE t ();\n\n-- migrate:down\nDROP TABLE t;\n';
    expect(firstMigration(template)).toBe(template);
  });

  it('keeps an existing release line that already runs drydock', async () => {
    const dir = appDir({ Procfile: 'release: drydock release --verbose\r\nweb: node server.js\r\n' });
    const result = await init({ dir });
    expect(result.unchanged).toContain('Procfile already runs drydock release');
    expect(result.warnings).toEqual([]);
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe('release: drydock release --verbose\r\nweb: node server.js\r\n');
  });
});

/** The parts of a framework app's app.json these tests read. */
interface FrameworkAppJson extends AppJson {
  buildpacks?: Array<{ url: string }>;
  [key: string]: unknown;
}

/** Run init twice through the CLI: the first changes, the second must change nothing and warn about nothing. */
async function initTwice(dir: string): Promise<{ first: InitJson; secondStdout: string }> {
  const first = await runCli(['init', '--dir', dir, '--json']);
  expect(first.exitCode).toBe(0);
  const before = snapshot(dir);
  const second = await runCli(['init', '--dir', dir]);
  expect(second.exitCode).toBe(0);
  expect(second.stderr).toBe('');
  expect(snapshot(dir)).toEqual(before);
  return { first: JSON.parse(first.stdout) as InitJson, secondStdout: second.stdout };
}

/** stderr without the timestamps plain (CI) output puts in front of each line. */
const untimed = (stderr: string): string => stderr.replace(/^\[[^\]]+\] /gm, '');

/** package.json of an app that has installed drydock-cli the way the README says (a dependency). */
const withDrydock = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ name: 'app', private: true, ...extra, dependencies: { 'drydock-cli': '^0.1.0', ...(extra.dependencies as object) } }, null, 2) + '\n';

describe('drydock init in a framework app (issue 16)', () => {
  it('Rails: runs the existing migrate release line through drydock, wires postdeploy to schema:load and seed, adds the Node.js buildpack, keeps every other line and key, and starts no migrations/', async () => {
    const appJson = { name: 'rails-app', env: { RAILS_MASTER_KEY: { required: true } }, formation: { web: { quantity: 1 } } };
    const dir = appDir({
      Gemfile: "source 'https://rubygems.org'\ngem 'rails'\n",
      'db/migrate/20240101000000_create_users.rb': 'class CreateUsers < ActiveRecord::Migration[7.1]; end\n',
      'db/seeds.rb': "User.create!(email: 'seed@example.com')\n",
      Procfile: 'web: bundle exec puma -C config/puma.rb\nrelease: bundle exec rails db:migrate\nworker: bundle exec sidekiq\n',
      'app.json': JSON.stringify(appJson, null, 2) + '\n',
      'package.json': withDrydock(),
    });
    const { first, secondStdout } = await initTwice(dir);
    expect(first.stack).toEqual({ language: 'ruby', framework: 'Rails' });
    expect(first.warnings).toEqual([]);
    expect(first.changed).toEqual([
      'Procfile: the release line runs `bundle exec rails db:migrate` through drydock release now',
      'added scripts.postdeploy to app.json',
      'added environments.review to app.json',
      'added buildpacks to app.json (heroku/nodejs, which runs drydock, then heroku/ruby)',
      'created .env.example',
    ]);
    expect(secondStdout).toBe('already set up: nothing to change');

    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe(
      'web: bundle exec puma -C config/puma.rb\nrelease: npx --no drydock release --command "bundle exec rails db:migrate"\nworker: bundle exec sidekiq\n',
    );
    const app = JSON.parse(readFileSync(join(dir, 'app.json'), 'utf8')) as FrameworkAppJson;
    expect(app).toMatchObject(appJson);
    expect(Object.keys(app)).toEqual(['name', 'env', 'formation', 'scripts', 'environments', 'buildpacks']);
    expect(app.scripts).toEqual({ postdeploy: 'npx --no drydock postdeploy --command "bin/rails db:schema:load" --seed-command "bin/rails db:seed"' });
    expect(app.buildpacks).toEqual([{ url: 'heroku/nodejs' }, { url: 'heroku/ruby' }]);
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe(withDrydock());
    // No second migration system: no migrations/, no db/seeds.sql.
    expect(readdirSync(dir).sort()).toEqual(['.env.example', 'Gemfile', 'Procfile', 'app.json', 'db', 'package.json']);
    expect(readdirSync(join(dir, 'db')).sort()).toEqual(['migrate', 'seeds.rb']);
  });

  it('Rails from scratch: creates the Procfile, app.json and package.json for the Node.js buildpack beside Ruby', async () => {
    const dir = appDir({ Gemfile: "gem 'rails'\n", 'db/migrate/20240101000000_create_users.rb': '' });
    const res = await runCli(['init', '--dir', dir]);
    expect(res.exitCode).toBe(0);
    expect(res.stderr).toBe('');
    expect(res.stdout.split('\n').slice(0, 3)).toEqual([
      "created Procfile (release runs Rails's `bin/rails db:migrate` through drydock)",
      "created app.json (postdeploy sets the schema up with `bin/rails db:schema:load` behind drydock's guard)",
      'created package.json with drydock-cli in dependencies (run `npm install` and commit package-lock.json)',
    ]);
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe('release: npx --no drydock release --command "bin/rails db:migrate"\n');
    const app = JSON.parse(readFileSync(join(dir, 'app.json'), 'utf8')) as FrameworkAppJson;
    // No db/seeds.rb: no seed command.
    expect(app.scripts).toEqual({ postdeploy: 'npx --no drydock postdeploy --command "bin/rails db:schema:load"' });
    expect(app.buildpacks).toEqual([{ url: 'heroku/nodejs' }, { url: 'heroku/ruby' }]);
    expect(app.environments.review).toMatchObject({ env: { DRYDOCK_REVIEW_APP: 'true' } });
    expect(existsSync(join(dir, 'migrations'))).toBe(false);
    expect((await runCli(['init', '--dir', dir])).stdout).toBe('already set up: nothing to change');
  });

  it('Django: wires python manage.py migrate, keeps the web line and the existing buildpacks key, and warns once that heroku/nodejs is missing from it', async () => {
    const appJson = { name: 'django-app', buildpacks: [{ url: 'heroku/python' }], scripts: { test: 'python manage.py test' } };
    const dir = appDir({
      'manage.py': '#!/usr/bin/env python\n',
      'requirements.txt': 'django\n',
      Procfile: 'web: gunicorn mysite.wsgi\nrelease: python manage.py migrate --noinput\n',
      'app.json': JSON.stringify(appJson, null, 4) + '\n',
      'package.json': withDrydock(),
    });
    const res = await runCli(['init', '--dir', dir, '--json']);
    const result = JSON.parse(res.stdout) as InitJson;
    expect(result.stack).toEqual({ language: 'python', framework: 'Django' });
    expect(result.warnings).toEqual(['app.json "buildpacks" has no heroku/nodejs: left it unchanged; put { "url": "heroku/nodejs" } first so review apps can run drydock']);
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe('web: gunicorn mysite.wsgi\nrelease: npx --no drydock release --command "python manage.py migrate --noinput"\n');
    const text = readFileSync(join(dir, 'app.json'), 'utf8');
    const app = JSON.parse(text) as FrameworkAppJson;
    expect(app.buildpacks).toEqual([{ url: 'heroku/python' }]);
    expect(app.scripts).toEqual({ test: 'python manage.py test', postdeploy: 'npx --no drydock postdeploy --command "python manage.py migrate"' });
    expect(text).toBe(JSON.stringify(app, null, 4) + '\n');

    // With heroku/nodejs in front, a second run has nothing to say.
    writeFileSync(join(dir, 'app.json'), JSON.stringify({ ...app, buildpacks: [{ url: 'heroku/nodejs' }, { url: 'heroku/python' }] }, null, 4) + '\n');
    const { first, secondStdout } = await initTwice(dir);
    expect(first.changed).toEqual([]);
    expect(first.warnings).toEqual([]);
    expect(first.unchanged).toContain('app.json buildpacks include heroku/nodejs');
    expect(secondStdout).toBe('already set up: nothing to change');
  });

  it('Prisma: adds a release line for prisma migrate deploy, seeds with prisma db seed when package.json configures it, and warns when prisma is only a devDependency', async () => {
    const dir = appDir({
      'prisma/schema.prisma': 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n',
      'prisma/migrations/20240101000000_init/migration.sql': 'CREATE TABLE "User" (id serial PRIMARY KEY);\n',
      'package.json': withDrydock({ prisma: { seed: 'node prisma/seed.js' }, devDependencies: { prisma: '^6.0.0' } }),
      Procfile: 'web: node server.js\n',
    });
    const first = JSON.parse((await runCli(['init', '--dir', dir, '--json'])).stdout) as InitJson;
    expect(first.stack).toEqual({ language: 'node', framework: 'Prisma' });
    expect(first.warnings).toEqual([
      'package.json lists prisma only in devDependencies: run `npm install --save-prod prisma` (release runs `npx prisma migrate deploy`; Heroku prunes devDependencies before the release phase)',
    ]);
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe('web: node server.js\nrelease: npx --no drydock release --command "npx prisma migrate deploy"\n');
    const app = JSON.parse(readFileSync(join(dir, 'app.json'), 'utf8')) as FrameworkAppJson;
    expect(app.scripts).toEqual({ postdeploy: 'npx --no drydock postdeploy --command "npx prisma migrate deploy" --seed-command "npx prisma db seed"' });
    expect(app.buildpacks).toBeUndefined();
    expect(existsSync(join(dir, 'migrations'))).toBe(false);

    // init never edits an existing package.json (its lockfile would no longer match); once the team moves prisma, all is quiet.
    writeFileSync(join(dir, 'package.json'), withDrydock({ prisma: { seed: 'node prisma/seed.js' }, dependencies: { prisma: '^6.0.0' } }));
    const { first: again, secondStdout } = await initTwice(dir);
    expect(again.changed).toEqual([]);
    expect(again.warnings).toEqual([]);
    expect(secondStdout).toBe('already set up: nothing to change');
  });

  it("Knex: appends the release line, seeds with knex seed:run, and does not take Knex's JavaScript migrations/ for drydock's", async () => {
    const dir = appDir({
      'knexfile.js': "module.exports = { client: 'pg', connection: process.env.DATABASE_URL };\n",
      'migrations/20240101000000_create_users.js': 'exports.up = (knex) => knex.schema.createTable("users", (t) => t.increments());\n',
      'seeds/users.js': 'exports.seed = async () => {};\n',
      'package.json': withDrydock({ dependencies: { knex: '^3.1.0', pg: '^8.0.0' } }),
      Procfile: 'web: node server.js',
    });
    const { first, secondStdout } = await initTwice(dir);
    expect(first.stack).toEqual({ language: 'node', framework: 'Knex' });
    expect(first.warnings).toEqual([]);
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe('web: node server.js\nrelease: npx --no drydock release --command "npx knex migrate:latest"\n');
    const app = JSON.parse(readFileSync(join(dir, 'app.json'), 'utf8')) as FrameworkAppJson;
    expect(app.scripts).toEqual({ postdeploy: 'npx --no drydock postdeploy --command "npx knex migrate:latest" --seed-command "npx knex seed:run"' });
    expect(readdirSync(join(dir, 'migrations'))).toEqual(['20240101000000_create_users.js']);
    expect(secondStdout).toBe('already set up: nothing to change');
  });

  it('leaves a release line that is more than the migrate command alone, suggesting the drydock line for the framework', async () => {
    const procfile = 'release: ./bin/release-tasks.sh\nweb: bundle exec puma\n';
    const dir = appDir({ Gemfile: '', 'db/migrate/.keep': '', Procfile: procfile, 'package.json': withDrydock() });
    const res = await runCli(['init', '--dir', dir]);
    expect(res.exitCode).toBe(0);
    expect(untimed(res.stderr)).toBe(
      'warning: Procfile already has a release line ("./bin/release-tasks.sh"): left it unchanged; add `npx --no drydock release --command "bin/rails db:migrate"` to it so migrations run on every deploy',
    );
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe(procfile);
  });

  it("uses drydock's own migrations when migrations/ holds SQL files, even in a Rails repository", async () => {
    const dir = appDir({ Gemfile: '', 'db/migrate/.keep': '', 'migrations/20250101000000_create_users.sql': '-- migrate:up\nCREATE TABLE users ();\n' });
    const result = JSON.parse((await runCli(['init', '--dir', dir, '--json'])).stdout) as InitJson;
    expect(result.stack).toEqual({ language: 'ruby', framework: null });
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe('release: npx --no drydock release\n');
    expect((JSON.parse(readFileSync(join(dir, 'app.json'), 'utf8')) as FrameworkAppJson).buildpacks).toEqual([{ url: 'heroku/nodejs' }, { url: 'heroku/ruby' }]);
  });
});

describe('drydock init and the installed package (issue 16)', () => {
  it('turns a plain `npx drydock` (which can download the unrelated npm package) into `npx --no drydock`, then says it is set up', async () => {
    const dir = appDir({
      Procfile: 'web: node server.js\r\nrelease: npx drydock release --verbose\r\n',
      'app.json': '{\n  "scripts": {\n    "postdeploy": "npx -y drydock postdeploy"\n  }\n}\n',
      'package.json': withDrydock(),
    });
    const res = await runCli(['init', '--dir', dir]);
    expect(res.exitCode).toBe(0);
    expect(res.stderr).toBe('');
    expect(res.stdout).toContain(
      'Procfile: the release line now runs `npx --no drydock` (plain `npx drydock` downloads the unrelated npm package `drydock` when drydock-cli is not installed)',
    );
    expect(res.stdout).toContain('app.json: scripts.postdeploy now runs `npx --no drydock`');
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe('web: node server.js\r\nrelease: npx --no drydock release --verbose\r\n');
    expect((JSON.parse(readFileSync(join(dir, 'app.json'), 'utf8')) as AppJson).scripts).toEqual({ postdeploy: 'npx --no drydock postdeploy' });
    const { first, secondStdout } = await initTwice(dir);
    expect(first.changed).toEqual([]);
    expect(secondStdout).toBe('already set up: nothing to change');
  });

  it('warns, without editing package.json, when drydock-cli is only a devDependency or missing', async () => {
    const dev = JSON.stringify({ name: 'app', devDependencies: { 'drydock-cli': '^0.1.0' } }) + '\n';
    const dir = appDir({ 'package.json': dev });
    const res = await runCli(['init', '--dir', dir]);
    expect(res.exitCode).toBe(0);
    expect(untimed(res.stderr)).toBe(
      'warning: package.json lists drydock-cli only in devDependencies: run `npm install --save-prod drydock-cli` (the release phase runs drydock; Heroku prunes devDependencies before the release phase)',
    );
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe(dev);

    const none = appDir({ 'package.json': '{ "name": "app", "dependencies": { "express": "^5.0.0" } }\n' });
    expect(untimed((await runCli(['init', '--dir', none])).stderr)).toMatch(/^warning: package\.json does not list drydock-cli: run `npm install --save-prod drydock-cli`/);
  });

  it('--ci writes the GitHub Actions workflow once, and not in a framework app whose migrations rehearse cannot run', async () => {
    const dir = appDir({ 'package.json': withDrydock() });
    const res = await runCli(['init', '--dir', dir, '--ci']);
    expect(res.exitCode).toBe(0);
    expect(res.stdout.split('\n').at(-1)).toBe('created .github/workflows/drydock.yml');
    expect(readFileSync(join(dir, '.github/workflows/drydock.yml'), 'utf8')).toBe(readFileSync(join(templatesDir(), 'github-workflow.yml'), 'utf8'));
    const again = await runCli(['init', '--dir', dir, '--ci', '--json']);
    expect((JSON.parse(again.stdout) as InitJson).unchanged).toContain('.github/workflows/drydock.yml already exists');
    expect((await runCli(['init', '--dir', dir, '--ci'])).stdout).toBe('already set up: nothing to change');

    const rails = appDir({ Gemfile: '', 'db/migrate/.keep': '', 'package.json': withDrydock() });
    const railsRun = await runCli(['init', '--dir', rails, '--ci']);
    expect(railsRun.exitCode).toBe(0);
    expect(untimed(railsRun.stderr)).toMatch(/^warning: did not write \.github\/workflows\/drydock\.yml: its rehearse step runs drydock's own SQL migrations, and this Rails app migrates with `bin\/rails db:migrate`/);
    expect(existsSync(join(rails, '.github'))).toBe(false);
  });
});
