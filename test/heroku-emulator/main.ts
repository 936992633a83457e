/**
 * Standalone emulator for the demo and for poking at by hand (`npm run emulator -- --help` lists every
 * flag). Prints `export …` lines that point the heroku CLI (and drydock) here, then serves until
 * SIGINT or SIGTERM. Bad arguments: a one-line error and exit 2.
 */
import { startEmulator, type AttachSpec, type EmulatedAppSpec, type EtagStyle, type FaultSpec, type RateLimitSpec, type TransferBehavior, type TransferMode } from './index.js';
import { applyPlans, newRealismArgs, parseRealismFlag, realismOptions, REALISM_HELP, type RealismArgs } from './realism-flags.js';

/** Parsed command line. */
interface Args {
  apps: EmulatedAppSpec[];
  attachments: AttachSpec[];
  behaviors: Map<string, TransferBehavior>;
  faults: FaultSpec[];
  rateLimit: RateLimitSpec | undefined;
  urlTtlMs: number | undefined;
  etag: EtagStyle | undefined;
  port: number;
  apiKey: string | undefined;
  verbose: boolean;
  /** --plan, --tls, --deny, --fault (realism-flags.ts). */
  realism: RealismArgs;
}

class UsageError extends Error {}

const USAGE = 'usage: npm run emulator -- --app NAME[=DATABASE_URL] [--app …] [--attach APP:NAME=URL …] [options] (--help for all)';

const HELP = `A local Heroku (Platform API, Postgres Data API, backup downloads) for the real heroku CLI.

usage: npm run emulator -- [flags]

Apps and databases
  --app NAME[=URL]              an app; with URL, a database billed to it, attached as DATABASE
  --colour APP=COLOUR           also attach APP's DATABASE as HEROKU_POSTGRESQL_COLOUR, as Heroku
                                provisions it (its config var comes first; transfers name it COLOUR)
  --attach APP:NAME=URL         attach a new database as NAME (e.g. HEROKU_POSTGRESQL_AMBER for
                                a follower on another server)
  --attach APP:NAME=OWNER[:ATT] attach OWNER's database (its DATABASE, or attachment ATT) as NAME:
                                a shared database, billed to OWNER, whose backups are OWNER's
  --billing-app APP:NAME=OWNER  the new add-on of --attach APP:NAME is billed to OWNER (created when
                                missing): its backups are OWNER's, and the CLI warns "You are
                                running this command with a non-billing application"

Transfers (backups and restores; set on the app that pays for the database)
  --capture-mode APP=MODE       ok (default), fail, pending, slow or hold (hold: running until the
                                emulator stops; see Emulator.releaseTransfers in tests)
  --restore-mode APP=MODE       the same, plus noop (reports success, restores nothing)
  --transfer-delay APP=SECONDS  how long a slow transfer runs (default 5)

Faults
  --poll-fault STATUS[xN]       the CLI's transfer polls get HTTP STATUS (429, 503 …) N times
                                (default 21: the CLI then stops waiting and exits 0 mid-transfer)
  --rate-limit BUDGET[/PER_MIN] Heroku's API rate limit: BUDGET requests, refilled PER_MIN a minute
                                (Heroku: 4500/75); then 429 rate_limit
  --url-ttl SECONDS             lifetime of signed backup URLs (default 3600); then 403 "Request has expired"
  --etag multipart|opaque|md5   download ETags: S3 multipart "<hex>-N" (default, as real backups),
                                an opaque 32-hex one (encrypted single part), or the MD5

Server
  --port N                      default 7117 (0: any free port)
  --api-key KEY                 the accepted HEROKU_API_KEY (default drydock-emulator-key)
  --verbose                     log each request to stderr
  -h, --help                    this text

Example: a primary with its colour, a follower on another server, and a database shared from another app
  npm run emulator -- --app shop=postgres://localhost/shop --colour shop=COBALT \\
    --attach shop:HEROKU_POSTGRESQL_AMBER=postgres://localhost:5433/shop \\
    --app reports --attach reports:DATABASE=shop
`;

const APP_NAME = /^[a-z][a-z0-9-]{1,29}$/;
const ATTACHMENT = /^[A-Z][A-Z0-9_]{0,62}$/;
const MODES = ['ok', 'fail', 'pending', 'slow', 'hold'];

/** `APP=VALUE` (or `APP:NAME=VALUE` with `named`), checked; never echoes a URL value. */
function splitSpec(flag: string, spec: string, named: boolean): { app: string; name: string; value: string } {
  const eq = spec.indexOf('=');
  const left = eq > 0 ? spec.slice(0, eq) : '';
  const value = eq > 0 ? spec.slice(eq + 1) : '';
  const [app = '', name = ''] = named ? left.split(':', 2) : [left, ''];
  const shape = named ? 'APP:NAME=VALUE' : 'APP=VALUE';
  if (!APP_NAME.test(app)) throw new UsageError(`${flag} expects ${shape} with a Heroku app name (lowercase letters, digits, dashes)`);
  if (named && !ATTACHMENT.test(name)) throw new UsageError(`${flag} ${app}: the attachment name must be upper case letters, digits and underscores (e.g. HEROKU_POSTGRESQL_AMBER)`);
  if (!value) throw new UsageError(`${flag} ${app}${named ? `:${name}` : ''} needs a value after =`);
  return { app, name, value };
}

function databaseUrl(flag: string, who: string, url: string): string {
  if (!/^postgres(ql)?:\/\/\S+$/.test(url)) throw new UsageError(`${flag} ${who}: the DATABASE_URL must be a postgres:// URL`);
  return url;
}

function behaviorOf(args: Args, app: string): TransferBehavior {
  const b = args.behaviors.get(app) ?? {};
  args.behaviors.set(app, b);
  return b;
}

/** Parse argv (without node and script). */
function parseArgs(argv: string[]): Args {
  const args: Args = { apps: [], attachments: [], behaviors: new Map(), faults: [], rateLimit: undefined, urlTtlMs: undefined, etag: undefined, port: 7117, apiKey: undefined, verbose: false, realism: newRealismArgs() };
  const colours = new Map<string, string>();
  const billing = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    // --flag value, or --flag=value (split at the first '=', so --app=NAME=URL works too).
    const eqAt = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const [flag, inline] = eqAt > 0 ? [arg.slice(0, eqAt), arg.slice(eqAt + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--app': {
        const spec = value();
        const eq = spec.indexOf('=');
        const name = eq > 0 ? spec.slice(0, eq) : spec;
        // Never echo the URL: it may hold a password.
        if (!APP_NAME.test(name)) throw new UsageError(`--app expects NAME or NAME=DATABASE_URL with a Heroku app name (lowercase letters, digits, dashes)`);
        if (args.apps.some((a) => a.name === name)) throw new UsageError(`--app ${name} given twice`);
        args.apps.push(eq > 0 ? { name, databaseUrl: databaseUrl('--app', name, spec.slice(eq + 1)) } : { name });
        break;
      }
      case '--colour':
      case '--color': {
        const { app, value: colour } = splitSpec(flag, value(), false);
        if (!/^[A-Z][A-Z0-9]*$/.test(colour)) throw new UsageError(`${flag} ${app}: the colour must be upper case letters, such as COBALT`);
        colours.set(app, colour);
        break;
      }
      case '--attach': {
        const { app, name, value: target } = splitSpec(flag, value(), true);
        if (/^[a-z][a-z0-9-]{1,29}(:[A-Z][A-Z0-9_]*)?$/.test(target)) args.attachments.push({ app, name, from: target });
        else args.attachments.push({ app, name, url: databaseUrl(flag, `${app}:${name}`, target) });
        break;
      }
      case '--billing-app': {
        const { app, name, value: owner } = splitSpec(flag, value(), true);
        if (!APP_NAME.test(owner)) throw new UsageError(`${flag} ${app}:${name}: the billing app must be a Heroku app name`);
        billing.set(`${app}:${name}`, owner);
        break;
      }
      case '--capture-mode':
      case '--restore-mode': {
        const { app, value: mode } = splitSpec(flag, value(), false);
        const allowed = flag === '--restore-mode' ? [...MODES, 'noop'] : MODES;
        if (!allowed.includes(mode)) throw new UsageError(`${flag} ${app}: the mode must be one of ${allowed.join(', ')}`);
        if (flag === '--capture-mode') behaviorOf(args, app).capture = mode as TransferMode;
        else behaviorOf(args, app).restore = mode as TransferMode | 'noop';
        break;
      }
      case '--transfer-delay': {
        const { app, value: seconds } = splitSpec(flag, value(), false);
        if (!/^\d+(\.\d+)?$/.test(seconds)) throw new UsageError(`${flag} ${app}: give the delay in seconds`);
        behaviorOf(args, app).delayMs = Number(seconds) * 1000;
        break;
      }
      case '--poll-fault': {
        const v = value();
        const m = /^([1-5]\d\d)(?:x(\d+))?$/.exec(v);
        if (!m) throw new UsageError(`--poll-fault expects an HTTP status, optionally with a count (429 or 503x21), got "${v}"`);
        // The CLI polls a capture or restore by its uuid; drydock's own checks ask by number.
        args.faults.push({ method: 'GET', path: /^\/client\/v11\/apps\/[^/]+\/transfers\/[0-9a-f]{8}-[0-9a-f-]{27}$/, status: Number(m[1]), times: Number(m[2] ?? 21) });
        break;
      }
      case '--rate-limit': {
        const v = value();
        const m = /^(\d+)(?:\/(\d+(?:\.\d+)?))?$/.exec(v);
        if (!m) throw new UsageError(`--rate-limit expects BUDGET or BUDGET/PER_MINUTE (Heroku: 4500/75), got "${v}"`);
        args.rateLimit = { budget: Number(m[1]), refillPerMinute: Number(m[2] ?? 75) };
        break;
      }
      case '--url-ttl': {
        const v = value();
        if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) throw new UsageError(`--url-ttl expects seconds, got "${v}"`);
        args.urlTtlMs = Number(v) * 1000;
        break;
      }
      case '--etag': {
        const v = value();
        if (v !== 'multipart' && v !== 'opaque' && v !== 'md5') throw new UsageError(`--etag expects multipart, opaque or md5, got "${v}"`);
        args.etag = v;
        break;
      }
      case '--port': {
        const v = value();
        const port = Number(v);
        if (!/^\d+$/.test(v) || port > 65535) throw new UsageError(`--port expects a number from 0 to 65535, got "${v}"`);
        args.port = port;
        break;
      }
      case '--api-key':
        args.apiKey = value();
        break;
      case '--verbose':
        args.verbose = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${HELP}\n${REALISM_HELP}\n`);
        process.exit(0);
        break;
      default:
        if (!parseRealismFlag(flag, value, args.realism)) throw new UsageError(`unknown argument "${arg}"`);
    }
  }
  if (args.apps.length === 0) throw new UsageError('give at least one --app NAME=DATABASE_URL');
  const known = (app: string) => args.apps.some((a) => a.name === app);
  for (const [app, colour] of colours) {
    const spec = args.apps.find((a) => a.name === app);
    if (!spec?.databaseUrl) throw new UsageError(`--colour ${app}: give --app ${app}=DATABASE_URL first`);
    spec.colour = colour;
  }
  for (const attachment of args.attachments) {
    if (!known(attachment.app)) throw new UsageError(`--attach ${attachment.app}:${attachment.name}: no --app ${attachment.app}`);
    const shared = attachment.from?.split(':')[0];
    if (shared !== undefined && !known(shared)) throw new UsageError(`--attach ${attachment.app}:${attachment.name}: no --app ${shared} to share a database from`);
    const owner = billing.get(`${attachment.app}:${attachment.name}`);
    if (owner && attachment.from) throw new UsageError(`--billing-app ${attachment.app}:${attachment.name}: a shared database stays billed to its owner`);
    if (owner) {
      attachment.billingApp = owner;
      if (!known(owner)) args.apps.push({ name: owner });
    }
  }
  for (const key of billing.keys()) {
    if (!args.attachments.some((a) => `${a.app}:${a.name}` === key)) throw new UsageError(`--billing-app ${key}: no --attach ${key}=URL`);
  }
  for (const app of args.behaviors.keys()) if (!known(app)) throw new UsageError(`no --app ${app} for its transfer mode`);
  applyPlans(args.realism, args.apps);
  return args;
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`emulator: ${(error as Error).message}; ${USAGE}\n`);
    process.exit(2);
  }
  const emulator = await startEmulator({ port: args.port, apiKey: args.apiKey, apps: args.apps, attachments: args.attachments, ...realismOptions(args.realism) }).catch((error: NodeJS.ErrnoException) => {
    const why = error.code === 'EADDRINUSE' ? `port ${args.port} is already in use (try --port 0)` : error.message;
    process.stderr.write(`emulator: could not start: ${why}\n`);
    process.exit(2);
  });
  for (const [app, behavior] of args.behaviors) emulator.setTransferBehavior(app, behavior);
  for (const fault of args.faults) emulator.injectFault(fault);
  if (args.rateLimit) emulator.setRateLimit(args.rateLimit);
  if (args.urlTtlMs) emulator.setPublicUrlTtl(args.urlTtlMs);
  if (args.etag) emulator.setEtagStyle(args.etag);
  for (const fault of args.realism.faults) emulator.injectFault(fault);
  const lines = Object.entries(emulator.env).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
  const first = args.apps[0]?.name ?? 'APP';
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(`# Heroku emulator on ${emulator.url}; after the exports, try: heroku pg:info -a ${first}   or   drydock doctor -a ${first}\n`);
  if (emulator.tls) process.stdout.write(`# databases over TLS at ${emulator.tls.host}:${emulator.tls.port} (${emulator.tls.address}); certificate ${emulator.tls.certPath}\n`);

  if (args.verbose) {
    let seen = 0;
    setInterval(() => {
      for (const r of emulator.requests.slice(seen)) process.stderr.write(`${r.method} ${r.path} ${r.status}\n`);
      seen = emulator.requests.length;
    }, 200).unref();
  }

  const shutdown = (): void => {
    void emulator.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

void main();
