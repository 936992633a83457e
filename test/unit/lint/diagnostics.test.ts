/**
 * Rendered diagnostics, pinned: what people read when a migration is unsafe.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { lintFile } from '../../../src/lint/lint.js';
import { renderFinding } from '../../../src/lint/report.js';
import { ensureParser } from '../../../src/sql/parse.js';
import { lintCase } from './helpers.js';

beforeAll(async () => {
  await ensureParser();
});

const render = (sql: string, kind: 'drydock' | 'plain' = 'drydock') =>
  lintCase({ sql, kind })
    .map((f) => renderFinding(f))
    .join('\n\n');

describe('rendered diagnostics', () => {
  it('require-concurrent-index-creation', () => {
    expect(render('CREATE INDEX users_email_idx ON users (email);')).toMatchInlineSnapshot(`
      "20260101000000_test.sql:2:1: error: CREATE INDEX blocks writes to \`users\` while the index builds (it holds a SHARE lock on the table until the build ends) [require-concurrent-index-creation]
        | CREATE INDEX users_email_idx ON users (email)
        help: -- build it CONCURRENTLY: writes go on while it builds
              CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
              -- alone in a migration whose marker line reads \`-- migrate:up transaction:false\`
        docs: drydock lint --explain require-concurrent-index-creation"
    `);
  });

  it('ban-set-not-null', () => {
    expect(render('ALTER TABLE users ALTER COLUMN email SET NOT NULL;')).toMatchInlineSnapshot(`
      "20260101000000_test.sql:2:1: error: SET NOT NULL on \`users.email\` scans all of \`users\` for NULLs while holding an ACCESS EXCLUSIVE lock: reads and writes wait until the scan finishes [ban-set-not-null]
        | ALTER TABLE users ALTER COLUMN email SET NOT NULL
        help: ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;
              -- then, in a later migration (VALIDATE takes a SHARE UPDATE EXCLUSIVE lock: reads and writes go on):
              ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;
              ALTER TABLE users ALTER COLUMN email SET NOT NULL; -- Postgres 12+ trusts the validated check: no scan
              ALTER TABLE users DROP CONSTRAINT users_email_not_null;
        docs: drydock lint --explain ban-set-not-null"
    `);
  });

  it('adding-foreign-key-constraint', () => {
    expect(render('ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id);')).toMatchInlineSnapshot(`
      "20260101000000_test.sql:2:24: error: adding foreign key \`orders_user_id_fkey\` checks every row of \`orders\` while holding SHARE ROW EXCLUSIVE locks on \`orders\` and \`users\`: writes to both wait until the check finishes [adding-foreign-key-constraint]
        | ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id)
        help: ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
              -- then, in a later migration (reads and writes go on while it checks):
              ALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_fkey;
        docs: drydock lint --explain adding-foreign-key-constraint"
    `);
  });

  it('adding-field-with-volatile-default points at the default', () => {
    expect(render('ALTER TABLE users\n  ADD COLUMN token uuid DEFAULT gen_random_uuid();')).toMatchInlineSnapshot(`
      "20260101000000_test.sql:3:25: error: the default of \`token\` calls gen_random_uuid(), which is volatile: Postgres computes it row by row and rewrites every row of \`users\` while holding an ACCESS EXCLUSIVE lock: reads and writes of \`users\` wait until it finishes [adding-field-with-volatile-default]
        | ALTER TABLE users
        |   ADD COLUMN token uuid DEFAULT gen_random_uuid()
        help: ALTER TABLE users ADD COLUMN token uuid;
              ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid(); -- applies to new rows only, no rewrite
              -- then fill existing rows in batches, outside the schema migration
        docs: drydock lint --explain adding-field-with-volatile-default"
    `);
  });

  it('require-lock-timeout in a plain file', () => {
    expect(render('ALTER TABLE users ADD COLUMN nickname text;', 'plain')).toMatchInlineSnapshot(`
      "test.sql:1:1: error: this statement needs an ACCESS EXCLUSIVE lock on \`users\` and no lock_timeout is set: while it waits behind a long-running query, every read and write of \`users\` queues behind it [require-lock-timeout]
        | ALTER TABLE users ADD COLUMN nickname text
        help: SET lock_timeout = '5s'; -- before the first statement that takes a lock; retry the migration if it times out
              -- (drydock migrations get this from the runner: see \`drydock migrate create\`)
        docs: drydock lint --explain require-lock-timeout"
    `);
  });

  it('syntax-error, with the parser’s message and position', () => {
    const { findings } = lintFile('20260101000000_broken.sql', '-- migrate:up\nALTER TABLE users ADD COLUMNN nickname text;\n', { pgVersion: 15 });
    expect(findings.map((f) => renderFinding(f)).join('\n\n')).toMatchInlineSnapshot(`
      "20260101000000_broken.sql:2:40: error: syntax error at or near "text" [syntax-error]
        > 2 | ALTER TABLE users ADD COLUMNN nickname text;
            |                                        ^
          3 |
        help: fix the SQL: the statements after this point were not checked
        docs: drydock lint --explain syntax-error"
    `);
  });
});
