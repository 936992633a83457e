-- migrate:up transaction:false
-- Built CONCURRENTLY so writes to messages continue while it builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_edited_at_idx ON messages (edited_at) WHERE edited_at IS NOT NULL;

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS messages_edited_at_idx;
