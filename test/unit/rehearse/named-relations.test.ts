import { beforeAll, describe, expect, it } from 'vitest';

import type { RelationFact } from '../../../src/pg/queries/rehearse.js';
import { namedRelations, tablesNamed } from '../../../src/rehearse/recorder.js';
import { ensureParser, splitStatements } from '../../../src/sql/parse.js';

beforeAll(async () => {
  await ensureParser();
});

const relation = (oid: number, schema: string, relname: string): RelationFact => ({ oid, name: `${schema}.${relname}`, schema, relname, kind: 'r', fileNode: oid });
const EXISTING = new Map([relation(1, 'public', 'users'), relation(2, 'public', 'posts'), relation(3, 'audit', 'users'), relation(4, 'public', 'recent')].map((r) => [r.oid, r]));
const nodeOf = (sql: string): unknown => splitStatements(sql)[0]!.node;

describe('the relations a statement names (what rehearse probes)', () => {
  it('finds every table a statement names, with public for an unqualified name, and only those that existed before', () => {
    expect(namedRelations(nodeOf('UPDATE posts SET title = u.name FROM users u WHERE u.id = posts.user_id'), EXISTING).sort()).toEqual([1, 2]);
    expect(namedRelations(nodeOf('ALTER TABLE audit.users ADD COLUMN x int'), EXISTING)).toEqual([3]);
    expect(namedRelations(nodeOf('CREATE TABLE fresh (id int REFERENCES users)'), EXISTING)).toEqual([1]);
  });

  it('does not take a CTE for the table of the same name', () => {
    const sql = 'WITH recent AS (SELECT id FROM users ORDER BY id DESC LIMIT 10) DELETE FROM posts WHERE user_id IN (SELECT id FROM recent)';
    expect(namedRelations(nodeOf(sql), EXISTING).sort()).toEqual([1, 2]);
    expect(tablesNamed(nodeOf(sql)).map((t) => t.name).sort()).toEqual(['posts', 'users']);
    // Schema-qualified, it is the table, not the CTE.
    expect(namedRelations(nodeOf('WITH recent AS (SELECT 1) SELECT * FROM public.recent'), EXISTING)).toEqual([4]);
  });
});
