/**
 * Standalone emulator for the demo and for poking at by hand:
 *
 *   npm run emulator -- --app NAME=DATABASE_URL [--app …] [--port 7117] [--api-key KEY] [--verbose]
 *
 * Prints `export …` lines that point the heroku CLI (and drydock) here, then serves until SIGINT or
 * SIGTERM. Bad arguments: a one-line error and exit 2.
 */
import { startEmulator, type EmulatedAppSpec } from './index.js';

/** Parsed command line. */
interface Args {
  apps: EmulatedAppSpec[];
  port: number;
  apiKey: string | undefined;
  verbose: boolean;
}

class UsageError extends Error {}

const USAGE = 'usage: npm run emulator -- --app NAME=DATABASE_URL [--app …] [--port 7117] [--api-key KEY] [--verbose]';

/** Parse argv (without node and script). */
function parseArgs(argv: string[]): Args {
  const args: Args = { apps: [], port: 7117, apiKey: undefined, verbose: false };
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
        const name = eq > 0 ? spec.slice(0, eq) : '';
        const url = eq > 0 ? spec.slice(eq + 1) : '';
        // Never echo the URL: it may hold a password.
        if (!/^[a-z][a-z0-9-]{1,29}$/.test(name)) throw new UsageError(`--app expects NAME=DATABASE_URL with a Heroku app name (lowercase letters, digits, dashes)`);
        if (!/^postgres(ql)?:\/\/\S+$/.test(url)) throw new UsageError(`--app ${name}: the DATABASE_URL must be a postgres:// URL`);
        if (args.apps.some((a) => a.name === name)) throw new UsageError(`--app ${name} given twice`);
        args.apps.push({ name, databaseUrl: url });
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
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown argument "${arg}"`);
    }
  }
  if (args.apps.length === 0) throw new UsageError('give at least one --app NAME=DATABASE_URL');
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
  const emulator = await startEmulator({ port: args.port, apiKey: args.apiKey, apps: args.apps }).catch((error: NodeJS.ErrnoException) => {
    const why = error.code === 'EADDRINUSE' ? `port ${args.port} is already in use (try --port 0)` : error.message;
    process.stderr.write(`emulator: could not start: ${why}\n`);
    process.exit(2);
  });
  const lines = Object.entries(emulator.env).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
  const first = args.apps[0]?.name ?? 'APP';
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(`# Heroku emulator on ${emulator.url}; after the exports, try: heroku pg:info -a ${first}   or   drydock doctor -a ${first}\n`);

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
