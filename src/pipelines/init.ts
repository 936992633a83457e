/**
 * `drydock init`: set a Heroku app's repository up for drydock. Adds the release phase to the Procfile,
 * the review-app postdeploy script to app.json, a first migration, db/seeds.sql and .env.example.
 * Never overwrites: what exists is kept, a conflicting line is reported as a warning, and a second
 * run changes nothing.
 */
import { constants, existsSync } from 'node:fs';
import { access, lstat, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { ConfigError, DrydockError } from '../errors.js';
import { versionOf } from '../migrate/version.js';
import { packagePath } from '../package-root.js';
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
}

/** What init did: the --json shape. */
export interface InitResult {
  /** One line per change, e.g. "created Procfile", "added release line to Procfile". */
  changed: string[];
  /** What was already in place. */
  unchanged: string[];
  /** What init left alone although it differs from what drydock needs. */
  warnings: string[];
}

/** What a planner decided for one file: new text (or none) and what to report. */
export interface FilePlan {
  /** The file's new content; undefined leaves the file as it is. */
  text?: string | undefined;
  changed: string[];
  unchanged: string[];
  warnings: string[];
}

/** The Procfile command drydock's release phase runs. */
const RELEASE_COMMAND = 'npx drydock release';
/** The app.json postdeploy script of review apps. */
const POSTDEPLOY_COMMAND = 'npx drydock postdeploy';

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
 * Add drydock's release line to a Procfile (pure). A missing Procfile is created from `template`;
 * an existing release line is kept: fine when it runs drydock release, a warning otherwise.
 */
export function planProcfile(existing: string | undefined, template: string): FilePlan {
  const plan: FilePlan = { changed: [], unchanged: [], warnings: [] };
  if (existing === undefined) {
    plan.text = template;
    plan.changed.push('created Procfile');
    return plan;
  }
  const eol = existing.includes('\r\n') ? '\r\n' : '\n';
  const release = existing.split(/\r?\n/).find((line) => /^\s*release\s*:/.test(line));
  if (release !== undefined) {
    const command = release.replace(/^\s*release\s*:\s*/, '').trim();
    if (/\bdrydock\s+release\b/.test(command)) plan.unchanged.push('Procfile already runs drydock release');
    else {
      plan.warnings.push(
        `Procfile already has a release line ("${command}"): left it unchanged; add \`${RELEASE_COMMAND}\` to it so migrations run on every deploy`,
      );
    }
    return plan;
  }
  const releaseLine = template.split(/\r?\n/).find((line) => /^release\s*:/.test(line)) ?? `release: ${RELEASE_COMMAND}`;
  const separator = existing === '' || existing.endsWith('\n') ? '' : eol;
  plan.text = `${existing}${separator}${releaseLine}${eol}`;
  plan.changed.push('added release line to Procfile');
  return plan;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Add scripts.postdeploy and environments.review from `template` (app.json text) to an app.json (pure).
 * Existing keys always win; a postdeploy script that does not run drydock is kept with a warning.
 * The file is rewritten only when something is added, with its own indentation (default 2 spaces).
 */
export function planAppJson(existing: string | undefined, template: string): FilePlan {
  const plan: FilePlan = { changed: [], unchanged: [], warnings: [] };
  if (existing === undefined) {
    plan.text = template;
    plan.changed.push('created app.json');
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
  const fragment = JSON.parse(template) as { scripts?: Record<string, unknown>; environments?: Record<string, unknown> };
  let added = false;

  const scripts = doc.scripts;
  if (scripts === undefined) {
    doc.scripts = { postdeploy: fragment.scripts?.postdeploy ?? POSTDEPLOY_COMMAND };
    plan.changed.push('added scripts.postdeploy to app.json');
    added = true;
  } else if (!isPlainObject(scripts)) {
    plan.warnings.push('app.json "scripts" is not an object: left it unchanged; add "postdeploy": "npx drydock postdeploy" to it by hand');
  } else if (scripts.postdeploy === undefined) {
    scripts.postdeploy = fragment.scripts?.postdeploy ?? POSTDEPLOY_COMMAND;
    plan.changed.push('added scripts.postdeploy to app.json');
    added = true;
  } else if (typeof scripts.postdeploy === 'string' && /\bdrydock\s+postdeploy\b/.test(scripts.postdeploy)) {
    plan.unchanged.push('app.json already runs drydock postdeploy');
  } else {
    plan.warnings.push(
      `app.json already has a postdeploy script (${JSON.stringify(scripts.postdeploy)}): left it unchanged; add \`${POSTDEPLOY_COMMAND}\` to it so review apps get the schema`,
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

  if (added) {
    const indent = /^([ \t]+)"/m.exec(existing)?.[1] ?? '  ';
    plan.text = JSON.stringify(doc, null, indent) + (existing.includes('\r\n') ? '\r\n' : '\n');
  }
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

  const result: InitResult = { changed: [], unchanged: [], warnings: [] };
  const writes: PlannedWrite[] = [];
  const plan = (path: string, filePlan: FilePlan, existed: boolean): void => {
    if (filePlan.text !== undefined) writes.push({ path, replace: existed, text: filePlan.text });
    result.changed.push(...filePlan.changed);
    result.unchanged.push(...filePlan.unchanged);
    result.warnings.push(...filePlan.warnings);
  };

  const procfilePath = join(dir, 'Procfile');
  const appJsonPath = join(dir, 'app.json');
  const migrationsDir = join(dir, 'migrations');
  const extras = [
    ['db/seeds.sql', 'seeds.sql'],
    ['.env.example', 'env.example'],
  ] as const;
  // The shape of every target first, before reading anything.
  await expectFile(procfilePath);
  await expectFile(appJsonPath);
  const migrationsKind = await expectDirectory(migrationsDir);
  for (const [relative] of extras) {
    const path = join(dir, relative);
    if (dirname(path) !== dir) await expectDirectory(dirname(path));
    await expectFile(path);
  }

  const procfile = await readIfExists(procfilePath);
  plan(procfilePath, planProcfile(procfile, await readTemplate(templates, 'Procfile')), procfile !== undefined);

  const appJson = await readIfExists(appJsonPath);
  plan(appJsonPath, planAppJson(appJson, await readTemplate(templates, 'app.json')), appJson !== undefined);

  const existingSql =
    migrationsKind === 'directory'
      ? (
          await readdir(migrationsDir).catch((error: unknown) => {
            throw new DrydockError(`could not read ${migrationsDir}: ${(error as Error).message}`, { hint: `check its permissions; ${NOTHING_CHANGED}`, cause: error });
          })
        ).filter((f) => f.endsWith('.sql'))
      : [];
  if (existingSql.length > 0) {
    result.unchanged.push(`migrations/ already has ${existingSql.length} migration file(s)`);
  } else {
    const templatePath = join(templates, 'migration.sql');
    const text = firstMigration(existsSync(templatePath) ? await readTemplate(templates, 'migration.sql') : FALLBACK_MIGRATION);
    const name = `${migrationVersion(options.now ?? new Date())}_init.sql`;
    writes.push({ path: join(migrationsDir, name), replace: false, text });
    result.changed.push(`created migrations/${name}`);
  }

  for (const [relative, template] of extras) {
    const path = join(dir, relative);
    if ((await kindOf(path)) === 'file') {
      result.unchanged.push(`${relative} already exists`);
      continue;
    }
    writes.push({ path, replace: false, text: await readTemplate(templates, template) });
    result.changed.push(`created ${relative}`);
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

/** The human rendering: one line per change, or that nothing had to change. */
