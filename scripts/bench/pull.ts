/**
 * `npm run bench:pull`: what `drydock pull` and `drydock snapshot restore` cost against the reference,
 * `heroku pg:pull` through the real heroku CLI, on generated production databases of 1 and 2 GB
 * (scripts/bench/pull-data.ts), with the Heroku emulator (test/heroku-emulator) standing in for Heroku.
 *
 * A. Loopback (production on the same server, no network), interleaved, --rounds each:
 *    heroku pg:pull  vs  drydock pull --from live  vs  drydock pull --from backup with a cold cache
 *    (download included) and a warm one (no download)  vs  drydock snapshot restore pristine.
 * B. Through a bandwidth-limited link (scripts/bench/throttle-proxy.ts, --mbit per direction, shared by
 *    every connection, optional --latency-ms) in front of the production Postgres and of the emulator's
 *    HTTPS backup server: heroku pg:pull  vs  drydock pull --from live  vs  drydock pull --from backup (cold).
 *
 * Every pull starts with its target absent (dropped untimed, as heroku pg:pull requires; drydock's
 * snapshots and leftovers of that target too), after a CHECKPOINT and sync so no run pays for the
 * previous one's dirty pages, and after drydock's detached background work (the hot spare a pull or
 * snapshot restore prepares once it has returned) has finished, so no run shares the machine with it.
 * After each run (untimed) the target must hold every row of the largest table and all indexes and
 * foreign keys, and a cold backup pull must have downloaded exactly once, a
 * warm one not at all. Every process runs under /usr/bin/time (GNU time's %M: the largest RSS of any
 * process in the run's tree) while /proc/<pid>/status VmHWM of the drydock node process is polled.
 *
 * Targets checked (issue 19), for each size: pull --from live ≥ 1.3× faster than heroku pg:pull on loopback;
 * pull --from backup (cold cache) ≥ 4× faster through the limited link; snapshot restore ≥ 50× faster than
 * the fastest pull; peak RSS of every drydock run < 200 MB.
 *
 * Quiet machine: a loaded machine flatters drydock (its copy overlaps work pg:pull does one step after the
 * other), so the benchmark refuses to start when the 1-minute load average is above --max-load (1), unless
 * --allow-load, which marks every figure as loaded. The load average before and after each run is printed.
 *
 * Flags: --size-gb N[,N…] (1,2: each size its own production database and phases), --keep-data (reuse a
 * matching drydock_bench_prod_<size>gb and keep it), --rounds N (3), --warmup N (0), --mbit N (100),
 * --latency-ms N (0), --jobs N (drydock's default), --only loopback|network, --subjects LIST (a partial run
 * of some subjects, for looking into them; its ratios are incomplete), --max-load N (1), --allow-load,
 * --quick (0.2 GB, 1 round), --json. DRYDOCK_BENCH_DATABASE_URL picks the server.
 * Everything it creates (targets, drydock's snapshots of them, the cache and temp dirs, the production
 * database unless --keep-data) is removed at the end, on failure and on Ctrl-C.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, statfs } from 'node:fs/promises';
import { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { displayCommand, run } from '../../src/exec.js';
import { quoteIdent } from '../../src/pg/ident.js';
import { withDatabase, type DbUrl } from '../../src/pg/url.js';
import { startEmulator, type Emulator } from '../../test/heroku-emulator/index.js';
import {
  benchServer,
  CLI,
  commandLine,
  dropDatabase,
  dropWithDrydockCopies,
  elapsedMs,
  elapsedS,
  envWithout,
  formatMs,
  formatRatio,
  formatTable,
  hostPort,
  loadAverage1m,
  parseFlags,
  print,
  printHeader,
  progress,
  progressDone,
  removeDir,
  requireBuiltCli,
  requireExit0,
  ROOT,
  round,
  roundStats,
  runInterleaved,
  runMain,
  spawnTimed,
  STATS_HEADER,
  statsRow,
  summarize,
  toJson,
  type Stats,
  type Subject,
  wholeNumber,
  withCleanup,
  type Cleanup,
  withConnection,
  withServer,
} from './lib.js';
import { DEFAULT_PROD_DATABASE, ensureProdDatabase, type ProdDatabase } from './pull-data.js';
import { Link, startThrottleProxy, type ThrottleProxy } from './throttle-proxy.js';

const USAGE =
  'usage: tsx scripts/bench/pull.ts [--size-gb 1,2] [--keep-data] [--rounds 3] [--warmup 0] [--mbit 100] [--latency-ms 0] [--jobs N] [--only loopback|network] [--subjects heroku,live,backup-cold,backup-warm,snapshot] [--max-load 1] [--allow-load] [--quick] [--json]';

const HEROKU_BIN = join(ROOT, 'node_modules/.bin/heroku');
const GNU_TIME = '/usr/bin/time';

/** Goals this benchmark checks. */
const GOALS = { liveVsHeroku: 1.3, backupVsHerokuNetwork: 4, snapshotVsFastestPull: 50, peakRssMb: 200 };

interface Options {
  /** Each size is a separate production database and a separate set of phases (default 1 and 2 GB). */
  sizes: number[];
  keepData: boolean;
  rounds: number;
  warmup: number;
  mbit: number;
  latencyMs: number;
  jobs: number | undefined;
  only: 'loopback' | 'network' | undefined;
  /** Only these subjects (heroku, live, backup-cold, backup-warm, snapshot): a partial run, for looking into one. */
  subjects: Set<string> | undefined;
  quick: boolean;
  json: boolean;
  /** Refuse to start when the 1-minute load average is above this (a loaded machine flatters overlapping work). */
  maxLoad: number;
  /** Run anyway on a loaded machine, marking every figure as such. */
  allowLoad: boolean;
}

const SUBJECT_KEYS = ['heroku', 'live', 'backup-cold', 'backup-warm', 'snapshot'];

function subjectKeys(list: string): Set<string> {
  const keys = list.split(',').map((k) => k.trim());
  const unknown = keys.filter((k) => !SUBJECT_KEYS.includes(k));
  if (unknown.length || !keys.length) throw new Error(`--subjects takes ${SUBJECT_KEYS.join(', ')}, not "${unknown.join(',')}"\n${USAGE}`);
  return new Set(keys);
}

function parseOptions(): Options {
  const values = parseFlags(USAGE, {
    'size-gb': { type: 'string' },
    'keep-data': { type: 'boolean', default: false },
    rounds: { type: 'string' },
    warmup: { type: 'string', default: '0' },
    mbit: { type: 'string', default: '100' },
    'latency-ms': { type: 'string', default: '0' },
    jobs: { type: 'string' },
    only: { type: 'string' },
    subjects: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'max-load': { type: 'string', default: '1' },
    'allow-load': { type: 'boolean', default: false },
  });
  const count = (flag: string, value: string, min: number): number => wholeNumber(flag, value, min, USAGE);
  const positive = (flag: string, value: string, allowZero = false): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new Error(`--${flag} must be a ${allowZero ? 'non-negative' : 'positive'} number, not "${value}"\n${USAGE}`);
    return n;
  };
  if (values.only !== undefined && values.only !== 'loopback' && values.only !== 'network') throw new Error(`--only must be loopback or network\n${USAGE}`);
  const sizes = (values['size-gb'] ?? (values.quick ? '0.2' : '1,2')).split(',').map((v) => positive('size-gb', v.trim()));
  if (sizes.some((sizeGb) => sizeGb > 40)) throw new Error('--size-gb above 40 would not fit this benchmark’s copies on the disk');
  return {
    sizes,
    maxLoad: positive('max-load', values['max-load']),
    allowLoad: values['allow-load'],
    keepData: values['keep-data'],
    rounds: count('rounds', values.rounds ?? (values.quick ? '1' : '3'), 1),
    warmup: count('warmup', values.warmup, 0),
    mbit: positive('mbit', values.mbit),
    latencyMs: positive('latency-ms', values['latency-ms'], true),
    jobs: values.jobs === undefined ? undefined : count('jobs', values.jobs, 1),
    only: values.only,
    subjects: values.subjects === undefined ? undefined : subjectKeys(values.subjects),
    quick: values.quick,
    json: values.json,
  };
}

// -------------------------------------------------------------------------------------------------
// Processes: timed, under GNU time, with the drydock process's VmHWM polled

interface MeasuredRun {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** GNU time %M: the largest RSS of one process of the tree (kB), if /usr/bin/time exists. */
  treeMaxRssKb: number | undefined;
  /** Last VmHWM read of the wrapped process (node for drydock and heroku), kB. */
  hwmKb: number | undefined;
}

/** VmHWM (kB) of `pid`, or undefined when it is gone. */
function readHwm(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The first child of `pid` (the command GNU time runs). */
function firstChild(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

let runCounter = 0;

/** Run `file args` in its own process group under /usr/bin/time -f %M, polling the inner process's VmHWM every 100 ms. */
async function runMeasured(file: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs: number; workDir: string }): Promise<MeasuredRun> {
  const haveTime = existsSync(GNU_TIME);
  const rssFile = join(options.workDir, `rss-${process.pid}-${++runCounter}.txt`);
  const [cmd, argv] = haveTime ? [GNU_TIME, ['-f', '%M', '-o', rssFile, file, ...args]] : [file, [...args]];
  let hwm: number | undefined;
  let poll: NodeJS.Timeout | undefined;
  const onSpawn = (child: ChildProcess): void => {
    const pid = child.pid;
    if (pid === undefined) return;
    let inner: number | undefined = haveTime ? undefined : pid;
    poll = setInterval(() => {
      inner ??= firstChild(pid);
      const now = inner !== undefined ? readHwm(inner) : undefined;
      if (now !== undefined) hwm = Math.max(hwm ?? 0, now);
    }, 100);
  };
  try {
    const run = await spawnTimed(cmd, argv, { env: options.env, cwd: options.cwd, timeoutMs: options.timeoutMs, processGroup: true, onSpawn });
    let treeMaxRssKb: number | undefined;
    if (haveTime) {
      const text = await readFile(rssFile, 'utf8').catch(() => '');
      const last = text.trim().split('\n').pop() ?? '';
      treeMaxRssKb = /^\d+$/.test(last) ? Number(last) : undefined;
      await rm(rssFile, { force: true });
    }
    return { ms: run.ms, code: run.code, stdout: run.stdout, stderr: run.stderr, treeMaxRssKb, hwmKb: hwm };
  } finally {
    if (poll) clearInterval(poll);
  }
}

/** Durations of the tasks in drydock's plain output ("[STARTED] [iso] title" … "[COMPLETED] [iso] title"), whole seconds. */
function taskBreakdown(stdout: string): string[] {
  const events = [...stdout.matchAll(/^\[(STARTED|COMPLETED|SKIPPED|FAILED)\] \[([0-9TZ:.-]+)\] (.*)$/gm)].map((m) => ({ kind: m[1]!, at: Date.parse(m[2]!), title: m[3]! }));
  const out: string[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.kind !== 'STARTED') continue;
    const end = events.slice(i + 1).find((x) => x.kind !== 'STARTED');
    if (!end) continue;
    out.push(`${String(Math.round((end.at - e.at) / 1000)).padStart(4)} s  ${end.title.length > 200 ? `${end.title.slice(0, 197)}…` : end.title}`);
  }
  return out;
}

// -------------------------------------------------------------------------------------------------
// Databases

/**
 * drydock's detached background work (`snapshot prepare`: the hot spare a pull or snapshot restore starts
 * after it returns) still running. It is not part of the timed command, but left running it would load
 * the machine during the next subject's run and race the untimed drops.
 */
async function backgroundDrydock(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.includes(CLI) && argv.includes('snapshot') && argv.includes('prepare')) pids.push(Number(entry));
  }
  return pids;
}

/** Wait (untimed) until drydock's background work has finished, at most 10 minutes. */
async function awaitBackground(): Promise<void> {
  const deadline = Date.now() + 600_000;
  while ((await backgroundDrydock()).length) {
    if (Date.now() > deadline) throw new Error('drydock snapshot prepare still running after 10 minutes');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** CHECKPOINT and sync: no run pays for the dirty pages of the one before. */
async function settle(server: DbUrl): Promise<void> {
  await withServer(server, (local) => local.admin.query('CHECKPOINT'));
  await run('sync', [], { timeoutMs: 120_000 });
}

interface Expected {
  largestTable: string;
  rows: number;
  indexes: number;
  foreignKeys: number;
}

/** The target holds every row of the largest table, and all the indexes and foreign keys. */
async function verifyTarget(server: DbUrl, target: string, expected: Expected, who: string): Promise<void> {
  const facts = await withConnection(withDatabase(server, target), async (client) => {
    const { rows } = await client.query<{ n: string; indexes: string; fks: string }>(`
      SELECT (SELECT count(*) FROM ${quoteIdent(expected.largestTable)}) AS n,
             (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public') AS indexes,
             (SELECT count(*) FROM pg_constraint c JOIN pg_namespace s ON s.oid = c.connamespace WHERE s.nspname = 'public' AND c.contype = 'f') AS fks`);
    return { rows: Number(rows[0]!.n), indexes: Number(rows[0]!.indexes), fks: Number(rows[0]!.fks) };
  }).catch((error: Error) => {
    throw new Error(`${who}: could not read ${target}: ${error.message}`);
  });
  const problems: string[] = [];
  if (facts.rows !== expected.rows) problems.push(`${expected.largestTable} has ${facts.rows} rows, expected ${expected.rows}`);
  if (facts.indexes !== expected.indexes) problems.push(`${facts.indexes} indexes, expected ${expected.indexes}`);
  if (facts.fks !== expected.foreignKeys) problems.push(`${facts.fks} foreign keys, expected ${expected.foreignKeys}`);
  if (problems.length) throw new Error(`${who}: ${target} is not a full copy: ${problems.join('; ')}`);
}

// -------------------------------------------------------------------------------------------------
// The emulator's backup downloads through the link

/**
 * Make the emulator's backup public URLs go through a throttled proxy. With an emulator that offers
 * `setPublicUrlBase(base | null)`, the proxy fronts the download server and the URLs name the proxy.
 * Without it (test/heroku-emulator as of this writing has no public-URL override), the download server
 * itself is moved to another port and the proxy takes over its old one, so the URLs the emulator hands
 * out (https://127.0.0.1:PORT/…) reach the proxy unchanged; the TLS certificate (SAN 127.0.0.1) still matches.
 */
/** Per emulator: the link of the network phases, and the proxy in front of its download server. */
const links = new Map<Emulator, Link>();
const routedDownloads = new Map<Emulator, { proxy: ThrottleProxy; how: string }>();

async function routeDownloadsThroughLink(emu: Emulator, link: Link): Promise<{ proxy: ThrottleProxy; how: string }> {
  const publicPort = Number(new URL(emu.publicUrl).port);
  const settable = emu as Emulator & { setPublicUrlBase?: (base: string | null) => void };
  if (typeof settable.setPublicUrlBase === 'function') {
    const proxy = await startThrottleProxy({ target: { host: '127.0.0.1', port: publicPort }, link });
    settable.setPublicUrlBase(`https://127.0.0.1:${proxy.port}`);
    return { proxy, how: `emulator public URLs set to the proxy (setPublicUrlBase https://127.0.0.1:${proxy.port})` };
  }
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const server = handles.find((h): h is HttpsServer => h instanceof HttpsServer && (h.address() as AddressInfo | null)?.port === publicPort);
  if (!server) throw new Error(`could not find the emulator's HTTPS download server on port ${publicPort} to put the proxy in front of it`);
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const movedTo = (server.address() as AddressInfo).port;
  const proxy = await startThrottleProxy({ target: { host: '127.0.0.1', port: movedTo }, link, port: publicPort });
  return { proxy, how: `no public-URL override in the emulator: its download server moved to port ${movedTo} and the proxy took its port ${publicPort}` };
}

// -------------------------------------------------------------------------------------------------

interface SubjectResult {
  name: string;
  kind: 'heroku' | 'drydock';
  command: string;
  samplesMs: number[];
  stats: Stats;
  treeMaxRssKb: number[];
  hwmKb: number[];
  /** Bytes that crossed the link downstream per run (network phase). */
  linkBytesDown: number[];
  /** 1-minute load average right before and right after each measured run. */
  loadBefore: number[];
  loadAfter: number[];
  /**
   * drydock pulls: how long a client connecting the moment the pull returned waited (the pristine snapshot is
   * copied in the background, and connections wait for it): the honest "until the copy is usable" figure.
   */
  firstConnectMs: number[];
  lastStdout: string;
}

/** What the interleaved runner runs, and where the subject's figures collect. */
interface Pair {
  subject: Subject;
  result: SubjectResult;
}

interface PhaseResult {
  title: string;
  subjects: SubjectResult[];
  seconds: number;
  /** 1-minute load average when the phase ended (other work on the machine makes numbers noisy). */
  loadAverage1m: number;
}

interface Context {
  options: Options;
  server: DbUrl;
  workDir: string;
  emu: Emulator;
  prod: ProdDatabase;
  expected: Expected;
  baseEnv: NodeJS.ProcessEnv;
  timeoutMs: number;
  targets: Set<string>;
}

/** Our environment without anything that would steer drydock, heroku or libpq elsewhere, plus the emulator's. */
function makeBaseEnv(emu: Emulator): NodeJS.ProcessEnv {
  return envWithout(/^(DRYDOCK_|HEROKU_|PG)|^(DATABASE_URL|NODE_EXTRA_CA_CERTS|NODE_OPTIONS)$/, emu.env);
}

/** A DATABASE_URL for the emulated app: host `localhost` (so heroku pg:pull does not force SSL), the given port. */
function appDatabaseUrl(server: DbUrl, database: string, port: number): string {
  const u = new URL(server.href);
  u.hostname = 'localhost';
  u.port = String(port);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A subject that runs one command per round under GNU time, with prepare/verify hooks. */
function makeSubject(
  ctx: Context,
  spec: {
    name: string;
    kind: 'heroku' | 'drydock';
    target: string;
    file: string;
    args: string[];
    env: NodeJS.ProcessEnv;
    link?: Link;
    prepare?: () => Promise<void>;
    verify?: () => Promise<void>;
    /** Drop the target (and drydock's databases for it) before and after each run (default true). */
    fresh?: boolean;
  },
): Pair {
  const result: SubjectResult = {
    name: spec.name,
    kind: spec.kind,
    command: displayCommand(spec.file === process.execPath ? 'node' : spec.file.replace(`${ROOT}/`, ''), spec.args.map((a) => a.replace(`${ROOT}/`, ''))),
    samplesMs: [],
    stats: summarize([]),
    treeMaxRssKb: [],
    hwmKb: [],
    linkBytesDown: [],
    loadBefore: [],
    loadAfter: [],
    firstConnectMs: [],
    lastStdout: '',
  };
  ctx.targets.add(spec.target);
  const fresh = spec.fresh ?? true;
  let measured = false;
  return {
    result,
    subject: {
      name: spec.name,
      prepare: async (round) => {
        measured = round >= 0;
        await awaitBackground();
        if (fresh) await dropWithDrydockCopies(ctx.server, [spec.target]);
        await spec.prepare?.();
        await settle(ctx.server);
      },
      run: async () => {
        const before = spec.link?.bytesDown ?? 0;
        const loadBefore = loadAverage1m();
        const measuredRun = await runMeasured(spec.file, spec.args, { env: spec.env, cwd: ctx.workDir, timeoutMs: ctx.timeoutMs, workDir: ctx.workDir });
        requireExit0(spec.name, measuredRun, result.command);
        if (measured && spec.kind === 'drydock' && fresh) {
          const t0 = process.hrtime.bigint();
          await withConnection(withDatabase(ctx.server, spec.target), (client) => client.query('SELECT 1'));
          result.firstConnectMs.push(elapsedMs(t0));
        }
        if (measured) {
          result.loadBefore.push(loadBefore);
          result.loadAfter.push(loadAverage1m());
          if (measuredRun.treeMaxRssKb !== undefined) result.treeMaxRssKb.push(measuredRun.treeMaxRssKb);
          if (measuredRun.hwmKb !== undefined) result.hwmKb.push(measuredRun.hwmKb);
          if (spec.link) result.linkBytesDown.push(spec.link.bytesDown - before);
          result.lastStdout = measuredRun.stdout;
        }
        return measuredRun.ms;
      },
      verify: async () => {
        await awaitBackground();
        await verifyTarget(ctx.server, spec.target, ctx.expected, spec.name);
        await spec.verify?.();
        if (fresh) await dropWithDrydockCopies(ctx.server, [spec.target]);
      },
    },
  };
}

/** GET /backups/… answered 200 by the emulator's download server so far. */
function downloads(emu: Emulator): number {
  return emu.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/backups/') && r.status === 200).length;
}

/** `node dist/cli.js pull -a APP --from FROM --to TARGET [--jobs N]`. */
function pullArgs(options: Options, app: string, from: 'live' | 'backup', target: string): string[] {
  return [CLI, 'pull', '-a', app, '--from', from, '--to', target, ...(options.jobs ? ['--jobs', String(options.jobs)] : [])];
}

/** A `drydock pull` subject; `cacheDir` is its DRYDOCK_CACHE_DIR. */
function pullSubject(ctx: Context, spec: { name: string; app: string; target: string; from: 'live' | 'backup'; cacheDir: string; link?: Link | undefined; prepare?: () => Promise<void>; verify?: () => Promise<void> }): Pair {
  const { name, app, target, from, cacheDir, ...rest } = spec;
  return makeSubject(ctx, { name, kind: 'drydock', target, file: process.execPath, args: pullArgs(ctx.options, app, from, target), env: drydockEnv(ctx, cacheDir), ...rest });
}

/** A drydock pull --from backup subject with its own cache dir: cold (cleared before each run) or warm. */
function backupSubject(ctx: Context, name: string, app: string, target: string, cacheDir: string, cold: boolean, link?: Link): Pair {
  let downloadsBefore = 0;
  return pullSubject(ctx, {
    name,
    app,
    target,
    from: 'backup',
    cacheDir,
    link,
    prepare: async () => {
      if (cold) await rm(cacheDir, { recursive: true, force: true });
      downloadsBefore = downloads(ctx.emu);
    },
    verify: async () => {
      const got = downloads(ctx.emu) - downloadsBefore;
      if (cold && got !== 1) throw new Error(`${name}: expected exactly 1 backup download with a cold cache, saw ${got}`);
      if (!cold && got !== 0) throw new Error(`${name}: expected no download with a warm cache, saw ${got}`);
      const files = await readdir(join(cacheDir, 'backups', app)).catch(() => [] as string[]);
      if (!files.some((f) => f.endsWith('.dump'))) throw new Error(`${name}: no .dump in the cache ${cacheDir}`);
    },
  });
}

function drydockEnv(ctx: Context, cacheDir: string): NodeJS.ProcessEnv {
  return {
    ...ctx.baseEnv,
    DRYDOCK_HEROKU_BIN: HEROKU_BIN,
    DRYDOCK_LOCAL_DATABASE_URL: ctx.server.href,
    DRYDOCK_CACHE_DIR: cacheDir,
    CI: 'true',
  };
}

/** heroku pg:pull finds the local server through libpq's variables (undefined ones are left out of the child's environment). */
function herokuEnv(ctx: Context): NodeJS.ProcessEnv {
  const { host, port, user, password } = ctx.server;
  return { ...ctx.baseEnv, PGHOST: host, PGPORT: String(port ?? 5432), PGUSER: user ?? 'postgres', PGPASSWORD: password };
}

function herokuSubject(ctx: Context, name: string, app: string, target: string, link?: Link): Pair {
  return makeSubject(ctx, { name, kind: 'heroku', target, file: HEROKU_BIN, args: ['pg:pull', 'DATABASE_URL', target, '-a', app], env: herokuEnv(ctx), link });
}

function liveSubject(ctx: Context, name: string, app: string, target: string, link?: Link): Pair {
  return pullSubject(ctx, { name, app, target, from: 'live', cacheDir: join(ctx.workDir, 'cache-live'), link });
}

async function runPhase(ctx: Context, title: string, pairs: Pair[]): Promise<PhaseResult> {
  const started = process.hrtime.bigint();
  const samples = await runInterleaved(
    pairs.map((p) => p.subject),
    {
      rounds: ctx.options.rounds,
      warmup: ctx.options.warmup,
      onRound: (r) => progress(`  ${title}: round ${r + 1}/${ctx.options.rounds} done`),
    },
  );
  progressDone();
  for (const { result } of pairs) {
    result.samplesMs = samples.get(result.name) ?? [];
    result.stats = summarize(result.samplesMs);
  }
  return { title, subjects: pairs.map((p) => p.result), seconds: elapsedMs(started) / 1000, loadAverage1m: loadAverage1m() };
}

// -------------------------------------------------------------------------------------------------
// Output

const kbToMb = (kb: number): number => kb / 1024;
const maxOf = (xs: number[]): number => (xs.length ? Math.max(...xs) : Number.NaN);
const fmtMb = (kb: number): string => (Number.isFinite(kb) ? `${kbToMb(kb).toFixed(0)} MB` : '–');

function renderPhase(phase: PhaseResult, options: Options): string {
  const network = phase.subjects.some((s) => s.linkBytesDown.length);
  const header = [...STATS_HEADER, 'peak RSS*', 'node HWM', '1st connect†', 'load before → after', ...(network ? ['via link'] : [])];
  const rows = phase.subjects.map((s) => [
    ...statsRow(s.name, s.stats),
    fmtMb(maxOf(s.treeMaxRssKb)),
    fmtMb(maxOf(s.hwmKb)),
    s.firstConnectMs.length ? formatMs(summarize(s.firstConnectMs).median) : '–',
    s.loadBefore.map((b, i) => `${b.toFixed(2)}→${(s.loadAfter[i] ?? Number.NaN).toFixed(2)}`).join(' '),
    ...(network ? [s.linkBytesDown.length ? `${(maxOf(s.linkBytesDown) / 1e6).toFixed(0)} MB` : '–'] : []),
  ]);
  return [
    `${phase.title}: ${options.rounds} round(s) interleaved, ${options.warmup} warm-up, ${phase.seconds.toFixed(0)} s, load ${phase.loadAverage1m} (1 min) at the end`,
    formatTable(header, rows),
  ].join('\n');
}

interface GoalResult {
  goal: string;
  measured: string;
  value: number;
  threshold: string;
  pass: boolean;
}

function computeGoals(loop: PhaseResult | undefined, net: PhaseResult | undefined): { goals: GoalResult[]; ratios: Array<{ label: string; ratio: number }> } {
  const goals: GoalResult[] = [];
  const ratios: Array<{ label: string; ratio: number }> = [];
  const med = (p: PhaseResult | undefined, prefix: string): number => p?.subjects.find((s) => s.name.startsWith(prefix))?.stats.median ?? Number.NaN;
  const ratio = (label: string, a: number, b: number): void => void ratios.push({ label, ratio: a / b });
  const atLeast = (goal: string, a: number, b: number, min: number): void =>
    void goals.push({ goal, measured: `${formatMs(a)} / ${formatMs(b)}`, value: a / b, threshold: `≥ ${min}×`, pass: a / b >= min });
  if (loop) {
    const heroku = med(loop, 'heroku pg:pull');
    const live = med(loop, 'drydock pull --from live');
    const cold = med(loop, 'drydock pull --from backup, cold');
    const warm = med(loop, 'drydock pull --from backup, warm');
    const snap = med(loop, 'drydock snapshot restore');
    ratio('loopback: heroku pg:pull / pull --from live', heroku, live);
    ratio('loopback: heroku pg:pull / pull --from backup (cold cache)', heroku, cold);
    ratio('loopback: heroku pg:pull / pull --from backup (warm cache)', heroku, warm);
    atLeast('pull --from live vs heroku pg:pull, loopback', heroku, live, GOALS.liveVsHeroku);
    const pulls = [heroku, live, cold, warm, med(net, 'heroku pg:pull'), med(net, 'drydock pull --from live'), med(net, 'drydock pull --from backup')].filter(Number.isFinite);
    ratio('snapshot restore vs heroku pg:pull (loopback)', heroku, snap);
    atLeast('snapshot restore vs the fastest pull', Math.min(...pulls), snap, GOALS.snapshotVsFastestPull);
  }
  if (net) {
    const heroku = med(net, 'heroku pg:pull');
    const cold = med(net, 'drydock pull --from backup');
    ratio('link: heroku pg:pull / pull --from live', heroku, med(net, 'drydock pull --from live'));
    ratio('link: heroku pg:pull / pull --from backup (cold cache)', heroku, cold);
    atLeast('pull --from backup (cold) vs heroku pg:pull, limited link', heroku, cold, GOALS.backupVsHerokuNetwork);
  }
  const drydockRuns = [...(loop?.subjects ?? []), ...(net?.subjects ?? [])].filter((s) => s.kind === 'drydock');
  const peakKb = Math.max(...drydockRuns.map((s) => Math.max(maxOf(s.treeMaxRssKb), maxOf(s.hwmKb))).filter(Number.isFinite));
  if (drydockRuns.length && Number.isFinite(peakKb)) {
    const worst = drydockRuns.find((s) => Math.max(maxOf(s.treeMaxRssKb), maxOf(s.hwmKb)) === peakKb);
    goals.push({ goal: `peak RSS of any drydock run (${worst?.name ?? '?'})`, measured: fmtMb(peakKb), value: kbToMb(peakKb), threshold: `< ${GOALS.peakRssMb} MB`, pass: kbToMb(peakKb) < GOALS.peakRssMb });
  }
  return { goals, ratios };
}

function jsonSubject(s: SubjectResult): Record<string, unknown> {
  return {
    command: s.command,
    ms: roundStats(s.stats),
    samplesMs: s.samplesMs.map((x) => round(x)),
    peakRssTreeMb: s.treeMaxRssKb.map((k) => round(kbToMb(k), 1)),
    nodeVmHwmMb: s.hwmKb.map((k) => round(kbToMb(k), 1)),
    ...(s.linkBytesDown.length ? { linkMbDown: s.linkBytesDown.map((b) => round(b / 1e6, 1)) } : {}),
    ...(s.firstConnectMs.length ? { firstConnectMs: s.firstConnectMs.map((x) => round(x)) } : {}),
    loadBefore: s.loadBefore,
    loadAfter: s.loadAfter,
  };
}

// -------------------------------------------------------------------------------------------------

/** What one size's phases measured. */
interface SizeResult {
  sizeGb: number;
  prod: ProdDatabase;
  loop: PhaseResult | undefined;
  net: PhaseResult | undefined;
  backups: Record<string, { id: string; mb: number; seconds: number }>;
}

async function main(): Promise<void> {
  const options = parseOptions();
  requireBuiltCli('bench:pull');
  if (!existsSync(HEROKU_BIN)) throw new Error(`${HEROKU_BIN} is missing: run npm install`);
  const server = benchServer();
  const started = process.hrtime.bigint();
  // A loaded machine flatters drydock (its copy overlaps work that pg:pull does serially): figures are quoted from quiet runs only.
  const loadAtStart = loadAverage1m();
  const loaded = loadAtStart > options.maxLoad;
  if (loaded && !options.allowLoad) {
    throw new Error(`the 1-minute load average is ${loadAtStart} (above --max-load ${options.maxLoad}): this machine is not quiet, and a loaded machine flatters drydock's overlapping copy. Wait until nothing else runs, or pass --allow-load to measure anyway (every figure is then marked as loaded)`);
  }
  const mark = loaded ? ` [LOADED MACHINE: load ${loadAtStart} at the start, above ${options.maxLoad}: not a quiet-machine figure]` : '';
  await withCleanup(async (cleanup) => {
    const machine = await printHeader(server);
    const disk = await statfs(tmpdir());
    print(`disk      ${((Number(disk.bavail) * Number(disk.bsize)) / 1e9).toFixed(0)} GB free in ${tmpdir()}; GNU time ${existsSync(GNU_TIME) ? GNU_TIME : 'missing (peak RSS from VmHWM only)'}`);
    print(`settings  size ${options.sizes.join(' and ')} GB, ${options.rounds} round(s), ${options.warmup} warm-up, link ${options.mbit} Mbit/s per direction${options.latencyMs ? ` + ${options.latencyMs} ms one way` : ''}, drydock --jobs ${options.jobs ?? 'default'}${options.only ? `, only ${options.only}` : ''}`);
    print(`load      ${loadAtStart} (1 min) at the start${loaded ? `: ABOVE ${options.maxLoad}, measured anyway (--allow-load); these are not quiet-machine figures` : ` (at most ${options.maxLoad}: a quiet machine)`}`);
    if (options.rounds < 3) print(`note: --rounds ${options.rounds}: a smoke run, not a measurement`);
    print();

    const workDir = await mkdtemp(join(tmpdir(), 'drydock-bench-pull-'));
    cleanup.add(`remove ${workDir}`, () => removeDir(workDir));
    const emu = await startEmulator({ apps: [] });
    cleanup.add('stop the emulator', () => emu.stop());
    const targets = new Set<string>();
    cleanup.add('drop bench targets and drydock databases made for them', () => dropWithDrydockCopies(server, targets));
    print(`emulator  ${emu.url}, backups at ${emu.publicUrl}; temp ${workDir}`);
    const results: SizeResult[] = [];
    for (const sizeGb of options.sizes) {
      results.push(await benchSize({ options, server, workDir, emu, targets, cleanup }, sizeGb));
    }

    print('  * peak RSS: GNU time %M, the largest RSS of any one process of the run (node, or a pg_dump/pg_restore it started);');
    print('    node HWM: VmHWM of the node process itself (polled every 100 ms); max over the measured rounds.');
    print('  † 1st connect: median wait of a connection opened the moment a drydock pull returned (it waits while the');
    print('    pristine snapshot is copied in the background); untimed, not part of the pull\'s figure.');
    print("    every pull starts with its target absent (dropped untimed) after CHECKPOINT + sync, with drydock's background work finished; each run is verified untimed.");
    print();

    const summaries = results.map((r) => ({ sizeGb: r.sizeGb, ...computeGoals(r.loop, r.net) }));
    for (const { sizeGb, ratios, goals } of summaries) {
      print(`${sizeGb} GB: ratios (median / median)${mark}`);
      print(formatTable(['', 'ratio'], ratios.map((r) => [r.label, formatRatio(r.ratio)])));
      print();
      print(`${sizeGb} GB: targets${mark}`);
      print(formatTable(['', 'measured', 'value', 'goal', ''], goals.map((g) => [g.goal, g.measured, g.goal.startsWith('peak') ? `${g.value.toFixed(0)} MB` : formatRatio(g.value), g.threshold, g.pass ? 'PASS' : 'FAIL'])));
      print();
    }

    print('where the time went (last measured run of each drydock subject; whole seconds from its log)');
    for (const r of results) {
      for (const s of [...(r.loop?.subjects ?? []), ...(r.net?.subjects ?? [])].filter((x) => x.kind === 'drydock' && x.lastStdout)) {
        const breakdown = taskBreakdown(s.lastStdout);
        if (!breakdown.length) continue;
        print(`  ${r.sizeGb} GB, ${s.name}`);
        for (const line of breakdown) print(`    ${line}`);
      }
    }
    print();
    const totalS = elapsedMs(started) / 1000;
    print(`total ${totalS.toFixed(1)} s; load ${loadAtStart} at the start, ${loadAverage1m()} at the end${mark}`);

    if (options.json) {
      const json = {
        benchmark: 'pull',
        command: commandLine(),
        machine,
        options,
        loadAverage1m: { start: loadAtStart, end: loadAverage1m(), quiet: !loaded },
        sizes: results.map((r, i) => ({
          sizeGb: r.sizeGb,
          production: {
            database: r.prod.name,
            sizeGb: r.prod.sizeGb,
            bytes: r.prod.bytes,
            tableBytes: r.prod.tableBytes,
            rows: r.prod.rows,
            indexes: r.prod.indexes,
            foreignKeys: r.prod.foreignKeys,
            generated: r.prod.generated,
            generationSeconds: r.prod.generationSeconds === undefined ? null : round(r.prod.generationSeconds, 1),
          },
          backups: r.backups,
          loopback: r.loop && { seconds: round(r.loop.seconds, 1), loadAverage1m: r.loop.loadAverage1m, subjects: Object.fromEntries(r.loop.subjects.map((s) => [s.name, jsonSubject(s)])) },
          network: r.net && { mbit: options.mbit, latencyMs: options.latencyMs, seconds: round(r.net.seconds, 1), loadAverage1m: r.net.loadAverage1m, subjects: Object.fromEntries(r.net.subjects.map((s) => [s.name, jsonSubject(s)])) },
          ratios: Object.fromEntries(summaries[i]!.ratios.map((x) => [x.label, round(x.ratio, 3)])),
          goals: summaries[i]!.goals.map((g) => ({ goal: g.goal, value: round(g.value, 3), threshold: g.threshold, pass: g.pass })),
        })),
        totalSeconds: round(totalS, 1),
      };
      print(toJson(json));
    }
  });
}

/** One size: its production database, backups, and the loopback and network phases. */
async function benchSize(
  base: { options: Options; server: DbUrl; workDir: string; emu: Emulator; targets: Set<string>; cleanup: Cleanup },
  sizeGb: number,
): Promise<SizeResult> {
  const { options, server, workDir, emu, targets, cleanup } = base;
  const label = String(sizeGb).replace('.', '_');
  print(`=== ${sizeGb} GB ===`);
  // 1. Production (one database per size, so --keep-data keeps each).
  const prodName = `${DEFAULT_PROD_DATABASE}_${label}gb`;
  if (!options.keepData) cleanup.add(`drop database ${prodName}`, () => dropDatabase(server, prodName));
  const prod = await ensureProdDatabase({ server, name: prodName, sizeGb, keep: options.keepData, log: print });
  const expected: Expected = { largestTable: prod.largestTable, rows: prod.rows[prod.largestTable], indexes: prod.indexes, foreignKeys: prod.foreignKeys };
  const serverPort = server.port ?? 5432;
  const app = `bench-prod-${label.replace('_', '-')}gb`;
  emu.addApp({ name: app, databaseUrl: appDatabaseUrl(server, prodName, serverPort) });
  const ctx: Context = {
    options,
    server,
    workDir,
    emu,
    prod,
    expected,
    baseEnv: makeBaseEnv(emu),
    timeoutMs: Math.round((5 + 6 * sizeGb) * 60_000),
    targets,
  };
  const t = (suffix: string): string => `bench_pull_${process.pid}_${label}_${suffix}`;
  print(`targets   ${t('*')} on ${hostPort(server)}`);

  let loop: PhaseResult | undefined;
  let net: PhaseResult | undefined;
  const backups: SizeResult['backups'] = {};
  /** Capture a backup in the emulator (untimed by the benchmark), noting its facts for --json; returns it and the seconds it took. */
  const capture = async (appName: string, fromDatabaseUrl?: string): Promise<{ id: string; size: number; seconds: string }> => {
    const t0 = process.hrtime.bigint();
    const backup = await emu.addBackup(appName, fromDatabaseUrl ? { fromDatabaseUrl } : undefined);
    backups[appName] = { id: backup.id, mb: round(backup.size / 1e6, 1), seconds: round(elapsedMs(t0) / 1000, 1) };
    return { id: backup.id, size: backup.size, seconds: elapsedS(t0) };
  };

  if (options.only !== 'network') {
    const backup = await capture(app);
    print(`backup    ${app} ${backup.id}: ${(backup.size / 1e6).toFixed(0)} MB (pg_dump -Fc, ${((100 * backup.size) / prod.bytes).toFixed(0)} % of the database), captured untimed in ${backup.seconds} s`);

    // Warm cache + the snapshot subject's pristine snapshot: one untimed pull --from backup.
    const warmCache = join(workDir, 'cache-warm');
    await mkdir(warmCache, { recursive: true });
    const snapTarget = t('snap');
    targets.add(snapTarget);
    const t0 = process.hrtime.bigint();
    const setupArgs = pullArgs(options, app, 'backup', snapTarget);
    const setup = await runMeasured(process.execPath, setupArgs, { env: drydockEnv(ctx, warmCache), cwd: workDir, timeoutMs: ctx.timeoutMs, workDir });
    requireExit0('setup: drydock pull --from backup (fills the warm cache, makes the pristine snapshot)', setup, displayCommand('node', setupArgs));
    await verifyTarget(server, snapTarget, expected, 'setup pull');
    print(`setup     drydock pull --from backup into ${snapTarget} (warm cache + pristine snapshot), untimed: ${elapsedS(t0)} s`);
    print();

    const pairs = chosen([
      ['heroku', herokuSubject(ctx, 'heroku pg:pull', app, t('heroku'))],
      ['live', liveSubject(ctx, 'drydock pull --from live', app, t('live'))],
      ['backup-cold', backupSubject(ctx, 'drydock pull --from backup, cold cache', app, t('bcold'), join(workDir, 'cache-cold'), true)],
      ['backup-warm', backupSubject(ctx, 'drydock pull --from backup, warm cache', app, t('bwarm'), warmCache, false)],
      ['snapshot', makeSubject(ctx, {
        name: 'drydock snapshot restore pristine',
        kind: 'drydock',
        target: snapTarget,
        file: process.execPath,
        args: [CLI, 'snapshot', 'restore', 'pristine', '--to', snapTarget],
        env: drydockEnv(ctx, warmCache),
        fresh: false,
      })],
    ]);
    print('A. loopback: production on the same server, no network');
    for (const p of pairs) print(`   ${p.result.name.padEnd(40)} $ ${p.result.command}`);
    loop = await runPhase(ctx, 'A. loopback', pairs);
    print(renderPhase(loop, options));
    print();
  }

  if (options.only !== 'loopback') {
    // One link for the whole run: the emulator's download server is moved behind its proxy once.
    const link = (links.get(emu) ?? links.set(emu, new Link({ mbit: options.mbit, latencyMs: options.latencyMs })).get(emu))!;
    const pgProxy = await startThrottleProxy({ target: { host: '127.0.0.1', port: serverPort }, link });
    cleanup.add('close the Postgres proxy', () => pgProxy.close());
    const slowApp = `${app}-net`;
    emu.addApp({ name: slowApp, databaseUrl: appDatabaseUrl(server, prodName, pgProxy.port) });
    // A capture runs on Heroku's side, not over the user's link: dump production directly.
    const backup = await capture(slowApp, appDatabaseUrl(server, prodName, serverPort));
    print(`backup    ${slowApp} ${backup.id}: ${(backup.size / 1e6).toFixed(0)} MB, captured untimed in ${backup.seconds} s`);
    let routed = routedDownloads.get(emu);
    if (!routed) {
      const made = await routeDownloadsThroughLink(emu, link);
      routedDownloads.set(emu, made);
      cleanup.add('close the download proxy', () => made.proxy.close());
      routed = made;
    }
    print(`link      ${link.describe()}, shared by both proxies: Postgres 127.0.0.1:${pgProxy.port} → :${serverPort} (${slowApp}'s DATABASE_URL); backups: ${routed.how}`);
    print();
    const pairs = chosen([
      ['heroku', herokuSubject(ctx, `heroku pg:pull @${options.mbit} Mbit`, slowApp, t('heroku_net'), link)],
      ['live', liveSubject(ctx, `drydock pull --from live @${options.mbit} Mbit`, slowApp, t('live_net'), link)],
      ['backup-cold', backupSubject(ctx, `drydock pull --from backup, cold @${options.mbit} Mbit`, slowApp, t('bcold_net'), join(workDir, 'cache-cold-net'), true, link)],
    ]);
    print(`B. through the limited link (${link.describe()})`);
    for (const p of pairs) print(`   ${p.result.name.padEnd(40)} $ ${p.result.command}`);
    net = await runPhase(ctx, 'B. limited link', pairs);
    print(renderPhase(net, options));
    print();
  }

  return { sizeGb, prod, loop, net, backups };

  function chosen<T>(subjects: Array<[string, T]>): T[] {
    return subjects.filter(([key]) => !options.subjects || options.subjects.has(key)).map(([, subject]) => subject);
  }
}

runMain('bench:pull failed', main);
