/**
 * What `drydock init` concludes from an app's files (src/init/stack.ts): language, migration framework,
 * and the Procfile and app.json commands built from them.
 */
import { describe, expect, it } from 'vitest';

import { detectStack, isOwnMigrate, pinInstalledDrydock, postdeployCommand, releaseCommand, shellQuote, type RepoFacts, type StackMarker } from '../../../src/init/stack.js';

const facts = (present: StackMarker[], extra: Partial<RepoFacts> = {}): RepoFacts => ({ present: new Set(present), packageJson: undefined, hasDrydockMigrations: false, ...extra });
const name = (f: RepoFacts) => detectStack(f).framework?.name ?? null;

describe('detectStack', () => {
  it('tells Rails, Django, Prisma and Knex apart by their files', () => {
    expect(detectStack(facts(['Gemfile', 'db/migrate']))).toMatchObject({ language: 'ruby', framework: { name: 'Rails', migrate: 'bin/rails db:migrate', seed: undefined } });
    expect(detectStack(facts(['manage.py', 'requirements.txt']))).toMatchObject({ language: 'python', framework: { name: 'Django', migrate: 'python manage.py migrate' } });
    expect(detectStack(facts(['prisma/schema.prisma']))).toMatchObject({ language: 'node', framework: { name: 'Prisma', migrate: 'npx prisma migrate deploy', cliPackage: 'prisma' } });
    expect(detectStack(facts(['knexfile.ts']))).toMatchObject({ language: 'node', framework: { name: 'Knex', evidence: 'knexfile.ts', seed: undefined } });
    expect(detectStack(facts(['go.mod']))).toEqual({ language: 'go', framework: undefined });
    expect(detectStack(facts([]))).toEqual({ language: 'node', framework: undefined });
  });

  it('needs both Gemfile and db/migrate for Rails (a Ruby app without migrations is just Ruby)', () => {
    expect(detectStack(facts(['Gemfile']))).toEqual({ language: 'ruby', framework: undefined });
    expect(name(facts(['db/migrate']))).toBeNull();
  });

  it('adds seed commands only where the app has seeds', () => {
    expect(detectStack(facts(['Gemfile', 'db/migrate', 'db/seeds.rb'])).framework?.seed).toBe('bin/rails db:seed');
    expect(detectStack(facts(['knexfile.js', 'seeds'])).framework?.seed).toBe('npx knex seed:run');
    expect(detectStack(facts(['prisma/schema.prisma'], { packageJson: { prisma: { seed: 'tsx prisma/seed.ts' } } })).framework?.seed).toBe('npx prisma db seed');
    expect(detectStack(facts(['prisma/schema.prisma'], { packageJson: { prisma: {} } })).framework?.seed).toBeUndefined();
  });

  it("keeps drydock's own runner when migrations/ already holds SQL files", () => {
    expect(detectStack(facts(['Gemfile', 'db/migrate'], { hasDrydockMigrations: true }))).toEqual({ language: 'ruby', framework: undefined });
  });
});

describe('isOwnMigrate', () => {
  const rails = detectStack(facts(['Gemfile', 'db/migrate'])).framework!;
  const django = detectStack(facts(['manage.py'])).framework!;
  it.each(['bin/rails db:migrate', 'bundle exec rails db:migrate', 'rake db:migrate', '  bundle   exec rake db:migrate '])('takes %j for Rails', (command) => {
    expect(isOwnMigrate(rails, command)).toBe(true);
  });
  it.each(['bin/rails db:migrate && bin/rails cache:clear', './bin/release', 'bin/rails db:migrate:status', 'npx drydock release'])('does not take %j for Rails', (command) => {
    expect(isOwnMigrate(rails, command)).toBe(false);
  });
  it('reads the spellings of Django', () => {
    expect(['python manage.py migrate', 'python3 manage.py migrate --noinput', 'python manage.py migrate --no-input'].every((c) => isOwnMigrate(django, c))).toBe(true);
    expect(isOwnMigrate(django, 'python manage.py migrate && python manage.py collectstatic')).toBe(false);
  });
});

describe('commands', () => {
  it('runs the installed drydock, with the framework command as one shell word', () => {
    const rails = detectStack(facts(['Gemfile', 'db/migrate', 'db/seeds.rb'])).framework!;
    expect(releaseCommand(undefined)).toBe('npx --no drydock release');
    expect(releaseCommand(rails)).toBe('npx --no drydock release --command "bin/rails db:migrate"');
    expect(releaseCommand(rails, 'bundle exec rake db:migrate')).toBe('npx --no drydock release --command "bundle exec rake db:migrate"');
    expect(postdeployCommand(undefined)).toBe('npx --no drydock postdeploy');
    expect(postdeployCommand(rails)).toBe('npx --no drydock postdeploy --command "bin/rails db:schema:load" --seed-command "bin/rails db:seed"');
  });

  it('quotes with single quotes what double quotes would expand', () => {
    expect(shellQuote('bin/rails db:migrate')).toBe('"bin/rails db:migrate"');
    expect(shellQuote('echo $HOME "x"')).toBe(`'echo $HOME "x"'`);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('pins every npx drydock to the installed one, and leaves other commands alone', () => {
    expect(pinInstalledDrydock('npx drydock release --verbose')).toBe('npx --no drydock release --verbose');
    expect(pinInstalledDrydock('npx -y drydock postdeploy && npx --yes drydock schema dump')).toBe('npx --no drydock postdeploy && npx --no drydock schema dump');
    for (const same of ['npx --no drydock release', 'drydock release', 'node_modules/.bin/drydock release', 'npx drydock-cli release', 'npx drydocker']) {
      expect(pinInstalledDrydock(same)).toBe(same);
    }
  });
});
