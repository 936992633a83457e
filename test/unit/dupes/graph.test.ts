import { describe, expect, it } from 'vitest';

import { buildGraph, directReferences, lookalikePattern, rowIdentity, singular } from '../../../src/dupes/graph.js';
import type { ForeignKeyFact, TableFact } from '../../../src/dupes/types.js';

const t = (name: string) => ({ schema: 'public', name });
const fk = (name: string, table: string, columns: string[], references: string, refColumns: string[], onDelete: ForeignKeyFact['onDelete'] = 'no action'): ForeignKeyFact => ({ name, table: t(table), columns, references: t(references), refColumns, onDelete, validated: true });
const fact = (name: string, uniqueIndexes: TableFact['uniqueIndexes'] = [], notNull: string[] = []): TableFact => ({ ...t(name), columns: ['id', 'user_id', 'room_id', 'email', ...notNull].map((c) => ({ name: c, type: 'bigint', notNull: notNull.includes(c) || c === 'id', generated: false, identity: '' })), uniqueIndexes });
const pk = (columns: string[]) => ({ name: 'pk', primary: true, columns, partial: false, nullsNotDistinct: false });

describe('buildGraph', () => {
  it('walks foreign keys level by level, cuts cycles, and adds look-alike columns at level 1', () => {
    const tables = new Map([
      ['public.users', fact('users', [pk(['id'])])],
      ['public.posts', fact('posts', [pk(['id'])])],
      ['public.memberships', fact('memberships', [pk(['user_id', 'room_id'])])],
      ['public.comments', fact('comments', [pk(['id'])])],
      ['public.events', fact('events', [pk(['id'])])],
    ]);
    const refs = buildGraph(
      t('users'),
      [
        fk('posts_user_id_fkey', 'posts', ['user_id'], 'users', ['id'], 'cascade'),
        fk('memberships_user_id_fkey', 'memberships', ['user_id'], 'users', ['id']),
        fk('users_invited_by_fkey', 'users', ['invited_by'], 'users', ['id'], 'set null'),
        fk('comments_post_id_fkey', 'comments', ['post_id'], 'posts', ['id']),
        // a cycle back to posts is not walked again
        fk('posts_comment_fkey', 'posts', ['pinned_comment_id'], 'comments', ['id']),
      ],
      [{ table: t('events'), column: 'user_id', type: 'bigint' }],
      tables,
      ['id'],
    );
    expect(refs.map((r) => `${r.level} ${r.table.name}(${r.columns.join(",")}) -> ${r.references.name} ${r.foreignKey ?? '-'} ${r.onDelete ?? '-'} ${r.mergeKey?.columns.join(',') ?? ''}`)).toEqual([
      '1 posts(user_id) -> users posts_user_id_fkey cascade ',
      '1 memberships(user_id) -> users memberships_user_id_fkey no action user_id,room_id',
      '1 users(invited_by) -> users users_invited_by_fkey set null ',
      '2 comments(post_id) -> posts comments_post_id_fkey no action ',
      '3 posts(pinned_comment_id) -> comments posts_comment_fkey no action ',
      '1 events(user_id) -> users - - ',
    ]);
    expect(directReferences(refs, t('users')).map((r) => r.table.name)).toEqual(['posts', 'memberships', 'users', 'events']);
  });

  it('cannot merge on a partial or expression unique key, and says so', () => {
    const tables = new Map([['public.likes', fact('likes', [pk(['id']), { name: 'likes_live', primary: false, columns: ['user_id', 'room_id'], partial: true, nullsNotDistinct: false }, { name: 'likes_expr', primary: false, columns: ['user_id', null], partial: false, nullsNotDistinct: false }])]]);
    const [ref] = buildGraph(t('users'), [fk('likes_user_id_fkey', 'likes', ['user_id'], 'users', ['id'])], [], tables, ['id']);
    expect(ref!.mergeKey).toBeUndefined();
    expect(ref!.unmergeableKeys).toEqual(['likes_live', 'likes_expr']);
  });
});

describe('names and identities', () => {
  it('makes singulars and the look-alike pattern', () => {
    expect(['users', 'companies', 'addresses', 'boxes', 'person', 'status'].map(singular)).toEqual(['user', 'company', 'address', 'box', 'person', 'status']);
    const re = new RegExp(lookalikePattern('users'));
    expect(['user_id', 'author_user_id', 'users_id'].every((c) => re.test(c))).toBe(true);
    expect(['userid', 'user_ids', 'superuser_idx', 'buser_id'].some((c) => re.test(c))).toBe(false);
  });

  it('finds a row identity: the primary key, else a unique key over NOT NULL columns', () => {
    expect(rowIdentity(fact('a', [pk(['id'])]))).toEqual(['id']);
    expect(rowIdentity(fact('b', [{ name: 'u', primary: false, columns: ['email'], partial: false, nullsNotDistinct: false }], ['email']))).toEqual(['email']);
    expect(rowIdentity(fact('c', [{ name: 'u', primary: false, columns: ['email'], partial: false, nullsNotDistinct: false }]))).toBeUndefined();
  });
});
