/**
 * HerokuCli: a small typed adapter over the `heroku` executable. No other module spawns heroku.
 * It uses --json wherever the CLI offers it and maps the CLI's failures to HerokuError kinds.
 */
import { HerokuError, ToolError } from '../errors.js';
import { run, type RunResult } from '../exec.js';
import { mask } from '../redact.js';

/** The facts `heroku pg:info` prints for one database (it has no --json). */
export interface PgInfo {
  /** The attachment header, e.g. "DATABASE_URL". */
  attachment: string;
  /** "PG Version" as printed, e.g. "16.4". */
  version: string | undefined;
  plan: string | undefined;
  status: string | undefined;
  /** Every "Key: value" line of the block. */
  fields: Record<string, string>;
}

/** One release from `heroku releases --json`. */
export interface Release {
  version: number;
  description?: string;
  status?: string;
  current?: boolean;
  created_at?: string;
  [key: string]: unknown;
}

/** What drydock asks of Heroku. One method per intent. */
export interface HerokuApi {
  configVars(app: string): Promise<Record<string, string>>;
  databaseUrl(app: string, attachment?: string): Promise<string>;
  pgInfo(app: string, database?: string): Promise<PgInfo>;
  appInfo(app: string): Promise<Record<string, unknown>>;
  releases(app: string, count?: number): Promise<Release[]>;
}

/** Options for the real adapter. */
export interface HerokuCliOptions {
  /** The heroku executable (default `heroku` on PATH). */
  bin?: string;
  /** Extra environment for the CLI (emulator hosts in tests). */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/** Variables that keep the heroku CLI quiet and side-effect free when drydock runs it. */
const QUIET_ENV = {
  HEROKU_SKIP_NEW_VERSION_CHECK: 'true',
  HEROKU_DISABLE_AUTOUPDATE: 'true',
};

/** The real adapter over the heroku executable. */
export class HerokuCli implements HerokuApi {
  private readonly bin: string;
  private readonly env: Record<string, string | undefined>;
  private readonly timeoutMs: number;

  constructor(options: HerokuCliOptions = {}) {
    this.bin = options.bin ?? 'heroku';
    this.env = options.env ?? {};
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  /** All config vars of an app (`heroku config --json`). */
  async configVars(app: string): Promise<Record<string, string>> {
    const result = await this.exec(['config', '--json', '--app', app], app);
    const parsed = parseJson(result, 'heroku config --json');
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new HerokuError('failed', 'heroku config --json did not print an object', {
        hint: 'check the Heroku CLI version (drydock is tested with heroku 11)',
      });
    }
    return parsed as Record<string, string>;
  }

  /** The URL of a database attachment (default DATABASE_URL); NoDatabase when the app has none. */
  async databaseUrl(app: string, attachment = 'DATABASE_URL'): Promise<string> {
    const key = attachment.endsWith('_URL') ? attachment : `${attachment}_URL`;
    const vars = await this.configVars(app);
    const value = vars[key];
    if (!value) {
      const others = Object.keys(vars).filter((k) => /^(HEROKU_POSTGRESQL_\w+|DATABASE)_URL$/.test(k));
      throw new HerokuError('no-database', `app ${app} has no ${key} config var`, {
        hint: others.length
          ? `it has ${others.join(', ')}: pass that attachment name, or promote one with \`heroku pg:promote\``
          : `attach a database with \`heroku addons:create heroku-postgresql -a ${app}\``,
      });
    }
    return value;
  }

  /** `heroku pg:info`, parsed from its text (it has no --json). */
  async pgInfo(app: string, database?: string): Promise<PgInfo> {
    const args = ['pg:info', ...(database ? [database] : []), '--app', app];
    const result = await this.exec(args, app);
    const info = parsePgInfo(result.stdout);
    if (!info) {
      throw new HerokuError('no-database', `app ${app} has no Heroku Postgres database`, {
        hint: `attach one with \`heroku addons:create heroku-postgresql -a ${app}\``,
      });
    }
    return info;
  }

  /** `heroku apps:info --json`. */
  async appInfo(app: string): Promise<Record<string, unknown>> {
    const result = await this.exec(['apps:info', '--json', '--app', app], app);
    return parseJson(result, 'heroku apps:info --json') as Record<string, unknown>;
  }

  /** `heroku releases --json`, newest first. */
  async releases(app: string, count = 15): Promise<Release[]> {
    const result = await this.exec(['releases', '--json', '-n', String(count), '--app', app], app);
    const parsed = parseJson(result, 'heroku releases --json');
    return Array.isArray(parsed) ? (parsed as Release[]) : [];
  }

  /** Run the CLI and map its failures. */
  private async exec(args: string[], app: string | undefined): Promise<RunResult> {
    let result: RunResult;
    try {
      result = await run(this.bin, args, {
        env: { ...QUIET_ENV, ...this.env },
        timeoutMs: this.timeoutMs,
        reject: false,
        label: 'heroku',
      });
    } catch (error) {
      if (error instanceof ToolError && /not found/.test(error.message)) {
        throw new HerokuError('missing-binary', `the Heroku CLI was not found (${this.bin})`, {
          hint: 'install it (`npm install -g heroku`, or see https://devcenter.heroku.com/articles/heroku-cli) or set DRYDOCK_HEROKU_BIN',
          cause: error,
        });
      }
      if (error instanceof ToolError && /timed out/.test(error.message)) {
        const on = app ? ` (app ${app})` : '';
        throw new HerokuError('network', `the Heroku CLI timed out after ${Math.round(this.timeoutMs / 1000)} s${on}`, {
          hint: 'check your network connection and https://status.heroku.com, then try again',
          cause: error,
        });
      }
      throw error;
    }
    if (result.exitCode !== 0) throw classifyFailure(result, app);
    return result;
  }
}

/**
 * Map a failed heroku invocation to a HerokuError from what it printed. Exported for tests.
 *
 * What heroku 11 prints (stderr, exit 1 or 2), checked against the emulator:
 * - unknown app: "› Error: Couldn't find that app. › Error ID: not_found"
 * - bad HEROKU_API_KEY: "Error: The token provided to HEROKU_API_KEY is invalid. Please …", wrapped
 *   over several lines at the terminal width, so every pattern here runs on whitespace-collapsed text
 * - no database (pg:psql, pg:info DATABASE): "Error: APP has no databases"
 * - unreachable API (after ~6 s of retries): "Error: connect ECONNREFUSED 127.0.0.1:7117 Code: ECONNREFUSED"
 * - no token at all: "heroku: Press any key to open up the browser to login …" then a TypeError (stdin closed)
 * - any other API error: "Error: <message from the API> › Error ID: <id>"
 */
export function classifyFailure(result: Pick<RunResult, 'stderr' | 'stdout' | 'command' | 'exitCode'>, app?: string): HerokuError {
  const text = stripDecorations(`${result.stderr}\n${result.stdout}`);
  const flat = text.replace(/\s+/g, ' ');
  const what = errorMessage(text);
  const on = app ? ` (app ${app})` : '';
  if (/couldn'?t find that app\b|\bapp not found\b/i.test(flat)) {
    return new HerokuError('unknown-app', app ? `Heroku app ${app} not found` : 'Heroku app not found', {
      hint: 'check the name with `heroku apps`, and that your account can access it',
    });
  }
  // Without any token the CLI answers a 401 by starting an interactive browser login, which fails on a closed stdin.
  if (/token provided to HEROKU_API_KEY is invalid|invalid credentials|not logged in|Error ID: unauthorized|open up the browser to login/i.test(flat)) {
    return new HerokuError('not-logged-in', `the Heroku CLI is not logged in or its token is invalid${on}`, {
      hint: 'run `heroku login`, or set HEROKU_API_KEY to a valid token (`heroku authorizations:create`)',
    });
  }
  if (/has no (heroku-postgresql )?databases|no config vars found for|not yet provisioned|couldn'?t find that add-?on|unknown database:/i.test(flat)) {
    return new HerokuError('no-database', `no Heroku Postgres database found${on}: ${what}`, {
      hint: app ? `list the app's databases with \`heroku pg:info -a ${app}\`` : 'check the database name',
    });
  }
  if (/ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|socket hang up|getaddrinfo/i.test(flat)) {
    return new HerokuError('network', `could not reach the Heroku API${on}: ${what}`, {
      hint: 'check your network connection and https://status.heroku.com, then try again',
    });
  }
  return new HerokuError('failed', `heroku failed (exit ${result.exitCode})${on}: ${what || 'no output'}`, {
    hint: `run \`${result.command}\` yourself to see the full output`,
  });
}

/** Remove the CLI's decorations (›, colour codes, warning lines about SSL certs and terms) and mask secrets. */
function stripDecorations(text: string): string {
  return mask(
    text
      // eslint-disable-next-line no-control-regex
      .replace(/\u001b\[[0-9;]*m/g, '')
      .split('\n')
      .map((l) => l.replace(/^\s*[›▸]\s*/, '').trim())
      .filter((l) => l && !/^Warning: (SSL_CERT_(FILE|DIR) set|Our terms of service)|^https:\/\/dashboard\.heroku\.com\/terms/.test(l))
      .join('\n'),
  );
}

/**
 * The CLI's error as one line: the "Error:" paragraph (the CLI wraps long messages) without the
 * "Error ID:"/"Code:" trailer, else the last line printed.
 */
function errorMessage(text: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^Error:/.test(l));
  let picked: string[];
  if (start >= 0) {
    picked = [];
    for (const line of lines.slice(start)) {
      if (picked.length && /^(Error ID|Code|Error|Warning):/.test(line)) break;
      picked.push(line);
    }
  } else {
    picked = lines.filter((l) => !/^(Error ID|Code):/.test(l)).slice(-1);
  }
  return picked.join(' ').replace(/^Error:\s*/, '').replace(/\s+/g, ' ').trim().slice(0, 300);
}

function parseJson(result: RunResult, what: string): unknown {
  try {
    return JSON.parse(result.stdout);
  } catch (error) {
    throw new HerokuError('failed', `${what} printed something that is not JSON`, {
      hint: 'check the Heroku CLI version (drydock is tested with heroku 11)',
      cause: error,
    });
  }
}

/** Parse the first `=== NAME` block of `heroku pg:info` text. Exported for tests. */
export function parsePgInfo(text: string): PgInfo | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^===\s+\S/.test(l));
  if (start < 0) return undefined;
  const attachment = (lines[start] ?? '').replace(/^===\s+/, '').trim();
  const fields: Record<string, string> = {};
  for (const line of lines.slice(start + 1)) {
    if (/^===/.test(line)) break;
    const m = /^\s*([^:]+?):\s+(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) fields[m[1].trim()] = m[2].trim();
  }
  return {
    attachment,
    version: fields['PG Version'],
    plan: fields.Plan,
    status: fields.Status,
    fields,
  };
}
