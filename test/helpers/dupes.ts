/**
 * The scenario of issue 17, for the dupes tests: users with about 1 % duplicate twitter_ids (and some
 * NULL ones, which never collide), and what points at them: posts (a foreign key), memberships (a
 * join table with its own unique key (user_id, room_id), so re-pointing can collide), events (a
 * user_id without a foreign key) and comments (a second-level child, of posts). Bulk-made with
 * generate_series. Plus the checks the tests make before and after.
 */
import type { TestDb } from './db.js';

/** Build the scenario with `users` users (every 100th shares its twitter_id with the one before it). */
export async function seedScenario(db: TestDb, users: number): Promise<void> {
  const children = Math.max(1000, Math.floor(users * 0.3));
  await db.query(`
    CREATE TABLE users (id bigserial PRIMARY KEY, twitter_id text, email text NOT NULL, created_at timestamptz NOT NULL);
    CREATE TABLE rooms (id bigint PRIMARY KEY, name text NOT NULL);
    CREATE TABLE posts (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), title text NOT NULL);
    CREATE TABLE comments (id bigserial PRIMARY KEY, post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE, body text);
    CREATE TABLE memberships (user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE, room_id bigint NOT NULL REFERENCES rooms (id),
                              role text NOT NULL DEFAULT 'member', PRIMARY KEY (user_id, room_id));
    CREATE TABLE events (id bigserial PRIMARY KEY, user_id bigint, kind text NOT NULL);
    CREATE INDEX ON posts (user_id);
    INSERT INTO rooms SELECT g, 'room ' || g FROM generate_series(1, 50) g;
    -- user g (g % 100 = 0) shares its twitter_id with user g - 1, which is older: ${users / 100} groups of 2.
    INSERT INTO users (id, twitter_id, email, created_at)
      SELECT g, CASE WHEN g % 1000 = 500 THEN NULL ELSE 'tw' || CASE WHEN g % 100 = 0 THEN g - 1 ELSE g END END,
             'user' || g || '@example.com', '2020-01-01'::timestamptz + g * interval '1 minute'
      FROM generate_series(1, ${users}) g;
    -- and a few larger groups: users 1..4 share one twitter_id.
    UPDATE users SET twitter_id = 'tw_big' WHERE id BETWEEN 1 AND 4;
    SELECT setval('users_id_seq', ${users});
    INSERT INTO posts (user_id, title) SELECT (g * 37) % ${users} + 1, 'post ' || g FROM generate_series(1, ${children}) g;
    -- every duplicate's posts too
    INSERT INTO posts (user_id, title) SELECT g, 'dup post ' || g FROM generate_series(100, ${users}, 100) g;
    INSERT INTO comments (post_id, body) SELECT (g * 13) % ${children} + 1, 'comment ' || g FROM generate_series(1, ${children}) g;
    -- one membership each for a third of the users, and for both rows of every duplicate pair room 7
    -- (re-pointing those collides on (user_id, room_id): merged) and their own room (re-pointed).
    INSERT INTO memberships (user_id, room_id) SELECT g, g % 50 + 1 FROM generate_series(1, ${users}) g WHERE g % 3 = 0 OR g % 100 IN (0, 99);
    INSERT INTO memberships (user_id, room_id, role) SELECT g, 7, CASE WHEN g % 100 = 0 THEN 'admin' ELSE 'member' END
      FROM generate_series(1, ${users}) g WHERE g % 100 IN (0, 99) AND g % 50 + 1 <> 7 ON CONFLICT DO NOTHING;
    INSERT INTO events (user_id, kind) SELECT (g * 53) % ${users} + 1, 'login' FROM generate_series(1, ${children}) g;
    INSERT INTO events (user_id, kind) SELECT g, 'dup login' FROM generate_series(100, ${users}, 100) g;
  `);
  await db.query('VACUUM ANALYZE');
}

/** md5 of every table's rows, in key order: equal before and after an up-and-down means exactly restored. */
export async function checksums(db: TestDb): Promise<Record<string, string>> {
  const { rows } = await db.query<{ t: string; sum: string }>(`
    SELECT 'users' AS t, md5(string_agg(x::text, ',' ORDER BY id)) AS sum FROM users x UNION ALL
    SELECT 'posts', md5(string_agg(x::text, ',' ORDER BY id)) FROM posts x UNION ALL
    SELECT 'comments', md5(string_agg(x::text, ',' ORDER BY id)) FROM comments x UNION ALL
    SELECT 'memberships', md5(string_agg(x::text, ',' ORDER BY user_id, room_id)) FROM memberships x UNION ALL
    SELECT 'events', md5(string_agg(x::text, ',' ORDER BY id)) FROM events x`);
  return Object.fromEntries(rows.map((r) => [r.t, r.sum]));
}

/** What must hold after the de-duplication. */
export interface AfterFacts {
  duplicateGroups: number;
  distinctKeys: number;
  nullKeys: number;
  orphans: Record<string, number>;
  /** Child rows still pointing at a row the audit table says was removed. */
  pointingAtRemoved: number;
}

/** Distinct twitter_ids, NULL rows, duplicate groups, orphans of every reference. */
export async function facts(db: TestDb, audit?: string): Promise<AfterFacts> {
  const one = async (sql: string): Promise<number> => Number((await db.query<{ n: string }>(sql)).rows[0]!.n);
  const orphans: Record<string, number> = {
    posts: await one('SELECT count(*) AS n FROM posts p WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id)'),
    memberships: await one('SELECT count(*) AS n FROM memberships m WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.user_id)'),
    events: await one('SELECT count(*) AS n FROM events e WHERE e.user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = e.user_id)'),
    comments: await one('SELECT count(*) AS n FROM comments c WHERE NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = c.post_id)'),
  };
  const removed = audit ? `(SELECT (row_data->>'id')::bigint FROM ${audit} WHERE action = 'remove')` : '(SELECT NULL::bigint WHERE false)';
  return {
    duplicateGroups: await one('SELECT count(*) AS n FROM (SELECT twitter_id FROM users WHERE twitter_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) x'),
    distinctKeys: await one('SELECT count(DISTINCT twitter_id) AS n FROM users'),
    nullKeys: await one('SELECT count(*) AS n FROM users WHERE twitter_id IS NULL'),
    orphans,
    pointingAtRemoved: await one(`SELECT (SELECT count(*) FROM posts WHERE user_id IN ${removed}) + (SELECT count(*) FROM memberships WHERE user_id IN ${removed}) + (SELECT count(*) FROM events WHERE user_id IN ${removed}) AS n`),
  };
}
