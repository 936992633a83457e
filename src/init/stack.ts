/**
 * What `drydock init` reads from an app's repository: its language and its migration framework.
 *
 * - The language decides the Heroku buildpacks: drydock is a Node program, so a Ruby, Python or Go app
 *   runs it through the heroku/nodejs buildpack added before its own (`heroku buildpacks:add --index 1
 *   heroku/nodejs`), with a package.json that lists drydock-cli as a dependency.
 * - A framework that migrates on its own (Rails, Django, Prisma, Knex) keeps doing so: release runs its
 *   command (`drydock release --command "bin/rails db:migrate"`) and the review app's postdeploy sets the
 *   schema up with it behind drydock's guard, instead of init starting a second migration system.
 *
 * Pure: the pipeline (pipelines/init.ts) looks at the files and passes what it found.
 */
import { RUN_DRYDOCK } from '../package-root.js';

/** The app's language, as far as Heroku's buildpacks are concerned. */
export type Language = 'node' | 'ruby' | 'python' | 'go';

/** The buildpack each non-Node language needs after heroku/nodejs. */
export const LANGUAGE_BUILDPACKS: Readonly<Record<Exclude<Language, 'node'>, string>> = {
  ruby: 'heroku/ruby',
  python: 'heroku/python',
  go: 'heroku/go',
};

/** A migration framework drydock delegates to. */
export interface Framework {
  name: 'Rails' | 'Django' | 'Prisma' | 'Knex';
  /** The files that gave it away, for the report. */
  evidence: string;
  /** Its migrate command: what `release --command` runs. */
  migrate: string;
  /** What sets an empty review-app database up: postdeploy's `--command`. */
  setup: string;
  /** Its seed command, when the app has seeds: postdeploy's `--seed-command`. */
  seed: string | undefined;
  /** The npm package its command runs through npx: it must be a dependency too (Heroku prunes devDependencies). */
  cliPackage: string | undefined;
}

/** Paths (relative to the repository) init looks for; the pipeline reports which exist. */
export const STACK_MARKERS = [
  'Gemfile',
  'db/migrate',
  'db/seeds.rb',
  'manage.py',
  'requirements.txt',
  'Pipfile',
  'pyproject.toml',
  'go.mod',
  'prisma/schema.prisma',
  'knexfile.js',
  'knexfile.ts',
  'knexfile.cjs',
  'knexfile.mjs',
  'seeds',
] as const;

/** A marker path. */
export type StackMarker = (typeof STACK_MARKERS)[number];

/** What the repository holds, as the pipeline found it. */
export interface RepoFacts {
  /** The markers that exist (db/migrate and seeds only when they are directories). */
  present: ReadonlySet<StackMarker>;
  /** package.json, parsed, when there is a valid one. */
  packageJson: Record<string, unknown> | undefined;
  /** migrations/ holds .sql files: the app already uses drydock's own migrations. */
  hasDrydockMigrations: boolean;
}

/** What init decided about the app. */
export interface Stack {
  language: Language;
  framework: Framework | undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The language, by the files each buildpack detects (Heroku's own order: Ruby, Node, Python, Go; Node last here as the default). */
export function detectLanguage(present: ReadonlySet<StackMarker>): Language {
  if (present.has('Gemfile')) return 'ruby';
  if (present.has('manage.py') || present.has('requirements.txt') || present.has('Pipfile') || present.has('pyproject.toml')) return 'python';
  if (present.has('go.mod')) return 'go';
  return 'node';
}

/**
 * The migration framework, if any. An app whose migrations/ already holds SQL files uses drydock's own
 * runner, whatever else is there.
 */
export function detectFramework(facts: RepoFacts): Framework | undefined {
  if (facts.hasDrydockMigrations) return undefined;
  const { present } = facts;
  if (present.has('Gemfile') && present.has('db/migrate')) {
    return {
      name: 'Rails',
      evidence: 'Gemfile and db/migrate/',
      migrate: 'bin/rails db:migrate',
      setup: 'bin/rails db:schema:load',
      seed: present.has('db/seeds.rb') ? 'bin/rails db:seed' : undefined,
      cliPackage: undefined,
    };
  }
  if (present.has('manage.py')) {
    return { name: 'Django', evidence: 'manage.py', migrate: 'python manage.py migrate', setup: 'python manage.py migrate', seed: undefined, cliPackage: undefined };
  }
  if (present.has('prisma/schema.prisma')) {
    const prisma = facts.packageJson?.prisma;
    const hasSeed = isObject(prisma) && typeof prisma.seed === 'string';
    return {
      name: 'Prisma',
      evidence: 'prisma/schema.prisma',
      migrate: 'npx prisma migrate deploy',
      setup: 'npx prisma migrate deploy',
      seed: hasSeed ? 'npx prisma db seed' : undefined,
      cliPackage: 'prisma',
    };
  }
  const knexfile = (['knexfile.js', 'knexfile.ts', 'knexfile.cjs', 'knexfile.mjs'] as const).find((f) => present.has(f));
  if (knexfile) {
    return {
      name: 'Knex',
      evidence: knexfile,
      migrate: 'npx knex migrate:latest',
      setup: 'npx knex migrate:latest',
      seed: present.has('seeds') ? 'npx knex seed:run' : undefined,
      cliPackage: 'knex',
    };
  }
  return undefined;
}

/** Language and framework together. */
export function detectStack(facts: RepoFacts): Stack {
  return { language: detectLanguage(facts.present), framework: detectFramework(facts) };
}

/**
 * Release lines that are exactly the framework's own migrate command, however the app spells it
 * (`bundle exec rake db:migrate`, `python3 manage.py migrate --noinput`): init moves such a line behind
 * `drydock release --command`, keeping the app's spelling.
 */
const OWN_MIGRATE: Readonly<Record<Framework['name'], RegExp>> = {
  Rails: /^(?:bundle exec )?(?:bin\/)?(?:rails|rake) db:migrate$/,
  Django: /^python[0-9.]* manage\.py migrate(?: --no-?input)?$/,
  Prisma: /^(?:npx |yarn |pnpm (?:exec )?)?prisma migrate deploy$/,
  Knex: /^(?:npx |yarn |pnpm (?:exec )?)?knex migrate:latest$/,
};

/** Whether a release command is the framework's own migrate command and nothing else. */
export function isOwnMigrate(framework: Framework, command: string): boolean {
  return OWN_MIGRATE[framework.name].test(command.trim().replace(/\s+/g, ' '));
}

/** `value` as one shell word: double quotes when that is enough, else single quotes. */
export function shellQuote(value: string): string {
  if (/^[\w@%+=:,./ -]*$/.test(value)) return `"${value}"`;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The release phase's command: drydock's runner, or the framework's migrate command (`own`, default its usual one) through drydock. */
export function releaseCommand(framework: Framework | undefined, own?: string): string {
  const base = `${RUN_DRYDOCK} release`;
  return framework ? `${base} --command ${shellQuote(own ?? framework.migrate)}` : base;
}

/** The review app's postdeploy: drydock's guard around the schema file and seeds, or around the framework's setup and seed commands. */
export function postdeployCommand(framework: Framework | undefined): string {
  const base = `${RUN_DRYDOCK} postdeploy`;
  if (!framework) return base;
  return `${base} --command ${shellQuote(framework.setup)}${framework.seed ? ` --seed-command ${shellQuote(framework.seed)}` : ''}`;
}

/**
 * A command with every `npx drydock` (also `npx -y`/`--yes drydock`) turned into `npx --no drydock`:
 * plain npx downloads the unrelated registry package `drydock` when drydock-cli is not installed.
 */
export function pinInstalledDrydock(command: string): string {
  return command.replace(/\bnpx\s+(?:(?:--yes|-y)\s+)?drydock(?![\w-])/g, RUN_DRYDOCK);
}
