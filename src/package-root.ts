/**
 * Files drydock reads from its own package at run time (templates/, src/lint/rules/*.md; package.json
 * "files" ships both), found from the package root rather than relative to the calling module: the
 * module is src/<dir>/x.ts under tsx and vitest, but a chunk of the esbuild bundle (dist/cli.js,
 * dist/chunks/*.js) when built, so no fixed `../..` is right for both.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's name on npm and in its package.json (`npm install drydock-cli`); its executable is
 * `drydock`. The npm name `drydock` belongs to an unrelated package.
 */
export const PACKAGE_NAME = 'drydock-cli';

/**
 * How Procfile lines, app.json scripts and drydock's hints run the app's installed drydock. `--no`
 * makes npx refuse to download anything: without it npx installs a missing command from the registry,
 * silently in a non-TTY (a release dyno: npm 7 to 11 only log a warning), and `drydock` on the
 * registry is that other package. npx finds the installed one in node_modules/.bin, walking up from
 * the current directory. The subcommand must come right after `drydock`: npx's argument scanner skips
 * the word after `--no`, so an option there is taken as npx's own (`npx --no drydock --version` prints
 * npm's version).
 */
export const RUN_DRYDOCK = 'npx --no drydock';

let root: string | undefined;

/**
 * The nearest folder above `from` (a module's file URL or path) holding drydock's package.json.
 * Throws when there is none (a copy of the code without its package, which cannot find templates either).
 */
export function findPackageRoot(from: string | URL): string {
  const start = typeof from === 'string' && !from.startsWith('file:') ? from : fileURLToPath(from);
  for (let dir = dirname(start); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === PACKAGE_NAME) return dir;
    } catch {
      // No package.json here (or an unreadable one): keep climbing.
    }
    if (dirname(dir) === dir) throw new Error(`drydock's package.json was not found above ${start}`);
  }
}

/** The absolute path of `relativePath` (e.g. 'templates/migration.sql') inside drydock's package. */
export function packagePath(relativePath: string): string {
  root ??= findPackageRoot(import.meta.url);
  return join(root, relativePath);
}

/** The package's version, from its package.json (what `npm install` put there). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error(`drydock's package.json has no version`);
  return pkg.version;
}
