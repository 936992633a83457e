-- Seed data for review apps (drydock postdeploy runs this after loading the schema).
INSERT INTO users (email, display_name) VALUES
  ('ada@example.com', 'Ada'),
  ('grace@example.com', 'Grace'),
  ('linus@example.com', 'Linus');
INSERT INTO rooms (name, created_by) VALUES ('general', 1), ('random', 2);
INSERT INTO room_participants (room_id, user_id, role) VALUES (1, 1, 'owner'), (1, 2, 'member'), (2, 2, 'owner'), (2, 3, 'member');
INSERT INTO messages (room_id, user_id, body) VALUES (1, 1, 'Welcome to the review app!'), (1, 2, 'Hello'), (2, 3, 'Anyone here?');
