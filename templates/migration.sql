-- migrate:up
-- Write the change below. drydock runs this section in one transaction with lock_timeout and
-- statement_timeout set, and `drydock lint` (also run by `drydock release`) refuses statements that
-- lock a busy table or lose data. Safe patterns:
--   * CREATE INDEX CONCURRENTLY (and DROP INDEX CONCURRENTLY) cannot run in a transaction: put it
--     alone in a migration whose marker line reads `-- migrate:up transaction:false`.
--   * Foreign keys and CHECK constraints: ADD CONSTRAINT ... NOT VALID here, then
--     VALIDATE CONSTRAINT in a later migration (it only takes a SHARE UPDATE EXCLUSIVE lock).
--   * UNIQUE / PRIMARY KEY: CREATE UNIQUE INDEX CONCURRENTLY first, then
--     ADD CONSTRAINT ... UNIQUE USING INDEX.
--   * SET NOT NULL: add CHECK (col IS NOT NULL) NOT VALID, validate it, then SET NOT NULL
--     (Postgres 12+ skips the table scan) and drop the check.
--   * New columns: nullable, or NOT NULL with a constant default; set volatile defaults
--     (gen_random_uuid(), clock_timestamp()) with ALTER COLUMN ... SET DEFAULT afterwards.
--   * Type changes rewrite the table (except widening varchar or varchar to text): add a new
--     column instead. Renames and drops break the code that is still running: deploy code first.
--   * Backfills: update in batches from a script or job, not in a schema migration.
--   * lock_timeout: keep it low (SET LOCAL lock_timeout = '5s') so a blocked ALTER fails fast
--     instead of making every query on the table wait behind it.
-- After review, mark a statement that is safe anyway on the line above it, with the reason:
--   -- drydock:safe <rule> <why it is safe>      (rules: drydock lint --list-rules)


-- migrate:down
-- Undo exactly what the up section does, in reverse order. If it cannot be undone (data is
-- dropped), replace this section with the single word: irreversible


