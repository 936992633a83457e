/**
 * resolvePullOptions: flags that only mean something for a Heroku app are refused with --from-url, not
 * silently ignored (a copy of the wrong database, or no backup where one was asked for, misleads).
 */
import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/errors.js';
import { resolvePullOptions, type PullRequest } from '../../src/settings.js';
import { errorOf } from '../helpers/throws.js';

const GLOBAL = { libpq: {}, spares: true };
const URL = 'postgres://postgres@127.0.0.1:5432/prod_copy';
const LOCAL = 'postgres://postgres@127.0.0.1:5432/postgres';

function resolve(flags: Partial<PullRequest>, app?: string) {
  return resolvePullOptions({ to: 'x_dev', local: LOCAL, ...flags }, app, GLOBAL);
}

const refusal = (fn: () => unknown): ConfigError => errorOf(ConfigError, fn);

describe('pull --from-url with flags of a Heroku app', () => {
  it('refuses --database given on the command line, and says what to do', () => {
    const error = refusal(() => resolve({ fromUrl: URL, database: 'HEROKU_POSTGRESQL_AMBER', databaseSource: 'cli' }));
    expect(error.message).toContain('--from-url already names the database');
    expect(error.hint).toContain('-a APP --database');
  });

  it("accepts --database's default (it was not given)", () => {
    expect(resolve({ fromUrl: URL, database: 'DATABASE_URL', databaseSource: 'default' }).source).toEqual({ kind: 'url', url: URL });
  });

  it('refuses --capture (no Heroku backup can be made of a URL)', () => {
    expect(refusal(() => resolve({ fromUrl: URL, capture: true })).message).toContain('--capture makes a Heroku backup');
  });

  it('reports every problem at once', () => {
    const error = refusal(() => resolve({ fromUrl: URL, capture: true, database: 'X', databaseSource: 'cli', jobs: '0' }));
    expect(error.message).toMatch(/--capture/);
    expect(String(error.message) + String(error.hint)).toMatch(/--database|database/);
  });

  it('keeps --database with -a APP', () => {
    expect(resolve({ database: 'HEROKU_POSTGRESQL_AMBER', databaseSource: 'cli' }, 'my-app').source).toMatchObject({ kind: 'live', app: 'my-app', database: 'HEROKU_POSTGRESQL_AMBER' });
  });
});

describe('pull options: the pristine snapshot', () => {
  it('is taken in the background when background work is allowed, and at once when asked (rehearse) or not allowed', () => {
    expect(resolve({ fromUrl: URL }).snapshotInBackground).toBe(true);
    expect(resolve({ fromUrl: URL, snapshotNow: true }).snapshotInBackground).toBe(false);
    expect(resolvePullOptions({ to: 'x_dev', local: LOCAL, fromUrl: URL }, undefined, { libpq: {}, spares: false }).snapshotInBackground).toBe(false);
    expect(resolve({ fromUrl: URL, snapshot: false }).snapshotInBackground).toBe(false);
  });
});
