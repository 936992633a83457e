import { describe, expect, it } from 'vitest';

import { batchSql, boundKey, describeBatchSql, keyParams, keyTuple } from '../../../src/backfill/keyset.js';

const single = { table: '"public"."users"', key: [{ name: 'id', type: 'bigint' }], set: 'email_lower = lower(email)' };
const composite = { table: 'app.events', key: [{ name: 'tenant', type: 'text' }, { name: 'seq', type: 'integer' }], set: 'n = n + 1', where: 'n < 3' };

describe('keyset batches', () => {
  it('names a single key as a column and a composite one as a row', () => {
    expect(keyTuple(single.key)).toBe('"id"');
    expect(keyTuple(composite.key)).toBe('("tenant", "seq")');
    expect(keyParams(composite.key, 3)).toBe('($3::text, $4::integer)');
  });

  it('bounds the first batch without a lower key and the next ones after the cursor, never with OFFSET', () => {
    const first = batchSql(single, true);
    expect(first.bound).toContain('ORDER BY "id" LIMIT $1');
    expect(first.bound).not.toContain('"id" >');
    expect(first.update).toBe('UPDATE "public"."users" SET email_lower = lower(email)\nWHERE "id" <= $1::bigint');
    const next = batchSql(single, false);
    expect(next.bound).toContain('WHERE "id" > $1::bigint ORDER BY "id" LIMIT $2');
    expect(next.update).toContain('WHERE "id" > $1::bigint\n  AND "id" <= $2::bigint');
    for (const sql of [first.bound, first.update, next.bound, next.update]) expect(sql).not.toMatch(/OFFSET/i);
  });

  it('compares a composite key as a row and puts --where in parentheses', () => {
    const next = batchSql(composite, false);
    expect(next.bound).toContain('WHERE ("tenant", "seq") > ($1::text, $2::integer) ORDER BY "tenant", "seq" LIMIT $3');
    expect(next.bound).toContain('ORDER BY "tenant" DESC, "seq" DESC LIMIT 1');
    expect(next.update).toBe('UPDATE app.events SET n = n + 1\nWHERE ("tenant", "seq") > ($1::text, $2::integer)\n  AND ("tenant", "seq") <= ($3::text, $4::integer)\n  AND (n < 3)');
  });

  it('reads the bound row in key order and refuses a NULL key', () => {
    expect(boundKey(composite.key, { k_tenant: 'acme', k_seq: '7', scanned: '100' })).toEqual(['acme', '7']);
    expect(() => boundKey(single.key, { k_id: null })).toThrow(/NULL/);
  });

  it('shows a dry run the statements with named parameters', () => {
    const text = describeBatchSql(composite);
    expect(text).toContain('> (:last_tenant::text, :last_seq::integer)');
    expect(text).toContain('LIMIT :batch_size');
    expect(text).toContain('<= (:bound_tenant::text, :bound_seq::integer)');
    expect(text).not.toMatch(/\$\d/);
  });
});
