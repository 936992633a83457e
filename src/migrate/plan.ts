/**
 * Migration planning: which files to apply or roll back, in which order. Pure: it compares the
 * files on disk with what the ledger says was applied and does no I/O. Every refusal happens
 * here, before anything runs, so a rollback that cannot finish does not start.
 */
import { MigrationError } from '../errors.js';
import { isEmptySection } from '../backfill/directive.js';
import { isBlankSql } from '../sql/parse.js';
import type { AppliedMigration, MigrationFile, MigrationStatus, PlannedStep } from './types.js';

/** A step of an up plan. */
export interface UpStep extends PlannedStep {
  direction: 'up';
  /** The version is older than the newest applied one (a branch merged late): apply it, but warn. */
  outOfOrder: boolean;
}

/** Options of planUp. */
export interface UpOptions {
  /** Apply pending versions up to and including this one. */
  to?: string | undefined;
  /** The ledger's baseline: files at or before it count as applied and are never planned. */
  baseline?: string | undefined;
}

/** True when `version` is at or before the baseline (so it counts as applied). */
export function coveredByBaseline(version: string, baseline: string | undefined): boolean {
  return baseline !== undefined && compareVersions(version, baseline) <= 0;
}

/** Options of planDown; give at most one of them. */
export interface DownOptions {
  /** How many applied migrations to roll back, newest first; default 1. */
  steps?: number | undefined;
  /** Roll back every applied version newer than this one, which stays applied; '0' rolls back all. */
  to?: string | undefined;
  /** The ledger's baseline (versions at or before it without a file cannot be rolled back). */
  baseline?: string | undefined;
}

/** A version string: 14-digit timestamps for drydock and dbmate; other tools may record shorter numbers. */
const VERSION = /^\d+$/;

/** Order versions numerically (they are digit strings, possibly of different lengths). */
export function compareVersions(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The newest applied version, or '0' when nothing has been applied. */
export function currentVersion(applied: readonly AppliedMigration[]): string {
  let current = '0';
  for (const a of applied) if (compareVersions(a.version, current) > 0) current = a.version;
  return current;
}

/**
 * Pending migrations in version order, up to and including `to`. A pending version older than
 * the newest applied one is still planned, flagged `outOfOrder` (see also outOfOrder()).
 */
export function planUp(
  files: readonly MigrationFile[],
  applied: readonly AppliedMigration[],
  options: UpOptions = {},
): UpStep[] {
  const appliedVersions = new Set(applied.map((a) => a.version));
  const known = new Set([...files.map((f) => f.version), ...appliedVersions]);
  const to = options.to;
  if (to !== undefined) {
    checkVersionSyntax(to, 'up');
    if (!known.has(to)) {
      throw new MigrationError(`version ${to} is not a known migration`, {
        hint: 'pass the version of a migration file to --to; `drydock migrate status` lists them',
      });
    }
  }
  const newestApplied = currentVersion(applied);
  return sortByVersion(files)
    .filter((f) => !appliedVersions.has(f.version) && !coveredByBaseline(f.version, options.baseline))
    .filter((f) => to === undefined || compareVersions(f.version, to) <= 0)
    .map((migration) => ({
      direction: 'up' as const,
      migration,
      outOfOrder: compareVersions(migration.version, newestApplied) < 0,
    }));
}

/** Pending migrations older than the newest applied one: applying them is allowed, but worth a warning. */
export function outOfOrder(files: readonly MigrationFile[], applied: readonly AppliedMigration[], baseline?: string): MigrationFile[] {
  return planUp(files, applied, { baseline })
    .filter((step) => step.outOfOrder)
    .map((step) => step.migration);
}

/**
 * Applied migrations to roll back, newest first: the last `steps` (default 1), or every one newer
 * than `to`. Throws MigrationError, before anything runs, when a migration in the plan has no file,
 * no down section, an empty one, or is irreversible.
 */
export function planDown(
  files: readonly MigrationFile[],
  applied: readonly AppliedMigration[],
  options: DownOptions = {},
): PlannedStep[] {
  const { steps, to } = options;
  if (steps !== undefined && to !== undefined) {
    throw new MigrationError('give either a number of steps or a target version to roll back to, not both', {
      hint: 'use --steps N to roll back the last N migrations, or --to VERSION to roll back everything after VERSION',
    });
  }
  if (steps !== undefined && !(Number.isSafeInteger(steps) && steps > 0)) {
    throw new MigrationError(`the number of steps to roll back must be a positive integer, not ${String(steps)}`, {
      hint: 'use --steps 1 to roll back the newest migration',
    });
  }

  const newestFirst = [...applied].sort((a, b) => compareVersions(b.version, a.version));
  let chosen: AppliedMigration[];
  if (to !== undefined) {
    checkVersionSyntax(to, 'down');
    if (to !== '0' && !newestFirst.some((a) => a.version === to)) {
      const isFile = files.some((f) => f.version === to);
      throw new MigrationError(
        isFile ? `version ${to} is not applied, so it cannot be the version to roll back to` : `version ${to} is not a known migration`,
        { hint: 'pass an applied version (it stays applied), or 0 to roll back everything; `drydock migrate status` lists them' },
      );
    }
    chosen = newestFirst.filter((a) => compareVersions(a.version, to) > 0);
  } else {
    const count = steps ?? 1;
    if (steps !== undefined && count > newestFirst.length) {
      throw new MigrationError(
        `cannot roll back ${count} migrations: ${newestFirst.length === 1 ? 'only 1 is' : `only ${newestFirst.length} are`} applied`,
        { hint: 'use --to 0 to roll back every applied migration' },
      );
    }
    chosen = newestFirst.slice(0, count);
  }

  const byVersion = new Map(files.map((f) => [f.version, f]));
  return chosen.map((a) => ({ direction: 'down' as const, migration: reversibleFile(a, byVersion.get(a.version), options.baseline) }));
}

function reversibleFile(applied: AppliedMigration, file: MigrationFile | undefined, baseline: string | undefined): MigrationFile {
  const label = `${applied.version}${applied.name ? `_${applied.name}` : ''}`;
  if (file === undefined && coveredByBaseline(applied.version, baseline)) {
    throw new MigrationError(`version ${applied.version} is at or before the baseline ${baseline!} and has no file, so drydock cannot roll it back`, {
      hint: 'nothing was rolled back; roll back only migrations newer than the baseline (--to VERSION), or undo that change in a new migration',
    });
  }
  if (file === undefined && applied.foreign) {
    throw new MigrationError(`version ${applied.version} was recorded by another tool (Rails, dbmate, a schema load) and has no file here, so drydock cannot roll it back`, {
      hint: "nothing was rolled back; roll it back with the tool that applied it, or roll back only drydock's newer migrations (--to VERSION)",
    });
  }
  if (file === undefined) {
    throw new MigrationError(`migration ${label} is applied but its file is missing`, {
      hint: `restore the file for version ${applied.version} (from version control) before rolling it back`,
    });
  }
  if (file.irreversible) {
    throw new MigrationError(`migration ${file.fileName} is irreversible`, {
      hint: 'nothing was rolled back; to undo it, write a new migration that reverses it and run `drydock migrate up`',
      file: file.fileName,
    });
  }
  if (file.down === undefined) {
    throw new MigrationError(`migration ${file.fileName} has no \`-- migrate:down\` section`, {
      hint: 'nothing was rolled back; add a down section that undoes the up section, or mark it `-- migrate:down irreversible`',
      file: file.fileName,
    });
  }
  if (isEmptySection(file.down.sql, isBlankSql)) {
    throw new MigrationError(`migration ${file.fileName} has an empty \`-- migrate:down\` section`, {
      hint: 'nothing was rolled back; write SQL that undoes the up section, or mark it `-- migrate:down irreversible`',
      file: file.fileName,
      line: file.down.startLine - 1,
    });
  }
  return file;
}

/**
 * One row per version found on disk or in the ledger, oldest first: 'applied', 'pending',
 * 'changed' (both checksums known and different), 'missing-file' (drydock applied it, no file),
 * 'baseline' (at or before the baseline and not applied by drydock: covered, or recorded without a
 * file) or 'other-tool' (another tool recorded it and there is no file: not drydock's to judge).
 */
export function migrationStatus(
  files: readonly MigrationFile[],
  applied: readonly AppliedMigration[],
  baseline?: string,
): MigrationStatus[] {
  const byVersion = new Map(files.map((f) => [f.version, f]));
  const appliedByVersion = new Map(applied.map((a) => [a.version, a]));
  const versions = [...new Set([...byVersion.keys(), ...appliedByVersion.keys()])].sort(compareVersions);
  return versions.map((version): MigrationStatus => {
    const file = byVersion.get(version);
    const record = appliedByVersion.get(version);
    const name = file?.name ?? record?.name;
    if (record === undefined && coveredByBaseline(version, baseline)) {
      return { version, name, state: 'baseline', detail: `at or before the baseline ${baseline!}: counts as applied, never run by drydock` };
    }
    if (record === undefined) {
      if (file !== undefined && isEmptySection(file.up.sql, isBlankSql)) {
        return { version, name, state: 'pending', warning: `${file.fileName}: the up section has no statements yet; \`drydock migrate up\` refuses to apply it until it has SQL` };
      }
      return { version, name, state: 'pending' };
    }
    if (file === undefined && coveredByBaseline(version, baseline)) {
      return { version, name, state: 'baseline', appliedAt: record.appliedAt, detail: `at or before the baseline ${baseline!}, no file` };
    }
    if (file === undefined && record.foreign) {
      return { version, name, state: 'other-tool', detail: 'recorded by another tool, no file here' };
    }
    if (file === undefined) return { version, name, state: 'missing-file', appliedAt: record.appliedAt };
    if (record.checksum !== undefined && record.checksum !== '' && record.checksum !== file.checksum) {
      return {
        version,
        name,
        state: 'changed',
        appliedAt: record.appliedAt,
        detail: `${file.fileName} changed after it was applied (checksum ${short(file.checksum)}, applied as ${short(record.checksum)})`,
      };
    }
    return { version, name, state: 'applied', appliedAt: record.appliedAt };
  });
}

function short(checksum: string): string {
  return checksum.slice(0, 12);
}

function sortByVersion(files: readonly MigrationFile[]): MigrationFile[] {
  return [...files].sort((a, b) => compareVersions(a.version, b.version));
}

function checkVersionSyntax(version: string, direction: 'up' | 'down'): void {
  if (!VERSION.test(version)) {
    throw new MigrationError(`${JSON.stringify(version)} is not a migration version`, {
      hint: `versions are the 14-digit timestamps that start file names, e.g. 20260121093000${direction === 'down' ? ', or 0 for all' : ''}`,
    });
  }
}
