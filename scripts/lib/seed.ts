/**
 * A realistic chat-app schema for the demo and benchmarks: users, rooms, room_participants and
 * messages, with foreign keys and indexes, filled with generate_series so seeding is fast.
 */
import type pg from 'pg';

/** Schema DDL. `schema_migrations` mimics a database that drydock (or Rails/dbmate) has migrated. */
export const CHAT_SCHEMA = `
-- Heroku installs extensions into heroku_ext; do the same so pulls and restores meet it.
CREATE SCHEMA IF NOT EXISTS heroku_ext;
CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA heroku_ext;
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA heroku_ext;

CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email heroku_ext.citext NOT NULL,
  display_name text NOT NULL,
  twitter_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE rooms (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  is_private boolean NOT NULL DEFAULT false,
  created_by bigint NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rooms_created_by_idx ON rooms (created_by);

CREATE TABLE room_participants (
  room_id bigint NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  joined_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_participants_user_id_idx ON room_participants (user_id);

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
CREATE INDEX rooms_name_trgm_idx ON rooms USING gin (name heroku_ext.gin_trgm_ops);

CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
INSERT INTO schema_migrations (version) VALUES ('20260101000000'), ('20260115000000'), ('20260201000000');
`;

/** Row counts at scale 1 (about 100k rows in all). */
export const BASE_ROWS = { users: 10_000, rooms: 1_000, room_participants: 30_000, messages: 60_000 } as const;

/** Fill the schema; `scale` multiplies every table. Returns the row counts. */
export async function seedChat(client: pg.Client, scale = 1): Promise<Record<keyof typeof BASE_ROWS, number>> {
  const n = {
    users: Math.round(BASE_ROWS.users * scale),
    rooms: Math.round(BASE_ROWS.rooms * scale),
    room_participants: Math.round(BASE_ROWS.room_participants * scale),
    messages: Math.round(BASE_ROWS.messages * scale),
  };
  await client.query(CHAT_SCHEMA);
  await client.query(
    `INSERT INTO users (email, display_name, twitter_id, created_at)
     SELECT 'user' || g || '@example.com', 'User ' || g,
            CASE WHEN g % 50 = 0 THEN NULL ELSE 'tw' || (g % ($1::int - $1::int / 100)) END,
            now() - (g || ' minutes')::interval
     FROM generate_series(1, $1::int) g`,
    [n.users],
  );
  await client.query(
    `INSERT INTO rooms (name, is_private, created_by, created_at)
     SELECT 'room-' || g, g % 7 = 0, 1 + (g * 7919) % $2::int, now() - (g || ' hours')::interval
     FROM generate_series(1, $1::int) g`,
    [n.rooms, n.users],
  );
  // Each participant row is a distinct (room, user) pair: walk users per room with a stride.
  await client.query(
    `INSERT INTO room_participants (room_id, user_id, role)
     SELECT 1 + (g % $2::int), 1 + ((g / $2::int) * 13 + g) % $3::int,
            CASE WHEN g < $2::int THEN 'owner' WHEN g % 10 = 0 THEN 'admin' ELSE 'member' END
     FROM generate_series(0, $1::int - 1) g
     ON CONFLICT DO NOTHING`,
    [n.room_participants, n.rooms, n.users],
  );
  await client.query(
    `INSERT INTO messages (room_id, user_id, body, metadata, created_at)
     SELECT 1 + (g % $2::int), 1 + (g * 31) % $3::int,
            'message ' || g || ' ' || md5(g::text),
            jsonb_build_object('client', CASE WHEN g % 3 = 0 THEN 'ios' WHEN g % 3 = 1 THEN 'android' ELSE 'web' END, 'edited', g % 17 = 0),
            now() - (g || ' seconds')::interval
     FROM generate_series(1, $1::int) g`,
    [n.messages, n.rooms, n.users],
  );
  await client.query('ANALYZE');
  const { rows } = await client.query<{ t: string; c: string }>(
    `SELECT 'users' t, count(*) c FROM users UNION ALL SELECT 'rooms', count(*) FROM rooms
     UNION ALL SELECT 'room_participants', count(*) FROM room_participants UNION ALL SELECT 'messages', count(*) FROM messages`,
  );
  return Object.fromEntries(rows.map((r) => [r.t, Number(r.c)])) as Record<keyof typeof BASE_ROWS, number>;
}
