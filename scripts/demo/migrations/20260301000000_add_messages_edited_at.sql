-- migrate:up
-- A nullable column without a default: a metadata-only change, no table rewrite.
ALTER TABLE messages ADD COLUMN edited_at timestamptz;

-- migrate:down
ALTER TABLE messages DROP COLUMN edited_at;
