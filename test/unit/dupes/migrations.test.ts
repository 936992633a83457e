import { beforeAll, describe, expect, it } from 'vitest';

import { buildGraph } from '../../../src/dupes/graph.js';
import { generateMigrations, type GenerateInput } from '../../../src/dupes/migrations.js';
import { parseKeep, parseKey } from '../../../src/dupes/spec.js';
import { duplicateKeysSql, rankedSql, scopeCondition, summarySql, type DupesSpec } from '../../../src/dupes/sql.js';
import type { ForeignKeyFact, TableFact } from '../../../src/dupes/types.js';
import { DrydockError } from '../../../src/errors.js';
import { lintFile } from '../../../src/lint/lint.js';
import { parseMigrationText } from '../../../src/migrate/files.js';
import { ensureParser, splitStatements } from '../../../src/sql/parse.js';

const t = (name: string) => ({ schema: 'public', name });
const columns = (...names: string[]) => names.map((name) => ({ name, type: name.endsWith('_at') ? 'timestamp with time zone' : name === 'email' || name === 'role' ? 'text' : 'bigint', notNull: name === 'id', generated: false, identity: '' }));
const pk = (cols: string[]) => ({ name: `${cols.join('_')}_pkey`, primary: true, columns: cols, partial: false, nullsNotDistinct: false });
const fk = (name: string, table: string, cols: string[], references: string): ForeignKeyFact => ({ name, table: t(table), columns: cols, references: t(references), refColumns: ['id'], onDelete: 'cascade', validated: true });

function input(overrides: { tables?: TableFact[]; fks?: ForeignKeyFact[]; keep?: string; key?: string; where?: string; nnd?: boolean } = {}): GenerateInput {
  const users: TableFact = { ...t('users'), columns: columns('id', 'email', 'created_at'), uniqueIndexes: [pk(['id'])] };
  const tables = overrides.tables ?? [
    users,
    { ...t('posts'), columns: columns('id', 'user_id'), uniqueIndexes: [pk(['id'])] },
    { ...t('memberships'), columns: columns('user_id', 'room_id', 'role'), uniqueIndexes: [pk(['user_id', 'room_id'])] },
    { ...t('events'), columns: columns('id', 'user_id'), uniqueIndexes: [pk(['id'])] },
  ];
  const facts = new Map(tables.map((x) => [`${x.schema}.${x.name}`, x]));
  const fks = overrides.fks ?? [fk('posts_user_id_fkey', 'posts', ['user_id'], 'users'), fk('memberships_user_id_fkey', 'memberships', ['user_id'], 'users')];
  const graph = buildGraph(t('users'), fks, facts.has('public.events') ? [{ table: t('events'), column: 'user_id', type: 'bigint' }] : [], facts, ['id']);
  const spec: DupesSpec = { table: t('users'), key: parseKey([overrides.key ?? 'lower(email)']), where: overrides.where, nullsNotDistinct: overrides.nnd ?? false, keep: parseKeep(overrides.keep, users.columns), pk: ['id'], references: graph.filter((r) => r.level === 1) };
  return { spec, root: facts.get('public.users')!, graph, tables: facts, name: 'dedupe_users_email', indexName: 'users_email_key', constraint: false, addForeignKeys: false, batchSize: 1000, lockTimeoutMs: 5000, command: 'drydock dupes users lower(email) --generate dedupe_users_email', generatedAt: '2026-11-26T00:00:00Z' };
}

beforeAll(async () => {
  await ensureParser();
});

describe('the report SQL', () => {
  it('is a GROUP BY … HAVING count(*) > 1 over the rows a unique index would see, never a window over the table', () => {
    const spec = input().spec;
    expect(scopeCondition(spec)).toBe('(lower(email)) IS NOT NULL');
    expect(duplicateKeysSql(spec)).toBe('SELECT (lower(email)) AS k1, count(*) AS n FROM "public"."users" AS "users" WHERE (lower(email)) IS NOT NULL GROUP BY 1 HAVING count(*) > 1');
    expect(summarySql(spec, 5)).not.toMatch(/OVER/);
    expect(scopeCondition({ ...spec, nullsNotDistinct: true, where: 'deleted_at IS NULL' })).toBe('(deleted_at IS NULL)');
    for (const sql of [summarySql(spec, 5), rankedSql(spec, { kind: 'all-groups' }), rankedSql(spec, { kind: 'keys', keys: [['a@x'], [null]], types: ['text'] }), rankedSql({ ...spec, nullsNotDistinct: true }, { kind: 'all-groups' })]) {
      expect(() => splitStatements(sql), sql).not.toThrow();
    }
    // The ranking looks at the rows of duplicate groups only (the window runs over those).
    expect(rankedSql(spec, { kind: 'all-groups' })).toMatch(/IN \(SELECT \(lower\(email\)\) FROM "public"\."users" AS "users" WHERE \(lower\(email\)\) IS NOT NULL GROUP BY 1 HAVING count\(\*\) > 1\)/);
  });

  it('counts references for most-referenced', () => {
    const sql = rankedSql({ ...input().spec, keep: parseKeep('most-referenced', []) }, { kind: 'all-groups' });
    expect(sql).toMatch(/FROM "public"\."posts" AS drydock_c JOIN drydock_members AS "users" ON drydock_c\."user_id" = "users"\."id"/);
    expect(sql).toMatch(/ORDER BY drydock_refs DESC, "id" ASC/);
  });
});

describe('generateMigrations', () => {
  it('writes prepare (one transaction), the batched de-duplication (transaction:false) and the concurrent unique index, each with a down section', () => {
    const files = generateMigrations(input());
    expect(files.map((f) => f.name)).toEqual(['dedupe_users_email_prepare', 'dedupe_users_email', 'dedupe_users_email_unique_index']);
    for (const f of files) {
      const { up, down } = parseMigrationText(`${f.name}.sql`, f.text);
      expect(down, f.name).toBeDefined();
      expect(() => splitStatements(up.sql)).not.toThrow();
      expect(() => splitStatements(down!.sql)).not.toThrow();
      // release lints pending migrations and refuses errors: none here.
      const findings = lintFile(`20260101000000_${f.name}.sql`, f.text, { pgVersion: 15 }).findings.filter((x) => x.severity === 'error');
      expect(findings, f.name).toEqual([]);
    }
    const [prepare, dedup, index] = files.map((f) => parseMigrationText('x.sql', f.text));
    expect(prepare!.up.transaction).toBe(true);
    expect(prepare!.up.sql).toMatch(/RAISE EXCEPTION 'drydock dupes: % row\(s\) of public\.users tie for first place/);
    expect(prepare!.down!.sql).toMatch(/DROP TABLE "public"\."dedupe_users_email_groups";\nDROP TABLE "public"\."dedupe_users_email_audit";/);
    expect(dedup!.up.transaction).toBe(false);
    expect(dedup!.up.sql).toMatch(/SET LOCAL lock_timeout = '5000ms';[\s\S]*LIMIT 1000[\s\S]*COMMIT;/);
    expect(dedup!.up.sql).toMatch(/'merge', 'public\.memberships'/);
    expect(dedup!.up.sql).toMatch(/UPDATE "public"\."events" AS c SET "user_id" = b\.n1/);
    expect(dedup!.down!.transaction).toBe(true);
    expect(dedup!.down!.sql).toMatch(/INSERT INTO "public"\."users" \("id", "email", "created_at"\)\nSELECT r\."id"/);
    expect(dedup!.down!.sql).toMatch(/ORDER BY id DESC LOOP/);
    expect(index!.up.transaction).toBe(false);
    expect(index!.up.sql.trim()).toBe('CREATE UNIQUE INDEX CONCURRENTLY "users_email_key" ON "public"."users" ((lower(email)));');
    expect(index!.down!.sql.trim()).toBe('DROP INDEX CONCURRENTLY IF EXISTS "public"."users_email_key";');
  });

  it('adds the constraint USING INDEX for plain columns, NULLS NOT DISTINCT and WHERE to the index', () => {
    const plain = generateMigrations({ ...input({ key: 'email', nnd: true }), constraint: true }).at(-1)!.text;
    expect(plain).toMatch(/ON "public"\."users" \("email"\) NULLS NOT DISTINCT;\nALTER TABLE "public"\."users" ADD CONSTRAINT "users_email_key" UNIQUE USING INDEX "users_email_key";/);
    const partial = generateMigrations({ ...input({ where: 'deleted_at IS NULL' }), constraint: true }).at(-1)!.text;
    expect(partial).toMatch(/\(\(lower\(email\)\)\) WHERE deleted_at IS NULL;\n\n-- migrate:down/);
  });

  it('refuses what it could not undo or would get wrong', () => {
    const noPk = input({ tables: [{ ...t('users'), columns: columns('id', 'email'), uniqueIndexes: [] }], fks: [] });
    expect(() => generateMigrations({ ...noPk, spec: { ...noPk.spec, pk: [] } })).toThrow(/no primary key/);
    const noIdentity = input({ tables: [{ ...t('users'), columns: columns('id', 'email', 'created_at'), uniqueIndexes: [pk(['id'])] }, { ...t('posts'), columns: columns('id', 'user_id'), uniqueIndexes: [] }], fks: [fk('posts_user_id_fkey', 'posts', ['user_id'], 'users')] });
    expect(() => generateMigrations(noIdentity)).toThrow(DrydockError);
    expect(() => generateMigrations(noIdentity)).toThrow(/public\.posts has no primary key/);
  });
});
