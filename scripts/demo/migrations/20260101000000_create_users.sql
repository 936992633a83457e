-- migrate:up
-- Heroku installs extensions into heroku_ext; the demo does the same so pulls and restores meet it.
CREATE SCHEMA IF NOT EXISTS heroku_ext;
CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA heroku_ext;

CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email heroku_ext.citext NOT NULL,
  display_name text NOT NULL,
  twitter_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- migrate:down
DROP TABLE users;
DROP EXTENSION IF EXISTS citext;
DROP SCHEMA IF EXISTS heroku_ext;
