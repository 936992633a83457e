/**
 * `npm run build`: dist/cli.js as one esbuild ESM bundle (after `tsc -p tsconfig.build.json --noEmit`
 * has typechecked src/). A run loads about a dozen files instead of ~65 modules (tsc's output), which
 * takes tens of milliseconds off a short run such as `drydock lint`.
 *
 * - splitting: every `await import()` of src/ (each command in src/cli.ts, the lint engine, its report…) stays a
 *   lazily loaded chunk in dist/chunks/, so `drydock lint` still loads no other command's code;
 * - commander is bundled; the other dependencies stay external (EXTERNAL below);
 * - whitespace and syntax minified (names kept), source maps (dist/**\/*.map) for readable stacks with
 *   `node --enable-source-maps`; nothing loads them otherwise.
 *
 * Files located at run time (templates/, src/lint/rules/*.md) are found from the package root
 * (src/package-root.ts), not relative to a module, so chunks may live anywhere under dist/.
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build, type Plugin } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** dist/, or DRYDOCK_BUILD_OUT (another folder, to compare builds side by side). */
const OUT = process.env.DRYDOCK_BUILD_OUT ?? join(ROOT, 'dist');

/**
 * Dependencies imported from node_modules at run time: all but commander, which every run needs
 * (bundled, it is part of the one file a run starts with). The others are imported lazily by the code
 * that needs them (pg, listr2, execa, diff by the commands that talk to databases and processes,
 * dotenv only when a .env exists), and libpg-query loads its .wasm from beside its own file.
 */
const BUNDLED = new Set(['commander']);
const EXTERNAL = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies).filter((name) => !BUNDLED.has(name));

/**
 * commander requires node:child_process as it loads, for executable subcommands (drydock has none);
 * loading it (with net, dgram, stream wrappers…) costs every run several milliseconds. commander gets a
 * stand-in that loads the real module on first use (it only calls spawn).
 */
const lazyChildProcessForCommander: Plugin = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    const commanderDir = `${sep}node_modules${sep}commander${sep}`;
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (args.importer.includes(commanderDir) ? { path: 'child_process', namespace: 'lazy-builtin' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      contents: "let real; module.exports = new Proxy({}, { get: (_, name) => (real ??= require('node:child_process'))[name] });",
      loader: 'js',
    }));
  },
};

rmSync(OUT, { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: ['src/cli.ts'],
  outdir: OUT,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  // Whitespace and comments out, syntax shortened, names kept (stack traces still name functions; the
  // source maps give lines): V8 scans every loaded file whole, and commander alone is 120 kB of JSDoc'd
  // source. About 1 % fewer instructions for a `drydock lint` of 343 files.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  // Bundled CommonJS (commander) calls require() for node: builtins; ESM has none, so each file gets one.
  banner: { js: "import { createRequire as __drydockCreateRequire } from 'node:module';\nconst require = __drydockCreateRequire(import.meta.url);" },
  external: EXTERNAL,
  plugins: [lazyChildProcessForCommander],
});
