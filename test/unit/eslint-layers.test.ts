/**
 * The layer rules in eslint.config.js fire where they should and stay quiet elsewhere.
 *
 * Samples are linted as virtual files (lintText with a filePath) through the real config, with type
 * information switched off: the layer rules are syntactic, and the project service would refuse
 * files that are not on disk. That the type-aware rules are on for real files is checked on the
 * computed config instead.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({
    cwd: ROOT,
    overrideConfigFile: join(ROOT, 'eslint.config.js'),
    overrideConfig: [tseslint.configs.disableTypeChecked],
  });
});

/** `rule@line` for every message of `code` linted as `file` (relative to the repository). */
async function lint(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  if (!result) throw new Error(`no result for ${file}`);
  return result.messages.map((m) => `${m.ruleId ?? m.message}@${m.line}`);
}

const ADAPTER_IMPORTS = [
  "import { withClient } from '../pg/client.js';",
  "import { listUserTables } from '../pg/queries/catalog.js';",
  "import { run } from '../exec.js';",
  "import { pgBackupsCapture } from '../heroku/cli.js';",
  "import pg from 'pg';",
  "import { execa } from 'execa';",
  "import { spawn } from 'node:child_process';",
  'export const used = [withClient, listUserTables, run, pgBackupsCapture, pg, execa, spawn];',
].join('\n');

describe('eslint layer rules', () => {
  it('keeps adapters and drivers out of src/commands/**', async () => {
    expect(await lint('src/commands/__probe__.ts', ADAPTER_IMPORTS)).toEqual([1, 2, 3, 4, 5, 6, 7].map((line) => `@typescript-eslint/no-restricted-imports@${line}`));
    expect(await lint('src/commands/nested/__probe__.ts', "import { connect } from '../../pg/client.js';\nexport const c = connect;\n")).toEqual([
      '@typescript-eslint/no-restricted-imports@1',
    ]);
    expect(await lint('src/commands/__probe__.ts', "export async function f() {\n  return import('../pg/client.js');\n}\n")).toEqual(['no-restricted-syntax@2']);
  });

  it('lets src/commands/** name adapter types', async () => {
    const code = "import type { DbUrl } from '../pg/url.js';\nimport type pg from 'pg';\nexport type T = [DbUrl, pg.Client];\n";
    expect(await lint('src/commands/__probe__.ts', code)).toEqual([]);
  });

  it('keeps pg and execa out of src/pipelines/**, but lets them use the adapters', async () => {
    const code = "import pg from 'pg';\nimport { execa } from 'execa';\nimport { withClient } from '../pg/client.js';\nexport const used = [pg, execa, withClient];\n";
    expect(await lint('src/pipelines/__probe__.ts', code)).toEqual(['@typescript-eslint/no-restricted-imports@1', '@typescript-eslint/no-restricted-imports@2']);
  });

  it('lets only src/exec.ts spawn processes', async () => {
    const code = "import { execa } from 'execa';\nimport { spawn } from 'node:child_process';\nexport const used = [execa, spawn];\n";
    expect(await lint('src/exec.ts', code)).toEqual([]);
    expect(await lint('src/pg/__probe__.ts', code)).toEqual(['@typescript-eslint/no-restricted-imports@1', '@typescript-eslint/no-restricted-imports@2']);
    expect(await lint('src/pg/__probe__.ts', "export const load = () => import('execa');\n")).toEqual(['no-restricted-syntax@1']);
  });

  it('lets only src/output.ts write to stdout and stderr', async () => {
    const code = "process.stdout.write('a');\nprocess.stderr.write('b');\nconsole.log('c');\nconst { stdout } = process;\nexport { stdout };\n";
    expect(await lint('src/pipelines/__probe__.ts', code)).toEqual(['no-restricted-properties@1', 'no-restricted-properties@2', 'no-console@3', 'no-restricted-properties@4']);
    expect(await lint('src/output.ts', code)).toEqual([]);
    expect(await lint('src/pipelines/__probe__.ts', "import { stderr } from 'node:process';\nexport { stderr };\n")).toEqual(['@typescript-eslint/no-restricted-imports@1']);
  });

  it('lets only the settings module read process.env', async () => {
    const code = "export const a = process.env.DATABASE_URL;\nexport const { HOME } = process.env;\n";
    expect(await lint('src/__probe__.ts', code)).toEqual(['no-restricted-properties@1', 'no-restricted-properties@2']);
    expect(await lint('src/heroku/__probe__.ts', code)).toEqual(['no-restricted-properties@1', 'no-restricted-properties@2']);
    expect(await lint('src/settings.ts', code)).toEqual([]);
    // The modules it replaced are ordinary modules now.
    expect(await lint('src/config.ts', code)).toEqual(['no-restricted-properties@1', 'no-restricted-properties@2']);
    expect(await lint('src/output.ts', code)).toEqual(['no-restricted-properties@1', 'no-restricted-properties@2']);
  });

  it('leaves test/ and scripts/ out of the layer rules', async () => {
    const code = "import { execa } from 'execa';\nimport pg from 'pg';\nconsole.log(process.env.HOME, execa, pg);\nprocess.stdout.write('x');\n";
    expect(await lint('test/unit/__probe__.test.ts', code)).toEqual([]);
    expect(await lint('scripts/__probe__.ts', code)).toEqual([]);
  });

  it('passes a command that goes through deps', async () => {
    const code = [
      "import type { Deps } from '../deps.js';",
      "import type { DbUrl } from '../pg/url.js';",
      '',
      'export async function probe(deps: Deps, url: DbUrl): Promise<void> {',
      '  deps.output.info(`checking ${url.href}`);',
      '  await Promise.resolve();',
      '}',
      '',
    ].join('\n');
    expect(await lint('src/commands/__probe__.ts', code)).toEqual([]);
  });

  it('runs the type-aware promise rules on real files', async () => {
    const typed = new ESLint({ cwd: ROOT, overrideConfigFile: join(ROOT, 'eslint.config.js') });
    for (const file of ['src/cli.ts', 'test/unit/output.test.ts', 'scripts/demo.ts']) {
      const config = (await typed.calculateConfigForFile(join(ROOT, file))) as {
        rules: Record<string, unknown[]>;
        languageOptions: { parserOptions: { projectService?: unknown } };
      };
      expect(config.languageOptions.parserOptions.projectService, file).toBe(true);
      expect(config.rules['@typescript-eslint/no-floating-promises']?.[0], file).toBe(2);
      expect(config.rules['@typescript-eslint/no-misused-promises']?.[0], file).toBe(2);
    }
  });
});
