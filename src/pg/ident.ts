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

/**
 * A possibly qualified name as SQL writes it (`app."order items"`, `users`), starting at `from`:
 * identifiers unquoted, a bare name in `public`, and where it ends. Undefined for anything else. Pure.
 */
export function parseQualifiedName(text: string, from = 0): { schema: string; name: string; end: number } | undefined {
  const parts: string[] = [];
  let i = from;
  for (;;) {
    if (text[i] === '"') {
      let ident = '';
      let closed = false;
      for (i++; i < text.length; i++) {
        if (text[i] === '"' && text[i + 1] === '"') {
          ident += '"';
          i++;
        } else if (text[i] === '"') {
          closed = true;
          break;
        } else ident += text[i];
      }
      if (!closed) return undefined;
      i++;
      parts.push(ident);
    } else {
      const m = /^[^\s."(),;']+/.exec(text.slice(i));
      if (!m) return undefined;
      parts.push(m[0]);
      i += m[0].length;
    }
    if (text[i] !== '.') break;
    i++;
  }
  if (parts.length === 1) return { schema: 'public', name: parts[0]!, end: i };
  return parts.length === 2 ? { schema: parts[0]!, name: parts[1]!, end: i } : undefined;
}
