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
  /** True when another tool recorded it (a schema_migrations row with no drydock_migrations row): Rails, dbmate, a schema load. */
  foreign?: boolean | undefined;
}

/** What a database's ledger holds. */
export interface Ledger {
  /** Applied versions, oldest first. */
  applied: AppliedMigration[];
  /** "Every version at or before this one counts as applied" (`migrate baseline`); undefined when none was recorded. */
  baseline?: { version: string; recordedAt: Date } | undefined;
}

/** One row of `migrate status`. */
export interface MigrationStatus {
  version: string;
  name: string | undefined;
  /**
   * 'baseline': at or before the baseline, and not applied by drydock (a file the baseline covers, or a
   * recorded version without a file). 'other-tool': recorded by another tool, and no file here.
   * 'missing-file': drydock applied it, and its file is gone (a problem).
   */
  state: 'applied' | 'pending' | 'changed' | 'missing-file' | 'baseline' | 'other-tool';
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
