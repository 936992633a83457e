/**
 * Identifier quoting: the one helper every piece of SQL built from a name goes through.
 */
import { ConfigError } from '../errors.js';

/** Postgres truncates identifiers longer than this many bytes (NAMEDATALEN - 1). */
export const MAX_IDENTIFIER_BYTES = 63;

/** Quote an identifier for SQL: "name", doubling embedded quotes. Rejects NUL bytes and over-long names. */
export function quoteIdent(name: string): string {
  assertIdentifier(name);
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quote a possibly schema-qualified name given as parts: quoteQualified('public', 'users') → "public"."users". */
export function quoteQualified(...parts: string[]): string {
  return parts.map(quoteIdent).join('.');
}

/** Quote a string literal for SQL ('it''s'); for the rare places a parameter cannot be used (DDL). */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new ConfigError('a value contains a NUL byte', { hint: 'remove the NUL character' });
  return `'${value.replace(/'/g, "''")}'`;
}

/** Throw a ConfigError unless `name` can be a Postgres identifier without silent truncation. */
export function assertIdentifier(name: string, what = 'identifier'): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ConfigError(`the ${what} is empty`, { hint: 'give a non-empty name' });
  }
  if (name.includes('\0')) {
    throw new ConfigError(`the ${what} contains a NUL byte`, { hint: 'remove the NUL character from the name' });
  }
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new ConfigError(`the ${what} "${name.slice(0, 20)}…" is longer than ${MAX_IDENTIFIER_BYTES} bytes`, {
      hint: 'Postgres would silently truncate it; choose a shorter name',
    });
  }
}
