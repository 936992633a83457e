-- migrate:up
-- Write the change below. drydock runs this section in one transaction with lock_timeout and
-- statement_timeout set; keep it short so it never holds a lock for long. Safe patterns:
--   * CREATE INDEX CONCURRENTLY cannot run in a transaction: put it alone in a migration whose
--     marker line reads `-- migrate:up transaction:false`.
--   * Foreign keys and CHECK constraints: ADD CONSTRAINT ... NOT VALID here, then
--     VALIDATE CONSTRAINT in a later migration (it only takes a SHARE UPDATE EXCLUSIVE lock).
--   * SET NOT NULL: add CHECK (col IS NOT NULL) NOT VALID, validate it, then SET NOT NULL
--     (Postgres 12+ skips the table scan) and drop the check.
--   * Backfills: update in batches from a script or job, not in a schema migration.
--   * lock_timeout: keep it low (SET LOCAL lock_timeout = '5s') so a blocked ALTER fails fast
--     instead of making every query on the table wait behind it.


-- migrate:down
-- Undo exactly what the up section does, in reverse order. If it cannot be undone (data is
-- dropped), replace this section with the single word: irreversible


