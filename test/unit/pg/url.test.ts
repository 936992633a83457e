import { afterEach, describe, expect, it } from 'vitest';

import { ConfigError } from '../../../src/errors.js';
import { clearSecrets, mask, MASK } from '../../../src/redact.js';
import { describeDb, effectiveSslMode, isLocalHost, NO_ROOT_CERT, parseDatabaseUrl, redactUrl, sslFiles, toPgEnv, withDatabase } from '../../../src/pg/url.js';

afterEach(() => clearSecrets());

const PASSWORD = 'Sup3r-secret';

function configErrorOf(input: string): ConfigError {
  try {
    parseDatabaseUrl(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected ${input} to be rejected`);
}

describe('parseDatabaseUrl', () => {
  it('parses a full Heroku-style URL', () => {
    const url = parseDatabaseUrl(`postgres://u1abc:${PASSWORD}@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d9xyz`);
    expect(url).toMatchObject({
      user: 'u1abc',
      password: PASSWORD,
      host: 'ec2-1-2-3-4.compute-1.amazonaws.com',
      port: 5432,
      database: 'd9xyz',
      sslmode: undefined,
      params: {},
      redacted: `postgres://u1abc:${MASK}@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d9xyz`,
    });
  });

  it('accepts postgresql:, surrounding spaces and an upper-case scheme', () => {
    expect(parseDatabaseUrl('  postgresql://me@localhost/app  ')).toMatchObject({ user: 'me', host: 'localhost', database: 'app' });
    expect(parseDatabaseUrl('POSTGRES://me@localhost/app').database).toBe('app');
  });

  it('decodes percent-encoded user, password and database', () => {
    const url = parseDatabaseUrl('postgres://us%40er:p%40ss%2Fw%3Ard@h/my%20db');
    expect(url).toMatchObject({ user: 'us@er', password: 'p@ss/w:rd', database: 'my db' });
  });

  it('accepts a password with an unencoded space and still redacts it', () => {
    const url = parseDatabaseUrl(`postgres://u:${PASSWORD} x@h/db`);
    expect(url.password).toBe(`${PASSWORD} x`);
    expect(url.redacted).toBe(`postgres://u:${MASK}@h/db`);
  });

  it('registers the password so it is masked in any later output', () => {
    parseDatabaseUrl('postgres://u:p%40ssw0rd@h/db');
    expect(mask('server said: p@ssw0rd is wrong; url had p%40ssw0rd')).toBe(`server said: ${MASK} is wrong; url had ${MASK}`);
  });

  it('leaves host, port, user and database undefined when absent', () => {
    expect(parseDatabaseUrl('postgres://')).toMatchObject({ user: undefined, password: undefined, host: undefined, port: undefined, database: undefined });
  });

  it('reads a socket directory from ?host=', () => {
    const url = parseDatabaseUrl('postgres:///mydb?host=/var/run/postgresql');
    expect(url).toMatchObject({ host: '/var/run/postgresql', database: 'mydb', port: undefined, params: {} });
    expect(isLocalHost(url.host)).toBe(true);
  });

  it('accepts libpq URLs with a user or port but an empty host', () => {
    expect(parseDatabaseUrl('postgres://alice@/app?host=/tmp')).toMatchObject({ user: 'alice', host: '/tmp', database: 'app' });
    expect(parseDatabaseUrl('postgres://alice:pw12@:5433/app')).toMatchObject({ user: 'alice', host: undefined, port: 5433, database: 'app' });
  });

  it('reads IPv6 hosts, ?port= and keeps other parameters', () => {
    expect(parseDatabaseUrl('postgres://u@[::1]:6543/db')).toMatchObject({ host: '::1', port: 6543 });
    expect(parseDatabaseUrl('postgres://u@h/db?port=6000&application_name=me&sslmode=verify-full')).toMatchObject({
      port: 6000,
      sslmode: 'verify-full',
      params: { application_name: 'me' },
    });
  });

  it.each([
    ['', /is empty/],
    ['   ', /is empty/],
    ['not a url', /is not a URL/],
    [`u1:${PASSWORD}@host:5432/db`, /is not a URL/],
    [`host=db password=${PASSWORD}`, /is not a URL/],
    [`mysql://root:${PASSWORD}@db/app`, /scheme "mysql:"/],
    [`https://u:${PASSWORD}@db/app`, /scheme "https:"/],
    [`postgres://u:${PASSWORD}@h:99999/db`, /invalid port "99999"/],
    [`postgres://u:${PASSWORD}@h:0/db`, /invalid port "0"/],
    [`postgres://u:${PASSWORD}@h:abc/db`, /invalid port/],
    [`postgres://u:${PASSWORD}@h/db?port=x1`, /invalid port/],
    [`postgres://u:${PASSWORD}@h/db?sslmode=bogus`, /unknown sslmode "bogus"/],
    [`postgres://u:${PASSWORD}%ZZ@h/db`, /badly percent-encoded user or password/],
    [`postgres://u:${PASSWORD}@h/db%E0%A4%A`, /badly percent-encoded database name/],
    [`postgres://u:${PASSWORD}@h/a%2Fb`, /database name with "\/"/],
    [`postgres://u:${PASSWORD}/x@h/db`, /password with an unencoded special character .* must be percent-encoded/],
    [`postgres://u:${PASSWORD}?x@h:5432/db`, /password with an unencoded special character .* must be percent-encoded/],
    [`postgres://u:${PASSWORD}#x@h/db`, /password with an unencoded special character .* must be percent-encoded/],
    [`postgres://u:${PASSWORD}@x:y#z@h/db`, /password with an unencoded special character .* must be percent-encoded/],
    [`postgres://u:${PASSWORD}@x:y?z@h/db`, /password with an unencoded special character .* must be percent-encoded/],
  ])('rejects %j with a ConfigError that never shows the password', (input, message) => {
    const error = configErrorOf(input);
    expect(error.message).toMatch(message);
    expect(error.hint).toBeTruthy();
    for (const text of [error.message, error.hint ?? '']) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(PASSWORD.slice(0, 6));
    }
  });
});

describe('a password with an unencoded @', () => {
  it('still parses when the last @ ends the user info, as libpq reads it', () => {
    expect(parseDatabaseUrl('postgres://u:p@ss@h:5433/db')).toMatchObject({ user: 'u', password: 'p@ss', host: 'h', port: 5433, database: 'db' });
  });

  it('leaves an @ inside a query value alone', () => {
    expect(parseDatabaseUrl('postgres://u:pw@h/db?application_name=me@laptop').params).toEqual({ application_name: 'me@laptop' });
  });
});

describe('effectiveSslMode', () => {
  it('uses the URL sslmode first', () => {
    expect(effectiveSslMode(parseDatabaseUrl('postgres://h.example.com/db?sslmode=disable'), { PGSSLMODE: 'require' })).toBe('disable');
  });

  it('then PGSSLMODE, ignoring invalid values', () => {
    expect(effectiveSslMode(parseDatabaseUrl('postgres://localhost/db'), { PGSSLMODE: 'verify-full' })).toBe('verify-full');
    expect(effectiveSslMode(parseDatabaseUrl('postgres://localhost/db'), { PGSSLMODE: 'sometimes' })).toBe('disable');
  });

  it('defaults to disable for local hosts and require for remote ones', () => {
    for (const local of ['postgres://localhost/db', 'postgres://127.0.0.1/db', 'postgres://[::1]/db', 'postgres:///db?host=/tmp', 'postgres:///db']) {
      expect(effectiveSslMode(parseDatabaseUrl(local), {}), local).toBe('disable');
    }
    expect(effectiveSslMode(parseDatabaseUrl('postgres://ec2-1-2-3-4.compute-1.amazonaws.com/db'), {})).toBe('require');
    expect(effectiveSslMode(parseDatabaseUrl('postgres://10.0.0.5/db'), {})).toBe('require');
  });
});

describe('toPgEnv', () => {
  it('passes the password only in PGPASSWORD', () => {
    const env = toPgEnv(parseDatabaseUrl(`postgres://u1:${PASSWORD}@db.example.com:5433/app`), {});
    expect(env).toEqual({
      PGHOST: 'db.example.com',
      PGPORT: '5433',
      PGUSER: 'u1',
      PGPASSWORD: PASSWORD,
      PGDATABASE: 'app',
      PGSSLMODE: 'require',
      PGSSLROOTCERT: NO_ROOT_CERT,
      PGAPPNAME: 'drydock',
      DATABASE_URL: undefined,
    });
    const others = Object.entries(env).filter(([k]) => k !== 'PGPASSWORD');
    for (const [, value] of others) expect(value ?? '').not.toContain(PASSWORD);
  });

  it('fills gaps from the environment but never pairs an inherited PGPASSWORD with another user', () => {
    const parent = { PGHOST: 'envhost', PGPORT: '7000', PGUSER: 'envuser', PGPASSWORD: 'envpw', PGDATABASE: 'envdb' };
    expect(toPgEnv(parseDatabaseUrl('postgres:///'), parent)).toMatchObject({ PGHOST: 'envhost', PGPORT: '7000', PGUSER: 'envuser', PGPASSWORD: 'envpw', PGDATABASE: 'envdb' });
    expect(toPgEnv(parseDatabaseUrl('postgres://other@h/db'), parent)).toMatchObject({ PGUSER: 'other', PGPASSWORD: undefined });
  });

  it('passes a socket directory as PGHOST', () => {
    expect(toPgEnv(parseDatabaseUrl('postgres:///db?host=/var/run/postgresql'), {})).toMatchObject({ PGHOST: '/var/run/postgresql', PGSSLMODE: 'disable' });
  });
});

describe('SSL certificate files', () => {
  const heroku = 'postgres://u:p@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8abc';

  it('keeps ~/.postgresql/root.crt out of sslmode=require, prefer and allow: libpq would verify against it', () => {
    for (const mode of ['require', 'prefer', 'allow']) {
      expect(toPgEnv(parseDatabaseUrl(`${heroku}?sslmode=${mode}`), { HOME: '/home/me' }), mode).toMatchObject({ PGSSLMODE: mode, PGSSLROOTCERT: NO_ROOT_CERT });
    }
    // A remote host without sslmode means require.
    expect(toPgEnv(parseDatabaseUrl(heroku), {})).toMatchObject({ PGSSLMODE: 'require', PGSSLROOTCERT: NO_ROOT_CERT });
    expect(NO_ROOT_CERT.startsWith('/dev/null/')).toBe(true);
  });

  it('keeps a root certificate the user gave, in the URL or PGSSLROOTCERT: that asks for verification', () => {
    expect(toPgEnv(parseDatabaseUrl(`${heroku}?sslrootcert=/etc/ca.pem`), {})).toMatchObject({ PGSSLMODE: 'require', PGSSLROOTCERT: '/etc/ca.pem' });
    expect(toPgEnv(parseDatabaseUrl(heroku), { PGSSLROOTCERT: '/env/ca.pem' })).toMatchObject({ PGSSLROOTCERT: '/env/ca.pem' });
    expect(toPgEnv(parseDatabaseUrl(`${heroku}?sslrootcert=/url/ca.pem`), { PGSSLROOTCERT: '/env/ca.pem' })).toMatchObject({ PGSSLROOTCERT: '/url/ca.pem' });
  });

  it('sets no root certificate without SSL, nor for verify-ca and verify-full (libpq finds its own)', () => {
    expect(toPgEnv(parseDatabaseUrl('postgres://u@127.0.0.1/db'), {})).not.toHaveProperty('PGSSLROOTCERT');
    expect(toPgEnv(parseDatabaseUrl(`${heroku}?sslmode=verify-full`), {})).not.toHaveProperty('PGSSLROOTCERT');
    expect(sslFiles(parseDatabaseUrl(`${heroku}?sslmode=verify-ca`), { HOME: '/home/me/' })).toEqual({ rootCert: undefined, defaultRootCert: '/home/me/.postgresql/root.crt', cert: undefined, key: undefined });
  });

  it('passes the URL\'s other SSL parameters to libpq tools as PG* variables', () => {
    const env = toPgEnv(parseDatabaseUrl(`${heroku}?sslmode=verify-full&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem&sslnegotiation=direct&channel_binding=require`), {});
    expect(env).toMatchObject({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/ca.pem', PGSSLCERT: '/c.pem', PGSSLKEY: '/k.pem', PGSSLNEGOTIATION: 'direct', PGCHANNELBINDING: 'require' });
    expect(sslFiles(parseDatabaseUrl(`${heroku}?sslcert=/c.pem`), { PGSSLKEY: '/k.pem' })).toMatchObject({ cert: '/c.pem', key: '/k.pem', rootCert: NO_ROOT_CERT });
  });
});

describe('redactUrl', () => {
  it('masks the password, including one with an unencoded @', () => {
    expect(redactUrl(`postgres://u:${PASSWORD}@h:5432/db`)).toBe(`postgres://u:${MASK}@h:5432/db`);
    expect(redactUrl('postgres://u:p@ss@h/db')).toBe(`postgres://u:${MASK}@h/db`);
    expect(redactUrl('postgres://:pw12@h/db')).toBe(`postgres://:${MASK}@h/db`);
  });

  it('masks passwords with spaces, and with ? when no structure is clear', () => {
    expect(redactUrl('postgres://u:a b@h/db')).toBe(`postgres://u:${MASK}@h/db`);
    expect(redactUrl('postgres://u:a?b@h/db')).toBe(`postgres://u:${MASK}@h/db`);
  });

  it('leaves URLs without a password alone', () => {
    for (const url of ['postgres://u@h/db', 'postgres://h:5432/db', 'postgres:///db?host=/tmp']) expect(redactUrl(url)).toBe(url);
  });
});

describe('withDatabase', () => {
  it('switches the database, keeping credentials and parameters', () => {
    const base = parseDatabaseUrl(`postgres://u:${PASSWORD}@h:5433/app?sslmode=require&application_name=x`);
    const other = withDatabase(base, 'other db');
    expect(other).toMatchObject({ user: 'u', password: PASSWORD, host: 'h', port: 5433, database: 'other db', sslmode: 'require', params: { application_name: 'x' } });
    expect(other.redacted).not.toContain(PASSWORD);
  });

  it('works on socket URLs with an empty host', () => {
    const other = withDatabase(parseDatabaseUrl('postgres://alice@/app?host=/tmp'), 'postgres');
    expect(other).toMatchObject({ user: 'alice', host: '/tmp', database: 'postgres' });
  });
});

describe('describeDb', () => {
  it('names user, host, port and database without the password', () => {
    expect(describeDb(parseDatabaseUrl(`postgres://u:${PASSWORD}@h:5433/app`))).toBe('u@h:5433/app');
    expect(describeDb(parseDatabaseUrl('postgres:///'))).toBe('local socket/(default database)');
  });
});
