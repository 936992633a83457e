/**
 * What `drydock release` does with the schema version it found (README, "drydock release"). Pure: the
 * pipeline reads the facts, this decides.
 *
 * | schema version | database            | app                          | release                                     |
 * |----------------|---------------------|------------------------------|---------------------------------------------|
 * | unknown        |                     |                              | fails (exit 2): the deploy stops            |
 * | 0              | holds tables/data   | any                          | refuses (exit 2), changes nothing           |
 * | 0              | empty               | review app                   | skips (exit 0): postdeploy loads the schema |
 * | 0              | empty               | not a review app             | migrates from zero (every migration, or the app's command) |
 * | 0              | empty, no migration files but a schema file | not a review app | fails (exit 2) with the command that loads it |
 * | > 0            |                     |                              | runs the pending migrations                 |
 */
import type { ReviewApp } from '../settings.js';

/** What release found before deciding. */
export interface ReleaseFacts {
  /** The schema version, '0' when no tool recorded a migration. */
  version: string;
  /** The database's own tables (the migration tools' ledgers left out); read only at version 0. */
  appTables: readonly string[];
  /** Data outside tables (large objects, used sequences), described; '' when none. */
  otherData: string;
  reviewApp: ReviewApp;
  /** The app's own migration command, when it has one. */
  command: string | undefined;
  /** How many migration files there are (undefined when the folder is missing: the runner says so). */
  migrationFiles: number | undefined;
  /** The schema file, when it exists. */
  schemaFile: string | undefined;
}

/** What release does. */
export type ReleaseDecision =
  | { action: 'refuse'; reason: 'not-empty' | 'schema-file-only'; message: string }
  | { action: 'skip'; message: string }
  | { action: 'migrate'; fromZero: boolean; message: string }
  | { action: 'command'; fromZero: boolean; message: string };

/** Up to five names, then how many more. */
export function listSome(names: readonly string[]): string {
  return `${names.slice(0, 5).join(', ')}${names.length > 5 ? `, and ${names.length - 5} more` : ''}`;
}

/** Decide what release does. */
export function decideRelease(facts: ReleaseFacts): ReleaseDecision {
  if (facts.version !== '0') {
    return facts.command ? { action: 'command', fromZero: false, message: 'running the app\'s migration command' } : { action: 'migrate', fromZero: false, message: 'running the pending migrations' };
  }
  if (facts.appTables.length) {
    return { action: 'refuse', reason: 'not-empty', message: `schema version is 0 but it holds ${facts.appTables.length} table(s): ${listSome(facts.appTables)}` };
  }
  if (facts.otherData) return { action: 'refuse', reason: 'not-empty', message: `schema version is 0 but it holds ${facts.otherData}` };
  const { reviewApp, because } = facts.reviewApp;
  if (reviewApp) {
    return { action: 'skip', message: `schema version is 0 and the database is empty on a review app (${because}): skipping migrations; its postdeploy sets the schema up` };
  }
  const newDb = `schema version is 0 and the database is empty, and this is not a review app (${because}): a new database`;
  if (facts.command) return { action: 'command', fromZero: true, message: `${newDb}: running the app's migration command from zero` };
  if (facts.migrationFiles === 0 && facts.schemaFile) {
    return { action: 'refuse', reason: 'schema-file-only', message: `${newDb}, with no migration files to set it up but a schema file (${facts.schemaFile})` };
  }
  return { action: 'migrate', fromZero: true, message: `${newDb}: applying every migration from zero${facts.migrationFiles === undefined ? '' : ` (${facts.migrationFiles})`}` };
}
