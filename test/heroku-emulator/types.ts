/**
 * The public shapes of the Heroku emulator. Other code (tests, the demo) depends on these names:
 * extend them, don't rename them.
 */

/** One emulated Heroku app. Its database is a real Postgres database named by `databaseUrl`. */
export interface EmulatedAppSpec {
  /** Heroku app name: lowercase letters, digits and dashes, starting with a letter. */
  name: string;
  /** Becomes the DATABASE_URL config var and the backing database of a heroku-postgresql add-on. */
  databaseUrl?: string;
  /** Extra config vars (DATABASE_URL here counts as `databaseUrl` when that is not given). */
  configVars?: Record<string, string>;
  /** The add-on plan (default 'heroku-postgresql:standard-0'). */
  plan?: string;
  /** Process types and their quantities (default {web: 1}). */
  formation?: Record<string, number>;
}

/** A canned failure or delay for requests that match `method` and `path`. */
export interface FaultSpec {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Exact pathname (query excluded), or a RegExp tested against the pathname. */
  path: string | RegExp;
  /** Answer with this status instead of the real handler (with `body`, default an error JSON). */
  status?: number;
  /** Response body for `status` (JSON-encoded). */
  body?: unknown;
  /** Wait this long before answering (then fail with `status`, or answer normally). */
  delayMs?: number;
  /** How many matching requests this applies to (default: forever). */
  times?: number;
}

/** One request the emulator answered. */
export interface LoggedRequest {
  method: string;
  /** Pathname without the query string. */
  path: string;
  status: number;
}

/** A release as the test sets it up. */
export interface ReleaseSpec {
  description?: string;
  status?: 'succeeded' | 'pending' | 'failed';
  /** Release-phase output; when given (or the release is pending) the release gets an output stream URL. */
  output?: string;
}

/** What `Emulator.app(name)` returns: a snapshot of the state tests assert on. */
export interface AppSnapshot {
  maintenance: boolean;
  formation: Record<string, number>;
  configVars: Record<string, string>;
}

/** A running emulator. */
export interface Emulator {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The only accepted bearer token; anything else gets 401. */
  apiKey: string;
  /** Everything the real heroku CLI needs to talk to this emulator (sandboxed HOME included). */
  env: Record<string, string>;
  addApp(spec: EmulatedAppSpec): void;
  removeApp(name: string): void;
  /** Set (or with null, remove) a config var directly, without creating a release. */
  setConfigVar(app: string, key: string, value: string | null): void;
  /** Append a release; returns its version. */
  addRelease(app: string, release: ReleaseSpec): number;
  /** A snapshot of an app's state, for assertions. */
  app(name: string): AppSnapshot;
  injectFault(fault: FaultSpec): void;
  clearFaults(): void;
  /** Every request answered so far, oldest first. */
  requests: LoggedRequest[];
  /** Close the server and remove the sandboxed HOME. */
  stop(): Promise<void>;
}

/** Options of `startEmulator`. */
export interface EmulatorOptions {
  /** Port on 127.0.0.1 (default 0: a random free port). */
  port?: number;
  /** The accepted API key (default 'drydock-emulator-key'). */
  apiKey?: string;
  /** Apps to create at start. */
  apps?: EmulatedAppSpec[];
}
