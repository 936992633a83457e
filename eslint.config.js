// ESLint flat config: typescript-eslint with type information, plus import and property rules that
// encode drydock's layers (see CONTRIBUTING.md, "Layout"). `npm run lint`; test/unit/eslint-layers.test.ts
// checks that the layer rules fire.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** The module allowed to read process.env. */
const SETTINGS_FILES = ['src/settings.ts'];
/** The only module that writes to stdout/stderr. */
const OUTPUT_FILES = ['src/output.ts'];
/** The only module that spawns processes. */
const EXEC_FILES = ['src/exec.ts'];
const COMMAND_FILES = ['src/commands/**/*.ts'];
const PIPELINE_FILES = ['src/pipelines/**/*.ts'];

// ---------------------------------------------------------------------------------------------
// Layer restrictions. Each src file gets exactly one of the layer objects at the bottom, built by
// layerRules(), so no rule's options silently replace another layer's (ESLint does not merge
// options of the same rule across config objects; the last match wins).

/**
 * A restricted module: `packages` are bare specifiers matched exactly (and their subpaths);
 * `relative` is a regex on relative specifiers (no import resolution is available, so a specifier
 * that climbs only `../` and then names the adapter is what counts, e.g. `../pg/client.js`).
 */
const SPAWN = {
  packages: ['execa', 'node:child_process', 'child_process'],
  message: 'Only src/exec.ts spawns processes: call run() from there (through deps) instead.',
};
const PG_DRIVER = {
  packages: ['pg', 'pg-copy-streams'],
  message: 'The pg driver belongs to the adapters (src/pg/**): take a client or a function through deps.',
};
const ADAPTER_MODULES = {
  // src/pg/**, src/exec.ts, src/heroku/cli.ts, reached from anywhere under src/<layer>/.
  relative: String.raw`^(\.\./)+(pg/|pg$|exec(\.js|\.ts)?$|heroku/cli(\.js|\.ts)?$)`,
  message: 'Commands do not import adapters (src/pg/**, src/exec.ts, src/heroku/cli.ts): get them through deps, or move pure helpers out of the adapter. Type-only imports are allowed.',
};

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const packageRegex = (packages) => `^(${packages.map(escapeRe).join('|')})(/.*)?$`;

/** @typescript-eslint/no-restricted-imports and the no-restricted-syntax twin for `await import(...)`. */
function importRules(restricted, { allowEnv, allowStdio }) {
  const patterns = restricted.map((r) => ({
    regex: r.packages ? packageRegex(r.packages) : r.relative,
    message: r.message,
    // `import type` erases at compile time: a layer may name an adapter's types without depending on it.
    allowTypeImports: true,
  }));
  const processNames = [...(allowEnv ? [] : ['env']), ...(allowStdio ? [] : ['stdout', 'stderr'])];
  const paths = processNames.length
    ? ['node:process', 'process'].map((name) => ({
        name,
        importNames: processNames,
        message: 'process.env is read only in the settings module; process.stdout/stderr are written only by src/output.ts.',
      }))
    : [];
  // esquery regex literals end at the first unescaped slash, so slashes are escaped here.
  const selectors = restricted.map((r) => ({
    selector: `ImportExpression[source.value=/${(r.packages ? packageRegex(r.packages) : r.relative).replace(/(?<!\\)\//g, '\\/')}/]`,
    message: r.message,
  }));
  return {
    '@typescript-eslint/no-restricted-imports': patterns.length || paths.length ? ['error', { paths, patterns }] : 'off',
    'no-restricted-syntax': selectors.length ? ['error', ...selectors] : 'off',
  };
}

/** process.env / process.stdout / process.stderr (also caught when destructured: `const { env } = process`). */
function processRules({ allowEnv, allowStdio }) {
  const properties = [
    ...(allowEnv
      ? []
      : [{ object: 'process', property: 'env', message: 'Only the settings module (src/settings.ts) reads process.env: take values from settings/deps.' }]),
    ...(allowStdio
      ? []
      : ['stdout', 'stderr'].map((property) => ({
          object: 'process',
          property,
          message: `Only src/output.ts writes to process.${property}: use the Output from deps.`,
        }))),
  ];
  return {
    'no-restricted-properties': properties.length ? ['error', ...properties] : 'off',
    'no-console': allowStdio ? 'off' : 'error',
  };
}

function layerRules(restricted, allow = {}) {
  return { ...importRules(restricted, allow), ...processRules(allow) };
}

export default defineConfig([
  globalIgnores(['dist/', 'node_modules/', 'coverage/', 'test/fixtures/']),

  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },

  // Plain JavaScript (this file): ESLint's recommended set, no type information.
  {
    files: ['**/*.js'],
    extends: [js.configs.recommended],
  },

  // TypeScript: src, test, scripts and vitest.config.ts (all in tsconfig.json, which the project service uses).
  //
  // recommendedTypeChecked rather than recommended: we pay for type information anyway (the two rules
  // below need it), and on this codebase the type-checked set adds about 90 findings, half of them
  // autofixable unnecessary assertions, most of the rest `any` from JSON.parse in tests. The extra rules
  // catch things that matter in a CLI that handles secrets and a lot of async code (stringified
  // objects in messages, non-Error throws, unbound methods, `any` leaking out of parsed JSON).
  // No stylistic or strict sets: they would churn the whole codebase for no behavioural gain.
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Both are in recommendedTypeChecked; spelled out because they are the point of this setup.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // `_`-prefixed names are the codebase's marker for deliberately unused parameters and bindings.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  // Test fakes implement async interfaces with synchronous bodies (FakeHeroku, confirm callbacks).
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },


  // Layers (src only; test/ and scripts/ are exempt). Each src file matches exactly one object below.
  {
    name: 'drydock/layers/src',
    files: ['src/**/*.ts'],
    ignores: [...SETTINGS_FILES, ...OUTPUT_FILES, ...EXEC_FILES, ...COMMAND_FILES, ...PIPELINE_FILES],
    rules: layerRules([SPAWN]),
  },
  {
    name: 'drydock/layers/commands',
    files: COMMAND_FILES,
    rules: layerRules([SPAWN, PG_DRIVER, ADAPTER_MODULES]),
  },
  {
    name: 'drydock/layers/pipelines',
    files: PIPELINE_FILES,
    rules: layerRules([SPAWN, PG_DRIVER]),
  },
  {
    name: 'drydock/layers/settings',
    files: SETTINGS_FILES,
    rules: layerRules([SPAWN], { allowEnv: true }),
  },
  {
    name: 'drydock/layers/output',
    files: OUTPUT_FILES,
    rules: layerRules([SPAWN], { allowStdio: true }),
  },
  {
    name: 'drydock/layers/exec',
    files: EXEC_FILES,
    rules: layerRules([]),
  },
]);
