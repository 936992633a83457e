/**
 * Options several commands declare the same way, with the environment variable each one reads.
 */
import { Option } from 'commander';

/** `--local <url>`: the local server (DRYDOCK_LOCAL_DATABASE_URL, else the PG* variables). */
export function localOption(): Option {
  return new Option('--local <url>', 'local server URL (default: the PG* variables)').env('DRYDOCK_LOCAL_DATABASE_URL');
}

/**
 * `--database <attachment>`: which of the app's Heroku Postgres databases (an attachment or its config
 * var: DATABASE_URL, HEROKU_POSTGRESQL_AMBER). Always passed to the heroku CLI: without it, some commands
 * act on (or print) every database of the app.
 */
export function databaseOption(what = 'the database'): Option {
  return new Option('--database <attachment>', `${what}: an attachment or config var such as HEROKU_POSTGRESQL_AMBER`).default('DATABASE_URL');
}

/** `--transfer-timeout <duration>`: how long to wait for a Heroku capture or restore. */
export function transferTimeoutOption(what = 'a Heroku capture'): Option {
  return new Option('--transfer-timeout <duration>', `give up on ${what} that has not finished after this long (default 2h)`).env('DRYDOCK_TRANSFER_TIMEOUT');
}

/**
 * The options of `drydock pull` that choose what is copied and how, each made fresh for the command
 * that declares it: `pull` itself, and `rehearse`, which passes them to the pull it runs when its copy
 * is missing or too old.
 */
export const PULL_OPTIONS = {
  from: () => new Option('--from <source>', 'live (default), backup (the newest), or a backup id such as b012'),
  fromUrl: () => new Option('--from-url <url>', 'copy this live Postgres database instead of a Heroku app'),
  capture: () => new Option('--capture', 'capture a fresh backup first and pull that'),
  database: () => databaseOption('the database to pull (a follower spares the primary)'),
  transferTimeout: () => transferTimeoutOption(),
  excludeTableData: () => new Option('--exclude-table-data <tables>', 'comma-separated tables whose rows are not copied (schema is)'),
  jobs: () => new Option('--jobs <n>', 'parallel streams and restore jobs (default: the number of CPUs)'),
  scrub: () => new Option('--scrub <file.sql>', 'run this anonymising SQL on the copy before it is swapped in and kept as the snapshot'),
  validateForeignKeys: () => new Option('--validate-foreign-keys', "check every foreign key row by row instead of trusting production's (slower)"),
} as const;
