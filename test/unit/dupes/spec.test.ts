import { beforeAll, describe, expect, it } from 'vitest';

import { describeKeep, isTotalOrder, keepExpressions, keepOrderBy, parseKeep, parseKey, parseWhere, uniqueIndexName } from '../../../src/dupes/spec.js';
import type { ColumnFact } from '../../../src/dupes/types.js';
import { ConfigError } from '../../../src/errors.js';
import { ensureParser } from '../../../src/sql/parse.js';

const col = (name: string): ColumnFact => ({ name, type: 'text', notNull: false, generated: false, identity: '' });

beforeAll(async () => {
  await ensureParser();
});

describe('parseKey', () => {
  it('reads columns, expressions and comma-separated lists, exactly as written', () => {
    expect(parseKey(['email'])).toEqual([{ text: 'email', column: 'email' }]);
    expect(parseKey(['lower(email)'])).toEqual([{ text: 'lower(email)', column: undefined }]);
    expect(parseKey(['tenant_id, lower(email)'])).toEqual([{ text: 'tenant_id', column: 'tenant_id' }, { text: 'lower(email)', column: undefined }]);
    expect(parseKey(['tenant_id', 'email'])).toEqual([{ text: 'tenant_id', column: 'tenant_id' }, { text: 'email', column: 'email' }]);
    expect(parseKey(['"Email"'])).toEqual([{ text: '"Email"', column: 'Email' }]);
    expect(parseKey(["coalesce(a, ','), b"])).toEqual([{ text: "coalesce(a, ',')", column: undefined }, { text: 'b', column: 'b' }]);
  });

  it('refuses what a unique index cannot be on, and anything that is not one expression list', () => {
    for (const bad of ['', 'email); DROP TABLE users; --', 'email AS e', '(SELECT 1)', 'count(*)', 'row_number() OVER ()', 'email FROM x', 'a,']) {
      expect(() => parseKey([bad]), bad).toThrow(ConfigError);
    }
  });
});

describe('parseWhere', () => {
  it('keeps a condition as written and refuses statements, subqueries and emptiness', () => {
    expect(parseWhere(undefined)).toBeUndefined();
    expect(parseWhere(' deleted_at IS NULL; ')).toBe('deleted_at IS NULL');
    for (const bad of ['', 'true; DELETE FROM users', 'id IN (SELECT 1)', '1 = 1 ORDER BY 1']) expect(() => parseWhere(bad), bad).toThrow(ConfigError);
  });
});

describe('parseKeep and the order it makes', () => {
  it('uses created_at (or the like) for oldest and newest, then the primary key: always one survivor', () => {
    const oldest = parseKeep(undefined, [col('id'), col('created_at')]);
    expect(oldest).toEqual({ kind: 'oldest', column: 'created_at' });
    expect(keepOrderBy(oldest, ['id'])).toBe('"created_at" ASC NULLS LAST, "id" ASC');
    expect(keepOrderBy(parseKeep('newest', [col('inserted_at')]), ['a', 'b'])).toBe('"inserted_at" DESC NULLS LAST, "a" DESC, "b" DESC');
    expect(keepOrderBy(parseKeep('oldest', [col('id')]), ['id'])).toBe('"id" ASC');
    expect(isTotalOrder(oldest)).toBe(true);
    expect(describeKeep(oldest, ['id'])).toMatch(/earliest created_at survives \(then the lowest id\)/);
  });

  it('counts references for most-referenced', () => {
    const rule = parseKeep('most-referenced', []);
    expect(keepOrderBy(rule, ['id'])).toBe('drydock_refs DESC, "id" ASC');
    expect(keepExpressions(rule, ['id'])).toEqual(['drydock_refs']);
  });

  it('takes an ORDER BY as written, with its expressions for the report; ties are possible', () => {
    const rule = parseKeep('ORDER BY last_sign_in_at DESC NULLS LAST, lower(email), id', []);
    expect(rule).toEqual({ kind: 'order-by', orderBy: 'last_sign_in_at DESC NULLS LAST, lower(email), id', expressions: ['last_sign_in_at', 'lower(email)', 'id'] });
    expect(keepExpressions(rule, ['id'])).toEqual(['last_sign_in_at', 'lower(email)']);
    expect(isTotalOrder(rule)).toBe(false);
    for (const bad of ['loudest', 'ORDER BY', 'ORDER BY a; DROP TABLE x', 'ORDER BY a USING <', 'ORDER BY (SELECT 1)']) expect(() => parseKeep(bad, []), bad).toThrow(ConfigError);
  });
});

describe('uniqueIndexName', () => {
  it('names the index like Postgres names a UNIQUE constraint, within 63 bytes', () => {
    expect(uniqueIndexName('users', parseKey(['twitter_id']))).toBe('users_twitter_id_key');
    expect(uniqueIndexName('users', parseKey(['tenant_id, lower(email)']))).toBe('users_tenant_id_email_key');
    expect(uniqueIndexName('t'.repeat(60), parseKey(['email'])).length).toBeLessThanOrEqual(63);
  });
});
