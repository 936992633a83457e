/**
 * release at schema version 0: review app or not (resolveReviewApp), and what it does (decideRelease).
 */
import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../src/errors.js';
import { decideRelease, type ReleaseFacts } from '../../src/migrate/release-rule.js';
import { resolveGlobalSettings, resolveReviewApp } from '../../src/settings.js';

const notReview = { reviewApp: false, because: 'no marker' };
const review = { reviewApp: true, because: 'HEROKU_PR_NUMBER is set' };
const empty: ReleaseFacts = { version: '0', appTables: [], otherData: '', reviewApp: notReview, command: undefined, migrationFiles: 3, schemaFile: undefined };

describe('resolveReviewApp', () => {
  it("reads Heroku's review-app markers from the environment, and the explicit settings win", () => {
    const from = (env: Record<string, string>, flag?: boolean) => resolveReviewApp(flag, resolveGlobalSettings({}, env));
    expect(from({})).toMatchObject({ reviewApp: false });
    expect(from({ HEROKU_PR_NUMBER: '12' })).toEqual({ reviewApp: true, because: 'HEROKU_PR_NUMBER is set' });
    expect(from({ HEROKU_BRANCH: 'x' })).toEqual({ reviewApp: true, because: 'HEROKU_BRANCH is set' });
    expect(from({ HEROKU_PARENT_APP_NAME: 'x' })).toEqual({ reviewApp: true, because: 'HEROKU_PARENT_APP_NAME is set' });
    expect(from({ HEROKU_PR_NUMBER: ' ' })).toMatchObject({ reviewApp: false });
    // HEROKU_APP_NAME is set on any app with dyno metadata: not a marker.
    expect(from({ HEROKU_APP_NAME: 'my-app-pr-12' })).toMatchObject({ reviewApp: false });
    expect(from({ HEROKU_PR_NUMBER: '12', DRYDOCK_REVIEW_APP: 'false' })).toEqual({ reviewApp: false, because: 'DRYDOCK_REVIEW_APP=false' });
    expect(from({ DRYDOCK_REVIEW_APP: 'TRUE' })).toMatchObject({ reviewApp: true });
    expect(from({ DRYDOCK_REVIEW_APP: 'true' }, false)).toEqual({ reviewApp: false, because: '--no-review-app' });
    expect(from({ DRYDOCK_REVIEW_APP: '0' }, true)).toEqual({ reviewApp: true, because: '--review-app' });
    expect(() => from({ DRYDOCK_REVIEW_APP: 'maybe' })).toThrow(ConfigError);
  });
});

describe('decideRelease', () => {
  it('at version 0 on an empty database: a review app skips, any other app migrates from zero', () => {
    expect(decideRelease({ ...empty, reviewApp: review })).toMatchObject({ action: 'skip' });
    expect(decideRelease(empty)).toMatchObject({ action: 'migrate', fromZero: true });
    expect(decideRelease({ ...empty, command: 'bin/rails db:migrate' })).toMatchObject({ action: 'command', fromZero: true });
    // No migration files: a schema file means there is a schema to set up, and release says how; nothing at all is up to date.
    expect(decideRelease({ ...empty, migrationFiles: 0, schemaFile: 'db/schema.sql' })).toMatchObject({ action: 'refuse', reason: 'schema-file-only' });
    expect(decideRelease({ ...empty, migrationFiles: 0 })).toMatchObject({ action: 'migrate', fromZero: true });
  });

  it('at version 0 a database with tables or data is refused whatever the app; a non-zero version migrates', () => {
    for (const reviewApp of [review, notReview]) {
      expect(decideRelease({ ...empty, reviewApp, appTables: ['public.users'] })).toMatchObject({ action: 'refuse', reason: 'not-empty' });
      expect(decideRelease({ ...empty, reviewApp, otherData: '1 large object(s)' })).toMatchObject({ action: 'refuse', reason: 'not-empty' });
      expect(decideRelease({ ...empty, reviewApp, version: '20260101000000' })).toMatchObject({ action: 'migrate', fromZero: false });
    }
  });
});
