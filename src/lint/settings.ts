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
