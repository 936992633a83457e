/**
 * Lint settings that commands need before the linter itself is loaded (the rule registry and the
 * parser are loaded on demand, so commands that do not lint start faster).
 */

/** Output formats of `drydock lint`. */
export const LINT_FORMATS = ['text', 'json', 'github'] as const;

/** One of LINT_FORMATS. */
export type LintFormat = (typeof LINT_FORMATS)[number];

/** Postgres major assumed when neither a flag, the config nor a database says otherwise. */
export const DEFAULT_PG_VERSION = 15;

/** Below both limits a table the database measured is small: findings on it are notes that do not block. */
export interface SmallTableLimits {
  rows: number;
  bytes: number;
}

/** Default small-table limits: 10,000 rows and 10 MB (rewriting that takes well under a second). */
export const DEFAULT_SMALL_TABLE: SmallTableLimits = Object.freeze({ rows: 10_000, bytes: 10 * 1024 * 1024 });

/** What drydock.json may set a rule to: off, or the severity of its findings. */
export const RULE_LEVELS = ['off', 'info', 'warning', 'error'] as const;

/** One of RULE_LEVELS. */
export type RuleLevel = (typeof RULE_LEVELS)[number];

/** Rule levels by rule id. */
export type RuleLevels = Readonly<Record<string, RuleLevel>>;

/**
 * Per-rule configuration (drydock.json `lintRules` and `lintOverrides`): project-wide levels, then
 * overrides for files matching glob patterns (relative to the project folder), later ones winning.
 */
export interface LintRuleConfig {
  rules: RuleLevels;
  overrides: ReadonlyArray<{ paths: readonly string[]; rules: RuleLevels }>;
}

/** A rule level as written in drydock.json ("warn" is taken for "warning"); undefined when invalid. */
export function parseRuleLevel(value: unknown): RuleLevel | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'warn') return 'warning';
  return (RULE_LEVELS as readonly string[]).includes(v) ? (v as RuleLevel) : undefined;
}

/**
 * A glob as a RegExp over '/'-separated paths: `**` any number of folders, `*` anything but '/',
 * `?` one character but '/'. A pattern without '/' matches the file name in any folder.
 */
export function globToRegExp(glob: string): RegExp {
  let pattern = glob.replace(/\\/g, '/').replace(/^\.\//, '');
  if (!pattern.includes('/')) pattern = `**/${pattern}`;
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      i += 1;
      if (pattern[i + 1] === '/') {
        i += 1;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A folder pattern covers what is inside it.
  return new RegExp(`^${re}(?:/.*)?$`);
}

/** The level of each rule for one file (path relative to the project folder, '/'-separated). */
export function ruleLevelsFor(config: LintRuleConfig | undefined, path: string): Record<string, RuleLevel> {
  const levels: Record<string, RuleLevel> = { ...(config?.rules ?? {}) };
  const normalized = path.replace(/\\/g, '/').replace(/^\.\//, '');
  for (const override of config?.overrides ?? []) {
    if (override.paths.some((glob) => globToRegExp(glob).test(normalized))) Object.assign(levels, override.rules);
  }
  return levels;
}

/**
 * The version of a migration file or folder name, as numbers to compare part by part, for the
 * naming schemes migration tools use:
 * - drydock, dbmate, Prisma, golang-migrate, node-pg-migrate: `<digits>_name` (file or folder);
 * - diesel: `YYYY-MM-DD-HHMMSS_name` (the folder of up.sql);
 * - Flyway: `V<version>__name.sql`, the version's parts separated by `.` or `_` (`V1_2__x`, `V1.2.3__x`).
 * Undefined when the name carries no version. A bare version (`20260101000000`, `2021-01-01-123456`,
 * `V1.2`, `1.2`) also parses, so --start-after takes a version written the tool's way.
 */
export function migrationVersion(name: string): bigint[] | undefined {
  const flyway = /^[Vv](\d+(?:[._]\d+)*)(?:__|\.sql$|$)/.exec(name);
  if (flyway) return flyway[1]!.split(/[._]/).map((p) => BigInt(p));
  const diesel = /^(\d{4})-(\d{2})-(\d{2})-(\d{6})(?:_|$)/.exec(name);
  if (diesel) return [BigInt(diesel.slice(1).join(''))];
  const plain = /^(\d+(?:\.\d+)*)(?:_|$)/.exec(name);
  if (plain) return plain[1]!.split('.').map((p) => BigInt(p));
  return undefined;
}

/** Compare two versions part by part (a missing part counts as 0): negative, 0 or positive. */
export function compareVersions(a: readonly bigint[], b: readonly bigint[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0n;
    const y = b[i] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
