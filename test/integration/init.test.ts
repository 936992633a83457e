/**
 * `drydock init` in temporary directories: the built CLI (templates resolved from dist/) and the
 * plain function (templates resolved from src/).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { firstMigration, init, migrationVersion, templatesDir } from '../../src/pipelines/init.js';
import { parseMigrationFile } from '../../src/migrate/files.js';
import { runCli } from '../helpers/cli.js';

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
    expect(lines[2]).toMatch(/^created migrations\/\d{14}_init\.sql$/);
    expect(lines.slice(3)).toEqual(['created db/seeds.sql', 'created .env.example']);

    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe('release: npx drydock release\n');
    const app = JSON.parse(readFileSync(join(dir, 'app.json'), 'utf8')) as AppJson;
    expect(app.scripts).toEqual({ postdeploy: 'npx drydock postdeploy' });
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
    expect(Object.keys(result)).toEqual(['changed', 'unchanged', 'warnings']);
    expect(result.changed).toContain('created app.json');
    expect(result.unchanged).toEqual([]);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/^Procfile already has a release line \("\.\/bin\/migrate"\): left it unchanged/);

    const again = JSON.parse((await runCli(['init', '--dir', dir, '--json'])).stdout) as InitJson;
    expect(again.changed).toEqual([]);
    expect(again.unchanged).toEqual([
      'app.json already runs drydock postdeploy',
      'app.json already has environments.review',
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
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe('web: bundle exec puma -C config/puma.rb\nrelease: npx drydock release\n');
  });

  it('warns about a different release line and leaves the Procfile untouched', async () => {
    const procfile = 'web: node server.js\nrelease: npm run migrate\n';
    const dir = appDir({ Procfile: procfile });
    const res = await runCli(['init', '--dir', dir]);
    expect(res.exitCode).toBe(0);
    expect(res.stderr).toMatch(/warning: Procfile already has a release line \("npm run migrate"\): left it unchanged; add `npx drydock release` to it/);
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
    expect(app.scripts).toEqual({ test: 'npm test', postdeploy: 'npx drydock postdeploy' });
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
