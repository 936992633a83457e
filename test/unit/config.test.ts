import { afterEach, describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/errors.js';
import { assertAppName, resolveGlobalSettings as resolveConfig, resolveLocalUrl as resolveLocal } from '../../src/settings.js';
import { clearSecrets, mask, MASK } from '../../src/redact.js';

afterEach(() => clearSecrets());

describe('resolveConfig', () => {
  it('prefers the -a flag over HEROKU_APP', () => {
    expect(resolveConfig({ app: 'flag-app' }, { HEROKU_APP: 'env-app' }).app).toBe('flag-app');
  });

  it('uses HEROKU_APP when no flag is given, ignoring blank flags', () => {
    expect(resolveConfig({}, { HEROKU_APP: 'env-app' }).app).toBe('env-app');
    expect(resolveConfig({ app: '  ' }, { HEROKU_APP: 'env-app' }).app).toBe('env-app');
    expect(resolveConfig({}, {}).app).toBeUndefined();
  });

  it('turns on verbose with --verbose or DEBUG=drydock', () => {
    expect(resolveConfig({}, {}).verbose).toBe(false);
    expect(resolveConfig({ verbose: true }, {}).verbose).toBe(true);
    expect(resolveConfig({}, { DEBUG: 'drydock' }).verbose).toBe(true);
    expect(resolveConfig({}, { DEBUG: 'express,drydock:*' }).verbose).toBe(true);
    expect(resolveConfig({}, { DEBUG: 'drydocker' }).verbose).toBe(false);
  });

  it('reads CI, the heroku binary, PG_BIN and --json', () => {
    const config = resolveConfig({ json: true, remote: 'staging' }, { CI: 'true', DRYDOCK_HEROKU_BIN: '/opt/heroku/bin/heroku', PG_BIN: '/usr/lib/postgresql/16/bin' });
    expect(config).toMatchObject({ json: true, remote: 'staging', ci: true, herokuBin: '/opt/heroku/bin/heroku', pgBin: '/usr/lib/postgresql/16/bin' });
    expect(resolveConfig({}, { CI: 'false' }).ci).toBe(false);
    expect(resolveConfig({}, { CI: '0' }).ci).toBe(false);
    expect(resolveConfig({}, {}).herokuBin).toBe('heroku');
  });

  it('returns a frozen object', () => {
    const config = resolveConfig({}, {});
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('registers HEROKU_API_KEY and PGPASSWORD as secrets', () => {
    resolveConfig({}, { HEROKU_API_KEY: 'hk-0123456789', PGPASSWORD: 'pg-secret' });
    expect(mask('key hk-0123456789 pw pg-secret')).toBe(`key ${MASK} pw ${MASK}`);
  });

  it.each(['My_App', 'a;rm -rf', 'UPPER', '1app', 'a', 'ab', 'trailing-', 'x'.repeat(31), 'has space', 'app$(id)'])('rejects the app name %j', (name) => {
    expect(() => resolveConfig({ app: name }, {})).toThrow(ConfigError);
    expect(() => resolveConfig({}, { HEROKU_APP: name })).toThrow(ConfigError);
  });

  it.each(['abc', 'my-app', 'drydock-staging-2', 'a'.repeat(30)])('accepts the app name %j', (name) => {
    expect(() => assertAppName(name)).not.toThrow();
  });

  it('explains what a valid app name looks like', () => {
    expect(() => assertAppName('My_App')).toThrow(/"My_App" is not a valid Heroku app name/);
    try {
      assertAppName('My_App');
    } catch (error) {
      expect((error as ConfigError).hint).toMatch(/lowercase letters, digits and dashes/);
    }
  });
});

/** As commands see it: DRYDOCK_LOCAL_DATABASE_URL arrives through the --local option (commander's Option.env). */
function resolveLocalUrl(flag: string | undefined, env: Record<string, string>) {
  const fromEnv = flag === undefined ? env.DRYDOCK_LOCAL_DATABASE_URL : undefined;
  return resolveLocal(flag ?? fromEnv, env, fromEnv !== undefined ? 'env' : 'cli');
}

describe('resolveLocalUrl', () => {
  it('builds the URL from PG* variables', () => {
    const url = resolveLocalUrl(undefined, { PGHOST: 'db.local', PGPORT: '6543', PGUSER: 'alice', PGPASSWORD: 'p@ss word', PGDATABASE: 'my app' });
    expect(url).toMatchObject({ host: 'db.local', port: 6543, user: 'alice', password: 'p@ss word', database: 'my app' });
    expect(url.redacted).not.toContain('p@ss');
  });

  it('defaults to localhost:5432/postgres', () => {
    const url = resolveLocalUrl(undefined, { PGUSER: 'bob' });
    expect(url).toMatchObject({ host: 'localhost', port: 5432, user: 'bob', password: undefined, database: 'postgres' });
  });

  it('accepts a socket directory in PGHOST', () => {
    const url = resolveLocalUrl(undefined, { PGHOST: '/var/run/postgresql', PGUSER: 'alice' });
    expect(url).toMatchObject({ host: '/var/run/postgresql', port: 5432, user: 'alice', database: 'postgres' });
  });

  it('prefers the --local flag, then DRYDOCK_LOCAL_DATABASE_URL, over PG* variables', () => {
    const env = { DRYDOCK_LOCAL_DATABASE_URL: 'postgres://envuser@envhost/envdb', PGHOST: 'pghost' };
    expect(resolveLocalUrl('postgres://flaguser@flaghost/flagdb', env)).toMatchObject({ host: 'flaghost', database: 'flagdb' });
    expect(resolveLocalUrl(undefined, env)).toMatchObject({ host: 'envhost', database: 'envdb' });
  });

  it('names the source of a bad URL in the error', () => {
    expect(() => resolveLocalUrl('mysql://x@h/db', {})).toThrow(/--local URL/);
    expect(() => resolveLocalUrl(undefined, { DRYDOCK_LOCAL_DATABASE_URL: 'nope' })).toThrow(/DRYDOCK_LOCAL_DATABASE_URL/);
    expect(() => resolveLocalUrl(undefined, { PGPORT: 'x' })).toThrow(ConfigError);
  });
});
