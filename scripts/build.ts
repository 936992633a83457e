/**
 * `npm run build`: dist/cli.js as one esbuild ESM bundle (after `tsc -p tsconfig.build.json --noEmit`
 * has typechecked src/). Loading one file instead of ~60 modules is most of a short run's start-up.
 *
 * - splitting: every `await import()` of src/ (each command in src/cli.ts, the lint parser…) stays a
 *   lazily loaded chunk in dist/chunks/, so `drydock lint` still loads no other command's code;
 * - packages stay external (import from node_modules at run time): pg, listr2, execa and diff are
 *   loaded lazily by the commands that need them, and libpg-query finds its .wasm beside its own file;
 * - source maps (dist/**\/*.map) for readable stacks with `node --enable-source-maps`; nothing loads them otherwise.
 *
 * Files located at run time (templates/, src/lint/rules/*.md) are found from the package root
 * (src/package-root.ts), not relative to a module, so chunks may live anywhere under dist/.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist');
const externalAll = !process.argv.includes('--bundle-deps');

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
  logLevel: 'warning',
  ...(externalAll ? { packages: 'external' as const } : { external: ['pg', 'listr2', 'execa', 'diff', 'libpg-query', 'dotenv'] }),
});
