/**
 * Migration versions: 14-digit UTC timestamps (YYYYMMDDHHMMSS), as dbmate and Rails write them.
 */
import { ConfigError } from '../errors.js';

/** A migration version, alone. */
export const VERSION_PATTERN = /^\d{14}$/;

/** Whether `text` is a migration version. */
export function isMigrationVersion(text: string): boolean {
  return VERSION_PATTERN.test(text);
}

/** The version for a moment: its UTC timestamp, YYYYMMDDHHMMSS. */
export function versionOf(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new ConfigError('invalid date for the migration version', { hint: 'pass a valid Date' });
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return (
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds())
  );
}
