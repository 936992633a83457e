import { describe, expect, it } from 'vitest';

import { changeDifferences, changeFingerprint, checkChange } from '../../../src/backfill/spec.js';
import { ConfigError } from '../../../src/errors.js';

describe('checking --set and --where', () => {
  it('accepts assignments and a predicate, and names the assigned columns', async () => {
    const c = await checkChange({ table: ' users ', set: "email_lower = lower(email), status = 'active', (a, b) = (1, 2)", where: 'email_lower IS NULL' });
    expect(c.columns).toEqual(['email_lower', 'status', 'a', 'b']);
    expect(c.table).toBe('users');
  });

  it.each([
    ['email_lower lower(email)', undefined, /--set does not parse/],
    ['a = 1; DROP TABLE users', undefined, /--set must not hold more than one statement/],
    ['a = 1', 'true) OR (true', /--where does not parse/],
    ['a = 1', 'x = 1; DELETE FROM users', /--where must/],
    ['', undefined, /--set is empty/],
    ['a = 1', '  ', /--where is empty/],
    ['a = 1 FROM other', undefined, /--set must be a list of assignments/],
    ['a = 1 RETURNING *', undefined, /--set must be a list of assignments/],
    ['a = 1 WHERE id < 10', undefined, /--set must be a list of assignments/],
    ['a = 1 WHERE id < 10', 'true', /--set does not parse/],
  ])('refuses --set %j --where %j with a ConfigError', async (set, where, message) => {
    const error = await checkChange({ table: 'users', set, where }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(message);
    expect((error as ConfigError).exitCode).toBe(2);
  });

  it('fingerprints the change, and says what differs', () => {
    const a = { table: 'public.users', set: 'a = 1', where: undefined };
    expect(changeFingerprint(a)).toBe(changeFingerprint({ ...a }));
    expect(changeFingerprint(a)).not.toBe(changeFingerprint({ ...a, where: 'a IS NULL' }));
    expect(changeDifferences(a, a)).toEqual([]);
    expect(changeDifferences(a, { set: 'a = 2', where: 'a IS NULL' })).toEqual(['--set was "a = 1", now "a = 2"', '--where was not given, now "a IS NULL"']);
  });
});
