import { afterEach, describe, expect, it } from 'vitest';

import { childEnv, displayCommand, tail } from '../../src/exec.js';
import { clearSecrets, MASK, registerSecret } from '../../src/redact.js';

afterEach(() => clearSecrets());

describe('childEnv', () => {
  const parent: NodeJS.ProcessEnv = {
    PATH: '/usr/bin:/bin',
    HOME: '/home/me',
    LANG: 'C.UTF-8',
    LC_ALL: 'C',
    PGHOST: 'localhost',
    PGPASSWORD: 'pw',
    PGSSLMODE: 'require',
    HEROKU_API_KEY: 'hk',
    LD_LIBRARY_PATH: '/opt/lib',
    https_proxy: 'http://proxy:3128',
    AWS_SECRET_ACCESS_KEY: 'aws-secret',
    AWS_ACCESS_KEY_ID: 'AKIA',
    GITHUB_TOKEN: 'ghp_x',
    NPM_TOKEN: 'npm_x',
    DATABASE_URL: 'postgres://u:pw@h/db',
    DRYDOCK_LOCAL_DATABASE_URL: 'postgres://u:pw@h/db',
    NODE_OPTIONS: '--inspect',
    EMPTY: undefined,
  };

  it('keeps allowlisted variables: PATH, HOME, locale, PG*, HEROKU_*, proxies', () => {
    const env = childEnv({}, parent);
    expect(env).toMatchObject({
      PATH: '/usr/bin:/bin',
      HOME: '/home/me',
      LANG: 'C.UTF-8',
      LC_ALL: 'C',
      PGHOST: 'localhost',
      PGPASSWORD: 'pw',
      PGSSLMODE: 'require',
      HEROKU_API_KEY: 'hk',
      LD_LIBRARY_PATH: '/opt/lib',
      https_proxy: 'http://proxy:3128',
    });
  });

  it('drops everything else: cloud keys, tokens, URLs with credentials, NODE_OPTIONS', () => {
    const env = childEnv({}, parent);
    for (const key of ['AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'GITHUB_TOKEN', 'NPM_TOKEN', 'DATABASE_URL', 'DRYDOCK_LOCAL_DATABASE_URL', 'NODE_OPTIONS', 'EMPTY']) {
      expect(env, key).not.toHaveProperty(key);
    }
  });

  it('adds extra variables and deletes those set to undefined', () => {
    const env = childEnv({ PGPASSWORD: undefined, PGHOST: 'db.example.com', MY_TOOL_FLAG: '1' }, parent);
    expect(env).not.toHaveProperty('PGPASSWORD');
    expect(env.PGHOST).toBe('db.example.com');
    expect(env.MY_TOOL_FLAG).toBe('1');
  });

  it('does not modify the parent environment', () => {
    const copy = { ...parent };
    childEnv({ PATH: '/x', PGHOST: undefined }, parent);
    expect(parent).toEqual(copy);
  });
});

describe('displayCommand', () => {
  it('masks passwords in URLs and keyword arguments', () => {
    expect(displayCommand('pg_dump', ['--dbname', 'postgres://u:s3cret@h/db', '-Fc'])).toBe(`pg_dump --dbname postgres://u:${MASK}@h/db -Fc`);
    expect(displayCommand('psql', ['host=h password=s3cret'])).toBe(`psql 'host=h password=${MASK}'`);
  });

  it('masks registered secrets', () => {
    registerSecret('tok-abcdef');
    expect(displayCommand('heroku', ['config:set', 'KEY=tok-abcdef'])).toBe(`heroku config:set KEY=${MASK}`);
  });

  it('quotes arguments with spaces and quotes for display', () => {
    expect(displayCommand('psql', ['-c', "SELECT 'x'", '--no-psqlrc'])).toBe(`psql -c 'SELECT '\\''x'\\''' --no-psqlrc`);
    expect(displayCommand('/usr/bin/pg_restore', ['-d', 'app', '/tmp/a b.dump'])).toBe(`/usr/bin/pg_restore -d app '/tmp/a b.dump'`);
  });
});

describe('tail', () => {
  it('keeps the last non-empty lines, trimmed and masked', () => {
    const text = 'one\n\ntwo  \nthree\nfour\npostgres://u:pw12@h/db failed\n\n';
    expect(tail(text, 2)).toBe(`four\npostgres://u:${MASK}@h/db failed`);
    expect(tail('', 3)).toBe('');
  });
});
