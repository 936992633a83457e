/**
 * Data for the demo app's chat schema (users, rooms, room_participants, messages: created by the
 * migrations in scripts/demo/migrations), generated with generate_series so seeding is fast.
 */
import type pg from 'pg';

/** Row counts at scale 1 (about 100k rows in all). */
export const BASE_ROWS = { users: 10_000, rooms: 1_000, room_participants: 30_000, messages: 60_000 } as const;

/** Fill the (already migrated) schema; `scale` multiplies every table. Returns the row counts. */
export async function seedChatData(client: pg.Client, scale = 1): Promise<Record<keyof typeof BASE_ROWS, number>> {
  const n = {
    users: Math.round(BASE_ROWS.users * scale),
    rooms: Math.round(BASE_ROWS.rooms * scale),
    room_participants: Math.round(BASE_ROWS.room_participants * scale),
    messages: Math.round(BASE_ROWS.messages * scale),
  };
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
