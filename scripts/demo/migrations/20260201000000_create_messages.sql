-- migrate:up
CREATE TABLE messages (
  id bigserial PRIMARY KEY,
  room_id bigint NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  user_id bigint NOT NULL REFERENCES users (id),
  body text NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_room_id_created_at_idx ON messages (room_id, created_at);
CREATE INDEX messages_user_id_idx ON messages (user_id);

-- migrate:down
DROP TABLE messages;
