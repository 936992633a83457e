import { afterEach, describe, expect, it } from 'vitest';

import { clearSecrets, mask, maskDeep, MASK, registerSecret } from '../../src/redact.js';

afterEach(() => clearSecrets());

describe('mask', () => {
  it.each([
    ['postgres://user:s3cret@db.example.com:5432/app', `postgres://user:${MASK}@db.example.com:5432/app`],
    ['postgresql://user:s3cret@db.example.com/app?sslmode=require', `postgresql://user:${MASK}@db.example.com/app?sslmode=require`],
    ['postgres://user:p%40ss%3Aword@host/db', `postgres://user:${MASK}@host/db`],
    ['postgres://user:p@ss@host/db', `postgres://user:${MASK}@host/db`],
    ['postgres://user:a:b@c@host:5432/db', `postgres://user:${MASK}@host:5432/db`],
    ['postgres://:pw1234@h/db', `postgres://:${MASK}@h/db`],
    ['HTTPS://deploy:tok3n@git.example.com/repo.git', `HTTPS://deploy:${MASK}@git.example.com/repo.git`],
  ])('masks the password in %s', (input, expected) => {
    expect(mask(input)).toBe(expected);
  });

  it('masks every URL in a longer text, keeping the rest', () => {
    const text = 'copy postgres://a:one1@h1/db1 to postgres://b:two2@h2/db2 (done)';
    expect(mask(text)).toBe(`copy postgres://a:${MASK}@h1/db1 to postgres://b:${MASK}@h2/db2 (done)`);
  });

  it.each([
    ['host=db port=5432 password=s3cret dbname=app', `host=db port=5432 password=${MASK} dbname=app`],
    ["host=db password='it is s3cret' user=u", `host=db password=${MASK} user=u`],
    ['host=db password = s3cret', `host=db password = ${MASK}`],
    ['PGPASSWORD=s3cret pg_dump app', `PGPASSWORD=${MASK} pg_dump app`],
    ['export pgpassword=s3cret', `export pgpassword=${MASK}`],
    ['postgres://h/db?password=s3cret&sslmode=require', `postgres://h/db?password=${MASK}&sslmode=require`],
  ])('masks the keyword password in %s', (input, expected) => {
    expect(mask(input)).toBe(expected);
  });

  it.each([
    'postgres://user@db.example.com:5432/app',
    'postgres://db.example.com:5432/app',
    'postgres:///app?host=/var/run/postgresql',
    'https://example.com/a:b/c',
    'mailto:someone@example.com',
    'pg_dump (PostgreSQL) 15.20',
    '',
  ])('leaves text without passwords untouched: %s', (input) => {
    expect(mask(input)).toBe(input);
  });

  it('masks registered secrets wherever they appear, raw and percent-encoded', () => {
    registerSecret('hunter2 with spaces/and@signs');
    expect(mask('FATAL: password "hunter2 with spaces/and@signs" rejected')).toBe(`FATAL: password "${MASK}" rejected`);
    expect(mask('url: x://h/?k=hunter2%20with%20spaces%2Fand%40signs')).toBe(`url: x://h/?k=${MASK}`);
  });

  it('ignores registered values too short to be safe to mask, and values inside the mask', () => {
    registerSecret('abc');
    registerSecret('');
    registerSecret(undefined);
    registerSecret('****');
    expect(mask('abc ****')).toBe('abc ****');
    clearSecrets();
    registerSecret('abcd');
    expect(mask('xabcdx')).toBe(`x${MASK}x`);
  });

  it('forgets registered secrets after clearSecrets', () => {
    registerSecret('tok-123456');
    clearSecrets();
    expect(mask('tok-123456')).toBe('tok-123456');
  });

  it.each([
    'postgres://user:s3cret@host/db',
    'postgres://user:p@ss@host/db and password=x PGPASSWORD=y',
    "password='quoted secret' postgres://:pw@h/db",
    `postgres://u:${MASK}@h/db password=${MASK}`,
  ])('is idempotent on %s', (input) => {
    registerSecret('s3cret');
    registerSecret('****');
    expect(mask(mask(input))).toBe(mask(input));
  });
});

describe('maskDeep', () => {
  it('masks strings inside nested objects and arrays, leaving other values alone', () => {
    registerSecret('tok-abcdef');
    const input = {
      url: 'postgres://u:pw12@h/db',
      list: ['plain', 'Bearer tok-abcdef', 3, true, null],
      nested: { deeper: { conninfo: 'password=pw12' }, count: 7, missing: undefined },
    };
    expect(maskDeep(input)).toEqual({
      url: `postgres://u:${MASK}@h/db`,
      list: ['plain', `Bearer ${MASK}`, 3, true, null],
      nested: { deeper: { conninfo: `password=${MASK}` }, count: 7, missing: undefined },
    });
    // The input is not modified.
    expect(input.url).toBe('postgres://u:pw12@h/db');
  });

  it('keeps values with toJSON, such as dates, as JSON.stringify would print them', () => {
    const date = new Date('2024-05-06T07:08:09.000Z');
    expect(maskDeep({ at: date })).toEqual({ at: '2024-05-06T07:08:09.000Z' });
    expect(JSON.stringify(maskDeep({ at: date }))).toBe(JSON.stringify({ at: date }));
  });

  it('returns scalars unchanged', () => {
    expect(maskDeep(42)).toBe(42);
    expect(maskDeep(null)).toBeNull();
    expect(maskDeep(undefined)).toBeUndefined();
  });
});
