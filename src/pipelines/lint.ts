/**
 * `drydock lint [paths…]`: lint SQL migrations for production's Postgres version.
 */
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

import { ConfigError } from '../errors.js';
import type { LintRun } from '../lint/lint.js';
import { majorOrder } from '../pg/version.js';
import type { LintSettings } from '../settings.js';

/** What lint is asked beyond its settings. */
export interface LintRequest {
  down?: boolean | undefined;
  assumeInTransaction?: boolean | undefined;
}

/** Production's Postgres major: --pg-version, else the server at --url, else DRYDOCK_PG_VERSION, drydock.json pgVersion, 15. */
export async function resolveLintPgVersion(settings: Pick<LintSettings, 'pgVersion' | 'url' | 'fallbackPgVersion'>): Promise<number> {
  if (settings.pgVersion !== undefined) return settings.pgVersion;
  if (settings.url !== undefined) {
    // Only with --url: a lint run that needs no database loads no database driver.
    const [{ withClient }, { readServerVersion }] = await Promise.all([import('../pg/client.js'), import('../pg/queries/server-facts.js')]);
    const version = await withClient(settings.url, (client) => readServerVersion(client), { applicationName: 'drydock lint' });
    return majorOrder(version.major);
  }
  return settings.fallbackPgVersion;
}

/** The schema lint judges against, read from the database at --url (the database driver is loaded only then). */
async function readCatalog(url: NonNullable<LintSettings['url']>) {
  const [{ withClient }, { readLintSchema }] = await Promise.all([import('../pg/client.js'), import('../pg/queries/lint-schema.js')]);
  return withClient(url, (client) => readLintSchema(client), { applicationName: 'drydock lint' });
}

/** Lint files and folders (default: the migrations folder); returns the run (does not print). */
export async function lint(settings: LintSettings, paths: string[], request: LintRequest): Promise<LintRun> {
  // `drydock lint` is a short run: TurboFan re-optimizing the linter on background threads costs it
  // more CPU than the optimized code gives back (340 files: 0.37 s of CPU → 0.29 s). The baseline
  // tiers (Ignition, Sparkplug) still run; this process only lints and exits.
  setFlagsFromString('--no-opt');
  // The linter (rules, parser) is loaded on demand: other commands never pay for its start-up.
  const { displayPath, lintFiles } = await import('../lint/lint.js');
  let targets = paths;
  if (!targets.length) {
    if (!existsSync(settings.dir)) {
      throw new ConfigError(`the migrations directory ${displayPath(settings.dir)} does not exist`, {
        hint: 'pass the SQL files or folders to lint, or set the folder with --dir, DRYDOCK_MIGRATIONS_DIR or drydock.json "migrationsDir"',
      });
    }
    targets = [settings.dir];
  }
  // With --url, the database's schema (column types, constraints, sizes) is what the files are judged against.
  const catalog = settings.url ? await readCatalog(settings.url) : undefined;
  return lintFiles(targets, {
    pgVersion: await resolveLintPgVersion(settings),
    down: request.down,
    assumeInTransaction: request.assumeInTransaction,
    startAfter: settings.startAfter,
    catalog,
    ruleConfig: settings.lintProject.ruleConfig,
    smallTable: settings.lintProject.smallTable,
  });
}

/** The rules as a listing (and as data for --json). */
export async function listRules(): Promise<{ rules: Array<{ id: string; severity: string; summary: string }>; text: string }> {
  const { BUILTIN_CHECKS, RULES } = await import('../lint/rules/index.js');
  const width = Math.max(...RULES.map((r) => r.id.length), ...Object.keys(BUILTIN_CHECKS).map((k) => k.length));
  const lines = RULES.map((r) => `${r.id.padEnd(width)}  ${r.severity.padEnd(7)}  ${r.summary}`);
  lines.push('', 'Reported by the linter itself:');
  for (const [id, summary] of Object.entries(BUILTIN_CHECKS)) lines.push(`${id.padEnd(width)}  ${(id === 'unused-suppression' ? 'warning' : 'error').padEnd(7)}  ${summary}`);
  return { rules: RULES.map((r) => ({ id: r.id, severity: r.severity, summary: r.summary })), text: lines.join('\n') };
}

/** A rule's documentation (--explain). */
export async function explainRule(rule: string): Promise<string> {
  const { readRuleDoc } = await import('../lint/docs.js');
  return readRuleDoc(rule);
}
