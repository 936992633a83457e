/**
 * For every rule, SQL it must flag (`err`) and SQL it must leave alone (`ok`). Other rules may fire
 * on the same SQL; each case only asserts about its own rule. Examples follow what Rails, Django,
 * Prisma, Knex and hand-written migrations really contain.
 */
import type { CaseInput } from '../helpers.js';

/** Cases by rule id. */
export const RULE_CASES: Record<string, { err: CaseInput[]; ok: CaseInput[] }> = {
  'require-concurrent-index-creation': {
    err: [
      'CREATE INDEX users_email_idx ON users (email);',
      'CREATE UNIQUE INDEX "index_users_on_email" ON "users" ("email");',
      'CREATE INDEX "User_email_idx" ON "public"."User"("email");',
      'create index "accounts_user_id_index" on "accounts" ("user_id")',
      'CREATE INDEX IF NOT EXISTS idx ON app.orders USING gin (payload jsonb_path_ops) WHERE deleted_at IS NULL;',
      { sql: 'CREATE INDEX idx ON users (email);', kind: 'drydock' },
      { sql: 'CREATE TABLE users (id int);\nCOMMIT;\nCREATE INDEX i ON other (id);', kind: 'plain' },
    ],
    ok: [
      'CREATE INDEX CONCURRENTLY users_email_idx ON users (email);',
      { sql: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS idx ON users (email);', kind: 'drydock', transaction: false },
      'CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint);\nCREATE INDEX posts_user_id_idx ON posts (user_id);',
      'CREATE TABLE "app_book" ("id" bigserial NOT NULL PRIMARY KEY, "author_id" bigint NOT NULL);\nCREATE INDEX "app_book_author_id_1d1a3f7e" ON "app_book" ("author_id");',
      'CREATE TABLE billing.invoices (id int);\nCREATE INDEX invoices_id ON billing.invoices (id);',
      'CREATE TABLE invoices (id int);\nCREATE INDEX invoices_id ON public.invoices (id);',
      // The partitioned-table pattern: an empty parent index, then one per partition, concurrently.
      'CREATE INDEX measurements_x_idx ON ONLY measurements (x);',
    ],
  },
  'require-concurrent-index-deletion': {
    err: [
      'DROP INDEX users_email_idx;',
      'DROP INDEX IF EXISTS "public"."index_users_on_email";',
      'DROP INDEX a_idx, b_idx;',
    ],
    ok: [
      'DROP INDEX CONCURRENTLY users_email_idx;',
      'DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;',
      'CREATE INDEX tmp_idx ON users (email);\nDROP INDEX tmp_idx;',
      'DROP TABLE users;',
    ],
  },
  'ban-concurrent-index-in-transaction': {
    err: [
      { sql: 'CREATE INDEX CONCURRENTLY idx ON users (email);', kind: 'drydock' },
      { sql: 'DROP INDEX CONCURRENTLY idx;', kind: 'drydock' },
      'BEGIN;\nCREATE INDEX CONCURRENTLY idx ON users (email);\nCOMMIT;',
      { sql: 'CREATE INDEX CONCURRENTLY idx ON users (email);', assumeInTransaction: true },
      'REINDEX (CONCURRENTLY) INDEX idx; BEGIN; REINDEX INDEX CONCURRENTLY idx; COMMIT;',
      'BEGIN;\nALTER TABLE measurements DETACH PARTITION measurements_2020 CONCURRENTLY;\nCOMMIT;',
      "DO $$ BEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'idx') THEN\n    CREATE INDEX CONCURRENTLY idx ON users (email);\n  END IF;\nEND $$;",
      { sql: 'BEGIN;\nCREATE INDEX CONCURRENTLY idx ON users (email);\nCOMMIT;', kind: 'drydock', transaction: false },
    ],
    ok: [
      'CREATE INDEX CONCURRENTLY idx ON users (email);',
      { sql: 'CREATE INDEX CONCURRENTLY idx ON users (email);', kind: 'drydock', transaction: false },
      'BEGIN;\nALTER TABLE users ADD COLUMN x int;\nCOMMIT;\nCREATE INDEX CONCURRENTLY idx ON users (x);',
      { sql: 'COMMIT;\nCREATE INDEX CONCURRENTLY idx ON users (email);', assumeInTransaction: true },
      'BEGIN;\nCREATE INDEX idx ON users (email);\nCOMMIT;',
      'REFRESH MATERIALIZED VIEW CONCURRENTLY stats;',
    ],
  },
  'require-concurrent-reindex': {
    err: ['REINDEX INDEX users_email_idx;', 'REINDEX TABLE users;', 'REINDEX DATABASE app;', { sql: 'REINDEX INDEX users_email_idx;', pgVersion: 11 }],
    ok: ['REINDEX INDEX CONCURRENTLY users_email_idx;', 'REINDEX (CONCURRENTLY, VERBOSE) TABLE users;', 'CREATE TABLE t (id int);\nREINDEX TABLE t;'],
  },
  'adding-field-with-volatile-default': {
    err: [
      'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();',
      'ALTER TABLE "users" ADD COLUMN "uuid" uuid NOT NULL DEFAULT uuid_generate_v4();',
      'ALTER TABLE events ADD COLUMN created_at timestamptz NOT NULL DEFAULT clock_timestamp();',
      'ALTER TABLE users ADD COLUMN score float8 DEFAULT random() * 100;',
      'ALTER TABLE users ADD COLUMN code text DEFAULT md5(random()::text);',
      'ALTER TABLE users ADD COLUMN n bigint DEFAULT nextval(\'users_n_seq\');',
      'ALTER TABLE users ADD COLUMN slug text DEFAULT make_slug();',
      'ALTER TABLE users ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) STORED;',
      { sql: 'ALTER TABLE users ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) STORED;', pgVersion: 18 },
      { sql: 'ALTER TABLE users ADD COLUMN admin boolean DEFAULT false;', pgVersion: 10 },
      { sql: 'ALTER TABLE "core_recipe" ADD COLUMN "foo" integer DEFAULT 10 NOT NULL;', pgVersion: 9.6 },
    ],
    ok: [
      'ALTER TABLE users ADD COLUMN admin boolean DEFAULT false;',
      'ALTER TABLE "users" ADD "admin" boolean DEFAULT FALSE NOT NULL',
      'ALTER TABLE users ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();',
      'ALTER TABLE users ADD COLUMN created_at timestamp(6) DEFAULT CURRENT_TIMESTAMP;',
      "ALTER TABLE users ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb;",
      "ALTER TABLE users ADD COLUMN status text DEFAULT 'active';",
      'ALTER TABLE users ADD COLUMN n integer DEFAULT 2 + 2;',
      "ALTER TABLE users ADD COLUMN tags text[] DEFAULT ARRAY[]::text[];",
      'ALTER TABLE users ADD COLUMN note text DEFAULT NULL;',
      { sql: 'ALTER TABLE users ADD COLUMN note text DEFAULT NULL;', pgVersion: 10 },
      'ALTER TABLE users ADD COLUMN token uuid;\nALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();',
      'CREATE TABLE sessions (id uuid PRIMARY KEY DEFAULT gen_random_uuid());',
      'CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN token uuid DEFAULT gen_random_uuid();',
      // Postgres 18's virtual generated columns are computed when read: no rewrite (VIRTUAL is the default).
      { sql: 'ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) VIRTUAL;', pgVersion: 18 },
      { sql: 'ALTER TABLE "orders" ADD COLUMN "total" numeric GENERATED ALWAYS AS ("price" * "qty");', pgVersion: 18 },
    ],
  },
  'adding-required-field': {
    err: [
      'ALTER TABLE users ADD COLUMN plan text NOT NULL;',
      'ALTER TABLE "User" ADD COLUMN     "updatedAt" TIMESTAMP(3) NOT NULL;',
      'alter table "users" add column "org_id" integer not null',
      'ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT NULL;',
      { sql: 'ALTER TABLE users ADD COLUMN plan text NOT NULL;', pgVersion: 10 },
    ],
    ok: [
      "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';",
      'ALTER TABLE users ADD COLUMN plan text;',
      'ALTER TABLE users ADD COLUMN id2 bigint GENERATED ALWAYS AS IDENTITY;',
      'ALTER TABLE users ADD COLUMN n bigserial NOT NULL;',
      'CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN plan text NOT NULL;',
    ],
  },
  'adding-serial-primary-key-field': {
    err: [
      'ALTER TABLE events ADD COLUMN id bigserial PRIMARY KEY;',
      'ALTER TABLE "Event" ADD COLUMN "id" SERIAL NOT NULL,\nADD CONSTRAINT "Event_pkey" PRIMARY KEY ("id");',
      'ALTER TABLE events ADD COLUMN seq smallserial;',
    ],
    ok: ['ALTER TABLE events ADD COLUMN id bigint;', 'CREATE TABLE events (id bigserial PRIMARY KEY);', 'CREATE TABLE e (x int);\nALTER TABLE e ADD COLUMN id serial;'],
  },
  'adding-identity-column': {
    err: ['ALTER TABLE events ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;', 'ALTER TABLE events ADD COLUMN id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY;'],
    ok: [
      'ALTER TABLE events ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;',
      'CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);',
      'ALTER TABLE events ADD COLUMN id bigint;',
    ],
  },
  'ban-set-not-null': {
    err: [
      'ALTER TABLE users ALTER COLUMN email SET NOT NULL;',
      'ALTER TABLE "core_recipe" ALTER COLUMN "foo" SET NOT NULL;',
      'ALTER TABLE "User" ALTER COLUMN "name" SET NOT NULL;',
      // Validating a check for another column proves nothing about this one.
      'ALTER TABLE users VALIDATE CONSTRAINT users_name_not_null;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;',
      // Before 12, SET NOT NULL scans even with a validated check.
      {
        sql: 'ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID;\nCOMMIT;\nALTER TABLE users VALIDATE CONSTRAINT c;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;',
        pgVersion: 11,
      },
      // The check was added NOT VALID but never validated.
      'ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;',
      // Postgres 18's NOT NULL table constraint scans like SET NOT NULL unless it is NOT VALID.
      { sql: 'ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email;', pgVersion: 18 },
      { sql: 'ALTER TABLE "User" ADD CONSTRAINT "User_name_not_null" NOT NULL "name";', pgVersion: 18, kind: 'drydock' },
      'ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email;',
      // SET NOT NULL validates a NOT VALID NOT NULL constraint with a scan under ACCESS EXCLUSIVE (VALIDATE CONSTRAINT would not block).
      { sql: 'ALTER TABLE users ADD CONSTRAINT n NOT NULL email NOT VALID;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;', pgVersion: 18 },
      // Validated in the transaction that added it: the ACCESS EXCLUSIVE lock is held through the scan.
      { sql: 'ALTER TABLE users ADD CONSTRAINT n NOT NULL email NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT n;', pgVersion: 18, kind: 'drydock' },
      { sql: 'BEGIN;\nALTER TABLE users ADD CONSTRAINT n NOT NULL email NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT n;\nCOMMIT;', pgVersion: 18 },
    ],
    ok: [
      'ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT c;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;',
      { sql: 'ALTER TABLE users VALIDATE CONSTRAINT users_email_null;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_email_null;', kind: 'drydock' },
      'ALTER TABLE users ALTER COLUMN email DROP NOT NULL;',
      'CREATE TABLE t (email text);\nALTER TABLE t ALTER COLUMN email SET NOT NULL;',
      // Postgres 18's safe path: NOT VALID (no scan), then VALIDATE (SHARE UPDATE EXCLUSIVE) in its own transaction.
      { sql: 'ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email NOT VALID;', pgVersion: 18 },
      { sql: 'ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;', pgVersion: 18, kind: 'drydock' },
      { sql: 'ALTER TABLE users ADD CONSTRAINT n NOT NULL email NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT n;', pgVersion: 18 },
      { sql: 'ALTER TABLE users ADD CONSTRAINT n NOT NULL email NOT VALID;\nCOMMIT;\nALTER TABLE users VALIDATE CONSTRAINT n;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;', pgVersion: 18 },
      { sql: 'CREATE TABLE t (email text);\nALTER TABLE t ADD CONSTRAINT t_email_not_null NOT NULL email;', pgVersion: 18 },
    ],
  },
  'adding-foreign-key-constraint': {
    err: [
      'ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id);',
      'ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;',
      'ALTER TABLE "posts" ADD CONSTRAINT "fk_rails_5b5ddfd518" FOREIGN KEY ("user_id") REFERENCES "users" ("id")',
      'alter table "accounts" add constraint "accounts_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade',
      'ALTER TABLE orders ADD COLUMN user_id bigint DEFAULT 1 REFERENCES users (id);',
      'BEGIN;\nALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT fk;\nCOMMIT;',
      { sql: 'ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT fk;', kind: 'drydock' },
      "DO $$ BEGIN\n ALTER TABLE \"posts\" ADD CONSTRAINT \"posts_author_id_users_id_fk\" FOREIGN KEY (\"author_id\") REFERENCES \"public\".\"users\"(\"id\") ON DELETE no action ON UPDATE no action;\nEXCEPTION\n WHEN duplicate_object THEN null;\nEND $$;",
      // Issue 14: a table created and filled in the same migration, then given a foreign key to an existing table.
      {
        sql: 'CREATE TABLE "new_Post" ("id" SERIAL NOT NULL, "authorId" INTEGER NOT NULL, CONSTRAINT "new_Post_pkey" PRIMARY KEY ("id"));\nINSERT INTO "new_Post" ("id", "authorId") SELECT "id", "authorId" FROM "Post";\nALTER TABLE "new_Post" ADD CONSTRAINT "new_Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;',
        kind: 'drydock',
      },
      'CREATE TABLE stats AS SELECT user_id, count(*) AS n FROM orders GROUP BY user_id;\nALTER TABLE stats ADD CONSTRAINT stats_user_fk FOREIGN KEY (user_id) REFERENCES users (id);',
    ],
    ok: [
      'CREATE TABLE "Post2" ("id" SERIAL NOT NULL, "authorId" INTEGER NOT NULL);\nALTER TABLE "Post2" ADD CONSTRAINT "Post2_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id");',
      "CREATE TABLE kinds (id int, user_id int);\nINSERT INTO kinds VALUES (1, 1), (2, 1);\nALTER TABLE kinds ADD CONSTRAINT kinds_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
      'CREATE TABLE p2 (id int, user_id int);\nINSERT INTO p2 SELECT id, user_id FROM p;\nALTER TABLE p2 ADD CONSTRAINT p2_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;',
      'CREATE TABLE a (id int PRIMARY KEY);\nCREATE TABLE b (id int, a_id int);\nINSERT INTO b SELECT id, id FROM old_b;\nALTER TABLE b ADD CONSTRAINT b_a_fk FOREIGN KEY (a_id) REFERENCES a (id);',
      'ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;',
      { sql: 'ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT ENFORCED;', pgVersion: 18 },
      'ALTER TABLE orders VALIDATE CONSTRAINT fk;',
      // Separate statements outside a transaction: each commits on its own.
      'ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT fk;',
      'BEGIN;\nALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nCOMMIT;\nBEGIN;\nALTER TABLE orders VALIDATE CONSTRAINT fk;\nCOMMIT;',
      'ALTER TABLE "app_book" ADD COLUMN "author_id" bigint NULL CONSTRAINT "app_book_author_id_fk" REFERENCES "app_author"("id") DEFERRABLE INITIALLY DEFERRED;',
      'CREATE TABLE posts (id int, user_id bigint REFERENCES users (id));',
      'CREATE TABLE "Post" ("id" SERIAL NOT NULL, "authorId" INTEGER NOT NULL, CONSTRAINT "Post_pkey" PRIMARY KEY ("id"));\nALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;',
    ],
  },
  'adding-check-constraint': {
    err: [
      'ALTER TABLE accounts ADD CONSTRAINT positive_balance CHECK (balance >= 0);',
      'ALTER TABLE "core_recipe" ADD CONSTRAINT "age_restriction" CHECK ("age" >= 25);',
      'ALTER TABLE accounts ADD COLUMN balance int CHECK (balance >= 0);',
      'ALTER DOMAIN positive_int ADD CONSTRAINT positive CHECK (VALUE > 0);',
      { sql: 'ALTER TABLE a ADD CONSTRAINT c CHECK (x > 0) NOT VALID;\nALTER TABLE a VALIDATE CONSTRAINT c;', kind: 'drydock' },
      { sql: 'ALTER TABLE a ADD CONSTRAINT c CHECK (x > 0) NOT VALID;\nALTER TABLE a VALIDATE CONSTRAINT c;', assumeInTransaction: true },
    ],
    ok: [
      'ALTER TABLE accounts ADD CONSTRAINT positive_balance CHECK (balance >= 0) NOT VALID;',
      'ALTER TABLE accounts VALIDATE CONSTRAINT positive_balance;',
      'ALTER DOMAIN positive_int ADD CONSTRAINT positive CHECK (VALUE > 0) NOT VALID;',
      'BEGIN;\nCREATE TABLE "core_foo" ("id" serial NOT NULL PRIMARY KEY, "age" integer NOT NULL);\nALTER TABLE "core_foo" ADD CONSTRAINT "age_restriction" CHECK ("age" >= 25);\nCOMMIT;',
      { sql: 'ALTER TABLE a ADD CONSTRAINT c CHECK (x > 0) NOT VALID;\nCOMMIT;\nALTER TABLE a VALIDATE CONSTRAINT c;', assumeInTransaction: true },
      // Postgres 18: a NOT ENFORCED check is not checked at all, so nothing is scanned.
      { sql: 'ALTER TABLE orders ADD CONSTRAINT orders_qty_check CHECK (qty > 0) NOT ENFORCED;', pgVersion: 18 },
    ],
  },
  'ban-unique-constraint-without-index': {
    err: [
      'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);',
      'alter table "users" add constraint "users_email_unique" unique ("email")',
      'ALTER TABLE "app_x" ADD CONSTRAINT "app_x_a_b_uniq" UNIQUE ("a", "b");',
      'ALTER TABLE users ADD PRIMARY KEY (id);',
      'ALTER TABLE users ADD COLUMN handle text UNIQUE;',
      'ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);',
    ],
    ok: [
      'ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;',
      'ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_pkey;',
      'CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE);',
      'CREATE TABLE t (a int);\nALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE (a);',
    ],
  },
  'changing-column-type': {
    err: [
      'ALTER TABLE events ALTER COLUMN id TYPE bigint;',
      'ALTER TABLE "User" ALTER COLUMN "id" SET DATA TYPE BIGINT;',
      'ALTER TABLE events ALTER COLUMN created_at TYPE timestamptz;',
      "ALTER TABLE events ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC';",
      'ALTER TABLE "User" ALTER COLUMN "role" TYPE "Role_new" USING ("role"::text::"Role_new");',
      'ALTER TABLE users ALTER COLUMN name TYPE text USING lower(name);',
      'ALTER TABLE t ADD COLUMN name varchar(100);\nCOMMIT;\nALTER TABLE t ALTER COLUMN name TYPE varchar(50);',
      'ALTER TABLE t ADD COLUMN name text;\nALTER TABLE t ALTER COLUMN name TYPE varchar(50);',
      'ALTER TABLE t ADD COLUMN price numeric(10,2);\nALTER TABLE t ALTER COLUMN price TYPE numeric(12,4);',
      'ALTER TABLE t ALTER COLUMN price TYPE numeric(12,2);',
      'ALTER TABLE users ALTER COLUMN email TYPE citext;',
      // The old type is unknown (no database, no earlier migration declared it): bytea → text and
      // int → text rewrite, text → varchar(n) checks every row, so these are reported (issue 14).
      'ALTER TABLE users ALTER COLUMN name TYPE text;',
      'ALTER TABLE "core_recipe" ALTER COLUMN "edits" TYPE text USING "edits"::text;',
      'ALTER TABLE users ALTER COLUMN name TYPE varchar(500);',
      'ALTER TABLE users ALTER COLUMN name TYPE character varying;',
      // After RENAME COLUMN the old name's type is the one that counts.
      'ALTER TABLE t ADD COLUMN body bytea;\nALTER TABLE t RENAME COLUMN body TO content;\nALTER TABLE t ALTER COLUMN content TYPE text;',
      'ALTER TABLE t ADD COLUMN n int;\nALTER TABLE t ALTER COLUMN n TYPE text;',
      'ALTER TABLE t ADD COLUMN name varchar(255);\nALTER TABLE t ALTER COLUMN name TYPE varchar(50);',
    ],
    ok: [
      'ALTER TABLE users ADD COLUMN name varchar(100);\nALTER TABLE users ALTER COLUMN name TYPE text;',
      'ALTER TABLE "core_recipe" ADD COLUMN "edits" varchar(20);\nALTER TABLE "core_recipe" ALTER COLUMN "edits" TYPE text USING "edits"::text;',
      'ALTER TABLE users ADD COLUMN name varchar(100);\nALTER TABLE users ALTER COLUMN name TYPE varchar(500);',
      'ALTER TABLE users ADD COLUMN name text;\nALTER TABLE users ALTER COLUMN name TYPE character varying;',
      'ALTER TABLE t ADD COLUMN body varchar(10);\nALTER TABLE t RENAME COLUMN body TO content;\nALTER TABLE t ALTER COLUMN content TYPE text;',
      'ALTER TABLE t ADD COLUMN name varchar(100);\nALTER TABLE t ALTER COLUMN name TYPE varchar(200);',
      'ALTER TABLE t ADD COLUMN price numeric(10,2);\nALTER TABLE t ALTER COLUMN price TYPE numeric(12,2);',
      'ALTER TABLE t ADD COLUMN price numeric(10,2);\nALTER TABLE t ALTER COLUMN price TYPE numeric;',
      'CREATE TABLE t (id int);\nALTER TABLE t ALTER COLUMN id TYPE bigint;',
    ],
  },
  'renaming-column': {
    err: ['ALTER TABLE users RENAME COLUMN name TO full_name;', 'ALTER TABLE "User" RENAME COLUMN "name" TO "fullName";', 'ALTER TABLE public.users RENAME name TO full_name;'],
    ok: ['CREATE TABLE t (a int);\nALTER TABLE t RENAME COLUMN a TO b;', 'ALTER TABLE users RENAME CONSTRAINT a TO b;', 'ALTER VIEW v RENAME COLUMN a TO b;'],
  },
  'renaming-table': {
    err: ['ALTER TABLE customers RENAME TO clients;', 'ALTER TABLE IF EXISTS "public"."Customer" RENAME TO "Client";'],
    ok: ['ALTER INDEX a RENAME TO b;', 'CREATE TABLE t_new (id int);\nALTER TABLE t_new RENAME TO t;', 'ALTER TABLE users RENAME COLUMN a TO b;'],
  },
  'ban-drop-column': {
    err: ['ALTER TABLE users DROP COLUMN legacy_flag;', 'ALTER TABLE "User" DROP COLUMN "legacy";', 'alter table "users" drop column "x", drop column "y"', 'ALTER TABLE users DROP COLUMN IF EXISTS x CASCADE;'],
    ok: ['CREATE TABLE t (a int, b int);\nALTER TABLE t DROP COLUMN b;', 'ALTER TABLE users DROP CONSTRAINT users_email_key;', 'ALTER TABLE users ALTER COLUMN a DROP DEFAULT;'],
  },
  'ban-drop-table': {
    err: ['DROP TABLE legacy_sessions;', 'DROP TABLE IF EXISTS "public"."Session" CASCADE;', 'DROP TABLE a, b;', 'DROP SCHEMA IF EXISTS reporting CASCADE;', 'CREATE SCHEMA r;\nCREATE TABLE r.t (id int);\nDROP SCHEMA r CASCADE;'],
    ok: [
      'CREATE TABLE tmp (id int);\nDROP TABLE tmp;', 'DROP INDEX CONCURRENTLY idx;', 'DROP VIEW v;', 'CREATE TEMP TABLE x AS SELECT 1;\nDROP TABLE x;', 'DROP SCHEMA IF EXISTS reporting;',
      // Issue 14: a schema the migration knows holds only functions (and the triggers using them) holds no table.
      'CREATE SCHEMA audit;\nCREATE FUNCTION audit.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$;\nDROP SCHEMA audit CASCADE;',
    ],
  },
  'ban-truncate': {
    err: ['TRUNCATE sessions;', 'TRUNCATE TABLE a, b CASCADE;', 'TRUNCATE ONLY "public"."Cache" RESTART IDENTITY;'],
    ok: ['CREATE TABLE t (id int);\nTRUNCATE t;', 'DELETE FROM sessions WHERE id = 1;'],
  },
  'ban-vacuum-full': {
    err: ['VACUUM FULL events;', 'VACUUM (FULL, ANALYZE) events;', 'VACUUM FULL;'],
    ok: ['VACUUM events;', 'VACUUM (ANALYZE, VERBOSE) events;', 'ANALYZE events;', 'CREATE TABLE t (id int);\nVACUUM FULL t;'],
  },
  'ban-cluster': {
    err: ['CLUSTER events USING events_created_at_idx;', 'CLUSTER events;', 'CLUSTER;'],
    ok: ['ALTER TABLE events CLUSTER ON events_created_at_idx;', 'CREATE TABLE t (id int);\nCREATE INDEX ti ON t (id);\nCLUSTER t USING ti;'],
  },
  'ban-set-tablespace': {
    err: ['ALTER TABLE events SET TABLESPACE fast_ssd;', 'ALTER INDEX events_created_at_idx SET TABLESPACE fast_ssd;', 'ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE fast_ssd;', 'ALTER MATERIALIZED VIEW stats SET TABLESPACE fast_ssd;'],
    ok: ['CREATE TABLE t (id int) TABLESPACE fast_ssd;', 'CREATE TABLE t (id int);\nALTER TABLE t SET TABLESPACE fast_ssd;', 'CREATE INDEX CONCURRENTLY i ON events (id) TABLESPACE fast_ssd;'],
  },
  'ban-backfill-with-schema-change': {
    err: [
      'ALTER TABLE users ADD COLUMN active boolean;\nUPDATE users SET active = true;',
      { sql: 'ALTER TABLE "users" ADD "admin" boolean;\nUPDATE "users" SET "admin" = FALSE;', kind: 'drydock' },
      'ALTER TABLE users ALTER COLUMN nickname DROP DEFAULT;\nUPDATE users SET nickname = name WHERE nickname IS NULL;\nALTER TABLE users ALTER COLUMN nickname SET NOT NULL;',
      { sql: 'ALTER TABLE users ADD COLUMN a int;\nDELETE FROM users WHERE a IS NULL;', kind: 'drydock' },
      'ALTER TABLE orders ADD COLUMN total numeric;\nUPDATE orders o SET total = s.sum FROM order_sums s WHERE s.order_id = o.id;',
      'ALTER TABLE events DROP COLUMN legacy;\nDELETE FROM events;',
      'DO $$ BEGIN ALTER TABLE users ADD COLUMN a int; UPDATE users SET a = 0; END $$;',
    ],
    ok: [
      'UPDATE users SET active = true;',
      'ALTER TABLE users ADD COLUMN active boolean;\nUPDATE users SET active = true WHERE id = 1;',
      "ALTER TABLE users ADD COLUMN role text;\nUPDATE users SET role = 'admin' WHERE email IN ('a@example.com', 'b@example.com');",
      'ALTER TABLE users ADD COLUMN a int;\nUPDATE users SET a = 0 WHERE id IN (SELECT id FROM users WHERE a IS NULL LIMIT 1000);',
      'ALTER TABLE users ADD COLUMN a int;\nUPDATE users SET a = 0 WHERE id BETWEEN 1 AND 10000;',
      'CREATE TABLE t (id int, a int);\nINSERT INTO t VALUES (1, 1);\nUPDATE t SET a = 2;',
      "CREATE TABLE audit (id int);\nINSERT INTO audit SELECT id FROM users;\nDELETE FROM settings WHERE key = 'x';",
      // Issue 14: order matters. A de-duplicating DELETE that runs before the schema change holds none of its locks.
      'UPDATE users SET nickname = name WHERE nickname IS NULL;\nALTER TABLE users ALTER COLUMN nickname SET NOT NULL;',
      {
        sql: 'DELETE FROM "Vote" a USING "Vote" b WHERE a.id < b.id AND a."userId" = b."userId" AND a."postId" = b."postId";\nCREATE UNIQUE INDEX "Vote_userId_postId_key" ON "Vote"("userId", "postId");',
        kind: 'drydock',
      },
      'BEGIN;\nDELETE FROM sessions s1 USING sessions s2 WHERE s1.ctid < s2.ctid AND s1.token = s2.token;\nALTER TABLE sessions ADD CONSTRAINT sessions_token_key UNIQUE (token);\nCOMMIT;',
      // A committed schema change does not hold its locks into the next transaction.
      "BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE users ADD COLUMN a int;\nCOMMIT;\nBEGIN;\nUPDATE users SET a = 0;\nCOMMIT;",
      // Issue 14: a catalog update is not a backfill.
      "ALTER TABLE users ADD COLUMN a int;\nUPDATE pg_index SET indisvalid = true WHERE indexrelid = (SELECT oid FROM pg_class WHERE relname = 'users_email_idx');",
      "ALTER TABLE users ADD COLUMN a int;\nUPDATE pg_catalog.pg_index SET indisready = true;",
    ],
  },
  'ban-newer-postgres-syntax': {
    err: [
      'ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email;',
      'ALTER TABLE "User" ADD CONSTRAINT "User_email_not_null" NOT NULL "email" NOT VALID;',
      { sql: 'ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email NOT VALID;', pgVersion: 17, kind: 'drydock' },
      'CREATE TABLE accounts (id bigint, email text, CONSTRAINT accounts_email_not_null NOT NULL email);',
      'ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) VIRTUAL;',
      'ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty);',
      'CREATE TABLE orders (price numeric, qty int, total numeric GENERATED ALWAYS AS (price * qty));',
      'ALTER TABLE orders ADD CONSTRAINT orders_qty_check CHECK (qty > 0) NOT ENFORCED;',
      'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT ENFORCED;',
      'ALTER TABLE orders ALTER CONSTRAINT orders_user_fk ENFORCED;',
      'ALTER TABLE orders ALTER CONSTRAINT orders_user_fk NOT ENFORCED;',
      { sql: 'ALTER TABLE orders ALTER CONSTRAINT orders_qty_check NO INHERIT;', pgVersion: 9.6 },
    ],
    ok: [
      { sql: 'ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email NOT VALID;', pgVersion: 18 },
      { sql: 'CREATE TABLE orders (price numeric, qty int, total numeric GENERATED ALWAYS AS (price * qty) VIRTUAL);', pgVersion: 18 },
      { sql: 'ALTER TABLE orders ALTER CONSTRAINT orders_user_fk NOT ENFORCED;', pgVersion: 18 },
      'ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (price * qty) STORED;',
      'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;',
      'ALTER TABLE orders ADD CONSTRAINT orders_qty_check CHECK (qty > 0);',
      'ALTER TABLE users ALTER COLUMN email SET NOT NULL;',
      'ALTER TABLE orders ALTER CONSTRAINT orders_user_fk DEFERRABLE INITIALLY DEFERRED;',
      'CREATE TABLE t (a int NOT NULL, b int CHECK (b > 0), c int REFERENCES u (id));',
      'ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT \'free\';',
    ],
  },
  'require-lock-timeout': {
    err: [
      'ALTER TABLE users ADD COLUMN nickname text;',
      'CREATE INDEX idx ON users (email);',
      'DROP TABLE legacy;',
      'BEGIN;\nSET LOCAL lock_timeout = \'5s\';\nCOMMIT;\nALTER TABLE users ADD COLUMN x int;',
      "SET lock_timeout = '5s';\nRESET lock_timeout;\nALTER TABLE users ADD COLUMN x int;",
      'SET lock_timeout = 0;\nALTER TABLE users ADD COLUMN x int;',
      "SET LOCAL lock_timeout = '5s';\nALTER TABLE users ADD COLUMN x int;",
      'CREATE TABLE posts (id int, user_id int REFERENCES users (id));',
      'LOCK TABLE users IN ACCESS EXCLUSIVE MODE;',
      'CREATE TRIGGER t BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();',
      // Issue 14: ACCESS EXCLUSIVE locks the rule missed.
      'DROP VIEW IF EXISTS "public"."active_users";',
      'CREATE OR REPLACE VIEW active_users AS SELECT id, email FROM users WHERE deleted_at IS NULL;',
      'DROP SCHEMA IF EXISTS audit CASCADE;',
      'DROP FUNCTION IF EXISTS set_updated_at() CASCADE;',
    ],
    ok: [
      'CREATE VIEW v AS SELECT 1 AS a;\nCREATE OR REPLACE VIEW v AS SELECT 2 AS a;',
      'DROP FUNCTION IF EXISTS set_updated_at();',
      "SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN nickname text;",
      "SET lock_timeout TO '2s';\nCREATE INDEX idx ON users (email);",
      "BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE users ADD COLUMN x int;\nCOMMIT;",
      "SELECT set_config('lock_timeout', '3s', false);\nALTER TABLE users ADD COLUMN x int;",
      { sql: 'ALTER TABLE users ADD COLUMN nickname text;', kind: 'drydock' },
      { sql: 'CREATE INDEX CONCURRENTLY idx ON users (email);', kind: 'drydock', transaction: false },
      'CREATE INDEX CONCURRENTLY idx ON users (email);',
      'CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN x int;\nCREATE INDEX ti ON t (x);',
      'ALTER TABLE users VALIDATE CONSTRAINT c;',
      "INSERT INTO settings VALUES ('a', 1);\nUPDATE users SET a = 1 WHERE id = 2;",
    ],
  },
  'prefer-jsonb': {
    err: ['CREATE TABLE events (id int, payload json);', 'ALTER TABLE events ADD COLUMN payload json;', 'ALTER TABLE events ALTER COLUMN payload TYPE json;', 'CREATE TABLE e (tags json[] NOT NULL);'],
    ok: ['CREATE TABLE events (id int, payload jsonb);', "SELECT '{}'::json;", 'ALTER TABLE events ALTER COLUMN payload TYPE jsonb USING payload::jsonb;'],
  },
};
