/**
 * Shapes shared by the migration modules: files (what is on disk), the ledger (what the database
 * says was applied), and plans (what to do). Pure data, no I/O.
 */

/** One section of a migration file: `-- migrate:up` or `-- migrate:down`. */
export interface MigrationSection {
  /** The SQL of the section, exactly as written (without the marker line). */
  sql: string;
  /** False when the marker says `transaction:false` (CREATE INDEX CONCURRENTLY and friends). */
  transaction: boolean;
  /** 1-based line in the file where the section's SQL starts (for error code frames). */
  startLine: number;
}

/** A migration file, parsed. */
export interface MigrationFile {
  /** The 14-digit timestamp, e.g. "20260121093000". */
  version: string;
  /** The descriptive part of the file name, e.g. "create_users". */
  name: string;
  /** File name, e.g. "20260121093000_create_users.sql". */
  fileName: string;
  /** Absolute path. */
  path: string;
  /** sha256 (hex) of the whole file's bytes. */
  checksum: string;
  up: MigrationSection;
  /** Undefined when the file has no down section. */
  down: MigrationSection | undefined;
  /** The down section says `irreversible`: rolling back is an error, not a no-op. */
  irreversible: boolean;
}

/** What the ledger knows about an applied version. */
export interface AppliedMigration {
  version: string;
  /** From drydock's own table; undefined for versions recorded by other tools (Rails, dbmate). */
  checksum?: string | undefined;
  name?: string | undefined;
  appliedAt?: Date | undefined;
  durationMs?: number | undefined;
}

/** One row of `migrate status`. */
export interface MigrationStatus {
  version: string;
  name: string | undefined;
  state: 'applied' | 'pending' | 'changed' | 'missing-file';
  appliedAt?: Date | undefined;
  /** For `changed`: the file's checksum differs from the one recorded at apply time. */
  detail?: string | undefined;
  /** Something to fix before this version can be applied (a pending file whose up section is empty); not a failure of status. */
  warning?: string | undefined;
}

/** A migration to run, in which direction. */
export interface PlannedStep {
  direction: 'up' | 'down';
  migration: MigrationFile;
}
