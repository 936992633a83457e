/**
 * displayPath names a file relative to cwd when inside it, else absolutely; its fast path (a prefix
 * check, for the hundreds of files of a linted folder) must agree with path.relative everywhere.
 */
import { isAbsolute, relative, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { displayPath } from '../../../src/lint/lint.js';

/** The definition: path.relative, falling back to the absolute path outside cwd. */
function reference(path: string, cwd: string): string {
  const rel = relative(cwd, resolve(cwd, path));
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? resolve(cwd, path) : rel;
}

describe('displayPath', () => {
  const cwds = ['/work/app', '/work/app/', '/', '/work/app/../app', 'relative/dir', '.'];
  const paths = [
    'db/migrations/001_init.sql',
    '/work/app/db/001.sql',
    '/work/app',
    '/work/app/',
    '/work/application/x.sql',
    '/work/app/..hidden/x.sql',
    '/work/app/./db//002.sql',
    '/work/other/x.sql',
    '../sibling/x.sql',
    '/',
    '/x.sql',
    'relative/dir/y.sql',
    '',
  ];
  it('agrees with path.relative for paths inside, outside and at cwd', () => {
    for (const cwd of cwds) for (const path of paths) expect(displayPath(path, cwd), `${path} from ${cwd}`).toBe(reference(path, cwd));
  });
});
