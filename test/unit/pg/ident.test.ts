import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../../src/errors.js';
import { assertIdentifier, MAX_IDENTIFIER_BYTES, quoteIdent, quoteLiteral, quoteQualified } from '../../../src/pg/ident.js';

describe('quoteIdent', () => {
  it.each([
    ['users', '"users"'],
    ['Users', '"Users"'],
    ['select', '"select"'],
    ['a"b', '"a""b"'],
    ['"', '""""'],
    ['with space; drop table x', '"with space; drop table x"'],
    ['naïve', '"naïve"'],
  ])('quotes %j as %s', (name, quoted) => {
    expect(quoteIdent(name)).toBe(quoted);
  });

  it('rejects empty names, NUL bytes and names Postgres would truncate', () => {
    expect(() => quoteIdent('')).toThrow(ConfigError);
    expect(() => quoteIdent('a\0b')).toThrow(/NUL/);
    expect(() => quoteIdent('x'.repeat(MAX_IDENTIFIER_BYTES + 1))).toThrow(/longer than 63 bytes/);
    expect(quoteIdent('x'.repeat(MAX_IDENTIFIER_BYTES))).toBe(`"${'x'.repeat(63)}"`);
  });

  it('counts bytes, not characters', () => {
    expect(() => quoteIdent('é'.repeat(32))).toThrow(ConfigError); // 64 bytes
    expect(quoteIdent('é'.repeat(31))).toBe(`"${'é'.repeat(31)}"`); // 62 bytes
  });
});

describe('quoteQualified', () => {
  it('quotes and joins each part', () => {
    expect(quoteQualified('public', 'users')).toBe('"public"."users"');
    expect(quoteQualified('My Schema', 'a"b')).toBe('"My Schema"."a""b"');
  });
});

describe('quoteLiteral', () => {
  it('doubles single quotes and rejects NUL', () => {
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(quoteLiteral('')).toBe("''");
    expect(() => quoteLiteral('a\0')).toThrow(ConfigError);
  });
});

describe('assertIdentifier', () => {
  it('names what was wrong in the message', () => {
    expect(() => assertIdentifier('', 'schema name')).toThrow('the schema name is empty');
  });
});
