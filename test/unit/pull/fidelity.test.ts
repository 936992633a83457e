import { describe, expect, it } from 'vitest';

import type { CatalogFacts } from '../../../src/pg/queries/facts.js';
import { compareFacts } from '../../../src/pull/fidelity.js';

function facts(overrides: Partial<CatalogFacts> = {}): CatalogFacts {
  return {
    relations: new Map([['["public","users"]', { label: 'public.users', kind: 'r', columns: new Map([['id', 'integer NOT NULL'], ['email', 'text']]) }]]),
    indexes: new Map([
      ['["public","users_pkey"]', { label: 'index public.users_pkey on users', valid: true }],
      ['["public","users_email_idx"]', { label: 'index public.users_email_idx on users', valid: false }],
    ]),
    constraints: new Map([['["public","users","users_org_fkey"]', { label: 'constraint users_org_fkey on public.users', type: 'f', validated: true, deferrable: false }]]),
    sequences: new Map([['["public","users_id_seq"]', { label: 'sequence public.users_id_seq', state: '50 false' }]]),
    matviews: new Map([['["public","stats"]', { label: 'materialized view public.stats', populated: true }]]),
    largeObjects: 2,
    ...overrides,
  };
}

describe('compareFacts', () => {
  it('finds nothing between equal facts, and ignores an index that is INVALID in the source', () => {
    const copy = facts({ indexes: new Map([['["public","users_pkey"]', { label: 'index public.users_pkey on users', valid: true }]]) });
    expect(compareFacts(facts(), copy)).toEqual([]);
  });

  it('names each object that differs', () => {
    const copy = facts({
      relations: new Map([['["public","users"]', { label: 'public.users', kind: 'r', columns: new Map([['id', 'bigint NOT NULL']]) }]]),
      indexes: new Map(),
      constraints: new Map([['["public","users","users_org_fkey"]', { label: 'constraint users_org_fkey on public.users', type: 'f', validated: false, deferrable: false }]]),
      sequences: new Map([['["public","users_id_seq"]', { label: 'sequence public.users_id_seq', state: '1 false' }]]),
      matviews: new Map([['["public","stats"]', { label: 'materialized view public.stats', populated: false }]]),
      largeObjects: 0,
    });
    expect(compareFacts(facts(), copy)).toEqual([
      'public.users: column id is integer NOT NULL in the source, bigint NOT NULL in the copy',
      'public.users: column email is missing',
      'index public.users_pkey on users is missing',
      'constraint users_org_fkey on public.users is validated in the source, NOT VALID in the copy',
      'sequence public.users_id_seq: last_value/is_called 50 false in the source, 1 false in the copy',
      'materialized view public.stats is populated in the source, not populated in the copy',
      '2 large object(s) in the source, 0 in the copy',
    ]);
  });

  it('allows a foreign key left NOT VALID because its referenced data was excluded', () => {
    const copy = facts({ constraints: new Map([['["public","users","users_org_fkey"]', { label: 'constraint users_org_fkey on public.users', type: 'f', validated: false, deferrable: false }]]) });
    const indexes = new Map([['["public","users_pkey"]', { label: 'index public.users_pkey on users', valid: true }]]);
    expect(compareFacts(facts(), { ...copy, indexes }, { notValidConstraints: new Set(['constraint users_org_fkey on public.users']) })).toEqual([]);
  });
});
