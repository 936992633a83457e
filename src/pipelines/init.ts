/**
 * `drydock init`: set a Heroku app's repository up for drydock. Adds the release phase to the Procfile,
 * the review-app postdeploy script to app.json, drydock-cli to package.json, a first migration,
 * db/seeds.sql and .env.example, and with --ci a GitHub Actions workflow. In a framework app (Rails,
 * Django, Prisma, Knex: src/init/stack.ts) release and postdeploy run the framework's own commands and
 * no migrations/ is started. Never overwrites: what exists is kept, a conflicting line is reported as a
 * warning, and a second run changes nothing.
 */
import { constants, existsSync } from 'node:fs';
import { access, lstat, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { ConfigError, DrydockError } from '../errors.js';
import { detectStack, isOwnMigrate, LANGUAGE_BUILDPACKS, pinInstalledDrydock, postdeployCommand, releaseCommand, STACK_MARKERS, type Framework, type Language, type Stack, type StackMarker } from '../init/stack.js';
import { versionOf } from '../migrate/version.js';
import { PACKAGE_NAME, packagePath, packageVersion } from '../package-root.js';
import { writeFileAtomic } from '../schema/dump.js';

/** The package's templates/ directory (found from the package root: see src/package-root.ts). */
export function templatesDir(): string {
  return packagePath('templates');
}

/** Options of `init`. */
export interface InitOptions {
  /** The app's repository (default: the current directory). */
  dir?: string | undefined;
  /** The clock for the first migration's version (tests pin it). */
  now?: Date | undefined;
  /** Where the templates are (default templatesDir()). */
  templatesDir?: string | undefined;
  /** Also write the GitHub Actions workflow (.github/workflows/drydock.yml). */
  ci?: boolean | undefined;
}

/** What init did: the --json shape. */
export interface InitResult {
  /** One line per change, e.g. "created Procfile", "added release line to Procfile". */
  changed: string[];
  /** What was already in place. */
  unchanged: string[];
  /** What init left alone although it differs from what drydock needs. */
  warnings: string[];
  /** What init found the app to be. */
  stack: { language: Language; framework: Framework['name'] | null };
}

/** What a planner decided for one file: new text (or none) and what to report. */
export interface FilePlan {
  /** The file's new content; undefined leaves the file as it is. */
  text?: string | undefined;
  changed: string[];
  unchanged: string[];
  warnings: string[];
}

/** Where --ci writes the workflow. */
export const WORKFLOW_PATH = '.github/workflows/drydock.yml';

/** Why a plain `npx drydock` is rewritten (the same words for the Procfile and app.json). */
const PIN_REASON = 'plain `npx drydock` downloads the unrelated npm package `drydock` when drydock-cli is not installed';

/** Used when templates/migration.sql is absent (another install may ship without it). */
const FALLBACK_MIGRATION = '-- migrate:up\n\n-- migrate:down\n';

/** What init puts in an up section that has no statement yet (comments only). */
const PLACEHOLDER_STATEMENT = 'SELECT 1; -- placeholder so the first deploy succeeds: replace it with your first change';

/**
 * The first migration's text: the template, with a placeholder statement when its up section holds only
 * comments. drydock refuses a migration whose up section has no statement, and this file is deployed
 * (release phase) right after init, possibly before anyone edits it. Pure.
 */
export function firstMigration(template: string): string {
  const lines = template.split('\n');
  const up = lines.findIndex((l) => /^--\s*migrate:up\b/.test(l));
  if (up < 0) return template;
  let end = lines.findIndex((l, i) => i > up && /^--\s*migrate:/.test(l));
  if (end < 0) end = lines.length;
  const hasStatement = lines.slice(up + 1, end).some((l) => l.trim() !== '' && !l.trim().startsWith('--'));
  if (hasStatement) return template;
  // After the section's comments, before the blank lines that separate it from the next marker.
  let at = end;
  while (at > up + 1 && lines[at - 1]!.trim() === '') at -= 1;
  lines.splice(at, 0, PLACEHOLDER_STATEMENT);
  return lines.join('\n');
}

/** A migration version for `date`: 14 digits, UTC (20260121093000). Pure. */
export function migrationVersion(date: Date): string {
  return versionOf(date);
}

/**
 * Add drydock's release line to a Procfile (pure). A missing Procfile is created from `template` (or,
 * in a framework app, with the framework's migrate command behind drydock). An existing release line is
 * kept when it runs drydock release (a plain `npx drydock` becomes `npx --no drydock`), moved behind
 * `drydock release --command` when it is exactly the framework's migrate command, and otherwise left
 * alone with a warning. Every other line stays as it is.
 */
export function planProcfile(existing: string | undefined, template: string, framework?: Framework): FilePlan {
  const plan: FilePlan = { changed: [], unchanged: [], warnings: [] };
  const wanted = `release: ${releaseCommand(framework)}`;
  if (existing === undefined) {
    plan.text = framework ? `${wanted}\n` : template;
    plan.changed.push(framework ? `created Procfile (release runs ${framework.name}'s \`${framework.migrate}\` through drydock)` : 'created Procfile');
    return plan;
  }
  const eol = existing.includes('\r\n') ? '\r\n' : '\n';
  // Lines at even indices, their line breaks at odd ones: one line can change and the rest stays byte for byte.
  const parts = existing.split(/(\r?\n)/);
  const index = parts.findIndex((part, i) => i % 2 === 0 && /^\s*release\s*:/.test(part));
  if (index >= 0) {
    const line = parts[index]!;
    const command = line.replace(/^\s*release\s*:\s*/, '').trim();
    if (/\bdrydock\s+release\b/.test(command)) {
      const pinned = pinInstalledDrydock(line);
      if (pinned === line) plan.unchanged.push('Procfile already runs drydock release');
      else {
        parts[index] = pinned;
        plan.text = parts.join('');
        plan.changed.push(`Procfile: the release line now runs \`npx --no drydock\` (${PIN_REASON})`);
      }
    } else if (framework && isOwnMigrate(framework, command)) {
      parts[index] = `release: ${releaseCommand(framework, command)}`;
      plan.text = parts.join('');
      plan.changed.push(`Procfile: the release line runs \`${command}\` through drydock release now`);
    } else {
      plan.warnings.push(`Procfile already has a release line ("${command}"): left it unchanged; add \`${releaseCommand(framework)}\` to it so migrations run on every deploy`);
    }
    return plan;
  }
  const releaseLine = framework ? wanted : (template.split(/\r?\n/).find((line) => /^release\s*:/.test(line)) ?? wanted);
  const separator = existing === '' || existing.endsWith('\n') ? '' : eol;
  plan.text = `${existing}${separator}${releaseLine}${eol}`;
  plan.changed.push(framework ? `added release line to Procfile (${framework.name}'s \`${framework.migrate}\` through drydock)` : 'added release line to Procfile');
  return plan;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a buildpacks entry (a string or `{ "url": … }`) is Heroku's Node.js buildpack. */
function isNodeBuildpack(entry: unknown): boolean {
  const url = isPlainObject(entry) ? entry.url : entry;
  return typeof url === 'string' && /^heroku\/nodejs$|heroku-buildpack-nodejs/.test(url);
}

/**
 * Add scripts.postdeploy and environments.review from `template` (app.json text) to an app.json (pure),
 * and for a Ruby, Python or Go app the buildpacks (heroku/nodejs first, then the app's own) when it names
 * none. Existing keys always win; a postdeploy script that does not run drydock is kept with a warning;
 * a plain `npx drydock` in one that does becomes `npx --no drydock`. The file is rewritten only when
 * something is added, with its own indentation (default 2 spaces).
 */
export function planAppJson(existing: string | undefined, template: string, stack: Stack = { language: 'node', framework: undefined }): FilePlan {
  const plan: FilePlan = { changed: [], unchanged: [], warnings: [] };
  const fragment = JSON.parse(template) as { scripts?: Record<string, unknown>; environments?: Record<string, unknown> };
  const postdeploy = stack.framework || typeof fragment.scripts?.postdeploy !== 'string' ? postdeployCommand(stack.framework) : fragment.scripts.postdeploy;
  const buildpacks = stack.language === 'node' ? undefined : [{ url: 'heroku/nodejs' }, { url: LANGUAGE_BUILDPACKS[stack.language] }];
  if (existing === undefined) {
    if (!stack.framework && !buildpacks) {
      plan.text = template;
    } else {
      const doc: Record<string, unknown> = { ...(buildpacks ? { buildpacks } : {}), ...fragment, scripts: { ...fragment.scripts, postdeploy } };
      plan.text = JSON.stringify(doc, null, 2) + '\n';
    }
    plan.changed.push(stack.framework ? `created app.json (postdeploy sets the schema up with \`${stack.framework.setup}\` behind drydock's guard)` : 'created app.json');
    return plan;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(existing);
  } catch (error) {
    plan.warnings.push(`app.json is not valid JSON (${(error as Error).message}): left it unchanged`);
    return plan;
  }
  if (!isPlainObject(doc)) {
    plan.warnings.push('app.json does not hold a JSON object: left it unchanged');
    return plan;
  }
  let added = false;

  const scripts = doc.scripts;
  if (scripts === undefined) {
    doc.scripts = { postdeploy };
    plan.changed.push('added scripts.postdeploy to app.json');
    added = true;
  } else if (!isPlainObject(scripts)) {
    plan.warnings.push(`app.json "scripts" is not an object: left it unchanged; add "postdeploy": ${JSON.stringify(postdeploy)} to it by hand`);
  } else if (scripts.postdeploy === undefined) {
    scripts.postdeploy = postdeploy;
    plan.changed.push('added scripts.postdeploy to app.json');
    added = true;
  } else if (typeof scripts.postdeploy === 'string' && /\bdrydock\s+postdeploy\b/.test(scripts.postdeploy)) {
    const pinned = pinInstalledDrydock(scripts.postdeploy);
    if (pinned === scripts.postdeploy) plan.unchanged.push('app.json already runs drydock postdeploy');
    else {
      scripts.postdeploy = pinned;
      plan.changed.push(`app.json: scripts.postdeploy now runs \`npx --no drydock\` (${PIN_REASON})`);
      added = true;
    }
  } else {
    plan.warnings.push(
      `app.json already has a postdeploy script (${JSON.stringify(scripts.postdeploy)}): left it unchanged; add \`${postdeploy}\` to it so review apps get the schema`,
    );
  }

  const review = fragment.environments?.review;
  const environments = doc.environments;
  if (review !== undefined) {
    if (environments === undefined) {
      doc.environments = { review };
      plan.changed.push('added environments.review to app.json');
      added = true;
    } else if (!isPlainObject(environments)) {
      plan.warnings.push('app.json "environments" is not an object: left it unchanged');
    } else if (environments.review === undefined) {
      environments.review = review;
      plan.changed.push('added environments.review to app.json');
      added = true;
    } else {
      plan.unchanged.push('app.json already has environments.review');
    }
  }

  if (buildpacks) {
    const own = LANGUAGE_BUILDPACKS[stack.language as Exclude<Language, 'node'>];
    if (doc.buildpacks === undefined) {
      doc.buildpacks = buildpacks;
      plan.changed.push(`added buildpacks to app.json (heroku/nodejs, which runs drydock, then ${own})`);
      added = true;
    } else if (Array.isArray(doc.buildpacks) && doc.buildpacks.some(isNodeBuildpack)) {
      plan.unchanged.push('app.json buildpacks include heroku/nodejs');
    } else {
      plan.warnings.push(`app.json "buildpacks" has no heroku/nodejs: left it unchanged; put { "url": "heroku/nodejs" } first so review apps can run drydock`);
    }
  }

  if (added) {
    const indent = /^([ \t]+)"/m.exec(existing)?.[1] ?? '  ';
    plan.text = JSON.stringify(doc, null, indent) + (existing.includes('\r\n') ? '\r\n' : '\n');
  }
  return plan;
}

/**
 * Make drydock-cli a dependency (pure). A missing package.json is created with it (Heroku's Node.js
 * buildpack installs what package.json lists; a Ruby, Python or Go app has none yet). An existing one is
 * never edited, since its lockfile would no longer match (`npm ci` fails the build): a warning says what
 * to run when drydock-cli is missing or only a devDependency, which Heroku prunes before the release
 * phase. The same goes for the framework's CLI (prisma, knex) that release runs through npx.
 */
export function planPackageJson(existing: string | undefined, version: string, framework?: Framework): FilePlan {
  const plan: FilePlan = { changed: [], unchanged: [], warnings: [] };
  if (existing === undefined) {
    plan.text = JSON.stringify({ private: true, dependencies: { [PACKAGE_NAME]: `^${version}` } }, null, 2) + '\n';
    plan.changed.push(`created package.json with ${PACKAGE_NAME} in dependencies (run \`npm install\` and commit package-lock.json)`);
    return plan;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(existing);
  } catch (error) {
    plan.warnings.push(`package.json is not valid JSON (${(error as Error).message}): left it unchanged; ${PACKAGE_NAME} must be in its dependencies`);
    return plan;
  }
  const section = (name: string): Record<string, unknown> => (isPlainObject(doc) && isPlainObject(doc[name]) ? doc[name] : {});
  const check = (pkg: string, why: string): boolean => {
    if (section('dependencies')[pkg] !== undefined) return true;
    const where = section('devDependencies')[pkg] !== undefined ? `lists ${pkg} only in devDependencies` : `does not list ${pkg}`;
    plan.warnings.push(`package.json ${where}: run \`npm install --save-prod ${pkg}\` (${why}; Heroku prunes devDependencies before the release phase)`);
    return false;
  };
  if (check(PACKAGE_NAME, 'the release phase runs drydock')) plan.unchanged.push(`package.json lists ${PACKAGE_NAME} in dependencies`);
  if (framework?.cliPackage) check(framework.cliPackage, `release runs \`${framework.migrate}\``);
  return plan;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DrydockError(`could not read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

async function readTemplate(templatesDir: string, name: string): Promise<string> {
  const text = await readIfExists(join(templatesDir, name));
  if (text === undefined) {
    throw new DrydockError(`drydock's template ${name} is missing from ${templatesDir}`, {
      hint: 'reinstall drydock (the package ships a templates/ directory)',
    });
  }
  return text;
}

/** Create a file that must not exist yet (never overwrites, even if one appeared meanwhile). */
async function createFile(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, { encoding: 'utf8', flag: 'wx' });
  } catch (error) {
    throw new DrydockError(`could not create ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** What is at a path: a file, a directory, nothing, or something else (a socket, a broken link). */
type PathKind = 'file' | 'directory' | 'absent' | 'other';

async function kindOf(path: string): Promise<PathKind> {
  try {
    const s = await stat(path);
    return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      // A dangling symlink: stat says absent, but a file cannot be created through it.
      const link = await lstat(path).then(
        () => true,
        () => false,
      );
      return link ? 'other' : 'absent';
    }
    if (code === 'ENOTDIR') return 'absent';
    throw new DrydockError(`could not inspect ${path}: ${(error as Error).message}`, { hint: 'check the permissions of the app repository; nothing was changed', cause: error });
  }
}

const NOTHING_CHANGED = 'nothing was changed';

/** A path init writes to must be a file or absent. */
async function expectFile(path: string): Promise<PathKind> {
  const kind = await kindOf(path);
  if (kind === 'directory') throw new ConfigError(`${path} is a directory, not a file`, { hint: `move or rename it: drydock init writes a file there; ${NOTHING_CHANGED}` });
  if (kind === 'other') throw new ConfigError(`${path} is not a regular file`, { hint: `replace it with a regular file, or remove it (a broken symlink?); ${NOTHING_CHANGED}` });
  return kind;
}

/** A folder init writes into must be a directory or absent. */
async function expectDirectory(path: string): Promise<PathKind> {
  const kind = await kindOf(path);
  if (kind === 'file' || kind === 'other') {
    throw new ConfigError(`${path} is a ${kind === 'file' ? 'file' : 'special file'}, not a directory`, {
      hint: `move or rename it: drydock init puts files in that directory; ${NOTHING_CHANGED}`,
    });
  }
  return kind;
}

/** The nearest existing ancestor of `path` must let us create entries (and replace files by rename). */
async function expectWritable(path: string): Promise<void> {
  let dir = dirname(path);
  while ((await kindOf(dir)) === 'absent' && dirname(dir) !== dir) dir = dirname(dir);
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new ConfigError(`cannot write ${path}: ${dir} is not writable`, { hint: `fix the permissions of ${dir}, or run init as its owner; ${NOTHING_CHANGED}`, cause: error });
  }
}

/** One write init decided on, with what to report. */
interface PlannedWrite {
  path: string;
  /** The file exists: replace it atomically; otherwise create it (never overwriting). */
  replace: boolean;
  text: string;
}

/**
 * Set a repository up for drydock. Changes only what is missing; does not print. Every write is planned
 * and checked (each target is a file or absent, each folder a directory or absent, the directories are
 * writable, the templates are there) before the first one happens: a refusal changes nothing.
 */
export async function init(options: InitOptions = {}): Promise<InitResult> {
  const dir = resolve(options.dir ?? '.');
  const templates = options.templatesDir ?? templatesDir();
  if ((await kindOf(dir)) !== 'directory') throw new ConfigError(`directory ${dir} does not exist`, { hint: 'create it first, or pass --dir with the app repository' });

  const result: InitResult = { changed: [], unchanged: [], warnings: [], stack: { language: 'node', framework: null } };
  const writes: PlannedWrite[] = [];
  const plan = (path: string, filePlan: FilePlan, existed: boolean): void => {
    if (filePlan.text !== undefined) writes.push({ path, replace: existed, text: filePlan.text });
    result.changed.push(...filePlan.changed);
    result.unchanged.push(...filePlan.unchanged);
    result.warnings.push(...filePlan.warnings);
  };

  const procfilePath = join(dir, 'Procfile');
  const appJsonPath = join(dir, 'app.json');
  const packageJsonPath = join(dir, 'package.json');
  const migrationsDir = join(dir, 'migrations');
  const workflowPath = join(dir, WORKFLOW_PATH);
  const extras = [
    ['db/seeds.sql', 'seeds.sql'],
    ['.env.example', 'env.example'],
  ] as const;
  // The shape of every target first, before reading anything.
  await expectFile(procfilePath);
  await expectFile(appJsonPath);
  await expectFile(packageJsonPath);
  const migrationsKind = await expectDirectory(migrationsDir);
  for (const [relative] of extras) {
    const path = join(dir, relative);
    if (dirname(path) !== dir) await expectDirectory(dirname(path));
    await expectFile(path);
  }
  if (options.ci) {
    for (let folder = dirname(workflowPath); folder !== dir; folder = dirname(folder)) await expectDirectory(folder);
    await expectFile(workflowPath);
  }

  const existingSql =
    migrationsKind === 'directory'
      ? (
          await readdir(migrationsDir).catch((error: unknown) => {
            throw new DrydockError(`could not read ${migrationsDir}: ${(error as Error).message}`, { hint: `check its permissions; ${NOTHING_CHANGED}`, cause: error });
          })
        ).filter((f) => f.endsWith('.sql'))
      : [];
  const packageJson = await readIfExists(packageJsonPath);
  const stack = detectStack({ present: await presentMarkers(dir), packageJson: parseObject(packageJson), hasDrydockMigrations: existingSql.length > 0 });
  const { framework } = stack;
  result.stack = { language: stack.language, framework: framework?.name ?? null };

  const procfile = await readIfExists(procfilePath);
  plan(procfilePath, planProcfile(procfile, await readTemplate(templates, 'Procfile'), framework), procfile !== undefined);

  const appJson = await readIfExists(appJsonPath);
  plan(appJsonPath, planAppJson(appJson, await readTemplate(templates, 'app.json'), stack), appJson !== undefined);

  plan(packageJsonPath, planPackageJson(packageJson, packageVersion(), framework), packageJson !== undefined);

  if (framework) {
    // The framework keeps its migrations and seeds: no second migration system.
    result.unchanged.push(`${framework.name} app (${framework.evidence}): its own migrations and seeds run through drydock, so no migrations/ or db/seeds.sql`);
  } else if (existingSql.length > 0) {
    result.unchanged.push(`migrations/ already has ${existingSql.length} migration file(s)`);
  } else {
    const templatePath = join(templates, 'migration.sql');
    const text = firstMigration(existsSync(templatePath) ? await readTemplate(templates, 'migration.sql') : FALLBACK_MIGRATION);
    const name = `${migrationVersion(options.now ?? new Date())}_init.sql`;
    writes.push({ path: join(migrationsDir, name), replace: false, text });
    result.changed.push(`created migrations/${name}`);
  }

  for (const [relative, template] of extras) {
    if (framework && relative === 'db/seeds.sql') continue;
    const path = join(dir, relative);
    if ((await kindOf(path)) === 'file') {
      result.unchanged.push(`${relative} already exists`);
      continue;
    }
    writes.push({ path, replace: false, text: await readTemplate(templates, template) });
    result.changed.push(`created ${relative}`);
  }

  if (options.ci) {
    if ((await kindOf(workflowPath)) === 'file') result.unchanged.push(`${WORKFLOW_PATH} already exists`);
    else if (framework) {
      result.warnings.push(
        `did not write ${WORKFLOW_PATH}: its rehearse step runs drydock's own SQL migrations, and this ${framework.name} app migrates with \`${framework.migrate}\` (see the README, "CI on pull requests")`,
      );
    } else {
      writes.push({ path: workflowPath, replace: false, text: await readTemplate(templates, 'github-workflow.yml') });
      result.changed.push(`created ${WORKFLOW_PATH}`);
    }
  }

  for (const write of writes) await expectWritable(write.path);

  for (const write of writes) {
    if (write.replace) await writeFileAtomic(write.path, write.text);
    else {
      await mkdir(dirname(write.path), { recursive: true });
      await createFile(write.path, write.text);
    }
  }
  return result;
}

/** The stack markers (src/init/stack.ts) present in `dir`: db/migrate and seeds as directories, the rest as files. */
async function presentMarkers(dir: string): Promise<Set<StackMarker>> {
  const present = new Set<StackMarker>();
  for (const marker of STACK_MARKERS) {
    const kind = await kindOf(join(dir, marker));
    if (kind === (marker === 'db/migrate' || marker === 'seeds' ? 'directory' : 'file')) present.add(marker);
  }
  return present;
}

/** JSON text as an object, or undefined when it is missing, invalid or not an object. */
function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The human rendering: one line per change, or that nothing had to change. */
