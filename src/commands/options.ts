/**
 * Options several commands declare the same way, with the environment variable each one reads.
 */
import { Option } from 'commander';

/** `--local <url>`: the local server (DRYDOCK_LOCAL_DATABASE_URL, else the PG* variables). */
export function localOption(): Option {
  return new Option('--local <url>', 'local server URL (default: the PG* variables)').env('DRYDOCK_LOCAL_DATABASE_URL');
}

/** `--transfer-timeout <duration>`: how long to wait for a Heroku capture or restore. */
export function transferTimeoutOption(what = 'a Heroku capture'): Option {
  return new Option('--transfer-timeout <duration>', `give up on ${what} that has not finished after this long (default 2h)`).env('DRYDOCK_TRANSFER_TIMEOUT');
}
