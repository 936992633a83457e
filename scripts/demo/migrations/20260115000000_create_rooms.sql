-- migrate:up
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA heroku_ext;

CREATE TABLE rooms (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  is_private boolean NOT NULL DEFAULT false,
  created_by bigint NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rooms_created_by_idx ON rooms (created_by);
CREATE INDEX rooms_name_trgm_idx ON rooms USING gin (name heroku_ext.gin_trgm_ops);

CREATE TABLE room_participants (
  room_id bigint NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  joined_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_participants_user_id_idx ON room_participants (user_id);

-- migrate:down
DROP TABLE room_participants;
DROP TABLE rooms;
DROP EXTENSION IF EXISTS pg_trgm;
