/**
 * Files drydock reads from its own package at run time (templates/, src/lint/rules/*.md; package.json
 * "files" ships both), found from the package root rather than relative to the calling module: the
 * module is src/<dir>/x.ts under tsx and vitest, but a chunk of the esbuild bundle (dist/cli.js,
 * dist/chunks/*.js) when built, so no fixed `../..` is right for both.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's name in its package.json. */
const PACKAGE_NAME = 'drydock';

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
