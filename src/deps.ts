/**
 * The dependencies a command runs with, built once in cli.ts and passed in (tests pass their own).
 */
import type { ResolvedConfig } from './config.js';
import type { HerokuApi } from './heroku/cli.js';
import type { Output } from './output.js';
import type { ClientTool, DiscoverOptions } from './pg/tools.js';

/** What every command receives. */
export interface Deps {
  config: ResolvedConfig;
  output: Output;
  heroku: HerokuApi;
  /** Finds installed pg_dump/pg_restore/psql (pg/tools.discoverTools in production). */
  discoverTools: (options?: DiscoverOptions) => Promise<ClientTool[]>;
}
